"""The PassKit web service's rules (spec §3, checks 19–25).

Authentication: the pass's ``authenticationToken`` guards registration, unregistration and
pass downloads; the device library identifier is the shared secret for the serial list. An
unknown pass type, serial or a wrong token all answer the same 401, so a caller learns
nothing about which passes exist.
"""

from __future__ import annotations

import hmac
import uuid
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from passmint.errors import PassmintError
from passmint.kit.crypto import TokenHasher
from passmint.kit.useragent import parse_user_agent
from passmint.models import Pass
from passmint.passes.apple import repository
from passmint.passes.apple.repository import PassAuth
from passmint.passes.events import EventKind, record

_DUMMY_HASH = "0" * 64


class NotAuthorized(PassmintError):
    code = "unauthorized"
    status = 401


class BadRequest(PassmintError):
    code = "invalid_body"
    status = 400


# Apple's web service answers a registration 201, 200 or 401; a request the server cannot
# take is a 400 (spec §3), which the device treats as a failed registration.


class PushTokenTooLong(PassmintError):
    """The ``pushToken`` is longer than an APNs device token can be
    (``details.max_length``)."""

    code = "push_token_too_long"
    status = 400


class TooManyDevices(PassmintError):
    """The pass is registered on as many devices as allowed (``details.limit``,
    ``PASSMINT_MAX_DEVICES_PER_PASS``); a device already registered still renews."""

    code = "too_many_devices"
    status = 400


class TooManyPasses(PassmintError):
    """The device has as many passes registered as allowed (``details.limit``,
    ``PASSMINT_MAX_PASSES_PER_DEVICE``)."""

    code = "too_many_passes"
    status = 400


MAX_APNS_TOKEN_CHARS = 200
"""APNs device tokens are 32 bytes, sent as 64 hex characters; Apple warns they may grow,
so up to 200 characters are kept and anything longer is no device token."""


@dataclass(frozen=True)
class RegistrationLimits:
    """How many devices one pass, and how many passes one device, may register."""

    devices_per_pass: int
    passes_per_device: int


def if_modified_since(value: str) -> datetime | None:
    """An ``If-Modified-Since`` date, or None when it is no validator: unparsable, or
    without a zone (it cannot be compared with the stored, zoned Last-Modified). The pass
    is then sent."""
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return moment if moment.tzinfo is not None else None


def token_matches(hasher: TokenHasher, authorization: str | None, expected: str | None) -> bool:
    """Constant-time check of an ``ApplePass <token>`` header against a stored hash.

    Always hashes and compares, so an unknown serial costs the same as a wrong token.
    """
    token = ""
    if authorization and authorization.startswith("ApplePass "):
        token = authorization[len("ApplePass ") :].strip()
    same = hmac.compare_digest(hasher.hash(token), expected or _DUMMY_HASH)
    return same and expected is not None and bool(token)


async def authorize(
    conn: AsyncConnection | AsyncSession,
    hasher: TokenHasher,
    pass_type_id: str,
    serial: str,
    authorization: str | None,
) -> PassAuth:
    """The pass, if the ApplePass token is right; one indexed read."""
    found = await repository.pass_auth(conn, pass_type_id, serial)
    expected = found.auth_token_hash if found is not None else None
    if found is None or not token_matches(hasher, authorization, expected):
        raise NotAuthorized("missing or wrong ApplePass token")
    return found


async def pass_for_download(session: AsyncSession, found: PassAuth) -> Pass:
    """The authorized pass's row, to build its bundle."""
    pass_ = await session.get(Pass, found.id)
    if pass_ is None:  # deleted since it was authorized
        raise NotAuthorized("missing or wrong ApplePass token")
    return pass_


async def validator_fast(pool: Any, pass_type_id: str, serial: str) -> tuple[str, datetime] | None:
    """(token hash, Last-Modified) on the raw pool, for the device fast path."""
    return await repository.pass_validator_raw(pool, pass_type_id, serial)


async def updated_serials_fast(
    pool: Any, device_library_id: str, pass_type_id: str, tag: str | None
) -> UpdatedSerials | None:
    """:func:`updated_serials` on the raw pool, for the device fast path."""
    rows = await repository.updated_serials_raw(
        pool, device_library_id, pass_type_id, parse_tag(tag)
    )
    return _serials(rows)


async def authorized_pass(
    session: AsyncSession,
    hasher: TokenHasher,
    pass_type_id: str,
    serial: str,
    authorization: str | None,
) -> Pass:
    """The pass row itself (for writes), if the ApplePass token is right."""
    found = await authorize(session, hasher, pass_type_id, serial, authorization)
    pass_ = await session.get(Pass, found.id, with_for_update=True)
    if pass_ is None:  # deleted between the two reads
        raise NotAuthorized("missing or wrong ApplePass token")
    return pass_


async def register(
    session: AsyncSession,
    pass_: Pass,
    *,
    device_library_id: str,
    push_token: str,
    user_agent: str | None,
    now: datetime,
    limits: RegistrationLimits,
) -> bool:
    """Upsert the device and the registration; True when the registration is new.

    A new registration is refused past ``limits`` (the pass row is locked by
    :func:`authorized_pass` and the device row by its upsert, so concurrent registrations
    count one after the other); refusing rolls the device's upsert back with the rest.
    """
    if len(push_token) > MAX_APNS_TOKEN_CHARS:
        raise PushTokenTooLong(
            f"pushToken is {len(push_token)} characters; an APNs device token has at most "
            f"{MAX_APNS_TOKEN_CHARS}",
            details={"max_length": MAX_APNS_TOKEN_CHARS},
        )
    device = await repository.upsert_device(session, device_library_id, push_token, now)
    if not await repository.registration_exists(session, device, pass_.id):
        await _check_limits(session, device, pass_, limits)
    created = await repository.add_registration(session, device, pass_, now)
    if created:
        client = parse_user_agent(user_agent)
        await record(
            session,
            tenant_id=pass_.tenant_id,
            kind=EventKind.REGISTERED,
            now=now,
            pass_id=pass_.id,
            platform="ios",
            device_model=client.device_model,
            data={"device_id": str(device), "os_version": client.os_version},
        )
        if pass_.status == "issued":
            pass_.status = "installed"
    return created


async def _check_limits(
    session: AsyncSession, device: uuid.UUID, pass_: Pass, limits: RegistrationLimits
) -> None:
    devices = await repository.registrations_up_to(
        session, limits.devices_per_pass, pass_id=pass_.id
    )
    if devices >= limits.devices_per_pass:
        raise TooManyDevices(
            f"this pass is registered on {limits.devices_per_pass} devices, the most allowed; "
            "remove it from one of them first",
            details={"limit": limits.devices_per_pass},
        )
    passes = await repository.registrations_up_to(session, limits.passes_per_device, device=device)
    if passes >= limits.passes_per_device:
        raise TooManyPasses(
            f"this device has {limits.passes_per_device} passes registered, the most allowed",
            details={"limit": limits.passes_per_device},
        )


async def unregister(
    session: AsyncSession, pass_: Pass, *, device_library_id: str, now: datetime
) -> None:
    device = await repository.device_id(session, device_library_id)
    if device is None:
        return
    if await repository.remove_registration(session, device, pass_.id):
        await repository.delete_device_if_unused(session, device)
        await record(
            session,
            tenant_id=pass_.tenant_id,
            kind=EventKind.UNREGISTERED,
            now=now,
            pass_id=pass_.id,
            platform="ios",
            data={"device_id": str(device)},
        )
        if (
            await repository.registration_count(session, pass_.id) == 0
            and pass_.status == "installed"
        ):
            pass_.status = "removed"


@dataclass(frozen=True)
class UpdatedSerials:
    serials: list[str]
    last_updated: str


def parse_tag(tag: str | None) -> int:
    """Our tags are decimal counters; anything else is treated as 'no tag' (send all)."""
    if tag is None or not tag.isdigit() or len(tag) > 19:
        return 0
    return int(tag)


async def updated_serials(
    session: AsyncConnection | AsyncSession,
    device_library_id: str,
    pass_type_id: str,
    tag: str | None,
) -> UpdatedSerials | None:
    """None means 204: an unknown device, or nothing changed since the tag."""
    rows = await repository.updated_serials(
        session, device_library_id, pass_type_id, parse_tag(tag)
    )
    return _serials(rows)


def _serials(rows: list[tuple[str, int]]) -> UpdatedSerials | None:
    if not rows:
        return None
    return UpdatedSerials(sorted(serial for serial, _ in rows), str(max(tag for _, tag in rows)))
