"""A lean HTTP/2 client transport for APNs: TLS + ALPN h2, many streams per connection.

APNs pushes are tiny (``POST`` with a 2-byte body, a few headers back), so the cost of a push
is all protocol machinery. This drives the ``h2`` state machine directly from an asyncio
protocol — no per-request task, no generic HTTP client layers — which costs about a tenth
of the CPU of a general-purpose client per push. It honours the server's
SETTINGS_MAX_CONCURRENT_STREAMS, acknowledges received data for flow control, fails the
streams a GOAWAY or a dropped connection strands (so the caller retries them), and opens a
new connection on the next request after one closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections import deque
from dataclasses import dataclass, field
from typing import cast
from urllib.parse import urlsplit

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import h2.settings

_DEFAULT_STREAMS = 100  # until the server's SETTINGS arrive (RFC 9113 recommends ≥ 100)
_GOAWAY_GRACE = 2.0


class TransportError(Exception):
    """The request did not get a response (connection, TLS, protocol or timeout)."""


class ConnectError(TransportError):
    pass


class StreamTimeout(TransportError):
    pass


class ConnectionDropped(TransportError):
    pass


@dataclass(slots=True)
class Response:
    status: int
    headers: dict[str, str]
    body: bytes


@dataclass(slots=True)
class _Stream:
    future: asyncio.Future[Response]
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytearray = field(default_factory=bytearray)


class _Connection(asyncio.Protocol):
    def __init__(self) -> None:
        # Our request headers are fixed and known-good, so skip h2's per-header validation
        # and normalisation on the way out (a fifth of the CPU of a push); responses are
        # still validated.
        self.h2 = h2.connection.H2Connection(
            h2.config.H2Configuration(
                client_side=True,
                header_encoding=None,
                validate_outbound_headers=False,
                normalize_outbound_headers=False,
            )
        )
        self.transport: asyncio.Transport | None = None
        self.streams: dict[int, _Stream] = {}
        self.max_streams = _DEFAULT_STREAMS
        self.waiting: deque[asyncio.Future[None]] = deque()
        self.closed = False
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.lost: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    # -- asyncio.Protocol --------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but behave as one.
        self.transport = cast(asyncio.Transport, transport)
        ssl_object = transport.get_extra_info("ssl_object")
        if ssl_object is not None and ssl_object.selected_alpn_protocol() != "h2":
            self._fail_all(ConnectError("the server did not agree to HTTP/2 (ALPN h2)"))
            self.transport.close()
            return
        self.h2.initiate_connection()
        self._flush()
        if not self.ready.done():
            self.ready.set_result(None)

    def data_received(self, data: bytes) -> None:
        try:
            events = self.h2.receive_data(data)
        except h2.exceptions.ProtocolError as error:
            self._fail_all(ConnectionDropped(f"HTTP/2 protocol error: {error}"))
            if self.transport is not None:
                self.transport.close()
            return
        for event in events:
            self._handle(event)
        self._flush()

    def connection_lost(self, exc: Exception | None) -> None:
        reason = f"connection lost: {exc}" if exc else "connection closed by the server"
        self._fail_all(ConnectionDropped(reason))
        if not self.lost.done():
            self.lost.set_result(None)

    # -- events ------------------------------------------------------------------------------
    def _handle(self, event: h2.events.Event) -> None:
        if isinstance(event, h2.events.ResponseReceived):
            stream = self.streams.get(event.stream_id)
            if stream is not None:
                for name, value in event.headers:
                    key = name.decode("latin-1") if isinstance(name, bytes) else name
                    text = value.decode("latin-1") if isinstance(value, bytes) else value
                    if key == ":status":
                        stream.status = int(text)
                    else:
                        stream.headers[key] = text
        elif isinstance(event, h2.events.DataReceived):
            stream = self.streams.get(event.stream_id)
            if stream is not None:
                stream.body += event.data
            self.h2.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
        elif isinstance(event, h2.events.StreamEnded):
            self._finish(event.stream_id)
        elif isinstance(event, h2.events.StreamReset):
            self._fail(event.stream_id, ConnectionDropped(f"stream reset ({event.error_code})"))
        elif isinstance(event, h2.events.RemoteSettingsChanged):
            setting = event.changed_settings.get(h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS)
            if setting is not None:
                self.max_streams = max(1, setting.new_value)
                self._wake()
        elif isinstance(event, h2.events.ConnectionTerminated):
            # GOAWAY: streams above last_stream_id were not processed and may be retried.
            self.closed = True
            last = event.last_stream_id or 0
            for stream_id in [s for s in self.streams if s > last]:
                self._fail(stream_id, ConnectionDropped(f"GOAWAY ({event.error_code})"))
            # The rest should still be answered; if the server never does, fail them soon
            # (they are retried on a new connection) rather than at the request timeout.
            loop = asyncio.get_running_loop()
            loop.call_later(_GOAWAY_GRACE, self._fail_all, ConnectionDropped("GOAWAY: unanswered"))
            self._close_when_idle()

    def _finish(self, stream_id: int) -> None:
        stream = self.streams.pop(stream_id, None)
        if stream is not None and not stream.future.done():
            stream.future.set_result(Response(stream.status, stream.headers, bytes(stream.body)))
        self._wake()
        self._close_when_idle()

    def _close_when_idle(self) -> None:
        if self.closed and not self.streams and self.transport is not None:
            self.transport.abort()  # after GOAWAY nothing more will come on this connection

    def _fail(self, stream_id: int, error: Exception) -> None:
        stream = self.streams.pop(stream_id, None)
        if stream is not None and not stream.future.done():
            stream.future.set_exception(error)
        self._wake()

    def _fail_all(self, error: Exception) -> None:
        self.closed = True
        if not self.ready.done():
            self.ready.set_exception(error)
        for stream_id in list(self.streams):
            self._fail(stream_id, error)
        while self.waiting:
            waiter = self.waiting.popleft()
            if not waiter.done():
                waiter.set_result(None)

    def _wake(self) -> None:
        while self.waiting and len(self.streams) < self.max_streams:
            waiter = self.waiting.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    def _flush(self) -> None:
        data = self.h2.data_to_send()
        if data and self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    # -- requests ----------------------------------------------------------------------------
    @property
    def active(self) -> int:
        return len(self.streams)

    async def request(
        self, authority: bytes, path: bytes, headers: list[tuple[bytes, bytes]], body: bytes
    ) -> Response:
        while len(self.streams) >= self.max_streams and not self.closed:
            waiter = asyncio.get_running_loop().create_future()
            self.waiting.append(waiter)
            await waiter
        if self.closed or self.transport is None or self.transport.is_closing():
            raise ConnectionDropped("the connection is closed")
        stream_id = self.h2.get_next_available_stream_id()
        future: asyncio.Future[Response] = asyncio.get_running_loop().create_future()
        self.streams[stream_id] = _Stream(future)
        request_headers = [
            (b":method", b"POST"),
            (b":scheme", b"https"),
            (b":authority", authority),
            (b":path", path),
            *headers,
            (b"content-length", str(len(body)).encode()),
        ]
        try:
            self.h2.send_headers(stream_id, request_headers)
            self.h2.send_data(stream_id, body, end_stream=True)
        except h2.exceptions.ProtocolError as error:
            self.streams.pop(stream_id, None)
            raise ConnectionDropped(f"cannot open a stream: {error}") from error
        self._flush()
        return await future

    async def aclose(self, grace: float) -> None:
        """GOAWAY, close, and wait until the socket is really gone (TLS shuts down late)."""
        self.closed = True
        if self.transport is None:
            return
        if not self.transport.is_closing():
            try:
                self.h2.close_connection()
                self._flush()
            except h2.exceptions.ProtocolError:
                pass
            self.transport.close()
        # A TLS close waits for the peer's close_notify, which servers often never send:
        # give it a moment, then drop the socket.
        try:
            await asyncio.wait_for(asyncio.shield(self.lost), min(grace, 0.25))
        except TimeoutError:
            self.transport.abort()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self.lost), grace)


class H2Pool:
    """``connections`` long-lived HTTP/2 connections to one origin; requests go to the least
    busy one, and a closed connection is replaced on the next request."""

    def __init__(
        self, base_url: str, context: ssl.SSLContext, *, connections: int = 1, timeout: float
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme != "https" or parts.hostname is None:
            raise ValueError(f"APNs base URL must be https://host[:port], not {base_url!r}")
        self.host = parts.hostname
        self.port = parts.port or 443
        self.authority = parts.netloc.encode()
        self.context = context
        context.set_alpn_protocols(["h2"])
        self.timeout = timeout
        self.slots: list[_Connection | None] = [None] * connections
        self.locks = [asyncio.Lock() for _ in range(connections)]
        self.is_closed = False

    async def _connection(self) -> _Connection:
        index = min(
            range(len(self.slots)),
            key=lambda i: -1 if self.slots[i] is None else self.slots[i].active,  # type: ignore[union-attr]
        )
        current = self.slots[index]
        if current is not None and not current.closed:
            return current
        async with self.locks[index]:
            current = self.slots[index]
            if current is not None and not current.closed:
                return current
            loop = asyncio.get_running_loop()
            try:
                _, protocol = await asyncio.wait_for(
                    loop.create_connection(
                        _Connection, self.host, self.port, ssl=self.context,
                        server_hostname=self.host,
                    ),
                    self.timeout,
                )  # fmt: skip
                await protocol.ready
            except TimeoutError as error:
                raise StreamTimeout("connecting to APNs timed out") from error
            except (OSError, ssl.SSLError) as error:
                raise ConnectError(f"cannot connect to {self.host}:{self.port}: {error}") from error
            if current is not None and current.transport is not None:
                current.transport.abort()  # already closed for requests: drop it now
            self.slots[index] = protocol
            return protocol

    async def post(self, path: str, headers: list[tuple[bytes, bytes]], body: bytes) -> Response:
        if self.is_closed:
            raise ConnectionDropped("the client is closed")
        connection = await self._connection()
        try:
            return await asyncio.wait_for(
                connection.request(self.authority, path.encode(), headers, body), self.timeout
            )
        except TimeoutError as error:
            raise StreamTimeout(f"no response within {self.timeout} s") from error

    async def aclose(self) -> None:
        self.is_closed = True
        connections = [c for c in self.slots if c is not None]
        self.slots = [None] * len(self.slots)
        await asyncio.gather(*(c.aclose(min(self.timeout, 5.0)) for c in connections))
