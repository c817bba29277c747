"""Staff users: what their services run with, email and name rules, passwords (Argon2id)
and the optional second factor (TOTP, with recovery codes).

Passwords are hashed with argon2-cffi's defaults (Argon2id, RFC 9106's low-memory profile)
on the CPU pool, off the event loop; a hash made with other parameters is replaced at the
next successful login. A TOTP secret is encrypted at rest with the master key; a code is
accepted one step early or late (30 s each way) and only once; the ten recovery codes are
kept as keyed hashes and each works once.
"""

from __future__ import annotations

import hmac
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy.ext.asyncio import AsyncSession

from passmint.errors import InvalidText
from passmint.kit import lengths, offload
from passmint.kit.crypto import SecretBox, TokenHasher
from passmint.kit.text import LINE
from passmint.models import User
from passmint.tenants import audit, repository
from passmint.tenants.errors import (
    InvalidEmail,
    InvalidName,
    InvalidSecondFactor,
    LoginFailed,
    NotFound,
    PasswordIsEmail,
    PasswordTooLong,
    PasswordTooShort,
    TotpState,
)
from passmint.tenants.throttle import LoginThrottle

PASSWORD_MIN: Final = 10
PASSWORD_MAX: Final = 256
ISSUER: Final = "passmint"
RECOVERY_CODES: Final = 10
_TOTP_PURPOSE: Final = "passmint user totp secret"
_RECOVERY_ALPHABET: Final = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i


class Passwords:
    """Argon2id hashing on the CPU pool; one dummy hash per process makes an unknown
    account cost what a known one does."""

    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self.hasher = hasher or PasswordHasher()
        self._dummy: str | None = None

    async def hash(self, password: str) -> str:
        return await offload.run(self.hasher.hash, password)

    async def verify(self, stored: str, password: str) -> bool:
        return await offload.run(self._verify, stored, password)

    def _verify(self, stored: str, password: str) -> bool:
        try:
            return self.hasher.verify(stored, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored: str) -> bool:
        try:
            return self.hasher.check_needs_rehash(stored)
        except InvalidHashError:
            return True

    async def burn(self, password: str) -> None:
        """Verify ``password`` against a hash nobody has: an unknown email takes as long
        as a wrong password."""
        if self._dummy is None:
            self._dummy = await self.hash(secrets.token_urlsafe(16))
        await self.verify(self._dummy, password)


PASSWORDS: Final = Passwords()


@dataclass(frozen=True)
class SessionPolicy:
    """How long a session lives: ``idle`` without a request, ``lifetime`` in all; one
    waiting for its second factor lives ``pending`` at most."""

    idle: timedelta = timedelta(minutes=60)
    lifetime: timedelta = timedelta(hours=12)
    pending: timedelta = timedelta(minutes=10)
    touch_every: timedelta = timedelta(minutes=1)


INVITATION_LIFETIME: Final = timedelta(days=7)
RESET_LIFETIME: Final = timedelta(hours=1)


@dataclass(frozen=True)
class StaffContext:
    """What the staff-account services run with, in one transaction (``web.deps.
    staff_context`` builds it from the process). ``public_url`` starts the links;
    ``mail``: whether SMTP is configured (links are emailed; else they are handed over);
    ``throttle`` None: no login throttling (a command line)."""

    session: AsyncSession
    now: datetime
    box: SecretBox
    hasher: TokenHasher
    public_url: str
    policy: SessionPolicy = field(default_factory=SessionPolicy)
    throttle: LoginThrottle | None = None
    mail: bool = False
    passwords: Passwords = PASSWORDS


# -- rules -----------------------------------------------------------------------------------


def normalize_email(value: str) -> str:
    """The address as stored: trimmed and lower-cased; :class:`InvalidEmail` if it is not
    one (a single ``@``, a dotted domain, no spaces or control characters)."""
    email = value.strip().lower()
    local, at, domain = email.partition("@")
    if (
        not (local and at and "." in domain.strip("."))
        or "@" in domain
        or len(email) > lengths.EMAIL
        or any(c.isspace() for c in email)
        or LINE.problem(email) is not None
    ):
        raise InvalidEmail(
            f"not an email address (at most {lengths.EMAIL} characters)",
            details={"field": "email"},
        )
    return email


def clean_name(value: str) -> str:
    name = value.strip()
    problem = LINE.problem(name)
    if problem is not None:
        raise InvalidText(f"name: {LINE.message(name)}", details={"field": "name"})
    if not name or len(name) > lengths.NAME:
        raise InvalidName(
            f"a name has 1 to {lengths.NAME} characters",
            details={"field": "name", "max_length": lengths.NAME},
        )
    return name


def check_password(password: str, email: str) -> None:
    """:class:`PasswordTooShort`, :class:`PasswordTooLong` or :class:`PasswordIsEmail`."""
    if len(password) < PASSWORD_MIN:
        raise PasswordTooShort(
            f"a password has at least {PASSWORD_MIN} characters",
            details={"field": "password", "min_length": PASSWORD_MIN},
        )
    if len(password) > PASSWORD_MAX:
        raise PasswordTooLong(
            f"a password has at most {PASSWORD_MAX} characters",
            details={"field": "password", "max_length": PASSWORD_MAX},
        )
    if password.strip().lower() == email.strip().lower():
        raise PasswordIsEmail(
            "the password may not be the email address", details={"field": "password"}
        )


# -- users -----------------------------------------------------------------------------------


async def get_user(ctx: StaffContext, user_id: uuid.UUID) -> User:
    user = await repository.user_by_id(ctx.session, user_id)
    if user is None:
        raise NotFound("no such user")
    return user


async def find_user(ctx: StaffContext, email: str) -> User | None:
    """The user with this email (any case), if there is one."""
    try:
        return await repository.user_by_email(ctx.session, normalize_email(email))
    except InvalidEmail:
        return None


async def create_user(
    ctx: StaffContext, *, email: str, name: str, password: str, locale: str | None = None
) -> User:
    """A new user (no membership yet): the email normalized, the password checked."""
    address = normalize_email(email)
    user = User(
        email=address,
        name=clean_name(name),
        locale=_locale(locale),
        password_hash="",
        recovery_code_hashes=[],
        disabled=False,
        created_at=ctx.now,
        password_changed_at=ctx.now,
    )
    check_password(password, address)
    user.password_hash = await ctx.passwords.hash(password)
    await repository.add(ctx.session, user)
    return user


def _locale(value: str | None) -> str | None:
    if value is None:
        return None
    locale = value.strip()
    if not locale or len(locale) > lengths.LOCALE or LINE.problem(locale) is not None:
        raise InvalidText("locale: not a language tag", details={"field": "locale"})
    return locale


async def set_profile(
    ctx: StaffContext, user_id: uuid.UUID, *, name: str | None = None, locale: str | None = None
) -> User:
    """Change the user's name or language (the admin app's)."""
    user = await get_user(ctx, user_id)
    if name is not None:
        user.name = clean_name(name)
    if locale is not None:
        user.locale = _locale(locale)
    await ctx.session.flush()
    return user


async def set_password(ctx: StaffContext, user: User, password: str) -> None:
    """Check and store a new password (the caller ends sessions as it should)."""
    check_password(password, user.email)
    user.password_hash = await ctx.passwords.hash(password)
    user.password_changed_at = ctx.now
    await ctx.session.flush()


async def change_password(
    ctx: StaffContext,
    user_id: uuid.UUID,
    *,
    current: str,
    new: str,
    keep_session: uuid.UUID | None = None,
) -> None:
    """A logged-in user's new password: the current one must be right
    (:class:`~passmint.tenants.errors.LoginFailed`); the user's other sessions end."""
    user = await get_user(ctx, user_id)
    if not await ctx.passwords.verify(user.password_hash, current):
        raise LoginFailed("the current password is wrong", details={"field": "current"})
    await set_password(ctx, user, new)
    await repository.delete_user_sessions(ctx.session, user.id, keep=keep_session)
    await repository.retire_resets(ctx.session, user.id, ctx.now)


# -- the second factor -----------------------------------------------------------------------


@dataclass(frozen=True)
class TotpEnrolment:
    """What an authenticator app needs: the secret (base32, to type in) and the
    ``otpauth://`` URI (for a QR code)."""

    secret: str
    uri: str


def totp_enabled(user: User) -> bool:
    return user.totp_secret_enc is not None


async def begin_totp(ctx: StaffContext, user_id: uuid.UUID) -> TotpEnrolment:
    """Start enrolling an authenticator: a new secret, kept until a code confirms it."""
    user = await get_user(ctx, user_id)
    if totp_enabled(user):
        raise TotpState("two-factor login is on already", details={"reason": "enabled"})
    secret = pyotp.random_base32()
    user.totp_pending_enc = ctx.box.encrypt(secret.encode(), purpose=_TOTP_PURPOSE)
    await ctx.session.flush()
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)
    return TotpEnrolment(secret, uri)


async def pending_totp(ctx: StaffContext, user_id: uuid.UUID) -> TotpEnrolment | None:
    """The enrolment started and not confirmed yet (to show its QR code again), if any."""
    user = await get_user(ctx, user_id)
    if totp_enabled(user) or user.totp_pending_enc is None:
        return None
    secret = ctx.box.decrypt(user.totp_pending_enc, purpose=_TOTP_PURPOSE).decode()
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)
    return TotpEnrolment(secret, uri)


async def confirm_totp(ctx: StaffContext, user_id: uuid.UUID, code: str) -> list[str]:
    """Turn two-factor login on with a code of the enrolled secret; the ten recovery
    codes, shown this once."""
    user = await get_user(ctx, user_id)
    if totp_enabled(user):
        raise TotpState("two-factor login is on already", details={"reason": "enabled"})
    if user.totp_pending_enc is None:
        raise TotpState("start the enrolment first", details={"reason": "not_started"})
    secret = ctx.box.decrypt(user.totp_pending_enc, purpose=_TOTP_PURPOSE).decode()
    step = _matching_step(secret, code, ctx.now, after=None)
    if step is None:
        raise InvalidSecondFactor("the code is not the authenticator's current one")
    user.totp_secret_enc = user.totp_pending_enc
    user.totp_pending_enc = None
    user.totp_last_step = step
    codes = _new_recovery_codes()
    user.recovery_code_hashes = [ctx.hasher.hash(_normal_code(c)) for c in codes]
    await ctx.session.flush()
    return codes


async def regenerate_recovery_codes(ctx: StaffContext, user_id: uuid.UUID, code: str) -> list[str]:
    """Ten new recovery codes (the old ones stop working), against a current code."""
    user = await get_user(ctx, user_id)
    if not totp_enabled(user):
        raise TotpState("two-factor login is off", details={"reason": "disabled"})
    if await verify_second_factor(ctx, user, code) is None:
        raise InvalidSecondFactor("the code is wrong or was used already")
    codes = _new_recovery_codes()
    user.recovery_code_hashes = [ctx.hasher.hash(_normal_code(c)) for c in codes]
    await ctx.session.flush()
    return codes


async def disable_totp(
    ctx: StaffContext,
    user_id: uuid.UUID,
    *,
    password: str | None = None,
    code: str | None = None,
) -> None:
    """Turn two-factor login off, proven by the password or a current (or recovery) code."""
    user = await get_user(ctx, user_id)
    if not totp_enabled(user) and user.totp_pending_enc is None:
        raise TotpState("two-factor login is off", details={"reason": "disabled"})
    proven = False
    if password is not None:
        proven = await ctx.passwords.verify(user.password_hash, password)
    if not proven and code is not None and totp_enabled(user):
        proven = await verify_second_factor(ctx, user, code) is not None
    if not proven:
        raise InvalidSecondFactor("give your password or a current code to turn it off")
    user.totp_secret_enc = None
    user.totp_pending_enc = None
    user.totp_last_step = None
    user.recovery_code_hashes = []
    await ctx.session.flush()


async def verify_second_factor(ctx: StaffContext, user: User, code: str) -> str | None:
    """``totp`` or ``recovery`` when ``code`` is a current authenticator code not used
    before, or an unused recovery code (then used up); None when it is neither."""
    if user.totp_secret_enc is None:
        return None
    text = code.strip().replace(" ", "")
    if text.isdigit() and len(text) == 6:
        secret = ctx.box.decrypt(user.totp_secret_enc, purpose=_TOTP_PURPOSE).decode()
        step = _matching_step(secret, text, ctx.now, after=user.totp_last_step)
        if step is None:
            return None
        user.totp_last_step = step
        await ctx.session.flush()
        return "totp"
    if not text or len(text) > 64:
        return None
    digest = ctx.hasher.hash(_normal_code(text))
    kept = [h for h in user.recovery_code_hashes if not hmac.compare_digest(str(h), digest)]
    if len(kept) == len(user.recovery_code_hashes):
        return None
    user.recovery_code_hashes = kept
    await ctx.session.flush()
    return "recovery"


def _matching_step(secret: str, code: str, now: datetime, *, after: int | None) -> int | None:
    """The time step (now, one before or one after) whose code is ``code``, if it is later
    than ``after`` (a code is good once)."""
    text = code.strip().replace(" ", "")
    if not (text.isdigit() and len(text) == 6):
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    found = None
    for offset in (-1, 0, 1):
        step = current + offset
        if hmac.compare_digest(totp.generate_otp(step), text) and (after is None or step > after):
            found = step
    return found


def _new_recovery_codes() -> list[str]:
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
    return codes


def _normal_code(code: str) -> str:
    return code.strip().lower().replace("-", "").replace(" ", "")


def user_actor(user: User, tenant_id: uuid.UUID, *, ip: str | None = None) -> audit.AuditActor:
    """The user as the actor of an event of theirs in ``tenant_id`` (for notes)."""
    return audit.AuditActor(
        tenant_id=tenant_id, type="user", id=str(user.id), label=user.email, ip=ip
    )
