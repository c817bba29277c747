"""Users: email and password rules, Argon2id hashes (rehashed when the parameters change),
the TOTP second factor and its recovery codes."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pyotp
import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from passmint.errors import InvalidText
from passmint.models import User
from passmint.runtime import Runtime
from passmint.tenants import accounts, sessions
from passmint.tenants.errors import (
    InvalidEmail,
    InvalidName,
    InvalidSecondFactor,
    LoginFailed,
    PasswordIsEmail,
    PasswordTooLong,
    PasswordTooShort,
    SessionExpired,
    TotpState,
)
from tests.tenants.conftest import CHEAP, PASSWORD, Team, ctx_for

pytestmark = pytest.mark.anyio


def test_emails_are_normalized_and_checked() -> None:
    assert accounts.normalize_email("  Ada.Lovelace@Example.ORG ") == "ada.lovelace@example.org"
    for bad in ("", "ada", "ada@", "@example.org", "ada@example", "a b@example.org",
                "ada@@example.org", "ada@ex\x00ample.org", "a" * 320 + "@example.org"):  # fmt: skip
        with pytest.raises(InvalidEmail) as raised:
            accounts.normalize_email(bad)
        assert raised.value.code == "invalid_email"


def test_password_rules_have_their_own_codes() -> None:
    accounts.check_password("x" * 10, "ada@example.org")
    accounts.check_password("x" * 256, "ada@example.org")
    cases = [
        ("x" * 9, PasswordTooShort, "password_too_short"),
        ("x" * 257, PasswordTooLong, "password_too_long"),
        ("ADA@example.org", PasswordIsEmail, "password_equals_email"),
    ]
    for password, error, code in cases:
        with pytest.raises(error) as raised:
            accounts.check_password(password, "ada@example.org")
        assert raised.value.code == code
        assert raised.value.status == 400
    with pytest.raises(PasswordTooShort) as short:
        accounts.check_password("short", "ada@example.org")
    assert short.value.details == {"field": "password", "min_length": 10}


def test_names_are_one_line_of_text() -> None:
    assert accounts.clean_name("  Ada Lovelace ") == "Ada Lovelace"
    with pytest.raises(InvalidName):
        accounts.clean_name("   ")
    with pytest.raises(InvalidName):
        accounts.clean_name("a" * 256)
    with pytest.raises(InvalidText) as raised:
        accounts.clean_name("Ada\nLovelace")
    assert raised.value.code == "invalid_text"


async def test_passwords_are_argon2id_and_rehashed_when_the_parameters_change(
    runtime: Runtime, team: Team
) -> None:
    async with runtime.db.sessions() as session:
        stored = (await session.execute(select(User.password_hash))).scalar_one()
    assert stored.startswith("$argon2id$")
    assert "m=64,t=1,p=1" in stored
    assert PASSWORD not in stored
    stronger = accounts.Passwords(PasswordHasher(time_cost=2, memory_cost=128, parallelism=1))
    async with runtime.transaction() as session:
        ctx = ctx_for(runtime, session, passwords=stronger)
        await sessions.log_in(ctx, team.owner_email, PASSWORD)
    async with runtime.db.sessions() as session:
        rehashed = (await session.execute(select(User.password_hash))).scalar_one()
    assert "m=128,t=2,p=1" in rehashed
    async with runtime.transaction() as session:  # the new hash still checks the password
        ctx = ctx_for(runtime, session, passwords=stronger)
        assert (await sessions.log_in(ctx, team.owner_email, PASSWORD)).staff is not None
    assert accounts.PASSWORDS.hasher.type.name == "ID"  # argon2-cffi's default: Argon2id


async def test_changing_the_password_needs_the_current_one_and_ends_other_sessions(
    runtime: Runtime, team: Team
) -> None:
    async with runtime.transaction() as session:
        ctx = ctx_for(runtime, session)
        mine = await sessions.log_in(ctx, team.owner_email, PASSWORD)
        elsewhere = await sessions.log_in(ctx, team.owner_email, PASSWORD)
    assert mine.staff is not None
    async with runtime.transaction() as session:
        ctx = ctx_for(runtime, session)
        with pytest.raises(LoginFailed):
            await accounts.change_password(ctx, team.owner_id, current="nope", new="a new secret")
    async with runtime.transaction() as session:
        ctx = ctx_for(runtime, session)
        await accounts.change_password(
            ctx,
            team.owner_id,
            current=PASSWORD,
            new="a new secret",
            keep_session=mine.staff.session_id,
        )
    async with runtime.transaction() as session:
        ctx = ctx_for(runtime, session)
        assert (await sessions.resolve(ctx, mine.token)).user_id == team.owner_id
        with pytest.raises(SessionExpired):
            await sessions.resolve(ctx, elsewhere.token)
        assert (await sessions.log_in(ctx, team.owner_email, "a new secret")).staff


async def test_totp_enrolment_confirmation_and_codes(runtime: Runtime, team: Team) -> None:
    async with runtime.transaction() as session:
        ctx = ctx_for(runtime, session)
        enrolment = await accounts.begin_totp(ctx, team.owner_id)
        uri = urlsplit(enrolment.uri)
        assert uri.scheme == "otpauth"
        assert uri.netloc == "totp"
        assert parse_qs(uri.query)["issuer"] == ["passmint"]
        assert parse_qs(uri.query)["secret"] == [enrolment.secret]
        assert "owner%40lumen.example" in uri.path
        with pytest.raises(InvalidSecondFactor):  # cancelling the enrolment needs proof too
            await accounts.disable_totp(ctx, team.owner_id, password="wrong")
        with pytest.raises(InvalidSecondFactor):
            await accounts.confirm_totp(ctx, team.owner_id, "000000")
        totp = pyotp.TOTP(enrolment.secret)
        codes = await accounts.confirm_totp(ctx, team.owner_id, totp.at(ctx.now))
        assert len(codes) == len(set(codes)) == 10
        with pytest.raises(TotpState) as raised:
            await accounts.begin_totp(ctx, team.owner_id)
        assert raised.value.details["reason"] == "enabled"
    async with runtime.db.sessions() as session:
        user = (await session.execute(select(User))).scalar_one()
    # the secret is encrypted at rest and the recovery codes are hashed
    assert user.totp_secret_enc is not None
    assert enrolment.secret.encode() not in user.totp_secret_enc
    assert not set(codes) & set(user.recovery_code_hashes)
    assert len(user.recovery_code_hashes) == 10


async def test_a_code_is_good_one_step_either_side_and_only_once(
    runtime: Runtime, team: Team
) -> None:
    async with runtime.transaction() as session:
        ctx = ctx_for(runtime, session)
        enrolment = await accounts.begin_totp(ctx, team.owner_id)
        await accounts.confirm_totp(ctx, team.owner_id, pyotp.TOTP(enrolment.secret).at(ctx.now))
    totp = pyotp.TOTP(enrolment.secret)
    start = runtime.clock() + timedelta(minutes=5)

    async def check(code: str, seconds: int) -> str | None:
        async with runtime.transaction() as session:
            ctx = ctx_for(runtime, session, now=start + timedelta(seconds=seconds))
            user = await accounts.get_user(ctx, team.owner_id)
            return await accounts.verify_second_factor(ctx, user, code)

    assert await check(totp.at(start - timedelta(seconds=30)), 0) == "totp"  # one step late
    assert await check(totp.at(start + timedelta(seconds=30)), 0) == "totp"  # one step early
    assert await check(totp.at(start + timedelta(seconds=30)), 1) is None  # used already
    assert await check(totp.at(start), 0) is None  # older than the last one used
    assert await check(totp.at(start + timedelta(seconds=120)), 0) is None  # four steps away
    assert await check("12345", 0) is None
    assert await check("", 0) is None


async def test_turning_totp_off_and_new_recovery_codes(runtime: Runtime, team: Team) -> None:
    async with runtime.transaction() as session:
        ctx = ctx_for(runtime, session)
        enrolment = await accounts.begin_totp(ctx, team.owner_id)
        totp = pyotp.TOTP(enrolment.secret)
        codes = await accounts.confirm_totp(ctx, team.owner_id, totp.at(ctx.now))
    later = runtime.clock() + timedelta(seconds=90)
    async with runtime.transaction() as session:
        ctx = ctx_for(runtime, session, now=later)
        fresh = await accounts.regenerate_recovery_codes(ctx, team.owner_id, codes[0])
        assert not set(fresh) & set(codes)
        user = await accounts.get_user(ctx, team.owner_id)
        assert await accounts.verify_second_factor(ctx, user, codes[1]) is None  # replaced
        with pytest.raises(InvalidSecondFactor):
            await accounts.disable_totp(ctx, team.owner_id, password="not it at all")
        with pytest.raises(InvalidSecondFactor):
            await accounts.disable_totp(ctx, team.owner_id)
        await accounts.disable_totp(ctx, team.owner_id, code=fresh[3])
        assert not accounts.totp_enabled(await accounts.get_user(ctx, team.owner_id))
        with pytest.raises(TotpState):
            await accounts.disable_totp(ctx, team.owner_id, password=PASSWORD)
        # on again, off with the password
        again = await accounts.begin_totp(ctx, team.owner_id)
        await accounts.confirm_totp(ctx, team.owner_id, pyotp.TOTP(again.secret).at(later))
        await accounts.disable_totp(ctx, team.owner_id, password=PASSWORD)
    async with runtime.transaction() as session:
        result = await sessions.log_in(ctx_for(runtime, session), team.owner_email, PASSWORD)
    assert not result.pending_second_factor


async def test_the_cheap_hasher_is_only_for_tests() -> None:
    assert CHEAP.hasher.memory_cost < accounts.PASSWORDS.hasher.memory_cost
    assert accounts.PASSWORDS.hasher.memory_cost >= 64 * 1024
