"""Staff sessions: logging in (with the second factor when the user has one), resolving the
cookie's token on every request, switching tenants, logging out.

The token is 256 random bits, handed to the browser once (the admin app puts it in an
HttpOnly cookie); only its keyed hash is stored. Every login makes a new token (and ends
the session the browser came with), and so does completing the second factor. A session
ends after ``idle`` without a request and ``lifetime`` after its login; its last-seen time
is written at most once a minute. An unknown email, a wrong password and a disabled
account get the same answer after the same work (a dummy hash is verified for an unknown
email); failures count against the account and the client address (:mod:`.throttle`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import NoReturn

from passmint.kit import lengths
from passmint.kit.crypto import random_token
from passmint.models import Membership, Tenant, User, UserSession
from passmint.tenants import audit, repository
from passmint.tenants.accounts import StaffContext, normalize_email, totp_enabled, user_actor
from passmint.tenants.accounts import verify_second_factor as _second_factor
from passmint.tenants.errors import (
    InvalidEmail,
    InvalidSecondFactor,
    LoginFailed,
    NoTenant,
    NotFound,
    SessionExpired,
)
from passmint.tenants.roles import Role, scopes_of
from passmint.tenants.service import Principal

_GENERIC = "the email or the password is wrong"


@dataclass(frozen=True)
class StaffSession:
    """A logged-in user in their current tenant, as every admin request sees them."""

    session_id: uuid.UUID
    user_id: uuid.UUID
    email: str
    name: str
    locale: str | None
    tenant_id: uuid.UUID
    tenant_name: str
    role: Role
    csrf_token: str
    totp_enabled: bool
    principal: Principal
    """What the services check: the role's scopes in this tenant."""


@dataclass(frozen=True)
class LoginResult:
    """A new session. ``token`` goes in the cookie (replacing any earlier one). While
    ``pending_second_factor``, ``staff`` is None and the token is good only for
    :func:`complete_second_factor`."""

    token: str
    csrf_token: str
    pending_second_factor: bool
    staff: StaffSession | None


@dataclass(frozen=True)
class TenantChoice:
    tenant_id: uuid.UUID
    name: str
    role: Role


def principal_of(user: User, tenant_id: uuid.UUID, role: Role) -> Principal:
    return Principal(
        tenant_id=tenant_id,
        api_key_id=None,
        scopes=frozenset(s.value for s in scopes_of(role)),
        user_id=user.id,
        label=user.email,
        role=role.value,
    )


def _staff(row: UserSession, user: User, tenant: Tenant, membership: Membership) -> StaffSession:
    role = Role(membership.role)
    return StaffSession(
        session_id=row.id,
        user_id=user.id,
        email=user.email,
        name=user.name,
        locale=user.locale,
        tenant_id=tenant.id,
        tenant_name=tenant.name,
        role=role,
        csrf_token=row.csrf_token,
        totp_enabled=totp_enabled(user),
        principal=principal_of(user, tenant.id, role),
    )


def _throttle_key(email: str) -> str:
    return email.strip().lower()[: lengths.EMAIL]


async def log_in(
    ctx: StaffContext,
    email: str,
    password: str,
    *,
    ip: str | None = None,
    user_agent: str | None = None,
    previous_token: str | None = None,
    tenant_id: uuid.UUID | None = None,
) -> LoginResult:
    """Check the email and password and open a session (in ``tenant_id`` if the user is a
    member there, else their first tenant by name). Raises
    :class:`~passmint.tenants.errors.LoginThrottled` (429) past the failures allowed,
    :class:`~passmint.tenants.errors.LoginFailed` (401, one message for every reason) or
    :class:`~passmint.tenants.errors.NoTenant` (403: the password was right, but the
    account belongs to no tenant)."""
    key = _throttle_key(email)
    if ctx.throttle is not None:
        await ctx.throttle.check(key, ip)
    try:
        user = await repository.user_by_email(ctx.session, normalize_email(email))
    except InvalidEmail:
        user = None
    if user is None or user.disabled:
        await ctx.passwords.burn(password)
        await _failed(ctx, key, ip)
    if not await ctx.passwords.verify(user.password_hash, password):
        await _failed(ctx, key, ip)
    if ctx.passwords.needs_rehash(user.password_hash):
        user.password_hash = await ctx.passwords.hash(password)
    memberships = await repository.memberships_of_user(ctx.session, user.id)
    if not memberships:
        raise NoTenant("your account belongs to no tenant: ask an owner to invite you again")
    chosen = next((m for m in memberships if m[0].tenant_id == tenant_id), memberships[0])
    if previous_token:
        await log_out(ctx, previous_token)
    await repository.delete_stale_sessions(
        ctx.session,
        user.id,
        idle_before=ctx.now - ctx.policy.idle,
        created_before=ctx.now - ctx.policy.lifetime,
    )
    pending = totp_enabled(user)
    token = random_token(32)
    row = UserSession(
        token_hash=ctx.hasher.hash(token),
        user_id=user.id,
        tenant_id=chosen[1].id,
        csrf_token=random_token(32),
        pending_second_factor=pending,
        ip=ip[: lengths.IP_ADDRESS] if ip else None,
        user_agent=user_agent[: lengths.USER_AGENT] if user_agent else None,
        created_at=ctx.now,
        last_seen_at=ctx.now,
    )
    await repository.add(ctx.session, row)
    if pending:
        return LoginResult(token, row.csrf_token, True, None)
    await _logged_in(ctx, user, chosen[1].id, key, ip, "password")
    return LoginResult(token, row.csrf_token, False, _staff(row, user, chosen[1], chosen[0]))


async def _failed(ctx: StaffContext, key: str, ip: str | None) -> NoReturn:
    if ctx.throttle is not None:
        await ctx.throttle.failed(key, ip)
    raise LoginFailed(_GENERIC)


async def _logged_in(
    ctx: StaffContext, user: User, tenant_id: uuid.UUID, key: str, ip: str | None, how: str
) -> None:
    user.last_login_at = ctx.now
    await ctx.session.flush()
    if ctx.throttle is not None:
        await ctx.throttle.succeeded(key)
    audit.note(
        ctx.session,
        action="user.logged_in",
        object_type="user",
        object_id=user.id,
        summary={"with": how},
        actor=user_actor(user, tenant_id, ip=ip),
        at=ctx.now,
    )


async def complete_second_factor(
    ctx: StaffContext, token: str, code: str, *, ip: str | None = None
) -> LoginResult:
    """The authenticator's code (or a recovery code) for a pending session: the session
    gets a new token and is good from now on. A wrong code counts as a failed login."""
    row = await repository.staff_session_by_hash(ctx.session, ctx.hasher.hash(token or ""))
    if (
        row is None
        or not row.pending_second_factor
        or row.created_at + ctx.policy.pending <= ctx.now
    ):
        raise SessionExpired("log in again: this login has expired")
    user = await repository.user_by_id(ctx.session, row.user_id)
    if user is None or user.disabled:
        raise SessionExpired("log in again: this login has expired")
    key = _throttle_key(user.email)
    if ctx.throttle is not None:
        await ctx.throttle.check(key, ip)
    how = await _second_factor(ctx, user, code)
    if how is None:
        if ctx.throttle is not None:
            await ctx.throttle.failed(key, ip)
        raise InvalidSecondFactor("the code is wrong or was used already")
    new_token = random_token(32)
    row.token_hash = ctx.hasher.hash(new_token)
    row.csrf_token = random_token(32)
    row.pending_second_factor = False
    row.last_seen_at = ctx.now
    await ctx.session.flush()
    tenant = await repository.tenant_by_id(ctx.session, row.tenant_id)
    membership = await repository.membership(ctx.session, user.id, row.tenant_id)
    if tenant is None or membership is None:
        raise SessionExpired("log in again: your access to this tenant has ended")
    await _logged_in(ctx, user, tenant.id, key, ip, how)
    return LoginResult(new_token, row.csrf_token, False, _staff(row, user, tenant, membership))


async def resolve(ctx: StaffContext, token: str | None) -> StaffSession:
    """The session of the cookie's token, or :class:`SessionExpired` (401): unknown,
    logged out, waiting for its second factor, idle or old beyond the policy, its user
    disabled or no longer a member of its tenant. Writes the last-seen time at most once
    a minute: call it in a write transaction."""
    row, user, tenant, membership = await _live(ctx, token)
    return _staff(row, user, tenant, membership)


async def _live(
    ctx: StaffContext, token: str | None
) -> tuple[UserSession, User, Tenant, Membership]:
    """:func:`resolve`'s session, its user, tenant and membership there."""
    if not token:
        raise SessionExpired("log in first")
    found = await repository.staff_session_view(ctx.session, ctx.hasher.hash(token))
    if found is None:
        raise SessionExpired("your session has ended: log in again")
    row, user, tenant, membership = found
    if row.pending_second_factor:
        raise SessionExpired(
            "enter the code of your authenticator first",
            details={"reason": "second_factor_pending"},
        )
    if row.last_seen_at + ctx.policy.idle <= ctx.now:
        raise SessionExpired(
            "your session expired after inactivity: log in again", details={"reason": "idle"}
        )
    if row.created_at + ctx.policy.lifetime <= ctx.now:
        raise SessionExpired("your session is too old: log in again", details={"reason": "age"})
    if user.disabled or membership is None:
        raise SessionExpired("your access to this tenant has ended", details={"reason": "access"})
    if ctx.now - row.last_seen_at >= ctx.policy.touch_every:
        row.last_seen_at = ctx.now
        await ctx.session.flush()
    return row, user, tenant, membership


async def log_out(ctx: StaffContext, token: str | None) -> None:
    """End the session of ``token`` (nothing happens for an unknown one)."""
    if not token:
        return
    row = await repository.staff_session_by_hash(ctx.session, ctx.hasher.hash(token))
    if row is not None:
        await repository.delete_staff_session(ctx.session, row.id)


async def tenants_of(ctx: StaffContext, user_id: uuid.UUID) -> list[TenantChoice]:
    """The tenants the user belongs to, by name, with their role in each."""
    return [
        TenantChoice(tenant.id, tenant.name, Role(membership.role))
        for membership, tenant in await repository.memberships_of_user(ctx.session, user_id)
    ]


async def switch_tenant(ctx: StaffContext, token: str, tenant_id: uuid.UUID) -> StaffSession:
    """Move the session to another tenant of the user's (404 for one they are not in)."""
    row, user, _, _ = await _live(ctx, token)
    membership = await repository.membership(ctx.session, user.id, tenant_id)
    tenant = await repository.tenant_by_id(ctx.session, tenant_id)
    if membership is None or tenant is None:
        raise NotFound("no such tenant")
    row.tenant_id = tenant_id
    await ctx.session.flush()
    return _staff(row, user, tenant, membership)


async def end_sessions(
    ctx: StaffContext, user_id: uuid.UUID, *, keep: uuid.UUID | None = None
) -> int:
    """Log the user out everywhere (but the session ``keep``); how many sessions ended."""
    return await repository.delete_user_sessions(ctx.session, user_id, keep=keep)
