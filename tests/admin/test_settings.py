"""Settings in the admin app: the overview, API keys (the secret shown once), the wallet
credentials (uploads through the API's input types, secrets never shown), and the audit
log of the admin's own writes; roles without the right are refused and change nothing."""

from __future__ import annotations

import base64
import html
import json
import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12

from passmint.runtime import Runtime
from passmint.tenants import audit
from passmint.tenants import service as tenants
from passmint.tenants.audit import AuditActor
from passmint.tenants.scopes import Scope
from passmint.wallet.apple.devpki import DEFAULT_PASS_TYPE_ID, DevPki, generate_dev_pki
from tests.admin.conftest import AdminClient, Team, add_user

pytestmark = pytest.mark.anyio

_SECRET = re.compile(r"pm_[0-9a-f]{12}_[A-Za-z0-9_-]{32}")
_OBJECT_IDS = re.compile(r"test<br><code>([^<]+)</code>")


def another_browser(app_http: httpx.AsyncClient) -> AdminClient:
    return AdminClient(
        httpx.AsyncClient(transport=app_http._transport, base_url=str(app_http.base_url))
    )


async def keys_of(runtime: Runtime, team: Team) -> list[tuple[str, list[str], bool]]:
    async with runtime.db.sessions() as session:
        principal = await tenants.authenticate(session, team.api_key)
        keys = await tenants.list_api_keys(session, principal)
    return sorted((k.name, list(k.scopes), k.revoked_at is not None) for k in keys)


# -- the overview ----------------------------------------------------------------------------


async def test_the_overview_links_the_sections_each_role_opens(
    owner: AdminClient, runtime: Runtime, team: Team, app_http: httpx.AsyncClient
) -> None:
    page = await owner.get("/admin/settings")
    assert page.status_code == 200
    for href in ("credentials", "api-keys", "users", "account", "audit"):
        assert f'href="/admin/settings/{href}"' in page.text
    await add_user(runtime, team, "viewer@lumen.example", "viewer")
    viewer = another_browser(app_http)
    await viewer.log_in("viewer@lumen.example")
    seen = await viewer.get("/admin/settings")
    assert 'href="/admin/settings/account"' in seen.text
    for closed in ("credentials", "api-keys", "users", "audit"):
        assert f'href="/admin/settings/{closed}"' not in seen.text
        refused = await viewer.get(f"/admin/settings/{closed}")
        assert refused.status_code == 403
        assert "Your role does not allow this" in refused.text


# -- API keys --------------------------------------------------------------------------------


async def test_a_new_key_is_shown_once_and_its_name_is_text(
    owner: AdminClient, runtime: Runtime, team: Team, app_http: httpx.AsyncClient
) -> None:
    listing = await owner.get("/admin/settings/api-keys")
    assert listing.status_code == 200
    assert "Read the audit log." in listing.text  # each permission says what it means
    name = "<script>alert(1)</script> till"
    created = await owner.post(
        "/admin/settings/api-keys",
        {"name": name, "scopes": ["templates:read", "passes:read"]},  # type: ignore[dict-item]
    )
    assert created.status_code == 201, created.text
    [secret] = set(_SECRET.findall(created.text))
    assert f'<code class="secret" id="new-key">{secret}</code>' in created.text
    assert name not in created.text
    assert html.escape(name) in created.text
    # The key works, with the permissions ticked only.
    headers = {"Authorization": f"Bearer {secret}"}
    assert (await app_http.get("/api/v1/templates", headers=headers)).status_code == 200
    assert (await app_http.get("/api/v1/api-keys", headers=headers)).status_code == 403
    again = await owner.get("/admin/settings/api-keys")
    assert secret not in again.text
    assert secret.split("_")[2] not in again.text
    assert f"pm_{secret.split('_')[1]}_…" in again.text  # its prefix, to recognise it
    assert (name, ["passes:read", "templates:read"], False) in await keys_of(runtime, team)


async def test_a_key_needs_a_name_and_a_permission_the_role_holds(
    owner: AdminClient, runtime: Runtime, team: Team, app_http: httpx.AsyncClient
) -> None:
    before = await keys_of(runtime, team)
    nameless = await owner.post("/admin/settings/api-keys", {"name": "", "scopes": "passes:read"})
    assert nameless.status_code == 422
    assert "name:" in nameless.text
    none = await owner.post("/admin/settings/api-keys", {"name": "Till"})
    assert none.status_code == 422
    assert "Choose at least one permission." in none.text
    unknown = await owner.post("/admin/settings/api-keys", {"name": "Till", "scopes": "root"})
    assert unknown.status_code == 422
    control = await owner.post("/admin/settings/api-keys", {"name": "Till\x00", "scopes": "x"})
    assert control.status_code == 422
    assert "U+0000" in control.text
    # An admin (no users:write) cannot make a key that holds it.
    await add_user(runtime, team, "admin@lumen.example", "admin")
    admin = another_browser(app_http)
    await admin.log_in("admin@lumen.example")
    offered = await admin.get("/admin/settings/api-keys")
    assert 'value="users:write"' not in offered.text
    assert 'value="users:read"' in offered.text
    escalating = await admin.post(
        "/admin/settings/api-keys", {"name": "Escalate", "scopes": "users:write"}
    )
    assert escalating.status_code == 422
    assert "permission your role does not have" in escalating.text
    assert await keys_of(runtime, team) == before


async def test_revoking_a_key_and_another_business_s_key_is_not_found(
    owner: AdminClient, runtime: Runtime, team: Team, other_team: Team
) -> None:
    async with runtime.transaction() as session:
        mine = await tenants.create_api_key(
            session,
            team.tenant_id,
            name="Old till",
            now=runtime.clock(),
            scopes=[Scope.PASSES_READ],
        )
        theirs = await tenants.create_api_key(
            session, other_team.tenant_id, name="Nord till", now=runtime.clock()
        )
    listing = await owner.get("/admin/settings/api-keys")
    assert "Nord till" not in listing.text
    assert f"/admin/settings/api-keys/{mine.key.id}/revoke" in listing.text
    assert "data-confirm=" in listing.text
    foreign = await owner.post(f"/admin/settings/api-keys/{theirs.key.id}/revoke")
    assert foreign.status_code == 404
    revoked = await owner.post(f"/admin/settings/api-keys/{mine.key.id}/revoke")
    assert revoked.status_code == 303
    shown = await owner.get(revoked.headers["location"])
    assert "The key is revoked." in shown.text
    assert ("Old till", ["passes:read"], True) in await keys_of(runtime, team)
    twice = await owner.post(f"/admin/settings/api-keys/{mine.key.id}/revoke")
    assert twice.status_code == 404
    async with runtime.db.sessions() as session:
        assert (await tenants.authenticate(session, theirs.secret)).label == "Nord till"


async def test_a_viewer_and_a_marketer_are_refused_the_owner_s_writes(
    runtime: Runtime, team: Team, app_http: httpx.AsyncClient, dev_pki: DevPki
) -> None:
    await add_user(runtime, team, "viewer@lumen.example", "viewer")
    await add_user(runtime, team, "mia@lumen.example", "marketer")
    analyst_id = await add_user(runtime, team, "max@lumen.example", "analyst")
    before = await keys_of(runtime, team)
    files = dev_pki.files()
    for email in ("viewer@lumen.example", "mia@lumen.example"):
        person = another_browser(app_http)
        await person.log_in(email)
        writes = [
            ("/admin/settings/api-keys", {"name": "Mine", "scopes": "passes:read"}),
            ("/admin/settings/users/invite", {"email": "eve@evil.example", "role": "owner"}),
            (f"/admin/settings/users/{analyst_id}/role", {"role": "owner"}),
            (f"/admin/settings/users/{team.owner_id}/remove", {}),
            (f"/admin/settings/users/{team.owner_id}/reset-link", {}),
        ]
        for path, data in writes:
            refused = await person.post(path, data)
            assert refused.status_code == 403, (email, path)
            assert "Your role does not allow this" in refused.text
        upload = await person.http.post(
            "/admin/settings/credentials/apple",
            data={"csrf_token": person.csrf, "format": "pem"},
            files={"certificate": ("c.pem", files["pass-cert.pem"])},
        )
        assert upload.status_code == 403
    assert await keys_of(runtime, team) == before
    marketer = another_browser(app_http)
    await marketer.log_in("mia@lumen.example")
    summary = await marketer.get("/admin/settings/credentials")
    assert summary.status_code == 200  # credentials:read: the summary, without the forms
    assert "/admin/settings/credentials/apple" not in summary.text
    async with runtime.db.sessions() as session:
        principal = await tenants.authenticate(session, team.api_key)
        assert principal.tenant_id == team.tenant_id
    users = await marketer.get("/admin/settings/users")
    assert users.status_code == 403


async def test_a_write_without_the_csrf_token_changes_nothing(
    owner: AdminClient, runtime: Runtime, team: Team
) -> None:
    before = await keys_of(runtime, team)
    refused = await owner.post(
        "/admin/settings/api-keys", {"name": "Forged", "scopes": "passes:read"}, csrf=False
    )
    assert refused.status_code == 403
    assert await keys_of(runtime, team) == before


# -- credentials -----------------------------------------------------------------------------


def _p8() -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


async def _upload(
    client: AdminClient, data: dict[str, str], files: dict[str, tuple[str, bytes]]
) -> httpx.Response:
    return await client.http.post(
        "/admin/settings/credentials/apple", data={"csrf_token": client.csrf, **data}, files=files
    )


async def test_apple_credentials_upload_as_pem_and_p12_and_show_no_secret(
    owner: AdminClient, dev_pki: DevPki
) -> None:
    files = dev_pki.files()
    empty = await owner.get("/admin/settings/credentials")
    assert "No Apple certificate yet" in empty.text
    pem = {
        "certificate": ("pass.pem", files["pass-cert.pem"]),
        "private_key": ("key.pem", files["pass-key.pem"]),
    }
    # Without the (test) intermediate the chain is incomplete: refused with the reason.
    missing = await _upload(owner, {"format": "pem"}, pem)
    assert missing.status_code == 422
    assert "WWDR G4" in missing.text
    assert "No Apple certificate yet" in missing.text
    # An APNs key with a wrong key id: the API's own message, nothing stored.
    token = {"format": "pem", "apns_auth": "token", "apns_team_id": "ABCDE12345"}
    with_key = {**pem, "wwdr": ("wwdr.pem", files["wwdr.pem"]), "apns_key": ("k.p8", _p8())}
    bad_apns = await _upload(owner, {**token, "apns_key_id": "SHORT"}, with_key)
    assert bad_apns.status_code == 422
    assert "key_id: String should have at least 10 characters" in bad_apns.text
    saved = await _upload(owner, {**token, "apns_key_id": "KEY1234567"}, with_key)
    assert saved.status_code == 303, saved.text
    shown = await owner.get(saved.headers["location"])
    assert "The Apple credentials are saved." in shown.text
    assert DEFAULT_PASS_TYPE_ID in shown.text
    assert "KEY1234567" in shown.text
    assert "PRIVATE KEY" not in shown.text
    assert "valid" in shown.text  # a year left: no warning
    assert 'class="alert warn"' not in shown.text

    key = serialization.load_pem_private_key(files["pass-key.pem"], password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    leaf = x509.load_pem_x509_certificate(files["pass-cert.pem"])
    wwdr = x509.load_pem_x509_certificate(files["wwdr.pem"])
    p12 = pkcs12.serialize_key_and_certificates(
        b"pass", key, leaf, [wwdr], serialization.BestAvailableEncryption(b"s3cret pw")
    )
    wrong = await _upload(
        owner, {"format": "p12", "password": "wrong"}, {"certificate": ("p.p12", p12)}
    )
    assert wrong.status_code == 422
    right = await _upload(
        owner, {"format": "p12", "password": "s3cret pw"}, {"certificate": ("p.p12", p12)}
    )
    assert right.status_code == 303, right.text
    assert "s3cret pw" not in (await owner.get("/admin/settings/credentials")).text
    toolarge = await _upload(
        owner, {"format": "p12"}, {"certificate": ("big.p12", b"x" * (64 * 1024 + 1))}
    )
    assert toolarge.status_code == 413


async def test_a_certificate_expiring_within_90_days_is_warned_of(
    owner: AdminClient, now: datetime
) -> None:
    short = generate_dev_pki(now=now, valid_for=timedelta(days=30), key_size=2048)
    files = short.files()
    saved = await _upload(
        owner,
        {"format": "pem"},
        {
            "certificate": ("pass.pem", files["pass-cert.pem"]),
            "private_key": ("key.pem", files["pass-key.pem"]),
            "wwdr": ("wwdr.pem", files["wwdr.pem"]),
        },
    )
    assert saved.status_code == 303, saved.text
    shown = await owner.get("/admin/settings/credentials")
    assert 'class="alert warn"' in shown.text
    assert "renew it in Apple" in shown.text
    assert "29 days" in shown.text or "30 days" in shown.text


async def test_google_credentials_upload_and_show_no_key(owner: AdminClient) -> None:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_file = {
        "type": "service_account",
        "project_id": "lumen",
        "private_key_id": "abc123",
        "private_key": private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode(),
        "client_email": "wallet@lumen.iam.gserviceaccount.com",
        "client_id": "1",
        "token_uri": "https://oauth2.googleapis.com/token",
    }
    await owner.get("/admin/settings/credentials")
    bad_issuer = await owner.http.post(
        "/admin/settings/credentials/google",
        data={"csrf_token": owner.csrf, "issuer_id": "<b>12</b>"},
        files={"service_account": ("key.json", json.dumps(key_file).encode())},
    )
    assert bad_issuer.status_code == 422
    assert "issuer_id must be the numeric issuer id" in bad_issuer.text
    assert "<b>12</b>" not in bad_issuer.text
    bad_account = await owner.post(
        "/admin/settings/credentials/google",
        {"issuer_id": "3388000000012345678", "service_account_text": json.dumps({"type": "x"})},
    )
    assert bad_account.status_code == 422
    assert "service_account.type" in bad_account.text
    saved = await owner.http.post(
        "/admin/settings/credentials/google",
        data={"csrf_token": owner.csrf, "issuer_id": "3388000000012345678"},
        files={"service_account": ("key.json", json.dumps(key_file).encode())},
    )
    assert saved.status_code == 303, saved.text
    shown = await owner.get("/admin/settings/credentials")
    assert "3388000000012345678" in shown.text
    assert "wallet@lumen.iam.gserviceaccount.com" in shown.text
    assert "PRIVATE KEY" not in shown.text


# -- the audit log ---------------------------------------------------------------------------


async def test_the_audit_log_lists_the_admin_s_own_writes(
    owner: AdminClient, team: Team, runtime: Runtime, app_http: httpx.AsyncClient
) -> None:
    created = await owner.post(
        "/admin/settings/api-keys", {"name": "<i>Till</i>", "scopes": "passes:read"}
    )
    assert created.status_code == 201
    log = await owner.get("/admin/settings/audit")
    assert log.status_code == 200
    row = log.text[log.text.index("<code>api_key.created</code>") - 600 :]
    assert team.owner_email.lower() in row[:1200]
    assert "POST /admin/settings/api-keys" in log.text
    assert "&lt;i&gt;Till&lt;/i&gt;" in log.text  # the summary's name, as text
    assert "<i>Till</i>" not in log.text
    assert "[redacted]" in log.text  # the secret's hash
    filtered = await owner.get(
        "/admin/settings/audit", params={"action": "api_key.created", "actor": team.owner_email}
    )
    assert filtered.text.count("<code>api_key.created</code>") == 1
    assert "user.logged_in" not in filtered.text
    nobody = await owner.get("/admin/settings/audit", params={"actor": "nobody@else.example"})
    assert "Nothing recorded matches." in nobody.text
    today = datetime.now(UTC).date()
    future = await owner.get(
        "/admin/settings/audit", params={"from": str(today + timedelta(days=2))}
    )
    assert "Nothing recorded matches." in future.text
    within = await owner.get(
        "/admin/settings/audit", params={"from": str(today), "to": str(today + timedelta(days=1))}
    )
    assert "api_key.created" in within.text
    wrong = await owner.get("/admin/settings/audit", params={"from": "yesterday"})
    assert wrong.status_code == 400
    assert "Give a date as YYYY-MM-DD." in wrong.text
    backwards = await owner.get(
        "/admin/settings/audit", params={"from": "2026-02-02", "to": "2026-02-01"}
    )
    assert backwards.status_code == 400


async def test_the_audit_log_pages_with_a_cursor(
    owner: AdminClient, team: Team, runtime: Runtime, other_team: Team
) -> None:
    async with runtime.transaction() as session:
        actor = AuditActor.system(team.tenant_id, label="nightly job")
        for n in range(60):
            audit.note(
                session, action="test.noted", object_type="test", object_id=str(n), actor=actor
            )
        audit.note(
            session,
            action="test.noted",
            object_type="test",
            object_id="nord",
            actor=AuditActor.system(other_team.tenant_id),
        )
    first = await owner.get("/admin/settings/audit", params={"action": "test.noted"})
    shown_first = _OBJECT_IDS.findall(first.text)
    assert len(shown_first) == 50
    assert "nord" not in shown_first
    link = re.search(r'href="/admin/settings/audit(\?[^"]+)" rel="next"', first.text)
    assert link is not None
    second = await owner.get("/admin/settings/audit" + html.unescape(link.group(1)))
    shown_second = _OBJECT_IDS.findall(second.text)
    assert len(shown_second) == 10
    assert sorted(map(int, shown_first + shown_second)) == list(range(60))  # each once
    assert 'rel="next"' not in second.text
    assert 'href="/admin/settings/audit?action=test.noted">Newest</a>' in second.text
    broken = await owner.get("/admin/settings/audit", params={"cursor": "%%%"})
    assert broken.status_code == 400
    encoded = base64.urlsafe_b64encode(b"short").decode()
    assert (await owner.get("/admin/settings/audit", params={"cursor": encoded})).status_code == 400
