"""A lean HTTP/2 client transport for APNs: TLS + ALPN h2, many streams per connection.

APNs pushes are tiny (``POST`` with a 2-byte body, two headers back), so the cost of a push is
all protocol machinery. This module speaks the client side of HTTP/2 (RFC 9113) itself, for
exactly this traffic, from an asyncio protocol:

- Requests are encoded without HPACK state: static-table references and literals that are
  never indexed (RFC 7541 §6.2.2/§6.2.3), so the constant part of a request's header block
  is encoded once per header set and a push adds only its ``:path``. The ``authorization``
  header (a provider token) is sent as "never indexed", as RFC 7541 §7.1.3 asks of secrets.
- Frames from many requests are written in one ``write`` per event-loop turn.
- Response header blocks go through ``hpack``'s decoder, which keeps the server's dynamic
  table. We advertise a dynamic table of size 0; once the server has confirmed it with a
  table size update, a block that starts with ``:status: 200`` (static index 8) needs no
  decoding to be answered, and its other headers are decoded only if someone reads them.
- Flow control is honoured both ways: our sends wait for the server's connection and
  stream windows, and what we receive is acknowledged with WINDOW_UPDATE frames.
- The server's SETTINGS_MAX_CONCURRENT_STREAMS bounds the streams in flight; PINGs are
  answered; a GOAWAY fails the streams it did not process (so the caller retries them) and
  the connection is replaced on the next request; a stream with no answer within the
  timeout is reset and fails with :class:`StreamTimeout`.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import struct
import time
from collections import deque
from collections.abc import Callable
from typing import Final, cast
from urllib.parse import urlsplit

import hpack
import hpack.exceptions

PREFACE: Final = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

# Frame types and flags (RFC 9113 §6).
DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE, PING, GOAWAY = range(8)
WINDOW_UPDATE, CONTINUATION = 8, 9
END_STREAM, ACK, END_HEADERS, PADDED, PRIORITY_FLAG = 0x1, 0x1, 0x4, 0x8, 0x20

# Settings identifiers (RFC 9113 §6.5.2).
HEADER_TABLE_SIZE, ENABLE_PUSH, MAX_CONCURRENT_STREAMS = 0x1, 0x2, 0x3
INITIAL_WINDOW_SIZE, MAX_FRAME_SIZE = 0x4, 0x5

# Error codes (RFC 9113 §7).
NO_ERROR, PROTOCOL_ERROR, FLOW_CONTROL_ERROR, FRAME_SIZE_ERROR, CANCEL = 0x0, 0x1, 0x3, 0x6, 0x8

_DEFAULT_STREAMS: Final = 100  # until the server's SETTINGS arrive (RFC 9113 recommends ≥ 100)
_DEFAULT_WINDOW: Final = 65_535
_MAX_WINDOW: Final = 2**31 - 1
_MAX_STREAM_ID: Final = 2**31 - 1
_RECEIVE_WINDOW: Final = 1 << 24  # what we let the server send before we acknowledge it
_FRAME_LIMIT: Final = 16_384  # our SETTINGS_MAX_FRAME_SIZE (the protocol's default)
_GOAWAY_GRACE: Final = 2.0
_STATUS_200: Final = 0x88  # HPACK static table index 8: ":status: 200"

_HEADER = struct.Struct(">I")  # a 24-bit length is packed as 4 bytes, high byte dropped
_SETTING = struct.Struct(">HI")

# HPACK static table indexes (RFC 7541 Appendix A) of the request headers we send.
_STATIC_NAMES: Final = {
    b":authority": 1,
    b":path": 4,
    b"authorization": 23,
    b"content-length": 28,
    b"content-type": 31,
}
_INDEXED_FIELDS: Final = {(b":method", b"POST"): 0x83, (b":scheme", b"https"): 0x87}
_SECRET_NAMES: Final = frozenset({b"authorization"})


class TransportError(Exception):
    """The request did not get a response (connection, TLS, protocol or timeout)."""


class ConnectError(TransportError):
    pass


class StreamTimeout(TransportError):
    pass


class ConnectionDropped(TransportError):
    pass


def _frame(kind: int, flags: int, stream_id: int, payload: bytes = b"") -> bytes:
    return _HEADER.pack(len(payload))[1:] + bytes((kind, flags)) + _HEADER.pack(stream_id) + payload


def _integer(value: int, prefix_bits: int, first: int) -> bytes:
    """An HPACK integer (RFC 7541 §5.1) with ``first``'s high bits above the prefix."""
    limit = (1 << prefix_bits) - 1
    if value < limit:
        return bytes((first | value,))
    out = bytearray((first | limit,))
    value -= limit
    while value >= 128:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _string(value: bytes) -> bytes:
    return _integer(len(value), 7, 0) + value  # raw octets, no Huffman coding


def encode_field(name: bytes, value: bytes) -> bytes:
    """One header field, without touching any dynamic table: an indexed static field, or a
    literal "without indexing" (``never indexed`` for secrets), by static name if it has one."""
    indexed = _INDEXED_FIELDS.get((name, value))
    if indexed is not None:
        return bytes((indexed,))
    first = 0x10 if name in _SECRET_NAMES else 0x00
    index = _STATIC_NAMES.get(name)
    if index is not None:
        return _integer(index, 4, first) + _string(value)
    return bytes((first,)) + _string(name) + _string(value)


class Response:
    """A final response: status, headers (lower-case names) and body."""

    __slots__ = ("_block", "_headers", "body", "status")

    def __init__(
        self,
        status: int,
        headers: dict[str, str] | None,
        body: bytes,
        block: bytes | None = None,
    ) -> None:
        self.status = status
        self.body = body
        self._headers = headers
        self._block = block

    @property
    def headers(self) -> dict[str, str]:
        if self._headers is None:
            # Only blocks that needed no dynamic table are kept undecoded, so a fresh
            # decoder reads them exactly as the connection's would have.
            self._headers = _header_dict(_decode(hpack.Decoder(), self._block or b""))
        return self._headers


def _decode(decoder: hpack.Decoder, block: bytes) -> list[tuple[bytes, bytes]]:
    return [(bytes(name), bytes(value)) for name, value in decoder.decode(block, raw=True)]


def _header_dict(fields: list[tuple[bytes, bytes]]) -> dict[str, str]:
    return {
        name.decode("latin-1"): value.decode("latin-1")
        for name, value in fields
        if not name.startswith(b":")
    }


Callback = Callable[["Response | TransportError"], None]


class _Stream:
    __slots__ = (
        "block", "body", "callback", "deadline", "headers", "pending", "received", "status",
        "window",
    )  # fmt: skip

    def __init__(self, callback: Callback, window: int, deadline: float) -> None:
        self.callback = callback
        self.headers: dict[str, str] | None = None
        self.block: bytes | None = None  # an undecoded ":status: 200" block (fast path)
        self.window = window
        self.deadline = deadline
        self.status = 0
        self.body = bytearray()
        self.received = 0
        self.pending: bytes | None = None  # a body waiting for flow-control window


class _Connection(asyncio.Protocol):
    def __init__(self, timeout: float) -> None:
        loop = asyncio.get_running_loop()
        self.loop = loop
        self.timeout = timeout
        self.transport: asyncio.Transport | None = None
        self.streams: dict[int, _Stream] = {}
        self.next_stream_id = 1
        self.max_streams = _DEFAULT_STREAMS
        self.window = _DEFAULT_WINDOW  # ours to spend on the connection
        self.stream_window = _DEFAULT_WINDOW  # the server's initial window per stream
        self.max_frame = _FRAME_LIMIT  # the server's largest frame
        self.unacknowledged = 0  # DATA received but not yet returned with WINDOW_UPDATE
        self.blocked: deque[int] = deque()  # streams whose body waits for window
        self.decoder = hpack.Decoder()
        self.decoder.max_allowed_table_size = 0
        self.continuing: tuple[int, int, bytearray] | None = None  # (stream, flags, block)
        self.buffer = bytearray()
        self.out = bytearray()
        self.flush_scheduled = False
        self.waiting: deque[asyncio.Future[None]] = deque()
        self.closed = False
        self.last_activity = time.monotonic()
        self.sweeper: asyncio.TimerHandle | None = None
        self.ready: asyncio.Future[None] = loop.create_future()
        self.lost: asyncio.Future[None] = loop.create_future()

    # -- asyncio.Protocol --------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but behave as one.
        self.transport = cast(asyncio.Transport, transport)
        ssl_object = transport.get_extra_info("ssl_object")
        if ssl_object is not None and ssl_object.selected_alpn_protocol() != "h2":
            self._fail_all(ConnectError("the server did not agree to HTTP/2 (ALPN h2)"))
            self.transport.close()
            return
        settings = b"".join(
            _SETTING.pack(key, value)
            for key, value in (
                (HEADER_TABLE_SIZE, 0),
                (ENABLE_PUSH, 0),
                (INITIAL_WINDOW_SIZE, _RECEIVE_WINDOW),
            )
        )
        self.out += PREFACE + _frame(SETTINGS, 0, 0, settings)
        self.out += _frame(WINDOW_UPDATE, 0, 0, _HEADER.pack(_RECEIVE_WINDOW - _DEFAULT_WINDOW))
        self._flush()

    def data_received(self, data: bytes) -> None:
        self.last_activity = time.monotonic()
        buffer = self.buffer
        buffer += data
        offset, size = 0, len(buffer)
        try:
            while size - offset >= 9:
                length = int.from_bytes(buffer[offset : offset + 3], "big")
                if length > _FRAME_LIMIT:
                    raise _ProtocolError(FRAME_SIZE_ERROR, f"a frame of {length} bytes")
                end = offset + 9 + length
                if end > size:
                    break
                kind, flags = buffer[offset + 3], buffer[offset + 4]
                stream_id = int.from_bytes(buffer[offset + 5 : offset + 9], "big") & _MAX_STREAM_ID
                self._frame_received(kind, flags, stream_id, bytes(buffer[offset + 9 : end]))
                offset = end
        except _ProtocolError as error:
            self._abort(error.code, str(error))
            return
        del buffer[:offset]
        if self.unacknowledged >= _RECEIVE_WINDOW // 2:
            self.out += _frame(WINDOW_UPDATE, 0, 0, _HEADER.pack(self.unacknowledged))
            self.unacknowledged = 0
        self._flush()

    def connection_lost(self, exc: Exception | None) -> None:
        reason = f"connection lost: {exc}" if exc else "connection closed by the server"
        self._fail_all(ConnectionDropped(reason))
        if self.sweeper is not None:
            self.sweeper.cancel()
        if not self.lost.done():
            self.lost.set_result(None)

    # -- frames ------------------------------------------------------------------------------
    def _frame_received(self, kind: int, flags: int, stream_id: int, payload: bytes) -> None:
        if self.continuing is not None and kind != CONTINUATION:
            raise _ProtocolError(PROTOCOL_ERROR, "a header block was interrupted")
        if kind == HEADERS:
            block = _unpad(flags, payload)
            if flags & PRIORITY_FLAG:
                block = block[5:]
            if flags & END_HEADERS:
                self._headers(stream_id, flags, block)
            else:
                self.continuing = (stream_id, flags, bytearray(block))
        elif kind == DATA:
            self._data(stream_id, flags, payload)
        elif kind == CONTINUATION:
            if self.continuing is None or self.continuing[0] != stream_id:
                raise _ProtocolError(PROTOCOL_ERROR, "an unexpected CONTINUATION frame")
            self.continuing[2].extend(payload)
            if flags & END_HEADERS:
                stream, first_flags, pieces = self.continuing
                self.continuing = None
                self._headers(stream, first_flags, bytes(pieces))
        elif kind == RST_STREAM:
            code = int.from_bytes(payload[:4], "big")
            self._fail(stream_id, ConnectionDropped(f"stream reset by the server ({code})"))
        elif kind == SETTINGS:
            if not flags & ACK:
                self._settings(payload)
        elif kind == PING:
            if not flags & ACK:
                self.out += _frame(PING, ACK, 0, payload)
        elif kind == GOAWAY:
            last = int.from_bytes(payload[:4], "big") & _MAX_STREAM_ID
            self._goaway(last, int.from_bytes(payload[4:8], "big"))
        elif kind == WINDOW_UPDATE:
            self._window_update(stream_id, int.from_bytes(payload[:4], "big") & _MAX_WINDOW)
        elif kind == PUSH_PROMISE:
            raise _ProtocolError(PROTOCOL_ERROR, "server push was disabled")
        # PRIORITY and unknown frame types are ignored (RFC 9113 §4.1, §5.5).

    def _headers(self, stream_id: int, flags: int, block: bytes) -> None:
        stream = self.streams.get(stream_id)
        decoder = self.decoder
        if block and block[0] == _STATUS_200 and decoder.header_table_size == 0:
            # The server keeps no dynamic table (it confirmed our size 0), so this block
            # changes no decoder state: answer from its first byte, decode the rest on demand.
            if stream is not None and not stream.status:
                stream.status = 200
                stream.block = block
                if flags & END_STREAM:
                    self._finish(stream_id, stream)
            return
        try:
            fields = _decode(decoder, block)
        except hpack.exceptions.HPACKError as error:
            raise _ProtocolError(0x9, f"bad header block: {error}") from error  # COMPRESSION
        if stream is None:
            return
        status = next((v for n, v in fields if n == b":status"), None)
        if status is not None and not stream.status:
            code = int(status)
            if code >= 200:  # 1xx are interim: the final response is still to come
                stream.status = code
                stream.headers = _header_dict(fields)
        if flags & END_STREAM:
            self._finish(stream_id, stream)

    def _data(self, stream_id: int, flags: int, payload: bytes) -> None:
        self.unacknowledged += len(payload)
        stream = self.streams.get(stream_id)
        if stream is None:
            return
        body = _unpad(flags, payload)
        stream.body += body
        stream.received += len(payload)
        if stream.received >= _RECEIVE_WINDOW // 2 and not flags & END_STREAM:
            self.out += _frame(WINDOW_UPDATE, 0, stream_id, _HEADER.pack(stream.received))
            stream.received = 0
        if flags & END_STREAM:
            self._finish(stream_id, stream)

    def _settings(self, payload: bytes) -> None:
        if len(payload) % 6:
            raise _ProtocolError(FRAME_SIZE_ERROR, "a SETTINGS frame of a bad length")
        for offset in range(0, len(payload), 6):
            key, value = _SETTING.unpack_from(payload, offset)
            if key == MAX_CONCURRENT_STREAMS:
                self.max_streams = value
            elif key == INITIAL_WINDOW_SIZE:
                if value > _MAX_WINDOW:
                    raise _ProtocolError(FLOW_CONTROL_ERROR, "an initial window over 2^31-1")
                delta, self.stream_window = value - self.stream_window, value
                for stream in self.streams.values():
                    stream.window += delta
            elif key == MAX_FRAME_SIZE:
                if not _FRAME_LIMIT <= value <= 2**24 - 1:
                    raise _ProtocolError(PROTOCOL_ERROR, f"SETTINGS_MAX_FRAME_SIZE {value}")
                self.max_frame = value
        self.out += _frame(SETTINGS, ACK, 0)
        self._send_blocked()
        self._wake()
        if not self.ready.done():
            # The server's first frame: only now is its stream limit known (APNs allows one
            # stream on a token-auth connection until a valid token was seen).
            self.ready.set_result(None)

    def _window_update(self, stream_id: int, increment: int) -> None:
        if stream_id == 0:
            self.window += increment
        else:
            stream = self.streams.get(stream_id)
            if stream is None:
                return
            stream.window += increment
        self._send_blocked()

    def _goaway(self, last_stream_id: int, code: int) -> None:
        # Streams above last_stream_id were not processed and may be retried elsewhere.
        self.closed = True
        for stream_id in [s for s in self.streams if s > last_stream_id]:
            self._fail(stream_id, ConnectionDropped(f"GOAWAY ({code})"))
        # The rest should still be answered; if the server never does, fail them soon
        # (they are retried on a new connection) rather than at the request timeout.
        self.loop.call_later(_GOAWAY_GRACE, self._fail_all, ConnectionDropped("GOAWAY: unanswered"))
        self._wake()
        self._close_when_idle()

    # -- streams -----------------------------------------------------------------------------
    def _finish(self, stream_id: int, stream: _Stream) -> None:
        del self.streams[stream_id]
        headers = stream.headers
        if stream.block is None and headers is None:
            headers = {}
        stream.callback(Response(stream.status, headers, bytes(stream.body), stream.block))
        self._wake()
        self._close_when_idle()

    def _fail(self, stream_id: int, error: TransportError) -> None:
        stream = self.streams.pop(stream_id, None)
        if stream is not None:
            stream.callback(error)
        self._wake()
        self._close_when_idle()

    def _fail_all(self, error: TransportError) -> None:
        self.closed = True
        if not self.ready.done():
            self.ready.set_exception(error)
        for stream_id in list(self.streams):
            self._fail(stream_id, error)
        self._wake()

    def _abort(self, code: int, message: str) -> None:
        """A connection error: GOAWAY with ``code``, fail every stream, close."""
        self._goodbye(code)  # before the streams fail: the last one would close with NO_ERROR
        self._fail_all(ConnectionDropped(f"HTTP/2 protocol error: {message}"))

    def _goodbye(self, code: int = NO_ERROR) -> None:
        """Send GOAWAY with ``code`` and close the socket once it is written."""
        if self.transport is None or self.transport.is_closing():
            return
        # A client's GOAWAY names the last server-initiated stream it took: none.
        self.out += _frame(GOAWAY, 0, 0, _HEADER.pack(0) + _HEADER.pack(code))
        self._flush_now()
        self.transport.close()

    def _close_when_idle(self) -> None:
        """A connection that takes no more requests closes with its last stream."""
        if self.closed and not self.streams:
            self._goodbye()

    def _sweep(self) -> None:
        """Fail the streams that waited longer than the timeout, oldest first."""
        self.sweeper = None
        now = time.monotonic()
        expired = []
        for stream_id, stream in self.streams.items():
            if stream.deadline > now:
                break
            expired.append(stream_id)
        for stream_id in expired:
            self.out += _frame(RST_STREAM, 0, stream_id, _HEADER.pack(CANCEL))
            self._fail(stream_id, StreamTimeout(f"no response within {self.timeout} s"))
        self._flush()
        if self.streams:
            oldest = next(iter(self.streams.values())).deadline
            self.sweeper = self.loop.call_later(max(0.0, oldest - now) + 0.01, self._sweep)

    def _wake(self) -> None:
        """Wake as many waiting requests as there are free streams (all, once closed)."""
        free = self.max_streams - len(self.streams)
        while self.waiting and (free > 0 or self.closed):
            waiter = self.waiting.popleft()
            if not waiter.done():
                waiter.set_result(None)
                free -= 1

    # -- output ------------------------------------------------------------------------------
    def _send_body(self, stream_id: int, stream: _Stream, body: bytes) -> bytes:
        """Send as much of a non-empty ``body`` as both flow-control windows allow, ending
        the stream with its last byte; return what is left for a later WINDOW_UPDATE."""
        allowed = min(len(body), self.window, stream.window)
        if allowed <= 0:
            return body
        self.window -= allowed
        stream.window -= allowed
        limit = self.max_frame
        for start in range(0, allowed, limit):
            end = min(start + limit, allowed)
            last = end == len(body)
            self.out += _frame(DATA, END_STREAM if last else 0, stream_id, body[start:end])
        return body[allowed:]

    def _send_blocked(self) -> None:
        while self.blocked:
            stream_id = self.blocked[0]
            stream = self.streams.get(stream_id)
            if stream is not None and stream.pending is not None:
                stream.pending = self._send_body(stream_id, stream, stream.pending) or None
                if stream.pending is not None:
                    return
            self.blocked.popleft()

    def _flush(self) -> None:
        if self.out and not self.flush_scheduled:
            self.flush_scheduled = True
            self.loop.call_soon(self._flush_now)

    def _flush_now(self) -> None:
        self.flush_scheduled = False
        if self.out and self.transport is not None and not self.transport.is_closing():
            self.transport.write(bytes(self.out))
        self.out.clear()

    # -- requests ----------------------------------------------------------------------------
    @property
    def active(self) -> int:
        return len(self.streams)

    @property
    def has_capacity(self) -> bool:
        return len(self.streams) < self.max_streams or self.closed

    def submit(self, block: bytes, body: bytes, callback: Callback) -> None:
        """Open a stream with the encoded header ``block`` and send ``body``; ``callback``
        gets the response or a :class:`TransportError`. The caller checks capacity first."""
        if self.closed or self.transport is None or self.transport.is_closing():
            callback(ConnectionDropped("the connection is closed"))
            return
        stream_id = self.next_stream_id
        self.next_stream_id += 2
        now = self.last_activity = time.monotonic()
        if self.next_stream_id > _MAX_STREAM_ID:
            self.closed = True  # stream ids are used up: the pool opens a new connection
        stream = _Stream(callback, self.stream_window, now + self.timeout)
        self.streams[stream_id] = stream
        for start in range(0, len(block), self.max_frame):
            chunk = block[start : start + self.max_frame]
            first, last = start == 0, start + self.max_frame >= len(block)
            flags = END_HEADERS if last else 0
            self.out += _frame(HEADERS if first else CONTINUATION, flags, stream_id, chunk)
        if not body:
            self.out += _frame(DATA, END_STREAM, stream_id)
        else:
            rest = self._send_body(stream_id, stream, body)
            if rest:
                stream.pending = rest
                self.blocked.append(stream_id)
        if self.sweeper is None:
            self.sweeper = self.loop.call_later(self.timeout + 0.01, self._sweep)
        self._flush()

    async def request(self, block: bytes, body: bytes) -> Response:
        while not self.has_capacity:
            waiter = self.loop.create_future()
            self.waiting.append(waiter)
            try:
                await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():
                    self._wake()  # woken, then cancelled: pass the free stream on
                raise
        future: asyncio.Future[Response] = self.loop.create_future()

        def done(result: Response | TransportError) -> None:
            if future.done():
                return
            if isinstance(result, Response):
                future.set_result(result)
            else:
                future.set_exception(result)

        self.submit(block, body, done)
        return await future

    def retire(self) -> None:
        """Take no more requests; GOAWAY and close once the streams in flight are done."""
        self.closed = True
        self._wake()
        self._close_when_idle()

    async def aclose(self, grace: float) -> None:
        """GOAWAY, close, and wait until the socket is really gone (TLS shuts down late)."""
        self.closed = True
        if self.transport is None:
            return
        self._goodbye()
        # A TLS close waits for the peer's close_notify, which servers often never send:
        # give it a moment, then drop the socket.
        try:
            await asyncio.wait_for(asyncio.shield(self.lost), min(grace, 0.25))
        except TimeoutError:
            self.transport.abort()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self.lost), grace)


class _ProtocolError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def _unpad(flags: int, payload: bytes) -> bytes:
    if not flags & PADDED:
        return payload
    if not payload or payload[0] >= len(payload):
        raise _ProtocolError(PROTOCOL_ERROR, "bad padding")
    return payload[1 : len(payload) - payload[0]]


class RequestTemplate:
    """The header block of a ``POST`` to one origin with fixed headers, encoded once; each
    request adds its ``:path`` (and ``content-length`` of its body)."""

    __slots__ = ("_head", "_tail")

    def __init__(
        self, authority: bytes, headers: list[tuple[bytes, bytes]], body_length: int
    ) -> None:
        self._head = b"".join(
            (
                # A dynamic table size update to 0: we never index, and a server that asked
                # for a table smaller than the default requires the update (RFC 7541 §4.2).
                b"\x20",
                encode_field(b":method", b"POST"),
                encode_field(b":scheme", b"https"),
                encode_field(b":authority", authority),
            )
        )
        self._tail = b"".join(encode_field(name.lower(), value) for name, value in headers)
        self._tail += encode_field(b"content-length", str(body_length).encode())

    def block(self, path: bytes) -> bytes:
        return self._head + encode_field(b":path", path) + self._tail


class H2Pool:
    """``connections`` long-lived HTTP/2 connections to one origin; requests go to the least
    busy one, and a closed connection is replaced on the next request. A connection idle for
    ``idle_expiry`` seconds is replaced too: Apple closes idle connections (it asks for a
    PING after an hour), and one a middlebox dropped silently would only show at the
    request timeout."""

    def __init__(
        self,
        base_url: str,
        context: ssl.SSLContext,
        *,
        connections: int = 1,
        timeout: float,
        idle_expiry: float,
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
        self.idle_expiry = idle_expiry
        self.slots: list[_Connection | None] = [None] * connections
        self.locks = [asyncio.Lock() for _ in range(connections)]
        self.is_closed = False

    def template(self, headers: list[tuple[bytes, bytes]], body_length: int) -> RequestTemplate:
        """Encode the fixed part of requests carrying ``headers`` once."""
        return RequestTemplate(self.authority, headers, body_length)

    async def _connection(self) -> _Connection:
        index = min(
            range(len(self.slots)),
            key=lambda i: -1 if self.slots[i] is None else self.slots[i].active,  # type: ignore[union-attr]
        )
        current = self.slots[index]
        if current is not None and not current.closed:
            if current.streams or time.monotonic() - current.last_activity < self.idle_expiry:
                return current
            current.retire()
        async with self.locks[index]:
            current = self.slots[index]
            if current is not None and not current.closed:
                return current
            loop = asyncio.get_running_loop()
            try:
                protocol = await asyncio.wait_for(self._connect(loop), self.timeout)
            except TimeoutError as error:
                raise StreamTimeout("connecting to APNs timed out") from error
            except (OSError, ssl.SSLError) as error:
                raise ConnectError(f"cannot connect to {self.host}:{self.port}: {error}") from error
            if current is not None and current.transport is not None:
                current.transport.abort()  # already closed for requests: drop it now
            self.slots[index] = protocol
            return protocol

    async def _connect(self, loop: asyncio.AbstractEventLoop) -> _Connection:
        """A connection whose server has sent its SETTINGS; dropped if that never comes."""
        transport, protocol = await loop.create_connection(
            lambda: _Connection(self.timeout), self.host, self.port,
            ssl=self.context, server_hostname=self.host,
        )  # fmt: skip
        try:
            await protocol.ready
        except BaseException:
            transport.abort()
            raise
        return protocol

    async def post(self, template: RequestTemplate, path: str, body: bytes) -> Response:
        """``POST path`` with ``template``'s headers and ``body``; raises
        :class:`TransportError` when no response came."""
        if self.is_closed:
            raise ConnectionDropped("the client is closed")
        connection = await self._connection()
        return await connection.request(template.block(path.encode()), body)

    async def aclose(self) -> None:
        self.is_closed = True
        connections = [c for c in self.slots if c is not None]
        self.slots = [None] * len(self.slots)
        await asyncio.gather(*(c.aclose(min(self.timeout, 5.0)) for c in connections))
