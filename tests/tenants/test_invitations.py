"""Invitations and password resets by single-use links, and the email that carries them
through a real SMTP server (aiosmtpd on 127.0.0.1)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from passmint.config import Settings
from passmint.models import Invitation, OutboxJob, PasswordReset
from passmint.runtime import Runtime
from passmint.tenants import invitations, mail, sessions
from passmint.tenants.errors import (
    AlreadyMember,
    Forbidden,
    InvalidLink,
    NotFound,
    PasswordTooShort,
    SessionExpired,
)
from passmint.tenants.roles import Role
from passmint.tenants.service import Principal
from tests.fixtures.apns_server import FakeApns
from tests.service.conftest import PUBLIC_URL, make_settings
from tests.tenants.conftest import PASSWORD, Mailbox, Team, add_user, ctx_for, drain, make_team

pytestmark = pytest.mark.anyio


async def principal_of(runtime: Runtime, email: str) -> Principal:
    async with runtime.transaction() as session:
        result = await sessions.log_in(ctx_for(runtime, session), email, PASSWORD)
    assert result.staff is not None
    return result.staff.principal


def token_of(url: str) -> str:
    return url.rsplit("/", 1)[1]


async def test_an_invitation_makes_a_new_member(runtime: Runtime, team: Team) -> None:
    owner = await principal_of(runtime, team.owner_email)
    async with runtime.transaction() as session:
        link = await invitations.invite(
            ctx_for(runtime, session), owner, " Mia@Lumen.example", "marketer"
        )
    assert link.url.startswith(f"{PUBLIC_URL}/admin/invitations/")
    assert not link.emailed  # no SMTP: the owner hands the link over
    assert link.expires_at - runtime.clock() > timedelta(days=6, hours=23)
    token = token_of(link.url)
    async with runtime.db.sessions() as session:
        stored = (await session.execute(select(Invitation))).scalar_one()
    assert stored.token_hash != token
    assert token not in stored.token_hash
    async with runtime.transaction() as session:
        ctx = ctx_for(runtime, session)
        view = await invitations.invitation_info(ctx, token)
        assert (view.email, view.role, view.tenant_name, view.existing_user) == (
            "mia@lumen.example",
            Role.MARKETER,
            "Café Lumen",
            False,
        )
        listed = await invitations.list_invitations(ctx, owner)
        assert [(i.email, i.invited_by) for i in listed] == [
            ("mia@lumen.example", team.owner_email.lower())
        ]
        with pytest.raises(PasswordTooShort):
            await invitations.accept_invitation(ctx, token, "Mia", "short")
    async with runtime.transaction() as session:
        accepted = await invitations.accept_invitation(
            ctx_for(runtime, session), token, "Mia Wong", "a good password"
        )
    assert accepted.created_user
    assert accepted.tenant_id == team.tenant_id
    async with runtime.transaction() as session:
        ctx = ctx_for(runtime, session)
        result = await sessions.log_in(ctx, "mia@lumen.example", "a good password")
        assert result.staff is not None
        assert result.staff.role is Role.MARKETER
        assert result.staff.name == "Mia Wong"
        with pytest.raises(InvalidLink) as raised:  # single use
            await invitations.accept_invitation(ctx, token, "Mia", "a good password")
        assert raised.value.details["reason"] == "used"
        assert await invitations.list_invitations(ctx, owner) == []


async def test_an_existing_user_accepting_gets_the_membership(
    runtime: Runtime, team: Team, other_team: Team
) -> None:
    owner = await principal_of(runtime, team.owner_email)
    async with runtime.transaction() as session:
        link = await invitations.invite(
            ctx_for(runtime, session), owner, other_team.owner_email, Role.ANALYST
        )
    async with runtime.transaction() as session:
        ctx = ctx_for(runtime, session)
        assert (await invitations.invitation_info(ctx, token_of(link.url))).existing_user
        accepted = await invitations.accept_invitation(ctx, token_of(link.url), None, None)
    assert not accepted.created_user
    assert accepted.user_id == other_team.owner_id
    async with runtime.transaction() as session:
        ctx = ctx_for(runtime, session)
        choices = await sessions.tenants_of(ctx, other_team.owner_id)
        assert {(c.name, c.role) for c in choices} == {
            ("Boulangerie Nord", Role.OWNER),
            ("Café Lumen", Role.ANALYST),
        }
        # the password did not change
        assert (await sessions.log_in(ctx, other_team.owner_email, PASSWORD)).staff
        with pytest.raises(AlreadyMember):
            await invitations.invite(ctx, owner, other_team.owner_email, "viewer")


async def test_invitations_expire_and_can_be_revoked_or_replaced(
    runtime: Runtime, team: Team
) -> None:
    owner = await principal_of(runtime, team.owner_email)
    async with runtime.transaction() as session:
        ctx = ctx_for(runtime, session)
        first = await invitations.invite(ctx, owner, "sam@lumen.example", "viewer")
        second = await invitations.invite(ctx, owner, "sam@lumen.example", "cashier")
        other = await invitations.invite(ctx, owner, "kim@lumen.example", "viewer")
    async with runtime.transaction() as session:
        ctx = ctx_for(runtime, session)
        with pytest.raises(InvalidLink) as raised:
            await invitations.invitation_info(ctx, token_of(first.url))
        assert raised.value.details["reason"] == "revoked"  # replaced by the second
        await invitations.revoke_invitation(ctx, owner, other.id)
        with pytest.raises(NotFound):
            await invitations.revoke_invitation(ctx, owner, other.id)
        with pytest.raises(InvalidLink):
            await invitations.accept_invitation(ctx, token_of(other.url), "Kim", "a good password")
        with pytest.raises(InvalidLink) as raised:
            await invitations.accept_invitation(ctx, "made-up", "Kim", "a good password")
        assert raised.value.details["reason"] == "unknown"
        assert [i.role for i in await invitations.list_invitations(ctx, owner)] == [Role.CASHIER]
    late = runtime.clock() + timedelta(days=7, seconds=1)
    async with runtime.transaction() as session:
        ctx = ctx_for(runtime, session, now=late)
        with pytest.raises(InvalidLink) as raised:
            await invitations.accept_invitation(ctx, token_of(second.url), "Sam", "a good password")
        assert raised.value.details["reason"] == "expired"
        assert await invitations.list_invitations(ctx, owner) == []


async def test_only_users_write_invites_and_only_in_their_tenant(
    runtime: Runtime, team: Team, other_team: Team
) -> None:
    await add_user(runtime, team, "ada@lumen.example", "admin")
    admin = await principal_of(runtime, "ada@lumen.example")
    stranger = await principal_of(runtime, other_team.owner_email)
    async with runtime.transaction() as session:
        ctx = ctx_for(runtime, session)
        with pytest.raises(Forbidden) as raised:
            await invitations.invite(ctx, admin, "x@lumen.example", "viewer")
        assert raised.value.status == 403
        assert "your role (admin) lacks" in raised.value.message
        assert len(await invitations.list_invitations(ctx, admin)) == 0  # admins may look
    owner = await principal_of(runtime, team.owner_email)
    async with runtime.transaction() as session:
        ctx = ctx_for(runtime, session)
        mine = await invitations.invite(ctx, owner, "x@lumen.example", "viewer")
        with pytest.raises(NotFound):  # another tenant's invitation does not exist for B
            await invitations.revoke_invitation(ctx, stranger, mine.id)
        assert await invitations.list_invitations(ctx, stranger) == []


async def test_password_resets(runtime: Runtime, team: Team) -> None:
    owner = await principal_of(runtime, team.owner_email)
    viewer_id = await add_user(runtime, team, "vic@lumen.example", "viewer")
    async with runtime.transaction() as session:
        ctx = ctx_for(runtime, session)
        open_session = await sessions.log_in(ctx, "vic@lumen.example", PASSWORD)
        # asking never tells whether the account exists; without SMTP nothing is made
        await invitations.request_reset(ctx, "vic@lumen.example")
        await invitations.request_reset(ctx, "nobody@lumen.example")
        await invitations.request_reset(ctx, "not an address")
    async with runtime.db.sessions() as session:
        assert list((await session.execute(select(PasswordReset))).scalars()) == []
    async with runtime.transaction() as session:
        ctx = ctx_for(runtime, session)
        link = await invitations.create_reset_link(ctx, owner, viewer_id)
        assert link.url.startswith(f"{PUBLIC_URL}/admin/reset/")
        with pytest.raises(NotFound):
            await invitations.create_reset_link(ctx, owner, team.owner_id.__class__(int=1))
    token = token_of(link.url)
    assert link.expires_at - runtime.clock() <= timedelta(hours=1)
    async with runtime.transaction() as session:
        ctx = ctx_for(runtime, session)
        assert await invitations.reset_info(ctx, token) == "vic@lumen.example"
        with pytest.raises(PasswordTooShort):
            await invitations.reset_password(ctx, token, "short")
    async with runtime.transaction() as session:
        assert (
            await invitations.reset_password(ctx_for(runtime, session), token, "brand new secret")
            == viewer_id
        )
    async with runtime.transaction() as session:
        ctx = ctx_for(runtime, session)
        with pytest.raises(SessionExpired):  # resetting ends the user's sessions
            await sessions.resolve(ctx, open_session.token)
        assert (await sessions.log_in(ctx, "vic@lumen.example", "brand new secret")).staff
        with pytest.raises(InvalidLink):
            await invitations.reset_password(ctx, token, "another new one")
        late = await invitations.create_reset_link(ctx, owner, viewer_id)
    async with runtime.transaction() as session:
        ctx = ctx_for(runtime, session, now=runtime.clock() + timedelta(minutes=61))
        with pytest.raises(InvalidLink) as raised:
            await invitations.reset_password(ctx, token_of(late.url), "too late now")
        assert raised.value.details["reason"] == "expired"


# -- email -----------------------------------------------------------------------------------


@pytest.fixture
async def mailing(
    database_url: str, tmp_path: Path, apns: FakeApns, smtp: tuple[Mailbox, int]
) -> AsyncIterator[tuple[Runtime, Mailbox]]:
    box, port = smtp
    settings = make_settings(
        database_url, tmp_path, apns, smtp_host="127.0.0.1", smtp_port=port,
        smtp_from="passmint <noreply@passes.example.test>",
    )  # fmt: skip
    rt = Runtime(settings)
    await rt.start(worker=False, migrate=False)
    try:
        yield rt, box
    finally:
        await rt.stop()


async def test_the_invitation_email_arrives_with_the_link(
    mailing: tuple[Runtime, Mailbox],
) -> None:
    runtime, box = mailing
    assert mail.smtp_configured(runtime.settings)
    team = await make_team(runtime, "Café Lumen", "owner@lumen.example")
    owner = await principal_of(runtime, team.owner_email)
    async with runtime.transaction() as session:
        link = await invitations.invite(
            ctx_for(runtime, session), owner, "mia@lumen.example", "marketer"
        )
    assert link.emailed
    async with runtime.db.sessions() as session:  # the outbox holds the link sealed
        job = (
            await session.execute(select(OutboxJob).where(OutboxJob.name == mail.SEND_JOB))
        ).scalar_one()
    assert token_of(link.url) not in str(job.payload)
    await drain(runtime)
    [envelope] = box.envelopes
    assert envelope.rcpt_tos == ["mia@lumen.example"]
    [message] = box.messages()
    assert message["To"] == "mia@lumen.example"
    assert message["From"] == "passmint <noreply@passes.example.test>"
    assert "Café Lumen" in message["Subject"]
    parts = {
        part.get_content_type(): part.get_content()
        for part in message.walk()
        if not part.is_multipart()
    }
    assert set(parts) == {"text/plain", "text/html"}
    assert link.url in parts["text/plain"]
    assert f'href="{link.url}"' in parts["text/html"]
    assert "marketer" in parts["text/plain"]


async def test_a_reset_email_goes_only_to_an_existing_account(
    mailing: tuple[Runtime, Mailbox],
) -> None:
    runtime, box = mailing
    team = await make_team(runtime, "Café Lumen", "owner@lumen.example")
    async with runtime.transaction() as session:
        ctx = ctx_for(runtime, session)
        await invitations.request_reset(ctx, "nobody@lumen.example", ip="192.0.2.1")
        await invitations.request_reset(ctx, "OWNER@lumen.example", ip="192.0.2.1")
    await drain(runtime)
    [message] = box.messages()
    assert message["To"] == team.owner_email
    text = next(p for p in message.walk() if p.get_content_type() == "text/plain")
    found = re.search(rf"{re.escape(PUBLIC_URL)}/admin/reset/(\S+)", text.get_content())
    assert found is not None
    async with runtime.transaction() as session:
        await invitations.reset_password(ctx_for(runtime, session), found.group(1), "via the email")
    async with runtime.transaction() as session:
        assert (
            await sessions.log_in(ctx_for(runtime, session), team.owner_email, "via the email")
        ).staff


async def test_a_rolled_back_invitation_sends_nothing(mailing: tuple[Runtime, Mailbox]) -> None:
    runtime, box = mailing
    team = await make_team(runtime, "Café Lumen", "owner@lumen.example")
    owner = await principal_of(runtime, team.owner_email)

    async def failing() -> None:
        async with runtime.transaction() as session:
            ctx = ctx_for(runtime, session)
            await invitations.invite(ctx, owner, "mia@lumen.example", "viewer")
            raise RuntimeError("the request failed after the invitation")

    with pytest.raises(RuntimeError):
        await failing()
    await drain(runtime)
    assert box.envelopes == []


def test_smtp_settings() -> None:
    assert not mail.smtp_configured(Settings())
    config = mail.SmtpConfig.from_settings(
        Settings(smtp_host="mail.example.org", public_url="https://passes.example.org")
    )
    assert config is not None
    assert (config.host, config.port, config.sender) == (
        "mail.example.org",
        587,
        "passmint <passmint@passes.example.org>",
    )
    with pytest.raises(ValueError, match="exclude each other"):
        Settings(smtp_host="x", smtp_tls=True, smtp_starttls=True)
