"""The APNs client that tells devices a pass changed (spec ``apple-wallet.md`` §4, checks 26-27).

An I/O client with no database and no settings: the credential, the endpoint and the clock
are passed in. One :class:`ApnsClient` owns long-lived HTTP/2 connections (the lean
:mod:`.h2transport`), so thousands of pushes multiplex as streams over one TLS connection,
as Apple asks ("reuse connections for hours to days"). When Apple sends GOAWAY or drops the
connection, a new one is opened on the next request; a push caught in the drop is retried.

APNs quirks for passes (§4):

- ``POST /3/device/<push token>`` with ``apns-topic`` = the pass type identifier and the
  body ``{}`` ("an empty JSON dictionary"; an empty body is 400 PayloadEmpty). Alert, badge
  and sound are ignored by Wallet, so nothing else is sent.
- Pass pushes only work against production (``api.push.apple.com``).
- Two ways to authenticate: client TLS with the Pass Type ID certificate and key
  (:class:`CertificateAuth`), or an ES256 provider token from a team's ``.p8`` key
  (:class:`TokenAuth`). A token older than an hour is rejected with 403
  ExpiredProviderToken, and replacing it more often than every 20 minutes is answered with
  429 TooManyProviderTokenUpdates, so a token is reused for 20-50 minutes.
- 410 (and 400 BadDeviceToken / DeviceTokenNotForTopic) means the device will never accept
  pushes for this registration: delete it. 429, 500 and 503 are transient: retry with
  backoff. Device tokens are hex of no fixed length; never assume 64 characters.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import re
import shutil
import ssl
import tempfile
import time
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Final, Protocol, Self

import certifi
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from passmint.errors import PassmintError
from passmint.passes.apple.h2transport import (
    H2Pool,
    RequestTemplate,
    Response,
    StreamTimeout,
    TransportError,
)

PRODUCTION_URL: Final = "https://api.push.apple.com"
PAYLOAD: Final = b"{}"
"""What Wallet expects: an empty JSON dictionary (§4)."""

DEFAULT_TOKEN_REFRESH: Final = 40 * 60.0
MIN_TOKEN_REFRESH: Final = 20 * 60.0  # sooner: 429 TooManyProviderTokenUpdates
MAX_TOKEN_REFRESH: Final = 50 * 60.0  # Apple rejects tokens older than 60 minutes

# Apple asks for a PING after an hour idle; dropping an idle connection a little earlier and
# reconnecting on demand costs one handshake and needs no keep-alive machinery.
KEEPALIVE_EXPIRY: Final = 50 * 60.0
_MAX_BACKOFF: Final = 60.0
_DETAIL_LIMIT: Final = 300

_HEX_TOKEN = re.compile(r"[0-9A-Fa-f]+")

UNREGISTERED_REASONS: Final = frozenset({"BadDeviceToken", "DeviceTokenNotForTopic"})
"""400 reasons that, like a 410, mean the registration should be removed."""
CREDENTIAL_REASONS: Final = frozenset(
    {
        "BadTopic",
        "MissingTopic",
        "TopicDisallowed",
        "BadCertificate",
        "BadCertificateEnvironment",
        "ExpiredProviderToken",
        "InvalidProviderToken",
        "MissingProviderToken",
        "Forbidden",
    }
)
"""Reasons that point at the credential or its topic rather than at one device."""
RETRYABLE_STATUSES: Final = frozenset({429, 500, 503})

INVALID_TOKEN_FORMAT: Final = "InvalidTokenFormat"  # noqa: S105 - a reason, not a secret
TLS_CERTIFICATE_ERROR: Final = "TLSCertificateError"
CLIENT_CLOSED: Final = "ClientClosed"
TIMEOUT: Final = "Timeout"
CONNECTION_ERROR: Final = "ConnectionError"
EXPIRED_PROVIDER_TOKEN: Final = "ExpiredProviderToken"  # noqa: S105 - an APNs reason


class ApnsCredentialError(PassmintError):
    """An APNs certificate, key or provider-token setting that cannot be used."""

    code = "apns_credential_invalid"
    status = 400


@dataclass(frozen=True, slots=True)
class PushResult:
    """The outcome of one push after retries; :meth:`ApnsClient.push` never raises.

    ``status`` is the HTTP status of the last attempt, or ``None`` when no response came
    (transport error, TLS failure, a token that is not hex). ``reason`` is APNs' ``reason``
    (``Unregistered``, ``BadDeviceToken`` ...) or passmint's label for a failure without a
    response (``InvalidTokenFormat``, ``Timeout``, ``ConnectionError``,
    ``TLSCertificateError``, ``ClientClosed``). ``timestamp`` is APNs' milliseconds since
    the epoch at which the token stopped being valid (410 only). ``detail`` describes a
    transport error; it never holds key material or provider tokens. ``apns_id`` is APNs'
    id of the notification, read from the response only when asked for (decoding response
    headers is a large share of a push's cost, and a fan-out needs only the status).
    """

    token: str
    status: int | None
    reason: str | None = None
    response: Response | None = field(default=None, repr=False, compare=False)
    timestamp: int | None = None
    attempts: int = 1
    detail: str | None = None

    @property
    def apns_id(self) -> str | None:
        return self.response.headers.get("apns-id") if self.response is not None else None

    @property
    def ok(self) -> bool:
        """APNs accepted the push."""
        return self.status == 200

    @property
    def unregistered(self) -> bool:
        """The device will never take pushes for this token and topic: delete the
        registration (410, or 400 BadDeviceToken / DeviceTokenNotForTopic)."""
        return self.status == 410 or (self.status == 400 and self.reason in UNREGISTERED_REASONS)

    @property
    def retryable(self) -> bool:
        """Worth sending again later: 429, 500, 503, a transport error, or a client that
        was closed (say, replaced in the pool) before the push went out."""
        if self.status is None:
            return self.reason not in {INVALID_TOKEN_FORMAT, TLS_CERTIFICATE_ERROR}
        return self.status in RETRYABLE_STATUSES

    @property
    def credential_error(self) -> bool:
        """The credential is at fault, not the device: any 403 (including an
        ExpiredProviderToken that survived a refresh), a bad or missing topic, or a TLS
        handshake that failed over a certificate (ours refused, or theirs untrusted).

        Under TLS 1.3 the server checks our certificate after the client's side of the
        handshake is done, so a refused client certificate usually surfaces as a dropped
        connection (``ConnectionError``, retryable) rather than as a certificate error.
        """
        if self.status == 403:
            return True
        if self.status is None:
            return self.reason == TLS_CERTIFICATE_ERROR
        return self.status == 400 and self.reason in CREDENTIAL_REASONS


class ApnsAuth(Protocol):
    """How a client proves who it is: TLS client certificate or bearer provider token."""

    def configure(self, context: ssl.SSLContext) -> None:
        """Prepare the TLS context (load a client certificate, or nothing)."""

    def authorization(self, now: float) -> str | None:
        """The ``authorization`` header value for a request at ``now``, if any."""

    def expired(self, authorization: str | None) -> bool:
        """APNs said ``authorization`` expired: drop it; ``True`` if a retry can help."""


class CertificateAuth:
    """Client TLS with the Pass Type ID certificate and its private key (§4).

    ``cert_pem`` may hold the intermediate chain after the leaf; an encrypted key needs
    ``password``. The :mod:`ssl` module only loads a certificate chain from a file, so
    :meth:`configure` writes certificate and key to a 0600 file in a fresh 0700 directory,
    loads it and deletes both at once.
    """

    __slots__ = ("_cert_pem", "_key_pem", "_password")

    def __init__(self, cert_pem: bytes, key_pem: bytes, *, password: bytes | None = None) -> None:
        self._cert_pem = cert_pem
        self._key_pem = key_pem
        self._password = password

    def __repr__(self) -> str:
        return "CertificateAuth(<certificate>, <key>)"

    def configure(self, context: ssl.SSLContext) -> None:
        directory = tempfile.mkdtemp(prefix="passmint-apns-")
        try:
            path = os.path.join(directory, "identity.pem")
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as file:
                file.write(self._cert_pem.rstrip(b"\n") + b"\n" + self._key_pem)
            # Never let OpenSSL prompt on a terminal for an encrypted key's passphrase.
            password = self._password if self._password is not None else _no_passphrase
            try:
                context.load_cert_chain(path, password=password)
            except (ssl.SSLError, ValueError, OSError):
                # The ssl error names no secret, but say what failed without its details.
                raise ApnsCredentialError(
                    "the APNs certificate or its private key could not be loaded"
                ) from None
        finally:
            shutil.rmtree(directory, ignore_errors=True)

    def authorization(self, now: float) -> str | None:
        return None

    def expired(self, authorization: str | None) -> bool:
        return False


def _no_passphrase() -> bytes:
    return b""


def provider_token(
    key: ec.EllipticCurvePrivateKey | bytes, key_id: str, team_id: str, issued_at: float
) -> str:
    """An APNs provider token: ES256 JWT, header ``{alg, kid}``, claims ``{iss, iat}`` (§4).

    ``key`` is the ``.p8`` key (an EC P-256 key, or its PKCS#8 PEM). Pure: the issue time
    is passed in.
    """
    signing_key = _load_p8(key) if isinstance(key, bytes) else key
    return jwt.encode(
        {"iss": team_id, "iat": int(issued_at)},
        signing_key,
        algorithm="ES256",
        headers={"kid": key_id, "typ": None},  # Apple's header is exactly {alg, kid}
    )


def _load_p8(key_pem: bytes) -> ec.EllipticCurvePrivateKey:
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError):
        raise ApnsCredentialError("the APNs .p8 key is not an unencrypted PEM key") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise ApnsCredentialError("the APNs .p8 key must be an EC P-256 key")
    return key


class TokenAuth:
    """Token-based APNs auth from a team's ``.p8`` key (§4).

    The JWT is cached and reused until it is ``refresh_after`` seconds old (default 40
    minutes, allowed 20-50: Apple refuses tokens older than an hour and throttles tokens
    replaced more often than every 20 minutes). After a 403 ExpiredProviderToken the cached
    token is dropped, once, however many streams reported it.
    """

    __slots__ = ("_issued_at", "_key", "_token", "key_id", "refresh_after", "team_id")

    def __init__(
        self,
        key_pem: bytes,
        key_id: str,
        team_id: str,
        *,
        refresh_after: float = DEFAULT_TOKEN_REFRESH,
    ) -> None:
        if not MIN_TOKEN_REFRESH <= refresh_after <= MAX_TOKEN_REFRESH:
            raise ApnsCredentialError("the provider token refresh age must be 20-50 minutes")
        if not key_id or not team_id:
            raise ApnsCredentialError("a key id and a team id are required for token auth")
        self._key = _load_p8(key_pem)
        self.key_id = key_id
        self.team_id = team_id
        self.refresh_after = refresh_after
        self._token: str | None = None
        self._issued_at = 0.0

    def __repr__(self) -> str:
        return f"TokenAuth(key_id={self.key_id!r}, team_id={self.team_id!r})"

    def configure(self, context: ssl.SSLContext) -> None:
        return None

    def authorization(self, now: float) -> str:
        age = now - self._issued_at
        if self._token is None or not 0 <= age < self.refresh_after:
            self._token = provider_token(self._key, self.key_id, self.team_id, now)
            self._issued_at = now
        return f"bearer {self._token}"

    def expired(self, authorization: str | None) -> bool:
        # Streams that used a token which was already replaced just retry with the new one.
        if self._token is not None and authorization == f"bearer {self._token}":
            self._token = None
        return True


def _ssl_context(ca_file: str | None) -> ssl.SSLContext:
    if ca_file is not None:
        return ssl.create_default_context(cafile=ca_file)
    return ssl.create_default_context(cafile=certifi.where())


def _is_certificate_failure(error: ssl.SSLError) -> bool:
    # Alerts such as TLSV1_ALERT_UNKNOWN_CA or SSLV3_ALERT_BAD_CERTIFICATE, or our own
    # verification of the server; not the EOF and record errors of a dropped connection.
    reason = (error.reason or "").upper()
    return isinstance(error, ssl.SSLCertVerificationError) or any(
        word in reason for word in ("CERTIFICATE", "UNKNOWN_CA")
    )


def _describe(error: BaseException) -> tuple[str, str]:
    """(reason, detail) for a transport error, without secrets."""
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, ssl.SSLError) and _is_certificate_failure(cause):
            return TLS_CERTIFICATE_ERROR, f"{type(cause).__name__}: {cause}"[:_DETAIL_LIMIT]
        cause = cause.__cause__ or cause.__context__
    detail = f"{type(error).__name__}: {error}"
    if isinstance(error.__cause__, Exception) and not str(error):
        detail += f" ({type(error.__cause__).__name__}: {error.__cause__})"
    if isinstance(error, StreamTimeout):
        return TIMEOUT, detail[:_DETAIL_LIMIT]
    return CONNECTION_ERROR, detail[:_DETAIL_LIMIT]


def _parse_body(content: bytes) -> tuple[str | None, int | None]:
    try:
        body = json.loads(content)
    except ValueError:
        return None, None
    if not isinstance(body, dict):
        return None, None
    reason = body.get("reason")
    timestamp = body.get("timestamp")
    return (
        reason if isinstance(reason, str) else None,
        timestamp if isinstance(timestamp, int) and not isinstance(timestamp, bool) else None,
    )


class ApnsClient:
    """Sends pass-update pushes over one long-lived HTTP/2 connection (§4).

    ``base_url`` and ``ca_file`` exist so tests and staging can point the client at a
    protocol peer (``PASSMINT_APNS_URL``, ``PASSMINT_APNS_CA_FILE``). ``max_concurrency``
    bounds the streams in flight across all callers; ``connections`` allows more than one
    TLS connection (each carries as many streams as the server's
    SETTINGS_MAX_CONCURRENT_STREAMS allows, and APNs may allow few, so more connections
    raise the ceiling; Apple suggests opening several rather than assuming a stream
    count). A connection idle for ``idle_expiry`` seconds is replaced on the next push.

    Retries of 429/5xx/transport errors happen inside :meth:`push` with exponential
    backoff and jitter (``backoff``, doubled each time, at most ``retries`` times);
    ``sleep`` and ``clock`` are injectable so tests need not wait.

    Create it inside the event loop that will use it, keep it for the life of the worker
    and close it with :meth:`aclose` (or ``async with``).
    """

    def __init__(
        self,
        auth: ApnsAuth,
        *,
        base_url: str = PRODUCTION_URL,
        ca_file: str | None = None,
        max_concurrency: int = 500,
        timeout: float = 30.0,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        retries: int = 3,
        backoff: float = 0.5,
        connections: int = 1,
        idle_expiry: float = KEEPALIVE_EXPIRY,
    ) -> None:
        if max_concurrency < 1 or connections < 1:
            raise ValueError("max_concurrency and connections must be at least 1")
        if retries < 0 or backoff < 0 or timeout <= 0:
            raise ValueError("retries and backoff must be >= 0 and timeout > 0")
        context = _ssl_context(ca_file)
        auth.configure(context)
        self._auth = auth
        self._base_url = base_url.rstrip("/")
        self._max_concurrency = max_concurrency
        self._semaphore = asyncio.Semaphore(max_concurrency)
        self._timeout = timeout
        self._clock = clock
        self._sleep = sleep
        self._retries = retries
        self._backoff = backoff
        self._active = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._closed = False
        # HTTP/2 only: APNs speaks nothing else, and a silent fall-back to HTTP/1.1 would
        # turn one multiplexed connection into one request at a time. No proxy from the
        # environment either: the connection to Apple is direct.
        self._http = H2Pool(
            base_url, context, connections=connections, timeout=timeout, idle_expiry=idle_expiry
        )
        self._templates: dict[tuple[str, str | None], RequestTemplate] = {}

    def __repr__(self) -> str:
        return f"ApnsClient({self._auth!r}, base_url={self._base_url!r})"

    @property
    def closed(self) -> bool:
        """:meth:`aclose` was called; pushes now return ``ClientClosed`` results."""
        return self._closed

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Refuse new pushes, let pushes in flight finish (up to ``timeout``), then close
        the connection."""
        self._closed = True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), self._timeout)
        await self._http.aclose()

    async def push(self, token: str, topic: str) -> PushResult:
        """Tell the device behind ``token`` that passes of type ``topic`` changed.

        Never raises for APNs or network failures: the result says what happened. A token
        that is not hex is not sent (reason ``InvalidTokenFormat``).
        """
        if not _HEX_TOKEN.fullmatch(token):
            return PushResult(token, None, INVALID_TOKEN_FORMAT, attempts=0)
        if self._closed:
            return PushResult(token, None, CLIENT_CLOSED, attempts=0)
        self._active += 1
        self._idle.clear()
        try:
            return await self._push(token, topic)
        finally:
            self._active -= 1
            if not self._active:
                self._idle.set()

    async def push_many(self, tokens: Sequence[str], topic: str) -> list[PushResult]:
        """Push to every token with at most ``max_concurrency`` streams in flight; the
        results are in the order of ``tokens``."""
        results: list[PushResult | None] = [None] * len(tokens)
        pending = iter(enumerate(tokens))

        async def drain() -> None:
            # One shared iterator: each worker takes the next token when it is free.
            for index, token in pending:
                results[index] = await self.push(token, topic)

        async with asyncio.TaskGroup() as group:
            for _ in range(min(self._max_concurrency, len(tokens))):
                group.create_task(drain())
        return [result for result in results if result is not None]

    async def _push(self, token: str, topic: str) -> PushResult:
        url = f"/3/device/{token}"
        attempts = 0
        failures = 0
        refreshed = False
        while True:
            attempts += 1
            authorization = self._auth.authorization(self._clock())
            result = await self._send(url, token, topic, authorization, attempts)
            if (
                result.status == 403
                and result.reason == EXPIRED_PROVIDER_TOKEN
                and not refreshed
                and self._auth.expired(authorization)
            ):
                refreshed = True
                continue
            # A retried push may reach the device twice (a timeout after APNs took it); for
            # a pass that costs one extra poll of the web service, never a wrong pass.
            if result.retryable and failures < self._retries and not self._closed:
                failures += 1
                await self._sleep(self._delay(failures))
                continue
            return result

    def _delay(self, failure: int) -> float:
        """Exponential backoff with jitter, so a burst of 429s does not come back in step."""
        base = min(self._backoff * 2.0 ** (failure - 1), _MAX_BACKOFF)
        return base * random.uniform(0.5, 1.0)  # noqa: S311 - jitter, not a secret

    async def _send(
        self, url: str, token: str, topic: str, authorization: str | None, attempts: int
    ) -> PushResult:
        # No apns-push-type: Apple documents none for pass updates, and the pass-capable
        # peers omit it (§4). No priority or expiration either: Wallet ignores them.
        template = self._templates.get((topic, authorization))
        if template is None:
            headers = [(b"apns-topic", topic.encode()), (b"content-type", b"application/json")]
            if authorization is not None:
                headers.append((b"authorization", authorization.encode()))
            if len(self._templates) >= 16:  # old provider tokens
                self._templates.clear()
            template = self._templates[(topic, authorization)] = self._http.template(
                headers, len(PAYLOAD)
            )
        try:
            async with self._semaphore:
                response = await self._http.post(template, url, PAYLOAD)
        except TransportError as error:
            label, detail = _describe(error)
            return PushResult(token, None, label, attempts=attempts, detail=detail)
        except RuntimeError as error:
            if not self._http.is_closed:
                raise
            return PushResult(token, None, CLIENT_CLOSED, attempts=attempts, detail=str(error))
        if response.status == 200:
            return PushResult(token, 200, response=response, attempts=attempts)
        reason, timestamp = _parse_body(response.body)
        return PushResult(
            token,
            response.status,
            reason,
            response=response,
            timestamp=timestamp if response.status == 410 else None,
            attempts=attempts,
        )


ClientFactory = Callable[[], ApnsClient]


def _default_slot(key: Hashable) -> Hashable:
    if isinstance(key, tuple) and key:
        first: Hashable = key[0]
        return first
    return key


class ApnsClientPool:
    """One :class:`ApnsClient` per APNs credential, kept for the life of a worker.

    The caller picks the key, e.g. ``(credential_id, updated_at)``. Keys in the same
    *slot* belong to the same credential: by default the slot is the first element of a
    tuple key (or the key itself). When a key arrives whose slot holds a client for an
    older key, the credential changed: a new client is made and the old one is closed
    after its pushes in flight finish.
    """

    def __init__(self, *, slot: Callable[[Hashable], Hashable] = _default_slot) -> None:
        self._slot = slot
        self._clients: dict[Hashable, tuple[Hashable, ApnsClient]] = {}

    def __len__(self) -> int:
        return len(self._clients)

    async def get(self, key: Hashable, factory: ClientFactory) -> ApnsClient:
        """The client for ``key``, made with ``factory`` on first use or after a change."""
        slot = self._slot(key)
        current = self._clients.get(slot)
        if current is not None and current[0] == key and not current[1].closed:
            return current[1]
        client = factory()
        self._clients[slot] = (key, client)
        if current is not None:
            await current[1].aclose()
        return client

    async def discard(self, key: Hashable) -> None:
        """Close and forget the client of ``key``'s slot (a credential was deleted)."""
        current = self._clients.pop(self._slot(key), None)
        if current is not None:
            await current[1].aclose()

    async def aclose(self) -> None:
        """Close every client."""
        clients = [client for _, client in self._clients.values()]
        self._clients.clear()
        await asyncio.gather(*(client.aclose() for client in clients))

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.aclose()
