"""Logging in, the second factor, resolving sessions, expiry, switching tenants, logging
out: on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pyotp
import pytest

from passmint.runtime import Runtime
from passmint.tenants import accounts, members, sessions
from passmint.tenants.errors import (
    InvalidSecondFactor,
    LoginFailed,
    NoTenant,
    NotFound,
    SessionExpired,
)
from passmint.tenants.roles import Role
from passmint.tenants.scopes import Scope
from tests.tenants.conftest import PASSWORD, Team, add_user, ctx_for, make_team

pytestmark = pytest.mark.anyio


async def login(
    runtime: Runtime, email: str, password: str = PASSWORD, **kw: Any
) -> sessions.LoginResult:
    async with runtime.transaction() as session:
        return await sessions.log_in(ctx_for(runtime, session), email, password, **kw)


async def resolve(runtime: Runtime, token: str, **changes: Any) -> sessions.StaffSession:
    async with runtime.transaction() as session:
        return await sessions.resolve(ctx_for(runtime, session, **changes), token)


async def test_a_login_opens_a_session_in_the_users_tenant(runtime: Runtime, team: Team) -> None:
    result = await login(runtime, "  OWNER@lumen.EXAMPLE ", ip="203.0.113.5", user_agent="UA")
    assert not result.pending_second_factor
    assert result.staff is not None
    staff = await resolve(runtime, result.token)
    assert staff.email == "owner@lumen.example"
    assert staff.tenant_id == team.tenant_id
    assert staff.tenant_name == "Café Lumen"
    assert staff.role is Role.OWNER
    assert staff.csrf_token == result.csrf_token
    assert len(staff.csrf_token) >= 32
    assert staff.principal.user_id == staff.user_id
    assert staff.principal.api_key_id is None
    assert staff.principal.actor_type == "user"
    staff.principal.require(Scope.USERS_WRITE)
    # only a hash of the token is stored
    async with runtime.db.sessions() as session:
        from sqlalchemy import select

        from passmint.models import UserSession

        rows = list((await session.execute(select(UserSession))).scalars())
    assert [r.ip for r in rows] == ["203.0.113.5"]
    assert all(result.token not in (r.token_hash, r.csrf_token) for r in rows)


async def test_unknown_email_and_wrong_password_get_the_same_answer(
    runtime: Runtime, team: Team
) -> None:
    answers = []
    for email, password in (
        ("nobody@lumen.example", PASSWORD),
        (team.owner_email, "wrong password!"),
        ("not an email", PASSWORD),
    ):
        with pytest.raises(LoginFailed) as raised:
            await login(runtime, email, password)
        answers.append((raised.value.code, raised.value.message, raised.value.status))
    assert len(set(answers)) == 1
    assert answers[0] == ("invalid_credentials", "the email or the password is wrong", 401)


async def test_an_unknown_email_costs_a_password_hash(runtime: Runtime, team: Team) -> None:
    """The timing of an unknown email: a dummy hash is verified, as for a known one."""
    calls: list[str] = []

    class Counting(accounts.Passwords):
        async def verify(self, stored: str, password: str) -> bool:
            calls.append(stored)
            return await super().verify(stored, password)

    counting = Counting(
        accounts.PASSWORDS.hasher.__class__(time_cost=1, memory_cost=64, parallelism=1)
    )
    async with runtime.transaction() as session:
        ctx = ctx_for(runtime, session, passwords=counting)
        with pytest.raises(LoginFailed):
            await sessions.log_in(ctx, "nobody@lumen.example", PASSWORD)
    assert len(calls) == 1
    assert calls[0].startswith("$argon2id$")


async def test_a_disabled_user_cannot_log_in_and_loses_their_sessions(
    runtime: Runtime, team: Team
) -> None:
    result = await login(runtime, team.owner_email)
    async with runtime.transaction() as session:
        user = await accounts.get_user(ctx_for(runtime, session), team.owner_id)
        user.disabled = True
    with pytest.raises(LoginFailed):
        await login(runtime, team.owner_email)
    with pytest.raises(SessionExpired):
        await resolve(runtime, result.token)


async def test_every_login_makes_a_new_token_and_ends_the_one_it_came_with(
    runtime: Runtime, team: Team
) -> None:
    first = await login(runtime, team.owner_email)
    second = await login(runtime, team.owner_email, previous_token=first.token)
    assert second.token != first.token
    assert second.csrf_token != first.csrf_token
    with pytest.raises(SessionExpired):
        await resolve(runtime, first.token)
    assert (await resolve(runtime, second.token)).email == team.owner_email.lower()


async def test_sessions_expire_when_idle_and_when_old(runtime: Runtime, team: Team) -> None:
    result = await login(runtime, team.owner_email)
    start = runtime.clock()
    # used every 50 minutes: alive until the 12-hour lifetime ends
    for minutes in range(50, 12 * 60, 50):
        await resolve(runtime, result.token, now=start + timedelta(minutes=minutes))
    with pytest.raises(SessionExpired) as raised:
        await resolve(runtime, result.token, now=start + timedelta(hours=12, seconds=1))
    assert raised.value.details["reason"] == "age"
    other = await login(runtime, team.owner_email)
    with pytest.raises(SessionExpired) as raised:
        await resolve(runtime, other.token, now=start + timedelta(minutes=61))
    assert raised.value.details["reason"] == "idle"


async def test_the_settings_set_the_policy(runtime: Runtime, team: Team) -> None:
    from passmint.web.deps import staff_context

    async with runtime.db.sessions() as session:
        default = staff_context(runtime, session).policy
        runtime.settings = runtime.settings.model_copy(
            update={"session_idle_minutes": 5, "session_max_hours": 2}
        )
        changed = staff_context(runtime, session).policy
    assert (default.idle, default.lifetime) == (timedelta(minutes=60), timedelta(hours=12))
    assert (changed.idle, changed.lifetime) == (timedelta(minutes=5), timedelta(hours=2))
    result = await login(runtime, team.owner_email)
    async with runtime.transaction() as session:
        ctx = replace(staff_context(runtime, session), now=runtime.clock() + timedelta(minutes=6))
        with pytest.raises(SessionExpired):
            await sessions.resolve(ctx, result.token)


async def test_last_seen_is_written_at_most_once_a_minute(runtime: Runtime, team: Team) -> None:
    from passmint.models import UserSession

    result = await login(runtime, team.owner_email)
    start = runtime.clock()

    async def last_seen() -> object:
        async with runtime.db.sessions() as session:
            from sqlalchemy import select

            return (await session.execute(select(UserSession.last_seen_at))).scalar_one()

    before = await last_seen()
    await resolve(runtime, result.token, now=start + timedelta(seconds=30))
    assert await last_seen() == before
    await resolve(runtime, result.token, now=start + timedelta(seconds=90))
    assert await last_seen() != before


async def test_logging_out_ends_the_session(runtime: Runtime, team: Team) -> None:
    result = await login(runtime, team.owner_email)
    async with runtime.transaction() as session:
        await sessions.log_out(ctx_for(runtime, session), result.token)
        await sessions.log_out(ctx_for(runtime, session), "unknown")
        await sessions.log_out(ctx_for(runtime, session), None)
    with pytest.raises(SessionExpired):
        await resolve(runtime, result.token)
    with pytest.raises(SessionExpired):
        await resolve(runtime, "")


async def test_switching_tenants_only_among_the_users_memberships(
    runtime: Runtime, team: Team, other_team: Team
) -> None:
    await add_user(runtime, other_team, team.owner_email, "viewer")
    stranger = await make_team(runtime, "Elsewhere", "someone@else.example")
    result = await login(runtime, team.owner_email)
    async with runtime.transaction() as session:
        ctx = ctx_for(runtime, session)
        choices = await sessions.tenants_of(ctx, team.owner_id)
        assert [(c.name, c.role) for c in choices] == [
            ("Boulangerie Nord", Role.VIEWER),
            ("Café Lumen", Role.OWNER),
        ]
        moved = await sessions.switch_tenant(ctx, result.token, other_team.tenant_id)
        assert (moved.tenant_id, moved.role) == (other_team.tenant_id, Role.VIEWER)
        with pytest.raises(NotFound):
            await sessions.switch_tenant(ctx, result.token, stranger.tenant_id)
    staff = await resolve(runtime, result.token)
    assert staff.tenant_name == "Boulangerie Nord"
    assert Scope.USERS_WRITE.value not in staff.principal.scopes
    # logging in may name the tenant
    chosen = await login(runtime, team.owner_email, tenant_id=other_team.tenant_id)
    assert chosen.staff is not None
    assert chosen.staff.tenant_id == other_team.tenant_id


async def test_a_removed_member_loses_the_session_a_demoted_one_its_rights(
    runtime: Runtime, team: Team
) -> None:
    marketer_id = await add_user(runtime, team, "mia@lumen.example", "marketer")
    result = await login(runtime, "mia@lumen.example")
    owner = (await login(runtime, team.owner_email)).staff
    assert owner is not None
    async with runtime.transaction() as session:
        await members.change_role(ctx_for(runtime, session), owner.principal, marketer_id, "viewer")
    staff = await resolve(runtime, result.token)
    assert staff.role is Role.VIEWER
    assert Scope.TEMPLATES_WRITE.value not in staff.principal.scopes
    async with runtime.transaction() as session:
        await members.remove_member(ctx_for(runtime, session), owner.principal, marketer_id)
    with pytest.raises(SessionExpired):
        await resolve(runtime, result.token)
    with pytest.raises(NoTenant):
        await login(runtime, "mia@lumen.example")


async def test_the_second_factor(runtime: Runtime, team: Team) -> None:
    async with runtime.transaction() as session:
        ctx = ctx_for(runtime, session)
        enrolment = await accounts.begin_totp(ctx, team.owner_id)
        codes = await accounts.confirm_totp(
            ctx, team.owner_id, pyotp.TOTP(enrolment.secret).at(ctx.now)
        )
    totp = pyotp.TOTP(enrolment.secret)
    first = await login(runtime, team.owner_email)
    assert first.pending_second_factor
    assert first.staff is None
    with pytest.raises(SessionExpired) as raised:
        await resolve(runtime, first.token)  # good for nothing else yet
    assert raised.value.details["reason"] == "second_factor_pending"
    later = runtime.clock() + timedelta(seconds=60)
    async with runtime.transaction() as session:
        ctx = ctx_for(runtime, session, now=later)
        with pytest.raises(InvalidSecondFactor):
            await sessions.complete_second_factor(ctx, first.token, "000000")
    async with runtime.transaction() as session:
        ctx = ctx_for(runtime, session, now=later)
        done = await sessions.complete_second_factor(ctx, first.token, totp.at(later))
    assert done.staff is not None
    assert not done.pending_second_factor
    assert done.token != first.token  # rotated
    with pytest.raises(SessionExpired):
        await resolve(runtime, first.token)
    assert (await resolve(runtime, done.token)).totp_enabled
    # the same code again: refused, even within its window
    again = await login(runtime, team.owner_email)
    async with runtime.transaction() as session:
        ctx = ctx_for(runtime, session, now=later)
        with pytest.raises(InvalidSecondFactor):
            await sessions.complete_second_factor(ctx, again.token, totp.at(later))
    # a recovery code works once
    async with runtime.transaction() as session:
        ctx = ctx_for(runtime, session, now=later)
        assert (await sessions.complete_second_factor(ctx, again.token, codes[0].upper())).staff
    third = await login(runtime, team.owner_email)
    async with runtime.transaction() as session:
        ctx = ctx_for(runtime, session, now=later)
        with pytest.raises(InvalidSecondFactor):
            await sessions.complete_second_factor(ctx, third.token, codes[0])
    # a pending login expires after ten minutes
    async with runtime.transaction() as session:
        ctx = ctx_for(runtime, session, now=later + timedelta(minutes=11))
        with pytest.raises(SessionExpired):
            await sessions.complete_second_factor(ctx, third.token, codes[1])
