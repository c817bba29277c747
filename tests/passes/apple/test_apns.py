"""The APNs client against a real HTTP/2 + TLS peer on 127.0.0.1 (spec §4, checks 26-27).

No pytest-asyncio: each test drives its coroutine with ``asyncio.run``.
"""

from __future__ import annotations

import asyncio
import os
import ssl
import stat
import tempfile
import time
from collections.abc import Coroutine, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from passmint.passes.apple.apns import (
    ApnsClient,
    ApnsClientPool,
    ApnsCredentialError,
    CertificateAuth,
    PushResult,
    TokenAuth,
    provider_token,
)
from passmint.wallet.apple.devpki import generate_dev_pki
from tests.fixtures.apns_server import FakeApns, issue_leaf, make_ca

T = TypeVar("T")
TOPIC = "pass.dev.passmint.test"
TEAM = "TEAM123456"
KEY_ID = "KEY1234567"
TOKEN = "a1b2c3d4" * 8
PEM = serialization.Encoding.PEM


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coroutine)


def pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


class Clock:
    """A settable wall clock for provider-token ages."""

    def __init__(self, start: float | None = None) -> None:
        self.now = time.time() if start is None else start

    def __call__(self) -> float:
        return self.now


class Sleeps:
    """Records backoff delays instead of waiting."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


def token_apns(key: ec.EllipticCurvePrivateKey, **options: Any) -> FakeApns:
    """A fake APNs that takes provider tokens signed with ``key``."""
    return FakeApns(
        auth="token", token_public_keys={KEY_ID: key.public_key()}, team_id=TEAM, **options
    )


@pytest.fixture(scope="module")
def p8_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture(scope="module")
def token_server(p8_key: ec.EllipticCurvePrivateKey) -> Iterator[FakeApns]:
    server = token_apns(p8_key)
    with server:
        yield server


@pytest.fixture
def apns_server(token_server: FakeApns) -> FakeApns:
    token_server.clear()
    token_server.clock = time.time
    return token_server


def token_client(server: FakeApns, key: ec.EllipticCurvePrivateKey, **options: Any) -> ApnsClient:
    return ApnsClient(
        TokenAuth(pem_key(key), KEY_ID, TEAM),
        base_url=server.base_url,
        ca_file=server.ca_file,
        **options,
    )


def flags(result: PushResult) -> set[str]:
    """Which of the caller's three decisions the result asks for."""
    names = ("unregistered", "retryable", "credential_error")
    return {name for name in names if getattr(result, name)}


def bearer(authorization: str) -> str:
    scheme, _, token = authorization.partition(" ")
    assert scheme == "bearer"
    return token


# -- the request on the wire ----------------------------------------------------------


def test_push_is_http2_with_topic_and_an_empty_dictionary(
    apns_server: FakeApns, p8_key: ec.EllipticCurvePrivateKey
) -> None:
    async def scenario() -> PushResult:
        async with token_client(apns_server, p8_key) as client:
            return await client.push(TOKEN, TOPIC)

    result = run(scenario())

    assert result.ok
    assert (result.status, result.reason, result.attempts) == (200, None, 1)
    assert result.apns_id
    assert flags(result) == set()
    [request] = apns_server.requests
    assert request.http_version == "2"
    assert request.path == f"/3/device/{TOKEN}"
    assert request.body == b"{}"
    assert request.headers["apns-topic"] == TOPIC
    assert request.headers["content-type"] == "application/json"
    assert "apns-push-type" not in request.headers
    token = bearer(request.headers["authorization"])
    assert jwt.get_unverified_header(token) == {"alg": "ES256", "kid": KEY_ID}
    claims = jwt.decode(token, p8_key.public_key(), algorithms=["ES256"])
    assert set(claims) == {"iss", "iat"}
    assert claims["iss"] == TEAM
    assert abs(claims["iat"] - time.time()) < 60


def test_provider_token_is_pure_and_shaped_like_apples() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    for token in (
        provider_token(key, KEY_ID, TEAM, 1_700_000_000.9),
        provider_token(pem_key(key), KEY_ID, TEAM, 1_700_000_000),
    ):
        assert jwt.get_unverified_header(token) == {"alg": "ES256", "kid": KEY_ID}
        claims = jwt.decode(
            token, key.public_key(), algorithms=["ES256"], options={"verify_iat": False}
        )
        assert claims == {"iss": TEAM, "iat": 1_700_000_000}


def test_token_auth_rejects_bad_keys_and_refresh_ages() -> None:
    key = pem_key(ec.generate_private_key(ec.SECP256R1()))
    with pytest.raises(ApnsCredentialError):
        TokenAuth(key, KEY_ID, TEAM, refresh_after=10 * 60)
    with pytest.raises(ApnsCredentialError):
        TokenAuth(key, KEY_ID, TEAM, refresh_after=55 * 60)
    with pytest.raises(ApnsCredentialError):
        TokenAuth(b"not a key", KEY_ID, TEAM)
    p384 = pem_key(ec.generate_private_key(ec.SECP384R1()))
    with pytest.raises(ApnsCredentialError):
        TokenAuth(p384, KEY_ID, TEAM)
    auth = TokenAuth(key, KEY_ID, TEAM, refresh_after=20 * 60)
    assert repr(auth) == f"TokenAuth(key_id={KEY_ID!r}, team_id={TEAM!r})"


# -- provider tokens: reuse, refresh, expiry -------------------------------------------


def test_provider_token_is_reused_within_the_refresh_age_then_replaced(
    apns_server: FakeApns, p8_key: ec.EllipticCurvePrivateKey
) -> None:
    clock = Clock()
    start = clock.now
    apns_server.clock = clock

    async def scenario() -> list[PushResult]:
        results = []
        async with token_client(apns_server, p8_key, clock=clock) as client:
            for minutes in (0, 10, 39.9, 40, 55):
                clock.now = start + minutes * 60
                results.append(await client.push(TOKEN, TOPIC))
        return results

    assert all(result.ok for result in run(scenario()))
    tokens = [bearer(request.headers["authorization"]) for request in apns_server.requests]
    assert tokens[0] == tokens[1] == tokens[2]
    assert tokens[3] != tokens[2]
    assert tokens[4] == tokens[3]
    iats = [jwt.decode(t, options={"verify_signature": False})["iat"] for t in tokens]
    assert iats[0] == int(start)
    assert iats[3] == int(start + 40 * 60)


def test_expired_provider_token_is_regenerated_and_the_push_retried(
    apns_server: FakeApns, p8_key: ec.EllipticCurvePrivateKey
) -> None:
    clock = Clock()
    server_clock = Clock(clock.now)
    apns_server.clock = server_clock

    async def scenario() -> tuple[PushResult, PushResult]:
        async with token_client(apns_server, p8_key, clock=clock) as client:
            first = await client.push(TOKEN, TOPIC)
            # Our clock says 30 minutes (token still fresh); APNs' says 61: it is expired.
            clock.now += 30 * 60
            server_clock.now += 61 * 60
            second = await client.push(TOKEN, TOPIC)
            return first, second

    first, second = run(scenario())

    assert first.ok
    assert second.ok
    assert second.attempts == 2
    old, rejected, fresh = (r.headers["authorization"] for r in apns_server.requests)
    assert old == rejected != fresh
    assert [r.status for r in apns_server.requests] == [200, 403, 200]


def test_a_programmed_expired_token_also_triggers_one_refresh(
    apns_server: FakeApns, p8_key: ec.EllipticCurvePrivateKey
) -> None:
    apns_server.fail(TOKEN, 403, "ExpiredProviderToken")

    async def scenario() -> PushResult:
        async with token_client(apns_server, p8_key) as client:
            return await client.push(TOKEN, TOPIC)

    result = run(scenario())

    assert result.ok
    assert result.attempts == 2
    first, second = (r.headers["authorization"] for r in apns_server.requests)
    assert first != second


def test_a_token_still_expired_after_refresh_is_a_credential_error(
    apns_server: FakeApns, p8_key: ec.EllipticCurvePrivateKey
) -> None:
    stale_clock = Clock(time.time() - 2 * 3600)  # a host clock two hours behind

    async def scenario() -> PushResult:
        async with token_client(apns_server, p8_key, clock=stale_clock) as client:
            return await client.push(TOKEN, TOPIC)

    result = run(scenario())

    assert (result.status, result.reason, result.attempts) == (403, "ExpiredProviderToken", 2)
    assert flags(result) == {"credential_error"}


def test_an_unknown_key_is_a_credential_error_and_not_retried(apns_server: FakeApns) -> None:
    sleeps = Sleeps()
    stranger = ec.generate_private_key(ec.SECP256R1())

    async def scenario() -> PushResult:
        async with token_client(apns_server, stranger, sleep=sleeps) as client:
            return await client.push(TOKEN, TOPIC)

    result = run(scenario())

    assert (result.status, result.reason, result.attempts) == (403, "InvalidProviderToken", 1)
    assert flags(result) == {"credential_error"}
    assert sleeps.delays == []


# -- responses: 410, 400, 403, 429/5xx ---------------------------------------------------


def test_410_means_unregistered_with_apples_timestamp(
    apns_server: FakeApns, p8_key: ec.EllipticCurvePrivateKey
) -> None:
    apns_server.fail(TOKEN, 410, "Unregistered", timestamp=1_764_000_000_123)

    async def scenario() -> PushResult:
        async with token_client(apns_server, p8_key) as client:
            return await client.push(TOKEN, TOPIC)

    result = run(scenario())

    assert (result.status, result.reason, result.timestamp) == (
        410,
        "Unregistered",
        1_764_000_000_123,
    )
    assert flags(result) == {"unregistered"}
    assert result.attempts == 1


@pytest.mark.parametrize(
    ("status", "reason", "unregistered", "credential_error"),
    [
        (400, "BadDeviceToken", True, False),
        (400, "DeviceTokenNotForTopic", True, False),
        (400, "BadTopic", False, True),
        (400, "TopicDisallowed", False, True),
        (403, "BadCertificateEnvironment", False, True),
        (403, "Forbidden", False, True),
        (413, "PayloadTooLarge", False, False),
    ],
)
def test_final_errors_are_classified_and_not_retried(
    apns_server: FakeApns,
    p8_key: ec.EllipticCurvePrivateKey,
    status: int,
    reason: str,
    unregistered: bool,
    credential_error: bool,
) -> None:
    apns_server.fail(TOKEN, status, reason)

    async def scenario() -> PushResult:
        async with token_client(apns_server, p8_key) as client:
            return await client.push(TOKEN, TOPIC)

    result = run(scenario())

    assert (result.status, result.reason, result.attempts) == (status, reason, 1)
    assert result.unregistered is unregistered
    assert result.credential_error is credential_error
    assert not result.retryable
    assert result.timestamp is None


@pytest.mark.parametrize(
    ("status", "reason"),
    [(429, "TooManyRequests"), (500, "InternalServerError"), (503, "ServiceUnavailable")],
)
def test_transient_errors_are_retried_with_backoff(
    apns_server: FakeApns, p8_key: ec.EllipticCurvePrivateKey, status: int, reason: str
) -> None:
    apns_server.fail(TOKEN, status, reason, times=2)
    sleeps = Sleeps()

    async def scenario() -> PushResult:
        async with token_client(apns_server, p8_key, sleep=sleeps, backoff=0.5) as client:
            return await client.push(TOKEN, TOPIC)

    result = run(scenario())

    assert result.ok
    assert result.attempts == 3
    assert [r.status for r in apns_server.requests] == [status, status, 200]
    first, second = sleeps.delays
    assert 0.25 <= first <= 0.5
    assert 0.5 <= second <= 1.0


def test_transient_errors_give_up_after_the_retries(
    apns_server: FakeApns, p8_key: ec.EllipticCurvePrivateKey
) -> None:
    apns_server.fail(TOKEN, 503, "ServiceUnavailable", times=10)
    sleeps = Sleeps()

    async def scenario() -> PushResult:
        async with token_client(apns_server, p8_key, sleep=sleeps, retries=2) as client:
            return await client.push(TOKEN, TOPIC)

    result = run(scenario())

    assert (result.status, result.reason, result.attempts) == (503, "ServiceUnavailable", 3)
    assert flags(result) == {"retryable"}
    assert len(sleeps.delays) == 2
    assert len(apns_server.requests) == 3


def test_an_unreachable_server_is_a_retryable_result_not_an_exception(
    p8_key: ec.EllipticCurvePrivateKey,
) -> None:
    server = FakeApns()
    server.start()
    server.stop()  # the port is now closed
    sleeps = Sleeps()

    async def scenario() -> PushResult:
        async with token_client(server, p8_key, sleep=sleeps, retries=2) as client:
            return await client.push(TOKEN, TOPIC)

    try:
        result = run(scenario())
    finally:
        server.close()

    assert (result.status, result.reason, result.attempts) == (None, "ConnectionError", 3)
    assert result.retryable
    assert result.detail
    assert len(sleeps.delays) == 2


def test_a_server_that_never_speaks_http2_times_out(
    p8_key: ec.EllipticCurvePrivateKey, tmp_path: Path
) -> None:
    """TLS with ALPN h2 completes, then nothing: no SETTINGS ever comes. Opening the
    connection is bounded by the timeout like any request, and the socket is dropped."""
    ca, ca_key = make_ca("silent CA")
    cert, key = issue_leaf(ca, ca_key, "127.0.0.1", server=True)
    (tmp_path / "ca.pem").write_bytes(ca.public_bytes(PEM))
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(PEM))
    (tmp_path / "key.pem").write_bytes(pem_key(key))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    context.set_alpn_protocols(["h2"])
    accepted: list[asyncio.StreamWriter] = []

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer)
        await reader.read()  # read the preface and everything after; answer nothing

    async def scenario() -> PushResult:
        server = await asyncio.start_server(silent, "127.0.0.1", 0, ssl=context)
        port = server.sockets[0].getsockname()[1]
        client = ApnsClient(
            TokenAuth(pem_key(p8_key), KEY_ID, TEAM),
            base_url=f"https://127.0.0.1:{port}",
            ca_file=str(tmp_path / "ca.pem"),
            timeout=0.3,
            retries=0,
        )
        async with server, client:
            # Bounded here so that a regression fails instead of hanging the suite.
            return await asyncio.wait_for(client.push(TOKEN, TOPIC), 20)

    result = run(scenario())
    assert (result.status, result.reason) == (None, "Timeout")
    assert result.retryable
    assert len(accepted) == 1


# -- tokens ----------------------------------------------------------------------------


@pytest.mark.parametrize("token", ["", "xyz", "ab cd", "abcd/../x", "éé", TOKEN + "g"])
def test_malformed_tokens_are_not_sent(
    apns_server: FakeApns, p8_key: ec.EllipticCurvePrivateKey, token: str
) -> None:
    async def scenario() -> PushResult:
        async with token_client(apns_server, p8_key) as client:
            return await client.push(token, TOPIC)

    result = run(scenario())

    assert (result.status, result.reason, result.attempts) == (None, "InvalidTokenFormat", 0)
    assert flags(result) == set()
    assert apns_server.requests == []


def test_tokens_of_any_hex_length_are_sent_as_given(
    apns_server: FakeApns, p8_key: ec.EllipticCurvePrivateKey
) -> None:
    tokens = ["ab", "ABCDEF0123", "0" * 64, "f" * 200]

    async def scenario() -> list[PushResult]:
        async with token_client(apns_server, p8_key) as client:
            return await client.push_many(tokens, TOPIC)

    assert all(result.ok for result in run(scenario()))
    assert sorted(r.token for r in apns_server.requests) == sorted(tokens)


# -- multiplexing, ordering and reconnects ---------------------------------------------


def test_push_many_keeps_the_order_over_one_http2_connection(
    apns_server: FakeApns, p8_key: ec.EllipticCurvePrivateKey
) -> None:
    tokens = [f"{index:064x}" for index in range(1000)]
    tokens[500] = "not-hex"
    apns_server.fail(tokens[7], 410, "Unregistered")

    async def scenario() -> list[PushResult]:
        async with token_client(apns_server, p8_key, max_concurrency=100) as client:
            return await client.push_many(tokens, TOPIC)

    results = run(scenario())

    assert [result.token for result in results] == tokens
    assert results[7].unregistered
    assert results[500].reason == "InvalidTokenFormat"
    assert sum(result.ok for result in results) == 998
    requests = apns_server.wait_for(999)
    assert len(requests) == 999
    assert {r.token for r in requests} == set(tokens) - {"not-hex"}
    assert {r.http_version for r in requests} == {"2"}
    assert len(apns_server.connections) == 1


def test_the_first_burst_waits_for_the_servers_stream_limit(
    p8_key: ec.EllipticCurvePrivateKey,
) -> None:
    """A server may allow few streams (APNs: one, until a token was accepted). The client
    learns the limit from the server's first SETTINGS before it opens a stream, so even the
    first burst is never refused and retried."""
    server = token_apns(p8_key, max_concurrent_streams=2)
    tokens = [f"{index:064x}" for index in range(40)]

    async def scenario() -> list[PushResult]:
        async with token_client(server, p8_key, max_concurrency=40, retries=0) as client:
            return await client.push_many(tokens, TOPIC)

    with server:
        results = run(scenario())
    assert [(r.status, r.attempts) for r in results] == [(200, 1)] * 40


def test_an_idle_connection_is_replaced_before_the_next_push(
    apns_server: FakeApns, p8_key: ec.EllipticCurvePrivateKey
) -> None:
    async def scenario() -> list[PushResult]:
        async with token_client(apns_server, p8_key, idle_expiry=0.2) as client:
            first = await client.push_many([TOKEN, TOKEN], TOPIC)  # busy: one connection
            await asyncio.sleep(0.3)  # idle for longer than idle_expiry
            return [*first, await client.push(TOKEN, TOPIC)]

    results = run(scenario())
    assert [r.status for r in results] == [200, 200, 200]
    requests = apns_server.wait_for(3)
    assert requests[0].connection == requests[1].connection
    assert requests[2].connection != requests[0].connection


def test_the_client_reconnects_after_the_server_restarts(
    p8_key: ec.EllipticCurvePrivateKey,
) -> None:
    server = token_apns(p8_key)
    server.start()

    async def scenario() -> tuple[PushResult, PushResult]:
        async with token_client(server, p8_key, sleep=Sleeps()) as client:
            before = await client.push(TOKEN, TOPIC)
            await asyncio.to_thread(server.stop)  # closes the connection under the client
            await asyncio.to_thread(server.start)
            after = await client.push(TOKEN, TOPIC)
            return before, after

    try:
        before, after = run(scenario())
    finally:
        server.close()

    assert before.ok
    assert after.ok
    assert after.attempts <= 2  # at most one attempt lost on the dropped connection
    assert len(server.connections) == 2


def test_the_client_follows_goaway_to_a_new_connection(p8_key: ec.EllipticCurvePrivateKey) -> None:
    server = token_apns(p8_key, max_requests_per_connection=20)
    tokens = [f"{index:08x}" for index in range(120)]

    async def scenario() -> list[PushResult]:
        async with token_client(server, p8_key, sleep=Sleeps(), max_concurrency=10) as client:
            return await client.push_many(tokens, TOPIC)

    with server:
        results = run(scenario())

    assert all(result.ok for result in results), {r.reason for r in results}
    assert len(server.connections) > 1


def test_a_closed_client_refuses_pushes(
    apns_server: FakeApns, p8_key: ec.EllipticCurvePrivateKey
) -> None:
    async def scenario() -> PushResult:
        client = token_client(apns_server, p8_key)
        await client.aclose()
        assert client.closed
        return await client.push(TOKEN, TOPIC)

    result = run(scenario())

    assert (result.status, result.reason, result.attempts) == (None, "ClientClosed", 0)
    assert flags(result) == {"retryable"}  # by a client from the pool, later
    assert apns_server.requests == []


# -- certificate auth ------------------------------------------------------------------


@pytest.fixture(scope="module")
def client_pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    directory = tmp_path_factory.mktemp("client-pki")
    ca, ca_key = make_ca("passmint test client CA")
    cert, key = issue_leaf(ca, ca_key, "Pass Type ID: pass.dev.passmint.test", server=False)
    (directory / "client-ca.pem").write_bytes(ca.public_bytes(PEM))
    dev = generate_dev_pki(now=datetime.now(UTC))
    (directory / "dev-ca.pem").write_bytes(dev.root.public_bytes(PEM) + dev.wwdr.public_bytes(PEM))
    dev_files = dev.files()
    return {
        "client_ca": directory / "client-ca.pem",
        "dev_ca": directory / "dev-ca.pem",
        "cert": cert.public_bytes(PEM),
        "key": pem_key(key),
        "dev_cert": dev_files["pass-cert.pem"],
        "dev_key": dev_files["pass-key.pem"],
    }


def cert_push(server: FakeApns, cert: bytes, key: bytes, **options: Any) -> PushResult:
    async def scenario() -> PushResult:
        auth = CertificateAuth(cert, key)
        async with ApnsClient(
            auth, base_url=server.base_url, ca_file=server.ca_file, **options
        ) as client:
            return await client.push(TOKEN, TOPIC)

    return run(scenario())


def test_certificate_auth_presents_the_client_certificate(client_pki: dict[str, Any]) -> None:
    with FakeApns(auth="certificate", client_ca_file=client_pki["client_ca"]) as server:
        result = cert_push(server, client_pki["cert"], client_pki["key"])
        [request] = server.requests

    assert result.ok
    assert request.http_version == "2"
    assert request.client_subject == "CN=Pass Type ID: pass.dev.passmint.test"
    assert "authorization" not in request.headers
    assert request.headers["apns-topic"] == TOPIC


def test_certificate_auth_with_a_pass_type_id_certificate(client_pki: dict[str, Any]) -> None:
    with FakeApns(auth="certificate", client_ca_file=client_pki["dev_ca"]) as server:
        result = cert_push(server, client_pki["dev_cert"], client_pki["dev_key"])
        [request] = server.requests

    assert result.ok
    assert "UID=pass.dev.passmint.demo" in (request.client_subject or "")


@pytest.mark.parametrize("tls_max_version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3])
def test_an_untrusted_client_certificate_fails_cleanly(
    client_pki: dict[str, Any], tls_max_version: ssl.TLSVersion
) -> None:
    # The server hangs up on a certificate it does not trust (during the TLS 1.2 handshake,
    # right after it under 1.3) without a readable alert, so to the client this is a
    # dropped connection: a result, retried like any transport error, never an exception.
    sleeps = Sleeps()
    with FakeApns(
        auth="certificate", client_ca_file=client_pki["client_ca"], tls_max_version=tls_max_version
    ) as server:
        result = cert_push(
            server, client_pki["dev_cert"], client_pki["dev_key"], sleep=sleeps, retries=1
        )
        assert server.requests == []

    assert (result.status, result.reason, result.attempts) == (None, "ConnectionError", 2)
    assert result.detail
    assert "PRIVATE KEY" not in result.detail
    assert result.retryable
    assert len(sleeps.delays) == 1


def test_a_server_certificate_from_another_ca_is_refused(
    apns_server: FakeApns, p8_key: ec.EllipticCurvePrivateKey, client_pki: dict[str, Any]
) -> None:
    async def scenario() -> PushResult:
        auth = TokenAuth(pem_key(p8_key), KEY_ID, TEAM)
        async with ApnsClient(
            auth, base_url=apns_server.base_url, ca_file=str(client_pki["client_ca"])
        ) as client:
            return await client.push(TOKEN, TOPIC)

    result = run(scenario())

    assert (result.status, result.reason, result.attempts) == (None, "TLSCertificateError", 1)
    assert "CERTIFICATE_VERIFY_FAILED" in (result.detail or "")
    assert result.credential_error
    assert apns_server.requests == []


class RecordingContext(ssl.SSLContext):
    """Sees the identity file at the moment the ssl module reads it."""

    seen: list[tuple[Path, int, int]]

    def load_cert_chain(self, certfile: Any, keyfile: Any = None, password: Any = None) -> None:
        path = Path(certfile)
        modes = (stat.S_IMODE(path.stat().st_mode), stat.S_IMODE(path.parent.stat().st_mode))
        self.seen.append((path, *modes))
        super().load_cert_chain(certfile, keyfile, password)


def test_certificate_auth_loads_from_a_private_file_that_is_deleted(
    client_pki: dict[str, Any],
) -> None:
    context = RecordingContext(ssl.PROTOCOL_TLS_CLIENT)
    context.seen = []
    auth = CertificateAuth(client_pki["cert"], client_pki["key"])

    auth.configure(context)

    [(path, file_mode, directory_mode)] = context.seen
    assert (file_mode, directory_mode) == (0o600, 0o700)
    assert not path.exists()
    assert not path.parent.exists()
    assert str(path.parent).startswith(tempfile.gettempdir())
    assert "BEGIN" not in repr(auth)


def test_certificate_auth_rejects_a_key_that_does_not_match(
    client_pki: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[str] = []
    mkdtemp = tempfile.mkdtemp

    def recording_mkdtemp(*args: Any, **kwargs: Any) -> str:
        made.append(mkdtemp(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(tempfile, "mkdtemp", recording_mkdtemp)
    auth = CertificateAuth(client_pki["cert"], client_pki["dev_key"])

    with pytest.raises(ApnsCredentialError) as caught:
        ApnsClient(auth)

    assert "PRIVATE KEY" not in str(caught.value)
    assert len(made) == 1
    assert not os.path.exists(made[0])


def test_certificate_auth_needs_the_password_of_an_encrypted_key(
    client_pki: dict[str, Any],
) -> None:
    key = serialization.load_pem_private_key(client_pki["key"], password=None)
    encrypted = key.private_bytes(
        PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"correct horse"),
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)

    with pytest.raises(ApnsCredentialError):  # and no passphrase prompt on the terminal
        CertificateAuth(client_pki["cert"], encrypted).configure(context)
    with pytest.raises(ApnsCredentialError):
        CertificateAuth(client_pki["cert"], encrypted, password=b"wrong").configure(context)
    CertificateAuth(client_pki["cert"], encrypted, password=b"correct horse").configure(context)


# -- the pool --------------------------------------------------------------------------


def test_the_pool_keeps_one_client_per_credential_and_closes_replaced_ones(
    p8_key: ec.EllipticCurvePrivateKey,
) -> None:
    made: list[ApnsClient] = []

    def factory() -> ApnsClient:
        client = ApnsClient(TokenAuth(pem_key(p8_key), KEY_ID, TEAM))
        made.append(client)
        return client

    async def scenario() -> None:
        async with ApnsClientPool() as pool:
            first = await pool.get(("cred-1", 1), factory)
            assert await pool.get(("cred-1", 1), factory) is first
            other = await pool.get(("cred-2", 1), factory)
            assert other is not first
            assert len(pool) == 2
            replaced = await pool.get(("cred-1", 2), factory)  # the credential changed
            assert replaced is not first
            assert [client.closed for client in made] == [True, False, False]
            assert await pool.get(("cred-1", 2), factory) is replaced
            assert len(pool) == 2
            await pool.discard(("cred-2", 1))
            assert [client.closed for client in made] == [True, True, False]
            assert len(pool) == 1

    run(scenario())
    assert len(made) == 3
    assert all(client.closed for client in made)


def test_the_pool_accepts_plain_keys(p8_key: ec.EllipticCurvePrivateKey) -> None:
    def factory() -> ApnsClient:
        return ApnsClient(TokenAuth(pem_key(p8_key), KEY_ID, TEAM))

    async def scenario() -> None:
        pool = ApnsClientPool()
        client = await pool.get("cred-1", factory)
        assert await pool.get("cred-1", factory) is client
        await pool.aclose()
        assert client.closed

    run(scenario())


def test_closing_waits_for_pushes_in_flight(
    apns_server: FakeApns, p8_key: ec.EllipticCurvePrivateKey
) -> None:
    async def scenario() -> list[PushResult]:
        client = token_client(apns_server, p8_key)
        pushes = asyncio.gather(*(client.push(f"{i:04x}", TOPIC) for i in range(20)))
        await asyncio.sleep(0)
        await client.aclose()
        return await pushes

    results = run(scenario())

    assert all(result.ok for result in results)


def test_reprs_hold_no_secrets(p8_key: ec.EllipticCurvePrivateKey) -> None:
    async def scenario() -> str:
        auth = TokenAuth(pem_key(p8_key), KEY_ID, TEAM)
        async with ApnsClient(auth, base_url="https://127.0.0.1:9") as client:
            return repr(client)

    text = run(scenario())

    assert KEY_ID in text
    assert "BEGIN" not in text
    assert "bearer" not in text
