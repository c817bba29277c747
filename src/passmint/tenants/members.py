"""A tenant's staff: listing its members, changing their roles, removing them, and adding
one from the command line. A tenant always keeps at least one owner."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from passmint.models import Membership, User
from passmint.tenants import repository
from passmint.tenants.accounts import StaffContext, create_user, normalize_email, totp_enabled
from passmint.tenants.errors import AlreadyMember, LastOwner, NotFound
from passmint.tenants.roles import Role, parse_role
from passmint.tenants.scopes import Scope
from passmint.tenants.service import Principal


@dataclass(frozen=True)
class Member:
    user_id: uuid.UUID
    email: str
    name: str
    role: Role
    member_since: datetime
    last_login_at: datetime | None
    totp_enabled: bool
    disabled: bool


def _member(membership: Membership, user: User) -> Member:
    return Member(
        user_id=user.id,
        email=user.email,
        name=user.name,
        role=Role(membership.role),
        member_since=membership.created_at,
        last_login_at=user.last_login_at,
        totp_enabled=totp_enabled(user),
        disabled=user.disabled,
    )


async def members(ctx: StaffContext, tenant_id: uuid.UUID) -> list[Member]:
    """Every member of ``tenant_id`` by email (for operators: no permission check)."""
    if await repository.tenant_by_id(ctx.session, tenant_id) is None:
        raise NotFound(f"no tenant {tenant_id}")
    return [_member(m, u) for m, u in await repository.members_of_tenant(ctx.session, tenant_id)]


async def list_members(ctx: StaffContext, principal: Principal) -> list[Member]:
    """The principal's tenant's members (``users:read``)."""
    principal.require(Scope.USERS_READ, Scope.USERS_WRITE)
    return await members(ctx, principal.tenant_id)


async def _membership(ctx: StaffContext, principal: Principal, user_id: uuid.UUID) -> Membership:
    principal.require(Scope.USERS_WRITE)
    row = await repository.membership(ctx.session, user_id, principal.tenant_id)
    if row is None:
        raise NotFound("no such member")
    return row


async def _keep_an_owner(ctx: StaffContext, row: Membership) -> None:
    if row.role == Role.OWNER and await repository.count_owners(ctx.session, row.tenant_id) <= 1:
        raise LastOwner("the tenant would have no owner left: make another member owner first")


async def change_role(
    ctx: StaffContext, principal: Principal, user_id: uuid.UUID, role: Role | str
) -> Member:
    """Give a member another role (``users:write``); the last owner stays one (409
    ``last_owner``). Takes effect at the member's next request."""
    row = await _membership(ctx, principal, user_id)
    chosen = role if isinstance(role, Role) else parse_role(role)
    if chosen != row.role:
        if chosen != Role.OWNER:
            await _keep_an_owner(ctx, row)
        row.role = chosen.value
        await ctx.session.flush()
    user = await repository.user_by_id(ctx.session, user_id)
    assert user is not None
    return _member(row, user)


async def remove_member(ctx: StaffContext, principal: Principal, user_id: uuid.UUID) -> None:
    """Take a member out of the tenant (``users:write``); their sessions in it end. The
    last owner cannot be removed (409 ``last_owner``)."""
    row = await _membership(ctx, principal, user_id)
    await _keep_an_owner(ctx, row)
    await repository.delete_membership(ctx.session, row)
    await repository.delete_tenant_sessions_of(ctx.session, user_id, principal.tenant_id)


async def add_member(
    ctx: StaffContext,
    tenant_id: uuid.UUID,
    *,
    email: str,
    role: Role | str,
    name: str | None = None,
    password: str | None = None,
) -> tuple[Member, bool]:
    """Make ``email`` a member of ``tenant_id`` with ``role`` (the command line's first
    owner): a new user needs ``name`` and ``password``; an existing one keeps theirs. The
    member, and whether the user was created. :class:`AlreadyMember` if they are one."""
    chosen = role if isinstance(role, Role) else parse_role(role)
    address = normalize_email(email)
    if await repository.tenant_by_id(ctx.session, tenant_id) is None:
        raise NotFound(f"no tenant {tenant_id}")
    user = await repository.user_by_email(ctx.session, address)
    created = user is None
    if user is None:
        user = await create_user(
            ctx, email=address, name=name or address.partition("@")[0], password=password or ""
        )
    elif await repository.membership(ctx.session, user.id, tenant_id) is not None:
        raise AlreadyMember(f"{address} is a member of this tenant already")
    row = Membership(user_id=user.id, tenant_id=tenant_id, role=chosen.value, created_at=ctx.now)
    await repository.add(ctx.session, row)
    return _member(row, user), created
