"""Rate limits: named limits counted with the ``limits`` library, answered 429
``rate_limited`` with ``Retry-After``.

Two limiters per process (both from :func:`shared` and :func:`local`):

- **shared**: with ``PASSMINT_REDIS_URL`` set, the counts live in Redis
  (``storage_from_string("async+redis://…")``, redis-py), so every web process counts
  against the same limits; without it (embedded mode, one process) in this process's memory.
- **local**: always this process's memory. The device fast path uses it even in production:
  a 304 costs about 140 µs of CPU; a check through redis-py costs 90–170 µs (and a network
  dependency per poll), one in memory a few µs (``python -m bench.ratelimit``). With N web
  processes a device may then make up to N times its limit; the limit is there to bound
  abuse, not to meter.

In memory the counts are kept by :class:`ProcessStorage` rather than ``limits``'
``async+memory`` storage: that one scans every key whenever its expiry task runs, and it
runs after every request that finds it idle: 12 ms per check once there are 100,000 keys
(an attacker's addresses or device ids), measured. Here expiry is amortized O(1).

Limits are fixed windows (``limits``' items and storages; a client may burst up to twice a
limit across a window's edge). A client that used a limit up is remembered in this process
until the window ends, so refusing it again costs neither a Redis round trip nor a
database query. When Redis fails, requests are let through (and a warning is logged): the
limits protect the service, they must not stop it.

The client is ``scope["client"]``: uvicorn has already replaced it with the
``X-Forwarded-For`` address when the proxy is trusted (``--forwarded-allow-ips``). IPv6
clients count by their /64 network, which one host usually holds whole.
"""

from __future__ import annotations

import ipaddress
import math
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping
from contextlib import asynccontextmanager
from functools import lru_cache
from typing import Any, Final

import structlog
from limits import RateLimitItem, parse_many
from limits.aio.storage import Storage
from limits.errors import StorageError
from limits.storage import storage_from_string
from redis.asyncio import ConnectionPool
from starlette.requests import Request
from starlette.types import Scope

from passmint.config import Settings
from passmint.errors import PassmintError
from passmint.passes.host import ServiceHost

log = structlog.get_logger("passmint.ratelimit")

DEFAULTS: Final[Mapping[str, str]] = {
    # failed authentications (API keys, ApplePass tokens) per client address
    "auth_failures": "30/minute;300/hour",
    # validations and redemptions, per API key and per client address
    "coupon_attempts": "3000/minute",
    # code_not_found answers (what guessing produces), per API key and per client address
    "coupon_misses": "30/minute;300/hour",
    # misses of one key or address after which the tenant's event log records a
    # code_guessing event (once per window)
    "guess_alarm": "100/hour",
    # PassKit requests naming a device (register, poll, unregister), per device
    "device": "300/minute",
    # PassKit pass fetches (GET /apple/v1/passes/…), per pass
    "pass_fetch": "120/minute",
    # pass links, landing pages and images, per client address
    "public": "600/minute",
    # Google Wallet callbacks, per client address (Google sends them from few addresses)
    "callbacks": "3000/minute",
    # designer previews (POST /api/v1/previews), per API key: a render each
    "previews": "1200/minute",
    # failed staff logins (and password-reset requests) per account, and per client
    # address (passmint.tenants.throttle: counted here, checked before the password)
    "login_account": "5/15 minutes",
    "login_ip": "30/15 minutes",
}
"""Every named limit and its default; ``device_log`` (device log posts per address,
dropped quietly beyond it) comes from ``PASSMINT_LOG_REQUESTS_PER_MINUTE``. Change any
with ``PASSMINT_RATE_LIMITS='{"name": "n/period[;n/period]"}'``."""

SHARED: Final = "ratelimit:shared"
LOCAL: Final = "ratelimit:local"
_BLOCKED_MAX = 100_000  # remembered refusals before the expired ones are dropped


class RateLimited(PassmintError):
    """Too many requests: ``details.limit`` names the limit; retry after ``Retry-After``
    seconds (also in ``details.retry_after``)."""

    code = "rate_limited"
    status = 429

    def __init__(self, name: str, retry_after: int) -> None:
        super().__init__(
            f"too many requests ({name}); retry in {retry_after} s",
            details={"limit": name, "retry_after": retry_after},
        )
        self.retry_after = retry_after
        self.headers = {"Retry-After": str(retry_after)}


class ProcessStorage(Storage):
    """Fixed-window counters in this process's memory. Each key is filed under the second
    its window ends; every call drops the keys of the seconds that passed since the last."""

    STORAGE_SCHEME = None

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        super().__init__(None)
        self.clock = clock  # epoch seconds, as limits reads window ends
        self._counts: dict[str, list[float]] = {}  # key: [count, window end]
        self._ends: dict[int, list[str]] = {}  # second: keys whose window ends then
        self._swept = int(clock())

    @property
    def base_exceptions(self) -> type[Exception]:
        return ValueError

    def __len__(self) -> int:
        return len(self._counts)

    def _sweep(self, now: float) -> None:
        second = int(now)
        if second <= self._swept:
            return
        if second - self._swept > len(self._ends):  # after a quiet spell: the buckets left
            due = [s for s in self._ends if s <= second]
        else:
            due = [s for s in range(self._swept + 1, second + 1) if s in self._ends]
        for bucket in due:
            for key in self._ends.pop(bucket):
                entry = self._counts.get(key)
                if entry is not None and entry[1] <= now:  # else a later window took it
                    del self._counts[key]
        self._swept = second

    async def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = self.clock()
        self._sweep(now)
        entry = self._counts.get(key)
        if entry is None or entry[1] <= now:
            entry = self._counts[key] = [0, now + expiry]
            self._ends.setdefault(math.ceil(entry[1]), []).append(key)
        entry[0] += amount
        return int(entry[0])

    async def get(self, key: str) -> int:
        entry = self._counts.get(key)
        return int(entry[0]) if entry is not None and entry[1] > self.clock() else 0

    async def get_expiry(self, key: str) -> float:
        entry = self._counts.get(key)
        now = self.clock()
        return entry[1] if entry is not None and entry[1] > now else now

    async def check(self) -> bool:
        return True

    async def reset(self) -> int | None:
        count = len(self._counts)
        self._counts.clear()
        self._ends.clear()
        return count

    async def clear(self, key: str) -> None:
        self._counts.pop(key, None)


class Limiter:
    """Named limits over one storage."""

    def __init__(
        self,
        storage: Storage,
        limits: Mapping[str, tuple[RateLimitItem, ...]],
        *,
        enabled: bool = True,
        pool: ConnectionPool | None = None,
    ) -> None:
        self.storage = storage
        self.limits = limits
        self.enabled = enabled
        self._pool = pool
        self._blocked: dict[tuple[str, ...], float] = {}  # (name, *ids): monotonic end
        self._prune_at = _BLOCKED_MAX
        self._warned_at = -math.inf

    def check(self, name: str, *ids: str) -> None:
        """Refuse a client this process saw go over ``name``'s limit in the current window
        (no storage call: it costs a dictionary lookup)."""
        if not self._blocked:
            return
        until = self._blocked.get((name, *ids))
        if until is None:
            return
        left = until - time.monotonic()
        if left > 0:
            raise RateLimited(name, math.ceil(left))
        del self._blocked[(name, *ids)]

    async def hit(self, name: str, *ids: str) -> None:
        """Count one request against ``name``'s limits; raise :class:`RateLimited` over one."""
        self.check(name, *ids)
        if not await self.count(name, *ids):
            self.check(name, *ids)  # raises: count() remembered until when
            raise RateLimited(name, 1)  # not reached: over a limit is blocked above

    async def allowed(self, name: str, *ids: str) -> bool:
        """:meth:`hit` as a boolean, for callers that drop quietly instead of answering 429."""
        try:
            await self.hit(name, *ids)
        except RateLimited:
            return False
        return True

    async def count(self, name: str, *ids: str) -> bool:
        """Count one (a request, a failure) against ``name``'s limits in their fixed
        windows; False when it went over one. Once a limit is used up, :meth:`check`
        refuses the client until its window ends."""
        if not self.enabled:
            return True
        within = True
        try:
            for item in self.limits[name]:
                key = item.key_for(name, *ids)
                value = await self.storage.incr(key, item.get_expiry())
                if value >= item.amount:
                    ends = await self.storage.get_expiry(key)
                    self._block((name, *ids), ends - time.time())
                within = within and value <= item.amount
        except StorageError as exc:
            self._storage_failed(exc)
        return within

    async def crossed(self, name: str, *ids: str) -> RateLimitItem | None:
        """Count one; the limit of ``name`` that this very count went past, if it did (one
        count per window does, whichever process makes it: an alarm on it fires once)."""
        if not self.enabled:
            return None
        crossed = None
        try:
            for item in self.limits[name]:
                value = await self.storage.incr(item.key_for(name, *ids), item.get_expiry())
                if value == item.amount + 1:
                    crossed = crossed or item
        except StorageError as exc:
            self._storage_failed(exc)
        return crossed

    def _block(self, key: tuple[str, ...], seconds: float) -> None:
        now = time.monotonic()
        if len(self._blocked) >= self._prune_at:
            self._blocked = {k: v for k, v in self._blocked.items() if v > now}
            self._prune_at = max(_BLOCKED_MAX, 2 * len(self._blocked))
        self._blocked[key] = max(self._blocked.get(key, now), now + max(1.0, seconds))

    def _storage_failed(self, exc: StorageError) -> None:
        now = time.monotonic()
        if now - self._warned_at >= 60:  # one line a minute, not one per request
            self._warned_at = now
            log.warning("rate limit storage failed: requests pass unlimited", error=repr(exc))

    async def aclose(self) -> None:
        if self._pool is not None:
            await self._pool.aclose()


def named_limits(settings: Settings) -> dict[str, tuple[RateLimitItem, ...]]:
    """The limits by name: :data:`DEFAULTS` with the settings' changes."""
    texts = {**DEFAULTS, "device_log": f"{settings.log_requests_per_minute}/minute"}
    unknown = sorted(settings.rate_limits.keys() - texts.keys())
    if unknown:
        raise ValueError(
            f"PASSMINT_RATE_LIMITS names unknown limits {unknown}; the names are {sorted(texts)}"
        )
    texts.update(settings.rate_limits)
    return {name: tuple(parse_many(text)) for name, text in texts.items()}


def _redis_uri(url: str) -> str:
    if url.startswith("unix://"):
        return "async+redis+unix://" + url.removeprefix("unix://")
    return "async+" + url


def _memory(settings: Settings) -> Limiter:
    return Limiter(ProcessStorage(), named_limits(settings), enabled=settings.rate_limits_enabled)


def _redis(settings: Settings, url: str) -> Limiter:
    pool = ConnectionPool.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
    storage = storage_from_string(
        _redis_uri(url),
        implementation="redispy",
        key_prefix=f"{settings.queue_name}:limits",
        wrap_exceptions=True,
        # limits types its options as scalars; it hands them to redis-py as they are.
        connection_pool=pool,  # type: ignore[arg-type]
    )
    assert isinstance(storage, Storage)
    return Limiter(storage, named_limits(settings), enabled=settings.rate_limits_enabled, pool=pool)


def local(host: ServiceHost) -> Limiter:
    """This process's limiter, in memory."""
    return host.cache(LOCAL, lambda: _memory(host.settings))


def shared(host: ServiceHost) -> Limiter:
    """The limiter all processes share: Redis when ``PASSMINT_REDIS_URL`` is set, else
    this (only) process's memory."""
    url = host.settings.redis_url
    if not url:
        return local(host)
    return host.cache(SHARED, lambda: _redis(host.settings, url))


async def close(host: ServiceHost) -> None:
    """Close the shared limiter's Redis connections (when the process stops)."""
    limiter = host.caches.pop(SHARED, None)
    if isinstance(limiter, Limiter):
        await limiter.aclose()


def client_ip(scope: Scope) -> str:
    """The client's address (an IPv6 one as its /64 network)."""
    client = scope.get("client")
    return address_key(str(client[0]) if client else "unknown")


def address_key(host: str) -> str:
    """An address as limits count it: an IPv6 one as its /64 network."""
    return _network(host) if ":" in host else host


@lru_cache(maxsize=8192)
def _network(host: str) -> str:
    try:
        return str(ipaddress.IPv6Network((host, 64), strict=False))
    except ValueError:
        return host


def _host(request: Request) -> ServiceHost:
    runtime: ServiceHost = request.app.state.runtime
    return runtime


@asynccontextmanager
async def authenticating(host: ServiceHost, scope: Scope) -> AsyncIterator[None]:
    """Around a credential check: an address that went over ``auth_failures`` is refused
    before anything is looked up, and a failure (a 401) counts; the one that goes over the
    limit is answered 429 instead."""
    limiter = shared(host)
    ip = client_ip(scope)
    limiter.check("auth_failures", ip)
    try:
        yield
    except PassmintError as exc:
        if exc.status == 401 and not await limiter.count("auth_failures", ip):
            limiter.check("auth_failures", ip)
        raise


def per_ip(name: str) -> Callable[[Request], Coroutine[Any, Any, None]]:
    """A dependency that counts the request against ``name``'s limit per client address."""

    async def dependency(request: Request) -> None:
        await shared(_host(request)).hit(name, client_ip(request.scope))

    return dependency


async def passkit(request: Request) -> AsyncIterator[None]:
    """The PassKit web service's limits (a router dependency): per device for the requests
    naming one, per pass for pass fetches, and failed ApplePass tokens per address."""
    host = _host(request)
    async with authenticating(host, request.scope):
        limiter = shared(host)
        params = request.path_params
        if "device_library_id" in params:
            await limiter.hit("device", params["device_library_id"])
        elif "serial" in params:
            await limiter.hit("pass_fetch", params.get("pass_type_id", ""), params["serial"])
        yield
