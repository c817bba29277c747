"""A lean APNs protocol peer for benchmarks: HTTP/2 over TLS (ALPN h2) on 127.0.0.1.

    python -m bench.apns_peer --port 0 --expect 100000

Answers ``POST /3/device/<token>`` with 200 and an ``apns-id`` (400 MissingTopic without
``apns-topic``), driven by the ``h2`` state machine on uvloop so that the peer is not the
bottleneck of the push benchmark. Prints ``ready <port> <ca file>`` when listening and
``done <count> <first> <last>`` (monotonic seconds) once ``--expect`` pushes arrived.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import cast

import h2.config
import h2.connection
import h2.events
import h2.settings
from cryptography.hazmat.primitives import serialization
from tests.fixtures.apns_server import _pem_key, issue_leaf, make_ca


class Stats:
    def __init__(self, expect: int) -> None:
        self.expect = expect
        self.count = 0
        self.first = 0.0
        self.last = 0.0

    def hit(self) -> None:
        now = time.monotonic()
        if not self.count:
            self.first = now
        self.count += 1
        self.last = now
        if self.count == self.expect:
            print(f"done {self.count} {self.first} {self.last}", flush=True)


class Peer(asyncio.Protocol):
    def __init__(self, stats: Stats) -> None:
        self.stats = stats
        self.h2 = h2.connection.H2Connection(
            h2.config.H2Configuration(client_side=False, header_encoding=None)
        )
        self.topics: dict[int, bool] = {}

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self.h2.initiate_connection()
        self.h2.update_settings({h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: 1000})
        self.transport.write(self.h2.data_to_send())

    def data_received(self, data: bytes) -> None:
        for event in self.h2.receive_data(data):
            if isinstance(event, h2.events.RequestReceived):
                self.topics[event.stream_id] = any(n == b"apns-topic" for n, _ in event.headers)
            elif isinstance(event, h2.events.DataReceived):
                self.h2.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            elif isinstance(event, h2.events.StreamEnded):
                if self.topics.pop(event.stream_id, False):
                    self.h2.send_headers(event.stream_id, [
                        (b":status", b"200"), (b"apns-id", str(uuid.uuid4()).encode())],
                        end_stream=True)  # fmt: skip
                    self.stats.hit()
                else:
                    self.h2.send_headers(event.stream_id, [(b":status", b"400")])
                    self.h2.send_data(
                        event.stream_id, b'{"reason":"MissingTopic"}', end_stream=True
                    )
        self.transport.write(self.h2.data_to_send())


def write_certs() -> Path:
    """A throwaway CA and a server certificate for 127.0.0.1, as PEM files in a new folder:
    ``ca.pem``, ``cert.pem`` and ``key.pem``."""
    directory = Path(tempfile.mkdtemp(prefix="passmint-apns-peer-"))
    ca, ca_key = make_ca("passmint bench APNs CA")
    cert, key = issue_leaf(ca, ca_key, "127.0.0.1", server=True)
    (directory / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (directory / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (directory / "key.pem").write_bytes(_pem_key(key))
    return directory


async def serve(port: int, expect: int) -> None:
    import ssl

    directory = write_certs()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(directory / "cert.pem", directory / "key.pem")
    context.set_alpn_protocols(["h2"])
    stats = Stats(expect)
    server = await asyncio.get_running_loop().create_server(
        lambda: Peer(stats), "127.0.0.1", port, ssl=context
    )
    bound = server.sockets[0].getsockname()[1]
    print(f"ready {bound} {directory / 'ca.pem'}", flush=True)
    await server.serve_forever()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--expect", type=int, default=100_000)
    args = parser.parse_args()
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(serve(args.port, args.expect))
    return 0


if __name__ == "__main__":
    sys.exit(main())
