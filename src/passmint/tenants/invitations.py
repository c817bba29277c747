"""Invitations and password resets: single-use links.

A link carries 256 random bits; only their keyed hash is stored. An invitation lives 7
days and a reset 1 hour; using one, revoking it or making a newer one for the same person
ends it. When SMTP is configured the link is emailed (an outbox job of the same
transaction); either way the inviter gets it back, to hand over if no email is sent.
Asking for a reset never says whether the address has an account.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from passmint.kit.crypto import random_token
from passmint.models import Invitation, Membership, PasswordReset, User
from passmint.tenants import audit, mail, repository
from passmint.tenants.accounts import (
    INVITATION_LIFETIME,
    RESET_LIFETIME,
    StaffContext,
    clean_name,
    create_user,
    normalize_email,
    set_password,
    user_actor,
)
from passmint.tenants.errors import AlreadyMember, InvalidEmail, InvalidLink, NotFound
from passmint.tenants.roles import Role, parse_role
from passmint.tenants.scopes import Scope
from passmint.tenants.service import Principal

INVITATION_PATH: Final = "/admin/invitations/"
RESET_PATH: Final = "/admin/reset/"


@dataclass(frozen=True)
class IssuedLink:
    """A link just made: ``url`` to email or hand over (shown once), ``emailed`` whether an
    email with it will be sent after commit."""

    id: uuid.UUID
    url: str
    expires_at: datetime
    emailed: bool


@dataclass(frozen=True)
class InvitationView:
    """What the invitation page shows (and whether it must ask for a name and password:
    ``existing_user`` False)."""

    id: uuid.UUID
    email: str
    role: Role
    tenant_id: uuid.UUID
    tenant_name: str
    expires_at: datetime
    existing_user: bool


@dataclass(frozen=True)
class PendingInvitation:
    id: uuid.UUID
    email: str
    role: Role
    invited_by: str | None
    created_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class Accepted:
    user_id: uuid.UUID
    tenant_id: uuid.UUID
    email: str
    created_user: bool


def _link(ctx: StaffContext, path: str, token: str) -> str:
    return f"{ctx.public_url.rstrip('/')}{path}{token}"


# -- invitations -----------------------------------------------------------------------------


async def invite(
    ctx: StaffContext, principal: Principal, email: str, role: Role | str
) -> IssuedLink:
    """Invite ``email`` to the principal's tenant as ``role`` (``users:write``). An earlier
    pending invitation of the same address is revoked; a member already is a 409."""
    principal.require(Scope.USERS_WRITE)
    address = normalize_email(email)
    chosen = role if isinstance(role, Role) else parse_role(role)
    tenant = await repository.tenant_by_id(ctx.session, principal.tenant_id)
    if tenant is None:
        raise NotFound("no such tenant")
    existing = await repository.user_by_email(ctx.session, address)
    if existing is not None and await repository.membership(ctx.session, existing.id, tenant.id):
        raise AlreadyMember(f"{address} is a member of {tenant.name} already")
    for earlier in await repository.pending_invitations(
        ctx.session, tenant.id, ctx.now, email=address
    ):
        earlier.revoked_at = ctx.now
    token = random_token(32)
    row = Invitation(
        tenant_id=tenant.id,
        email=address,
        role=chosen.value,
        token_hash=ctx.hasher.hash(token),
        invited_by=principal.user_id,
        created_at=ctx.now,
        expires_at=ctx.now + INVITATION_LIFETIME,
    )
    await repository.add(ctx.session, row)
    url = _link(ctx, INVITATION_PATH, token)
    if ctx.mail:
        inviter = None
        if principal.user_id is not None:
            user = await repository.user_by_id(ctx.session, principal.user_id)
            inviter = user.name if user is not None else None
        message = mail.invitation_mail(
            to=address,
            tenant=tenant.name,
            role=chosen.value,
            inviter=inviter,
            link=url,
            days=INVITATION_LIFETIME.days,
        )
        await mail.enqueue(ctx.session, ctx.box, message, now=ctx.now)
    return IssuedLink(row.id, url, row.expires_at, ctx.mail)


async def _usable_invitation(ctx: StaffContext, token: str) -> Invitation:
    row = await repository.invitation_by_hash(ctx.session, ctx.hasher.hash(token or ""))
    if row is None:
        raise InvalidLink("this invitation link is not valid", details={"reason": "unknown"})
    if row.accepted_at is not None:
        raise InvalidLink("this invitation was accepted already", details={"reason": "used"})
    if row.revoked_at is not None:
        raise InvalidLink("this invitation was withdrawn", details={"reason": "revoked"})
    if row.expires_at <= ctx.now:
        raise InvalidLink("this invitation has expired", details={"reason": "expired"})
    return row


async def invitation_info(ctx: StaffContext, token: str) -> InvitationView:
    """The invitation of a link, for its page; :class:`InvalidLink` if it cannot be used."""
    row = await _usable_invitation(ctx, token)
    tenant = await repository.tenant_by_id(ctx.session, row.tenant_id)
    assert tenant is not None
    user = await repository.user_by_email(ctx.session, row.email)
    return InvitationView(
        id=row.id,
        email=row.email,
        role=Role(row.role),
        tenant_id=tenant.id,
        tenant_name=tenant.name,
        expires_at=row.expires_at,
        existing_user=user is not None,
    )


async def accept_invitation(
    ctx: StaffContext,
    token: str,
    name: str | None,
    password: str | None,
    *,
    ip: str | None = None,
) -> Accepted:
    """Use an invitation: a new user is created with ``name`` and ``password`` (checked by
    the password rules); an existing user of that email just gets the membership (their
    name and password stay; the two arguments are ignored). ``ip``: the client's address,
    for the audit log. Log them in afterwards with
    :func:`passmint.tenants.sessions.log_in`."""
    row = await _usable_invitation(ctx, token)
    user = await repository.user_by_email(ctx.session, row.email)
    created = user is None
    if user is None:
        user = await create_user(
            ctx, email=row.email, name=clean_name(name or ""), password=password or ""
        )
    elif await repository.membership(ctx.session, user.id, row.tenant_id) is not None:
        row.accepted_at = ctx.now
        await ctx.session.flush()
        return Accepted(user.id, row.tenant_id, user.email, False)
    await repository.add(
        ctx.session,
        Membership(user_id=user.id, tenant_id=row.tenant_id, role=row.role, created_at=ctx.now),
    )
    row.accepted_at = ctx.now
    await ctx.session.flush()
    audit.note(
        ctx.session,
        action="invitation.accepted",
        object_type="invitation",
        object_id=row.id,
        summary={"email": user.email, "role": row.role, "new_user": created},
        actor=user_actor(user, row.tenant_id, ip=ip),
        at=ctx.now,
    )
    return Accepted(user.id, row.tenant_id, user.email, created)


async def list_invitations(ctx: StaffContext, principal: Principal) -> list[PendingInvitation]:
    """The tenant's invitations not accepted, revoked or expired yet (``users:read``)."""
    principal.require(Scope.USERS_READ, Scope.USERS_WRITE)
    rows = await repository.pending_invitations(ctx.session, principal.tenant_id, ctx.now)
    inviters: dict[uuid.UUID, User | None] = {}
    out = []
    for row in rows:
        label = None
        if row.invited_by is not None:
            if row.invited_by not in inviters:
                inviters[row.invited_by] = await repository.user_by_id(ctx.session, row.invited_by)
            inviter = inviters[row.invited_by]
            label = inviter.email if inviter is not None else None
        out.append(
            PendingInvitation(
                row.id, row.email, Role(row.role), label, row.created_at, row.expires_at
            )
        )
    return out


async def revoke_invitation(
    ctx: StaffContext, principal: Principal, invitation_id: uuid.UUID
) -> None:
    """Withdraw a pending invitation of the principal's tenant (``users:write``; 404 for
    another tenant's, or one no longer pending)."""
    principal.require(Scope.USERS_WRITE)
    row = await repository.invitation(ctx.session, principal.tenant_id, invitation_id)
    if row is None or row.accepted_at is not None or row.revoked_at is not None:
        raise NotFound("no such pending invitation")
    row.revoked_at = ctx.now
    await ctx.session.flush()


# -- password resets -------------------------------------------------------------------------


async def _new_reset(ctx: StaffContext, user: User) -> IssuedLink:
    await repository.retire_resets(ctx.session, user.id, ctx.now)
    token = random_token(32)
    row = PasswordReset(
        user_id=user.id,
        token_hash=ctx.hasher.hash(token),
        created_at=ctx.now,
        expires_at=ctx.now + RESET_LIFETIME,
    )
    await repository.add(ctx.session, row)
    url = _link(ctx, RESET_PATH, token)
    if ctx.mail:
        message = mail.reset_mail(
            to=user.email, link=url, minutes=int(RESET_LIFETIME.total_seconds() // 60)
        )
        await mail.enqueue(ctx.session, ctx.box, message, now=ctx.now)
    return IssuedLink(row.id, url, row.expires_at, ctx.mail)


async def request_reset(ctx: StaffContext, email: str, *, ip: str | None = None) -> None:
    """Email a reset link to ``email`` if it has an account (and SMTP is configured). It
    answers the same whatever the address, and counts against the login throttle (429
    ``login_throttled`` past it), so it can neither find accounts nor flood a mailbox."""
    key = "reset:" + email.strip().lower()[:320]
    if ctx.throttle is not None:
        await ctx.throttle.check(key, ip)
        await ctx.throttle.failed(key, ip)
    try:
        user = await repository.user_by_email(ctx.session, normalize_email(email))
    except InvalidEmail:
        return
    if user is None or user.disabled or not ctx.mail:
        return
    await _new_reset(ctx, user)


async def create_reset_link(
    ctx: StaffContext, principal: Principal, user_id: uuid.UUID
) -> IssuedLink:
    """A reset link for a member of the principal's tenant, to hand over (``users:write``);
    emailed too when SMTP is configured."""
    principal.require(Scope.USERS_WRITE)
    if await repository.membership(ctx.session, user_id, principal.tenant_id) is None:
        raise NotFound("no such member")
    user = await repository.user_by_id(ctx.session, user_id)
    assert user is not None
    return await _new_reset(ctx, user)


async def _usable_reset(ctx: StaffContext, token: str) -> tuple[PasswordReset, User]:
    row = await repository.reset_by_hash(ctx.session, ctx.hasher.hash(token or ""))
    if row is None:
        raise InvalidLink("this reset link is not valid", details={"reason": "unknown"})
    if row.used_at is not None:
        raise InvalidLink("this reset link was used already", details={"reason": "used"})
    if row.expires_at <= ctx.now:
        raise InvalidLink("this reset link has expired", details={"reason": "expired"})
    user = await repository.user_by_id(ctx.session, row.user_id)
    if user is None or user.disabled:
        raise InvalidLink("this reset link is not valid", details={"reason": "unknown"})
    return row, user


async def reset_info(ctx: StaffContext, token: str) -> str:
    """The email of the account a reset link is for (for its page)."""
    _, user = await _usable_reset(ctx, token)
    return user.email


async def reset_password(
    ctx: StaffContext, token: str, password: str, *, ip: str | None = None
) -> uuid.UUID:
    """Set the password of a reset link's account; every session of the user ends (log
    them in afterwards). The user's id. ``ip``: the client's address, for the audit log."""
    row, user = await _usable_reset(ctx, token)
    await set_password(ctx, user, password)
    row.used_at = ctx.now
    await repository.retire_resets(ctx.session, user.id, ctx.now)
    await repository.delete_user_sessions(ctx.session, user.id)
    for membership, _tenant in await repository.memberships_of_user(ctx.session, user.id):
        audit.note(
            ctx.session,
            action="user.password_reset",
            object_type="user",
            object_id=user.id,
            actor=user_actor(user, membership.tenant_id, ip=ip),
            at=ctx.now,
        )
    await ctx.session.flush()
    return user.id
