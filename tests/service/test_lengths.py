"""Over-long values (issue 13, item 2): every text column's length is enforced at the edge
with a 4xx, from one source of truth (``passmint.kit.lengths``), never by PostgreSQL's
``StringDataRightTruncation`` (a 500) or silently exceeded on SQLite."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import String

from passmint.models import Base
from passmint.wallet.apple.devpki import generate_dev_pki
from tests.service.conftest import auth
from tests.service.test_hostile_text import authentication_token, operations, resolve
from tests.service.test_pass_cycle import apple_path, setup_pass

pytestmark = pytest.mark.anyio

# Where clients' text lands in each column: ``Schema.field`` of the OpenAPI document's
# request schemas, or ``param:name`` for a path or query parameter of every operation.
LANDS_IN: dict[str, list[str]] = {
    "api_keys.name": ["ApiKeyCreate.name"],
    "templates.name": ["TemplateCreate.name", "TemplatePatch.name"],
    "passes.external_id": ["PassCreate.external_id"],
    "devices.device_library_id": ["param:device_library_id"],
    "registrations.pass_type_id": ["param:pass_type_id"],
    "customers.external_id": ["CustomerIn.external_id"],
    "customers.email": ["CustomerIn.email"],
    "customers.name": ["CustomerIn.name"],
    "customers.locale": ["CustomerIn.locale"],
    "programs.name": ["ProgramCreate.name", "ProgramPatch.name"],
    "accounts.external_id": ["AccountCreate.external_id"],
    "accounts.tier": ["Tier.key"],
    "ledger_entries.rule": ["EarnRule.key"],
    "ledger_entries.note": ["SpendIn.reason", "RefundIn.reason", "AdjustIn.reason"],
    "activities.source": ["ActivityIn.source"],
    "activities.external_id": ["ActivityIn.external_id"],
    "activities.currency": ["ActivityIn.currency"],
    "rewards.name": ["RewardIn.name"],
    "campaigns.name": ["CampaignCreate.name", "CampaignPatch.name"],
    "campaigns.item_sku": ["CampaignCreate.item_sku", "CampaignPatch.item_sku"],
    "campaigns.item_name": ["CampaignCreate.item_name", "CampaignPatch.item_name"],
    "campaigns.timezone": ["CampaignRules.timezone"],
    "code_batches.prefix": ["BatchCreate.prefix"],
    "code_batches.pattern": ["BatchCreate.pattern"],
    "code_batches.charset": ["BatchCreate.charset"],
    "redemptions.order_ref": ["OrderIn.id"],
    "redemption_rollbacks.reason": ["RollbackIn.reason"],
    "google_credentials.issuer_id": ["GoogleCredentialsIn.issuer_id"],
    "apple_credentials.apns_key_id": ["ApnsTokenIn.key_id"],
    "apple_credentials.apns_team_id": ["ApnsTokenIn.team_id"],
}

# Text columns clients reach only through a check of the service (named here), or not at all.
CHECKED_BY_THE_SERVICE: dict[str, str] = {
    "customers.phone": "CustomerIn.phone is normalized to E.164 (16 characters at most)",
    "campaigns.currency": "ISO 4217 codes only (unknown_currency)",
    "redemptions.currency": "the order's ISO 4217 code (unknown_currency)",
    "codes.code": "generated, or imported and checked against codes.MAX_CODE_LENGTH",
    "survey_answers.survey_key": "the design's survey key (a FieldKey, 64 at most)",
    "survey_answers.question": "the design's question as shown, cut to fit by passes.surveys",
    "survey_answers.answer_text": "the design's answer as shown, cut to fit by passes.surveys",
    "codes.code_normalized": "codes.normalize of the above",
    "apple_credentials.pass_type_id": "read from the certificate, checked at upload",
    "apple_credentials.team_id": "read from the certificate, checked at upload",
    "passes.pass_type_id": "the Apple credential's",
    "google_credentials.client_email": "from the service account, checked at upload",
    "google_credentials.private_key_id": "from the service account, checked at upload",
    "google_credentials.token_uri": "from the service account, checked at upload",
    "events.device_model": "read from User-Agent, cut to the column by kit.useragent",
    "idempotency_records.key": "the Idempotency-Key header, 255 characters (require_key)",
    "tenants.name": "set by operators (passmint tenants create), not through the API",
    "users.email": "tenants.accounts.normalize_email (at most lengths.EMAIL)",
    "users.name": "tenants.accounts.clean_name (at most lengths.NAME)",
    "users.locale": "tenants.accounts checks it against lengths.LOCALE",
    "invitations.email": "tenants.accounts.normalize_email (at most lengths.EMAIL)",
    "staff_sessions.ip": "the client's address, cut to the column",
    "staff_sessions.user_agent": "the User-Agent header, cut to the column",
}


def string_columns() -> dict[str, int]:
    found: dict[str, int] = {}
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            if isinstance(column.type, String) and column.type.length is not None:
                found[f"{table.name}.{column.name}"] = column.type.length
    return found


# Enumerations and digests the service writes itself, by column name ...
SERVICE_MADE_NAMES = {
    "kind", "status", "state", "style", "vertical", "platform", "apns_auth", "source",
    "actor_type",
    "sha256", "request_hash", "secret_hash", "auth_token_hash", "content_hash", "body_hash",
}  # fmt: skip
# ... and the other columns no client text reaches unchecked.
SERVICE_MADE = {
    "counters.name": "counter names are the service's",
    "outbox_jobs.name": "registered job names",
    "google_callback_nonces.nonce": "from callbacks whose Google signature was verified",
    "api_keys.prefix": "generated",
    "assets.content_type": "image/png, after the upload is decoded",
    "apple_credentials.last_push_error": "APNs reasons, cut to the column",
    "google_credentials.last_error": "Google's errors, cut to the column",
    "code_batches.error": "the service's messages",
    "google_classes.class_id": "issuer id + template id",
    "google_objects.object_id": "issuer id + pass id",
    "google_objects.class_id": "issuer id + template id",
    "passes.serial_number": "generated",
    "passes.download_token": "generated",
    "accounts.number": "generated",
    "accounts.referral_code": "generated",
    "codes.publication_key": "'api:' + an Idempotency-Key (255 at most) or a generated id",
    "ledger_entries.actor_id": "an API key id",
    "ledger_entries.idempotency_key": "an Idempotency-Key (255 at most) and a prefix",
    "redemptions.idempotency_key": "an Idempotency-Key (255 at most)",
    "redemption_rollbacks.idempotency_key": "an Idempotency-Key (255 at most)",
    "users.password_hash": "an Argon2id hash",
    "memberships.role": "a tenants.roles.Role",
    "invitations.role": "a tenants.roles.Role",
    "invitations.token_hash": "a keyed hash",
    "password_resets.token_hash": "a keyed hash",
    "staff_sessions.token_hash": "a keyed hash",
    "staff_sessions.csrf_token": "generated",
    "audit_events.actor_id": "a user's or an API key's id",
    "audit_events.actor_label": "a user's email or a key's name, cut to the column",
    "audit_events.action": "the object type and a verb, cut to the column",
    "audit_events.object_type": "a model's name",
    "audit_events.object_id": "primary keys, cut to the column",
    "audit_events.operation": "the request's method and route template, cut to the column",
    "audit_events.ip": "the client's address, cut to the column",
    "audit_events.request_id": "X-Request-ID, checked by web.observe, cut to the column",
}


def max_length(document: dict[str, Any], schema: dict[str, Any]) -> int | None:
    """The longest string ``schema`` accepts (None: unbounded; 0: no string at all)."""
    schema = resolve(document, schema)
    if "anyOf" in schema:
        lengths = [max_length(document, branch) for branch in schema["anyOf"]]
        return None if None in lengths else max(n for n in lengths if n is not None)
    if schema.get("type") != "string":
        return 0
    if "enum" in schema:
        return max(len(v) for v in schema["enum"])
    longest: int | None = schema.get("maxLength")
    return longest


async def test_every_text_column_is_capped_at_the_edge_by_its_own_length(
    client: httpx.AsyncClient,
) -> None:
    document = (await client.get("/openapi.json")).json()
    schemas = document["components"]["schemas"]
    columns = string_columns()
    for column, sources in LANDS_IN.items():
        assert column in columns, f"{column} is no text column any more"
        for source in sources:
            if source.startswith("param:"):
                name = source.removeprefix("param:")
                params = [
                    (method, path, p)
                    for method, path, operation in operations(document)
                    for p in operation.get("parameters", [])
                    if p["name"] == name
                ]
                assert params, source
                for method, path, param in params:
                    longest = max_length(document, param["schema"])
                    assert longest is not None, (method, path, name, "unbounded")
                    assert longest <= columns[column], (method, path, name, longest, column)
            else:
                schema, field = source.split(".")
                longest = max_length(document, schemas[schema]["properties"][field])
                assert longest is not None, f"{source} is unbounded but lands in {column}"
                assert longest <= columns[column], (source, longest, column, columns[column])
    # every text column is accounted for: a new one must say where its text comes from
    for column in columns:
        listed = column in LANDS_IN or column in CHECKED_BY_THE_SERVICE or column in SERVICE_MADE
        assert listed or column.split(".")[1] in SERVICE_MADE_NAMES, f"where is {column} from?"


async def test_a_device_id_over_255_characters_is_a_4xx(
    client: httpx.AsyncClient, tenant: dict[str, str], dev_pki: Any
) -> None:
    issued = await setup_pass(client, tenant, dev_pki)
    token = await authentication_token(client, issued)
    pass_type = "pass.dev.passmint.demo"
    registration = apple_path(f"devices/{'d' * 256}/registrations/{pass_type}/")
    headers = {"Authorization": f"ApplePass {token}"}
    too_long = await client.post(
        registration + issued["serial_number"], headers=headers, json={"pushToken": "aa"}
    )
    assert too_long.status_code == 422, too_long.text
    assert too_long.json()["error"]["details"]["problems"][0]["path"] == "path.device_library_id"
    polled = await client.get(apple_path(f"devices/{'d' * 256}/registrations/{pass_type}"))
    assert polled.status_code == 422, polled.text
    fits = await client.post(
        apple_path(f"devices/{'d' * 255}/registrations/{pass_type}/{issued['serial_number']}"),
        headers=headers,
        json={"pushToken": "aa"},
    )
    assert fits.status_code == 201, fits.text


async def test_fields_longer_than_their_columns_are_4xx(
    client: httpx.AsyncClient, tenant: dict[str, str]
) -> None:
    """Found by the walk above: a batch prefix, pattern and charset were allowed twice
    their columns' lengths."""
    headers = auth(tenant["api_key"])
    campaign = await client.post(
        "/api/v1/campaigns",
        headers=headers,
        json={"name": "Spring", "kind": "discount", "percent_off_bp": 1000},
    )
    assert campaign.status_code == 201, campaign.text
    batches = f"/api/v1/campaigns/{campaign.json()['id']}/batches"
    for body in ({"prefix": "P" * 33}, {"pattern": "#" * 65}, {"charset": "AB" * 33}):
        response = await client.post(batches, headers=headers, json={"count": 1, **body})
        assert response.status_code == 422, response.text
    customer = await client.post(
        "/api/v1/customers", headers=headers, json={"external_id": "c1", "name": "n" * 256}
    )
    assert customer.status_code == 422, customer.text


async def test_identifiers_read_from_uploads_are_checked_against_their_columns(
    client: httpx.AsyncClient, tenant: dict[str, str], now: datetime
) -> None:
    pki = generate_dev_pki(now=now, team_id="T" * 40, key_size=1024)
    files = pki.files()
    response = await client.put(
        "/api/v1/credentials/apple",
        headers=auth(tenant["api_key"]),
        json={
            "certificate": files["pass-cert.pem"].decode(),
            "private_key": files["pass-key.pem"].decode(),
            "wwdr": files["wwdr.pem"].decode(),
        },
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "invalid_certificate"


async def test_a_long_device_model_in_the_user_agent_is_no_500(
    client: httpx.AsyncClient, tenant: dict[str, str], dev_pki: Any
) -> None:
    """Pass downloads log the device model read from User-Agent (a 64-character column)."""
    issued = await setup_pass(client, tenant, dev_pki)
    ua = f"Mozilla/5.0 (Linux; Android 14; {'M' * 300}) AppleWebKit/537.36 Chrome/130 Mobile"
    link = issued["urls"]["pkpass"].removeprefix("https://passes.example.test")
    response = await client.get(link, headers={"User-Agent": ua})
    assert response.status_code == 200, response.text
