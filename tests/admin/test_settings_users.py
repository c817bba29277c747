"""Users and roles in the admin app: members with their roles, inviting (the link shown to
hand over without SMTP, emailed with it: a real SMTP server on 127.0.0.1), changing roles
and removing members (never the last owner), reset links, and what other roles and other
businesses cannot do."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from passmint.admin import team as team_page
from passmint.app import create_app
from passmint.runtime import Runtime
from passmint.tenants import invitations, members
from passmint.tenants.accounts import get_user
from passmint.tenants.roles import Role, describe
from passmint.tenants.sessions import principal_of
from passmint.web.deps import staff_context
from tests.admin.conftest import AdminClient, Team, add_user, make_team
from tests.fixtures.apns_server import FakeApns
from tests.service.conftest import PUBLIC_URL, make_settings
from tests.tenants.conftest import Mailbox, drain, smtp  # noqa: F401 - the fixture

pytestmark = pytest.mark.anyio

_LINK = re.compile(re.escape(PUBLIC_URL) + r"/admin/(invitations|reset)/([A-Za-z0-9_-]+)")


def another_browser(app_http: httpx.AsyncClient) -> AdminClient:
    return AdminClient(
        httpx.AsyncClient(transport=app_http._transport, base_url=str(app_http.base_url))
    )


async def roles_of(runtime: Runtime, team: Team) -> dict[str, str]:
    async with runtime.db.sessions() as session:
        found = await members.members(staff_context(runtime, session), team.tenant_id)
    return {m.email: m.role.value for m in found}


def test_each_role_s_description_is_in_the_catalogs() -> None:
    assert tuple(describe(role) for role in Role) == team_page.ROLE_DESCRIPTIONS


async def test_the_members_and_what_each_role_may_do(owner: AdminClient, team: Team) -> None:
    page = await owner.get("/admin/settings/users")
    assert page.status_code == 200
    assert team.owner_email.lower() in page.text
    for role in Role:
        assert html.escape(describe(role)) in page.text
    assert 'class="badge warn">off<' in page.text  # two-factor login
    assert "Invite someone" in page.text


async def test_an_invitation_without_smtp_is_a_link_to_hand_over(
    owner: AdminClient, app_http: httpx.AsyncClient, runtime: Runtime, team: Team
) -> None:
    invited = await owner.post(
        "/admin/settings/users/invite", {"email": "Mia@Lumen.example", "role": "marketer"}
    )
    assert invited.status_code == 200, invited.text
    assert "No email is sent from this server" in invited.text
    found = _LINK.search(invited.text)
    assert found is not None
    link = found.group(0)
    assert f'data-copy="{link}"' in invited.text
    assert f'<code class="secret" id="invitation-link">{link}</code>' in invited.text
    listing = await owner.get("/admin/settings/users")
    assert link not in listing.text  # shown once
    assert "mia@lumen.example" in listing.text  # pending
    stranger = another_browser(app_http)
    accept = await stranger.get(link.removeprefix(PUBLIC_URL))
    assert accept.status_code == 200
    assert "mia@lumen.example" in accept.text
    # Withdrawn: the link no longer works.
    pending_id = re.search(r"/admin/settings/invitations/([0-9a-f-]+)/revoke", listing.text)
    assert pending_id is not None
    withdrawn = await owner.post(f"/admin/settings/invitations/{pending_id.group(1)}/revoke")
    assert withdrawn.status_code == 303
    after = await owner.get(withdrawn.headers["location"])
    assert "The invitation is withdrawn." in after.text
    assert "No pending invitations." in after.text
    assert (await stranger.get(link.removeprefix(PUBLIC_URL))).status_code == 400


async def test_a_wrong_invitation_is_refused_next_to_the_form(
    owner: AdminClient, runtime: Runtime, team: Team
) -> None:
    hostile = await owner.post(
        "/admin/settings/users/invite", {"email": "<script>x</script>", "role": "viewer"}
    )
    assert hostile.status_code == 422
    assert "not an email address" in hostile.text
    assert "<script>x</script>" not in hostile.text
    assert 'value="&lt;script&gt;x&lt;/script&gt;"' in hostile.text
    no_role = await owner.post(
        "/admin/settings/users/invite", {"email": "a@lumen.example", "role": "king"}
    )
    assert no_role.status_code == 422
    assert "is not a role" in no_role.text
    member = await owner.post(
        "/admin/settings/users/invite", {"email": team.owner_email, "role": "viewer"}
    )
    assert member.status_code == 409
    assert "is a member of Café Lumen already" in member.text
    async with runtime.db.sessions() as session:
        ctx = staff_context(runtime, session)
        owner_user = await get_user(ctx, team.owner_id)
        pending = await invitations.list_invitations(
            ctx, principal_of(owner_user, team.tenant_id, Role.OWNER)
        )
    assert pending == []


async def test_roles_change_members_go_and_the_last_owner_stays(
    owner: AdminClient, runtime: Runtime, team: Team
) -> None:
    mia = await add_user(runtime, team, "mia@lumen.example", "marketer")
    leo = await add_user(runtime, team, "leo@lumen.example", "viewer")
    demoted = await owner.post(f"/admin/settings/users/{team.owner_id}/role", {"role": "viewer"})
    assert demoted.status_code == 409
    assert "the tenant would have no owner left" in demoted.text
    leaving = await owner.post(f"/admin/settings/users/{team.owner_id}/remove")
    assert leaving.status_code == 409
    assert "the tenant would have no owner left" in leaving.text
    unknown = await owner.post(f"/admin/settings/users/{mia}/role", {"role": "emperor"})
    assert unknown.status_code == 422
    assert (await roles_of(runtime, team))[team.owner_email.lower()] == "owner"
    changed = await owner.post(f"/admin/settings/users/{mia}/role", {"role": "admin"})
    assert changed.status_code == 303
    assert "The role is changed." in (await owner.get(changed.headers["location"])).text
    removed = await owner.post(f"/admin/settings/users/{leo}/remove")
    assert removed.status_code == 303
    assert await roles_of(runtime, team) == {
        team.owner_email.lower(): "owner",
        "mia@lumen.example": "admin",
    }


async def test_an_admin_reads_the_staff_but_changes_nothing(
    runtime: Runtime, team: Team, app_http: httpx.AsyncClient
) -> None:
    await add_user(runtime, team, "ada@lumen.example", "admin")
    leo = await add_user(runtime, team, "leo@lumen.example", "viewer")
    admin = another_browser(app_http)
    await admin.log_in("ada@lumen.example")
    page = await admin.get("/admin/settings/users")
    assert page.status_code == 200
    assert "leo@lumen.example" in page.text
    assert "Invite someone" not in page.text
    assert f"/admin/settings/users/{leo}/role" not in page.text
    before = await roles_of(runtime, team)
    for path, data in [
        (f"/admin/settings/users/{leo}/role", {"role": "owner"}),
        (f"/admin/settings/users/{leo}/remove", {}),
        ("/admin/settings/users/invite", {"email": "x@lumen.example", "role": "owner"}),
    ]:
        assert (await admin.post(path, data)).status_code == 403
    assert await roles_of(runtime, team) == before


async def test_another_business_s_members_and_invitations_are_not_found(
    owner: AdminClient, runtime: Runtime, team: Team, other_team: Team
) -> None:
    page = await owner.get("/admin/settings/users")
    assert other_team.owner_email not in page.text
    for path, data in [
        (f"/admin/settings/users/{other_team.owner_id}/role", {"role": "viewer"}),
        (f"/admin/settings/users/{other_team.owner_id}/remove", {}),
        (f"/admin/settings/users/{other_team.owner_id}/reset-link", {}),
    ]:
        refused = await owner.post(path, data)
        assert refused.status_code == 404, path
        assert "belongs to another business" in refused.text
    async with runtime.transaction() as session:
        ctx = staff_context(runtime, session)
        nord = await get_user(ctx, other_team.owner_id)
        theirs = await invitations.invite(
            ctx, principal_of(nord, other_team.tenant_id, Role.OWNER), "x@nord.example", "viewer"
        )
    foreign = await owner.post(f"/admin/settings/invitations/{theirs.id}/revoke")
    assert foreign.status_code == 404
    assert (await roles_of(runtime, other_team)) == {other_team.owner_email: "owner"}


async def test_an_owner_hands_a_reset_link_over_without_smtp(
    owner: AdminClient, runtime: Runtime, team: Team, app_http: httpx.AsyncClient
) -> None:
    mia = await add_user(runtime, team, "mia@lumen.example", "marketer")
    page = await owner.get("/admin/settings/users")
    assert f"/admin/settings/users/{mia}/reset-link" in page.text
    assert f"/admin/settings/users/{team.owner_id}/reset-link" not in page.text  # not yours
    made = await owner.post(f"/admin/settings/users/{mia}/reset-link")
    assert made.status_code == 200
    assert "A password reset link for mia@lumen.example" in made.text
    found = _LINK.search(made.text)
    assert found is not None
    assert found.group(1) == "reset"
    reset_page = await another_browser(app_http).get(found.group(0).removeprefix(PUBLIC_URL))
    assert reset_page.status_code == 200


# -- with an SMTP server ---------------------------------------------------------------------


@pytest.fixture
async def mailing(
    database_url: str,
    tmp_path: Path,
    apns: FakeApns,
    smtp: tuple[Mailbox, int],  # noqa: F811 - the fixture
) -> AsyncIterator[tuple[Runtime, Mailbox, AdminClient, Team]]:
    box, port = smtp
    settings = make_settings(
        database_url, tmp_path, apns, smtp_host="127.0.0.1", smtp_port=port,
        smtp_from="passmint <noreply@passes.example.test>",
    )  # fmt: skip
    rt = Runtime(settings)
    await rt.start(worker=False, migrate=False)
    try:
        team = await make_team(rt, "Café Lumen", "owner@lumen.example")
        app = create_app(runtime=rt, worker=False, migrate=False)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as http:
            client = AdminClient(http)
            await client.log_in(team.owner_email)
            yield rt, box, client, team
    finally:
        await rt.stop()


async def test_an_invitation_with_smtp_is_emailed(
    mailing: tuple[Runtime, Mailbox, AdminClient, Team],
) -> None:
    runtime, box, client, team = mailing
    page = await client.get("/admin/settings/users")
    assert "The invitation is emailed" in page.text
    assert "/reset-link" not in page.text  # people reset their password themselves
    invited = await client.post(
        "/admin/settings/users/invite", {"email": "mia@lumen.example", "role": "analyst"}
    )
    assert invited.status_code == 200
    assert "The invitation was emailed to mia@lumen.example" in invited.text
    assert _LINK.search(invited.text) is None  # the link is in the email only
    await drain(runtime)
    [message] = box.messages()
    assert message["To"] == "mia@lumen.example"
    text = next(p for p in message.walk() if p.get_content_type() == "text/plain")
    found = _LINK.search(text.get_content())
    assert found is not None
    assert found.group(1) == "invitations"
    accept = await client.http.get(found.group(0).removeprefix(PUBLIC_URL))
    assert accept.status_code == 200
    assert team.owner_email not in box.envelopes[0].rcpt_tos
