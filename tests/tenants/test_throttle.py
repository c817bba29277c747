"""Login throttling (the limits library): failures per account and per address, in the
shared limiter's storage (memory embedded, Redis in production, shared by processes)."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pyotp
import pytest

from passmint.config import Settings
from passmint.runtime import Runtime
from passmint.tenants import accounts, sessions
from passmint.tenants.errors import InvalidSecondFactor, LoginFailed, LoginThrottled
from passmint.tenants.throttle import LoginThrottle
from passmint.web import ratelimit
from passmint.web.deps import login_throttle
from tests.fixtures.apns_server import FakeApns
from tests.service.conftest import make_settings
from tests.tenants.conftest import PASSWORD, Team, ctx_for, make_team

pytestmark = pytest.mark.anyio

LIMITS = {"login_account": "3/minute", "login_ip": "5/minute"}


@pytest.fixture
def settings(database_url: str, tmp_path: Path, apns: FakeApns) -> Settings:
    return make_settings(database_url, tmp_path, apns, rate_limits=LIMITS)


async def attempt(
    runtime: Runtime, email: str, password: str = PASSWORD, ip: str = "198.51.100.1"
) -> str:
    """``ok``, the error's code, after one login."""
    try:
        async with runtime.transaction() as session:
            await sessions.log_in(ctx_for(runtime, session), email, password, ip=ip)
    except (LoginFailed, LoginThrottled) as exc:
        return exc.code
    return "ok"


async def test_failures_per_account_then_429_even_with_the_right_password(
    runtime: Runtime, team: Team
) -> None:
    answers = [
        await attempt(runtime, team.owner_email, "wrong password", ip=f"198.51.100.{n}")
        for n in range(3)
    ]
    assert answers == ["invalid_credentials"] * 3
    with pytest.raises(LoginThrottled) as raised:
        async with runtime.transaction() as session:
            await sessions.log_in(ctx_for(runtime, session), team.owner_email, PASSWORD)
    assert raised.value.status == 429
    assert raised.value.code == "login_throttled"
    assert 1 <= raised.value.details["retry_after"] <= 60
    assert raised.value.headers["Retry-After"] == str(raised.value.details["retry_after"])
    # the same account in any case, from any address
    assert await attempt(runtime, team.owner_email.upper(), ip="192.0.2.77") == "login_throttled"


async def test_failures_per_address_across_accounts(runtime: Runtime, team: Team) -> None:
    ip = "203.0.113.9"
    answers = [await attempt(runtime, f"guess{n}@lumen.example", ip=ip) for n in range(5)]
    assert answers == ["invalid_credentials"] * 5
    assert await attempt(runtime, team.owner_email, ip=ip) == "login_throttled"
    assert await attempt(runtime, team.owner_email, ip="203.0.113.10") == "ok"


async def test_ipv6_addresses_count_by_their_network(runtime: Runtime, team: Team) -> None:
    """One host holds a whole /64: new addresses in it do not buy new attempts."""
    answers = [
        await attempt(runtime, f"guess{n}@lumen.example", ip=f"2001:db8:1:2::{n + 1:x}")
        for n in range(5)
    ]
    assert answers == ["invalid_credentials"] * 5
    assert await attempt(runtime, team.owner_email, ip="2001:db8:1:2:ffff::9") == "login_throttled"
    assert await attempt(runtime, team.owner_email, ip="2001:db8:1:3::1") == "ok"


async def test_a_success_forgives_the_accounts_failures(runtime: Runtime, team: Team) -> None:
    for _ in range(2):
        assert await attempt(runtime, team.owner_email, "wrong password", ip="192.0.2.1") != "ok"
    assert await attempt(runtime, team.owner_email, ip="192.0.2.2") == "ok"
    for _ in range(2):
        assert await attempt(runtime, team.owner_email, "wrong password", ip="192.0.2.3") != "ok"
    assert await attempt(runtime, team.owner_email, ip="192.0.2.4") == "ok"


async def test_wrong_second_factor_codes_count_as_failures(runtime: Runtime, team: Team) -> None:
    async with runtime.transaction() as session:
        ctx = ctx_for(runtime, session)
        enrolment = await accounts.begin_totp(ctx, team.owner_id)
        await accounts.confirm_totp(ctx, team.owner_id, pyotp.TOTP(enrolment.secret).at(ctx.now))
    async with runtime.transaction() as session:
        pending = await sessions.log_in(ctx_for(runtime, session), team.owner_email, PASSWORD)

    async def second_factor(code: str) -> None:
        async with runtime.transaction() as session:
            ctx = ctx_for(runtime, session)
            await sessions.complete_second_factor(ctx, pending.token, code, ip="192.0.2.5")

    for _ in range(3):
        with pytest.raises(InvalidSecondFactor):
            await second_factor("123456")
    with pytest.raises(LoginThrottled):
        await second_factor(pyotp.TOTP(enrolment.secret).at(runtime.clock()))


async def test_reset_requests_are_throttled_too(runtime: Runtime, team: Team) -> None:
    from passmint.tenants import invitations

    for n in range(3):
        async with runtime.transaction() as session:
            await invitations.request_reset(
                ctx_for(runtime, session), team.owner_email, ip=f"192.0.2.{20 + n}"
            )
    with pytest.raises(LoginThrottled):
        async with runtime.transaction() as session:
            await invitations.request_reset(ctx_for(runtime, session), team.owner_email)


async def test_the_throttle_counts_in_the_shared_limiters_storage(runtime: Runtime) -> None:
    throttle = login_throttle(runtime)
    assert isinstance(throttle, LoginThrottle)
    assert throttle is login_throttle(runtime)
    assert isinstance(ratelimit.shared(runtime).storage, ratelimit.ProcessStorage)
    assert str(ratelimit.shared(runtime).limits["login_account"][0]) == "3 per 1 minute"
    default = ratelimit.named_limits(Settings())
    assert str(default["login_account"][0]) == "5 per 15 minute"
    assert str(default["login_ip"][0]) == "30 per 15 minute"


async def test_web_processes_share_the_counts_in_redis(
    database_url: str, tmp_path: Path, apns: FakeApns
) -> None:
    url = os.environ.get("PASSMINT_TEST_REDIS_URL")
    if not url:
        pytest.skip("PASSMINT_TEST_REDIS_URL is not set")
    settings = make_settings(
        database_url,
        tmp_path,
        apns,
        redis_url=url,
        queue_name=f"passmint-test:{uuid.uuid4()}",
        rate_limits=LIMITS,
    )
    first, second = Runtime(settings), Runtime(settings)
    for rt in (first, second):
        await rt.start(worker=False, migrate=False)
    try:
        team = await make_team(first, "Shared", "owner@shared.example")
        answers = [
            await attempt(rt, team.owner_email, "wrong password", ip=f"192.0.2.{n}")
            for n, rt in enumerate((first, second, first))
        ]
        assert answers == ["invalid_credentials"] * 3
        assert await attempt(second, team.owner_email) == "login_throttled"
        assert not isinstance(ratelimit.shared(first).storage, ratelimit.ProcessStorage)
    finally:
        for rt in (first, second):
            await rt.stop()


async def test_a_failing_storage_lets_logins_through(
    database_url: str, tmp_path: Path, apns: FakeApns
) -> None:
    settings = make_settings(
        database_url, tmp_path, apns, redis_url="redis://127.0.0.1:1/0", rate_limits=LIMITS
    )
    rt = Runtime(settings)
    await rt.start(worker=False, migrate=False)
    try:
        team = await make_team(rt, "Down", "owner@down.example")
        for _ in range(4):
            assert await attempt(rt, team.owner_email, "wrong password") == "invalid_credentials"
        assert await attempt(rt, team.owner_email) == "ok"
    finally:
        await rt.stop()
