"""Login throttling: failed logins counted per account and per client address.

The counts live in the storage of the process's shared rate limiter (``limits``: Redis when
``PASSMINT_REDIS_URL`` is set, so every web process counts against the same limits; this
process's memory otherwise), as fixed windows. Before a password is checked, an account or
an address that used its failures up is refused (429 ``login_throttled`` with the seconds
until its window ends), without looking at the password, so guessing learns nothing more.
A successful login clears its account's count. Addresses count by ``address_key`` (the web
app's: an IPv6 address by its /64 network, as every rate limit counts, since one host
usually holds all of it). When the storage fails, logins are let through: the limits
protect the accounts, they must not lock everybody out.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from typing import Final

import structlog
from limits import RateLimitItem
from limits.aio.storage import Storage
from limits.aio.strategies import FixedWindowRateLimiter
from limits.errors import StorageError

from passmint.tenants.errors import LoginThrottled

log = structlog.get_logger("passmint.tenants")

ACCOUNT: Final = "login_account"
ADDRESS: Final = "login_ip"


class LoginThrottle:
    """Failed logins per account (its normalized email) and per client address."""

    def __init__(
        self,
        storage: Storage,
        *,
        per_account: Sequence[RateLimitItem],
        per_address: Sequence[RateLimitItem],
        enabled: bool = True,
        address_key: Callable[[str], str] = str,
    ) -> None:
        self._limiter = FixedWindowRateLimiter(storage)
        self._limits = {ACCOUNT: tuple(per_account), ADDRESS: tuple(per_address)}
        self.enabled = enabled
        self._address_key = address_key

    def _keys(self, account: str, address: str | None) -> list[tuple[str, RateLimitItem, str]]:
        keys = [(ACCOUNT, item, account) for item in self._limits[ACCOUNT]]
        if address:
            counted = self._address_key(address)
            keys += [(ADDRESS, item, counted) for item in self._limits[ADDRESS]]
        return keys

    async def check(self, account: str, address: str | None) -> None:
        """Refuse (:class:`LoginThrottled`) an account or address with no failure left."""
        if not self.enabled:
            return
        try:
            for name, item, ident in self._keys(account, address):
                if not await self._limiter.test(item, name, ident):
                    stats = await self._limiter.get_window_stats(item, name, ident)
                    raise LoginThrottled(max(1, math.ceil(stats.reset_time - time.time())))
        except StorageError as exc:
            log.warning("login throttle storage failed: not throttling", error=repr(exc))

    async def failed(self, account: str, address: str | None) -> None:
        """Count a failed login (a wrong password, an unknown account, a wrong code)."""
        if not self.enabled:
            return
        try:
            for name, item, ident in self._keys(account, address):
                await self._limiter.hit(item, name, ident)
        except StorageError as exc:
            log.warning("login throttle storage failed: not counting", error=repr(exc))

    async def succeeded(self, account: str) -> None:
        """The account logged in: its failures are forgiven (the address's are not)."""
        if not self.enabled:
            return
        try:
            for item in self._limits[ACCOUNT]:
                await self._limiter.clear(item, ACCOUNT, account)
        except StorageError as exc:
            log.warning("login throttle storage failed: not clearing", error=repr(exc))
