"""The HTTP/2 client framing of the APNs transport against the ``h2`` library's server side.

The client protocol (:class:`_Connection`) and an ``h2`` server connection are joined by an
in-memory pipe, so each test can make the server do what real servers may: limit streams,
open no flow-control window, split header blocks, pad frames, ping, reset, go away. The TLS
side is covered by ``test_apns.py`` against a real server.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.settings
import pytest

from passmint.passes.apple.h2transport import (
    ConnectionDropped,
    RequestTemplate,
    Response,
    StreamTimeout,
    _Connection,
    _frame,
    encode_field,
)

T = TypeVar("T")
TEMPLATE = RequestTemplate(
    b"apns.test:443",
    [(b"apns-topic", b"pass.dev.passmint"), (b"authorization", b"bearer secret")],
    2,
)


class Pipe:
    """The client's transport: what it writes goes to the ``h2`` server, and the server's
    answers come back through ``data_received`` (by :meth:`pump`)."""

    def __init__(self) -> None:
        self.written = bytearray()
        self.closing = False
        self.events: list[h2.events.Event] = []

    def write(self, data: bytes) -> None:
        self.written += data

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.closing = True

    def abort(self) -> None:
        self.closing = True

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return default


class Peer:
    def __init__(self, timeout: float = 30.0, **settings: int) -> None:
        config = h2.config.H2Configuration(client_side=False, header_encoding=None)
        self.server = h2.connection.H2Connection(config)
        self.server.initiate_connection()
        if settings:
            self.server.update_settings(
                {getattr(h2.settings.SettingCodes, k.upper()): v for k, v in settings.items()}
            )
        self.pipe = Pipe()
        self.client = _Connection(timeout)
        self.client.connection_made(self.pipe)  # type: ignore[arg-type]
        self.requests: dict[int, dict[str, Any]] = {}

    async def pump(self, rounds: int = 3) -> list[h2.events.Event]:
        """Let the client flush, hand its bytes to the server, return the server's bytes."""
        seen: list[h2.events.Event] = []
        for _ in range(rounds):
            await asyncio.sleep(0)
            data = bytes(self.pipe.written)
            self.pipe.written.clear()
            if data:
                for event in self.server.receive_data(data):
                    seen.append(event)
                    self._record(event)
            out = self.server.data_to_send()
            if out:
                self.client.data_received(out)
        self.pipe.events += seen
        return seen

    def _record(self, event: h2.events.Event) -> None:
        if isinstance(event, h2.events.RequestReceived):
            self.requests[event.stream_id] = {"headers": dict(event.headers), "body": b""}
        elif isinstance(event, h2.events.DataReceived):
            self.requests[event.stream_id]["body"] += event.data
            self.server.acknowledge_received_data(event.flow_controlled_length, event.stream_id)

    def answer(self, stream_id: int, status: int = 200, body: bytes = b"", **extra: Any) -> None:
        headers = [(b":status", str(status).encode()), (b"apns-id", f"ID-{stream_id}".encode())]
        headers += [(k.encode(), v.encode()) for k, v in extra.items()]
        self.server.send_headers(stream_id, headers, end_stream=not body)
        if body:
            self.server.send_data(stream_id, body, end_stream=True)


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coroutine)


def test_requests_carry_the_headers_and_body_and_get_their_answers() -> None:
    async def scenario() -> None:
        peer = Peer()
        results: list[Response | Exception] = []
        for token in ("aa", "bb", "cc"):
            peer.client.submit(TEMPLATE.block(f"/3/device/{token}".encode()), b"{}", results.append)
        await peer.pump()
        assert sorted(peer.requests) == [1, 3, 5]
        first = peer.requests[1]
        assert first["headers"][b":method"] == b"POST"
        assert first["headers"][b":scheme"] == b"https"
        assert first["headers"][b":authority"] == b"apns.test:443"
        assert first["headers"][b":path"] == b"/3/device/aa"
        assert first["headers"][b"apns-topic"] == b"pass.dev.passmint"
        assert first["headers"][b"authorization"] == b"bearer secret"
        assert first["headers"][b"content-length"] == b"2"
        assert first["body"] == b"{}"
        peer.answer(1)
        peer.answer(3, 410, b'{"reason":"Unregistered","timestamp":12}')
        peer.answer(5, 400, b'{"reason":"BadDeviceToken"}')
        await peer.pump()
        statuses = [(r.status, r.body, r.headers["apns-id"]) for r in results]  # type: ignore[union-attr]
        assert statuses == [
            (200, b"", "ID-1"),
            (410, b'{"reason":"Unregistered","timestamp":12}', "ID-3"),
            (400, b'{"reason":"BadDeviceToken"}', "ID-5"),
        ]
        assert not peer.client.streams

    run(scenario())


def test_the_secret_header_is_never_indexed_and_nothing_is_indexed() -> None:
    # Literal "never indexed" (0001xxxx) with the static name index of authorization (23).
    assert encode_field(b"authorization", b"bearer x")[:2] == bytes((0x1F, 23 - 15))
    # Literal "without indexing" (0000xxxx): the server's table is never touched.
    assert encode_field(b"apns-topic", b"t")[0] == 0x00
    assert encode_field(b":path", b"/3/device/a")[0] == 0x04
    assert encode_field(b":method", b"POST") == b"\x83"
    long = encode_field(b"x-long", b"v" * 300)
    assert long[0] == 0
    assert long[1] == 6
    assert long[8:10] == bytes((0x7F, 300 - 127 - 128 | 0x80))


def test_responses_stay_right_across_the_dynamic_table_and_its_shrinking_to_zero() -> None:
    """The server may index headers until it has seen our table size of 0; after that,
    200s are answered from their first byte and their headers decoded on demand."""

    async def scenario() -> None:
        peer = Peer()
        results: list[Response | Exception] = []
        for round_ in range(4):
            before = set(peer.requests)
            for _ in range(5):
                peer.client.submit(TEMPLATE.block(b"/3/device/ab"), b"{}", results.append)
            await peer.pump()
            for stream_id in sorted(set(peer.requests) - before):
                peer.answer(stream_id, 200, b"", **{"x-round": str(round_)})
            await peer.pump()
        assert peer.client.decoder.header_table_size == 0
        assert len(results) == 20
        for index, result in enumerate(results):
            assert isinstance(result, Response)
            assert result.status == 200
            assert result.headers == {"apns-id": f"ID-{index * 2 + 1}", "x-round": str(index // 5)}

    run(scenario())


def test_the_servers_stream_limit_is_honoured() -> None:
    async def scenario() -> None:
        peer = Peer(max_concurrent_streams=2)
        await peer.pump()
        assert peer.client.max_streams == 2
        tasks = [
            asyncio.ensure_future(peer.client.request(TEMPLATE.block(b"/3/device/ab"), b"{}"))
            for _ in range(5)
        ]
        most = 0
        for _ in range(10):
            await peer.pump()
            most = max(most, len(peer.client.streams))
            for stream_id in list(peer.client.streams):
                peer.answer(stream_id)
        results = await asyncio.gather(*tasks)
        assert [r.status for r in results] == [200] * 5
        assert most == 2

    run(scenario())


def test_bodies_wait_for_the_servers_flow_control_window() -> None:
    async def scenario() -> None:
        peer = Peer(initial_window_size=0)
        await peer.pump()
        results: list[Response | Exception] = []
        peer.client.submit(TEMPLATE.block(b"/3/device/ab"), b"{}", results.append)
        await peer.pump()
        assert peer.requests[1]["body"] == b""  # headers went, the body waits
        assert peer.client.blocked
        peer.server.increment_flow_control_window(2, stream_id=1)
        await peer.pump()
        assert peer.requests[1]["body"] == b"{}"
        peer.answer(1)
        await peer.pump()
        assert [r.status for r in results] == [200]  # type: ignore[union-attr]

    run(scenario())


def test_long_header_blocks_arrive_in_continuation_frames_and_padding_is_removed() -> None:
    async def scenario() -> None:
        peer = Peer()
        results: list[Response | Exception] = []
        peer.client.submit(TEMPLATE.block(b"/3/device/ab"), b"{}", results.append)
        await peer.pump()
        big = "x" * 40_000
        peer.server.max_outbound_frame_size = 16_384
        peer.server.send_headers(1, [(b":status", b"400"), (b"x-big", big.encode())])
        peer.server.send_data(1, b'{"reason":"BadPath"}', end_stream=True, pad_length=17)
        await peer.pump()
        (result,) = results
        assert isinstance(result, Response)
        assert result.status == 400
        assert result.headers["x-big"] == big
        assert result.body == b'{"reason":"BadPath"}'

    run(scenario())


def test_pings_are_answered() -> None:
    async def scenario() -> None:
        peer = Peer()
        await peer.pump()
        peer.server.ping(b"12345678")
        events = await peer.pump()
        acks = [e for e in events if isinstance(e, h2.events.PingAckReceived)]
        assert [e.ping_data for e in acks] == [b"12345678"]

    run(scenario())


def test_goaway_fails_the_unprocessed_streams_and_closes_the_connection() -> None:
    async def scenario() -> None:
        peer = Peer()
        results: dict[int, Response | Exception] = {}
        for index in range(3):
            peer.client.submit(
                TEMPLATE.block(b"/3/device/ab"),
                b"{}",
                lambda result, index=index: results.__setitem__(index, result),  # type: ignore[misc]
            )
        await peer.pump()
        peer.answer(1)
        peer.server.close_connection(last_stream_id=3)
        await peer.pump()
        assert isinstance(results[0], Response)
        assert isinstance(results[2], ConnectionDropped)  # stream 5: never processed
        assert 1 not in results  # stream 3 was processed: its answer may still come
        assert peer.client.closed
        late: list[Response | Exception] = []
        peer.client.submit(TEMPLATE.block(b"/3/device/ab"), b"{}", late.append)
        assert len(late) == 1
        assert isinstance(late[0], ConnectionDropped)
        peer.client.data_received(_frame(1, 0x5, 3, b"\x88"))  # HEADERS ":status: 200", END_STREAM
        assert isinstance(results[1], Response)
        assert results[1].status == 200
        assert peer.pipe.closing  # closed once its last stream was answered

    run(scenario())


def test_a_reset_stream_fails_alone() -> None:
    async def scenario() -> None:
        peer = Peer()
        results: list[Response | Exception] = []
        peer.client.submit(TEMPLATE.block(b"/3/device/ab"), b"{}", results.append)
        peer.client.submit(TEMPLATE.block(b"/3/device/cd"), b"{}", results.append)
        await peer.pump()
        peer.server.reset_stream(1, h2.errors.ErrorCodes.REFUSED_STREAM)
        peer.answer(3)
        await peer.pump()
        assert isinstance(results[0], ConnectionDropped)
        assert isinstance(results[1], Response)
        assert results[1].status == 200
        assert not peer.client.closed

    run(scenario())


def test_a_stream_without_an_answer_times_out_and_is_cancelled() -> None:
    async def scenario() -> None:
        peer = Peer(timeout=0.05)
        results: list[Response | Exception] = []
        peer.client.submit(TEMPLATE.block(b"/3/device/ab"), b"{}", results.append)
        await peer.pump()
        await asyncio.sleep(0.1)
        events = await peer.pump()
        assert len(results) == 1
        assert isinstance(results[0], StreamTimeout)
        resets = [e for e in events if isinstance(e, h2.events.StreamReset)]
        assert [(e.stream_id, e.error_code) for e in resets] == [(1, h2.errors.ErrorCodes.CANCEL)]

    run(scenario())


@pytest.mark.parametrize(
    ("frame", "reason", "code"),
    [
        (_frame(5, 0x4, 1, b"\x00\x00\x00\x02"), "server push was disabled", 1),
        (b"\x00\x50\x00" + b"\x00\x00\x00\x00\x00\x01", "a frame of 20480 bytes", 6),
        (_frame(9, 0x4, 1, b""), "an unexpected CONTINUATION frame", 1),
    ],
)
def test_protocol_errors_fail_every_stream_with_a_goaway(
    frame: bytes, reason: str, code: int
) -> None:
    async def scenario() -> None:
        peer = Peer()
        results: list[Response | Exception] = []
        peer.client.submit(TEMPLATE.block(b"/3/device/ab"), b"{}", results.append)
        await peer.pump()
        peer.pipe.written.clear()
        peer.client.data_received(frame)
        assert len(results) == 1
        assert isinstance(results[0], ConnectionDropped)
        assert reason in str(results[0])
        assert peer.pipe.closing
        assert peer.pipe.written[3] == 7  # GOAWAY
        assert peer.pipe.written[9:17] == bytes(4) + code.to_bytes(4, "big")  # stream 0, code

    run(scenario())


def test_every_request_block_starts_with_a_table_size_update_to_zero() -> None:
    # A server that asked for a smaller table than the default requires the update.
    assert TEMPLATE.block(b"/3/device/ab")[0] == 0x20


def test_a_raised_stream_limit_wakes_every_request_it_makes_room_for() -> None:
    async def scenario() -> None:
        peer = Peer(max_concurrent_streams=1)  # as APNs on a token connection, at first
        await peer.pump()
        tasks = [
            asyncio.ensure_future(peer.client.request(TEMPLATE.block(b"/3/device/ab"), b"{}"))
            for _ in range(20)
        ]
        await peer.pump()
        assert len(peer.client.streams) == 1
        peer.server.update_settings({h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: 100})
        await peer.pump(5)
        assert len(peer.client.streams) == 20
        for stream_id in list(peer.client.streams):
            peer.answer(stream_id)
        await peer.pump()
        assert [r.status for r in await asyncio.gather(*tasks)] == [200] * 20

    run(scenario())


def test_a_body_larger_than_the_window_goes_out_as_the_window_opens() -> None:
    """With a 3-byte stream window the body goes in pieces of at most 3 bytes, each after
    the server's WINDOW_UPDATE (the peer acknowledges what it reads)."""

    async def scenario() -> None:
        peer = Peer(initial_window_size=3)
        await peer.pump()
        results: list[Response | Exception] = []
        template = RequestTemplate(b"apns.test:443", [(b"apns-topic", b"t")], 10)
        peer.client.submit(template.block(b"/3/device/ab"), b'{"a":"bc"}', results.append)
        for _ in range(10):
            await peer.pump()
        pieces = [e.data for e in peer.pipe.events if isinstance(e, h2.events.DataReceived)]
        assert b"".join(pieces) == b'{"a":"bc"}'
        assert len(pieces) >= 4
        assert max(len(p) for p in pieces) <= 3
        assert any(isinstance(e, h2.events.StreamEnded) for e in peer.pipe.events)
        peer.answer(1)
        await peer.pump()
        assert [r.status for r in results] == [200]  # type: ignore[union-attr]

    run(scenario())


def test_a_200_whose_body_follows_keeps_its_headers() -> None:
    async def scenario() -> None:
        peer = Peer()
        results: list[Response | Exception] = []
        for _ in range(3):  # the first answers shrink the server's table to 0
            peer.client.submit(TEMPLATE.block(b"/3/device/ab"), b"{}", results.append)
            await peer.pump()
        for stream_id in (1, 3, 5):
            peer.answer(stream_id, 200, b"{}")  # HEADERS, then DATA with END_STREAM
        await peer.pump()
        assert peer.client.decoder.header_table_size == 0
        assert [(r.status, r.headers, r.body) for r in results] == [  # type: ignore[union-attr]
            (200, {"apns-id": f"ID-{i}"}, b"{}") for i in (1, 3, 5)
        ]

    run(scenario())
