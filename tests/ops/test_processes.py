"""Real processes (issue 13, items 14 and 15): every web or worker process that exits is
logged with its cause, at error when nobody asked it to stop; a process logs the signal
that stops it; ``/metrics`` of ``passmint serve --workers 2`` sums both web processes."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.ops.conftest import command_env
from tests.service.test_serve_e2e import free_port

BIN = Path(sys.executable).parent
Line = dict[str, Any]


class JsonLines:
    """The JSON log lines a process writes to ``stream``, collected by a thread."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.lines: list[Line] = []
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream: IO[str]) -> None:
        for raw in stream:
            try:
                line = json.loads(raw)
            except ValueError:
                continue  # the CLI's plain notes
            with self._changed:
                self.lines.append(line)
                self._changed.notify_all()

    def close(self) -> None:
        self._thread.join(timeout=30)  # the process is gone: its stream ends
        self.stream.close()

    def matching(self, predicate: Callable[[Line], bool]) -> list[Line]:
        with self._changed:
            return [line for line in self.lines if predicate(line)]

    def wait_for(self, predicate: Callable[[Line], bool], count: int = 1) -> list[Line]:
        """The first ``count`` lines that match; fails after a minute."""
        deadline = time.monotonic() + 60
        with self._changed:
            while True:
                found = [line for line in self.lines if predicate(line)]
                if len(found) >= count:
                    return found[:count]
                left = deadline - time.monotonic()
                assert left > 0, f"no {count} matching lines in {self.lines[-20:]}"
                self._changed.wait(left)


def event(name: str, **fields: Any) -> Callable[[Line], bool]:
    def matches(line: Line) -> bool:
        return line.get("event") == name and all(line.get(k) == v for k, v in fields.items())

    return matches


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    environ = command_env(
        tmp_path / "data",
        f"sqlite:///{tmp_path / 'passmint.db'}",
        secret_key="s" * 43,
        queue="embedded",
        log_format="json",
    )
    environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
    return environ


Started = list[tuple[subprocess.Popen[str], JsonLines]]


def start(
    started: Started, args: list[str], env: dict[str, str]
) -> tuple[subprocess.Popen[str], JsonLines]:
    process = subprocess.Popen(
        [str(BIN / "passmint"), *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its children with it: killed together after the test
    )
    assert process.stderr is not None
    started.append((process, JsonLines(process.stderr)))
    return started[-1]


@pytest.fixture
def processes() -> Iterator[Started]:
    started: Started = []
    yield started
    for process, log in started:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        log.close()


def test_the_worker_parent_logs_a_killed_child_and_everyone_logs_why_it_stops(
    env: dict[str, str], processes: Started
) -> None:
    parent, log = start(processes, ["worker", "--processes", "2"], env)
    children = log.wait_for(event("process started", process="worker"), count=2)
    killed, survivor = (line["pid"] for line in children)

    os.kill(killed, signal.SIGKILL)
    (exited,) = log.wait_for(event("worker process exited", pid=killed))
    assert exited["level"] == "error"
    assert exited["signal"] == "SIGKILL"
    assert exited["cause"] == "died"

    parent.send_signal(signal.SIGTERM)
    parent.wait(timeout=60)
    (stopping,) = log.wait_for(event("process stopping", process="worker supervisor"))
    assert stopping["signal"] == "SIGTERM"
    assert stopping["level"] == "warning"
    log.wait_for(event("process stopping", process="worker", pid=survivor, signal="SIGTERM"))
    (stopped,) = log.wait_for(event("worker process exited", pid=survivor))
    assert stopped["level"] == "info"
    assert stopped["cause"] == "stopped with its parent"
    assert not log.matching(event("worker process exited", level="error", pid=survivor))


def test_serve_workers_sum_their_metrics_and_log_a_killed_web_process(
    env: dict[str, str], processes: Started
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env["PASSMINT_PUBLIC_URL"] = base
    args = ["serve", "--workers", "2", "--no-worker", "--port", str(port)]
    parent, log = start(processes, args, env)
    web = log.wait_for(event("process started", process="web"), count=2)
    pids = [line["pid"] for line in web]
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            pass
        assert parent.poll() is None, log.lines[-20:]
        assert time.monotonic() < deadline, "passmint serve did not get ready"
        time.sleep(0.2)

    for _ in range(20):  # each on a connection of its own: either process may answer
        assert httpx.get(f"{base}/healthz", timeout=10).status_code == 200
    scraped = httpx.get(f"{base}/metrics", timeout=10)
    assert scraped.status_code == 200
    healthz = [
        sample.value
        for family in text_string_to_metric_families(scraped.text)
        for sample in family.samples
        if sample.name == "passmint_http_requests_total" and sample.labels["route"] == "/healthz"
    ]
    assert healthz == [20.0]
    # The files of every process, not one process's registry (which has these).
    assert "python_gc_objects_collected_total" not in scraped.text

    killed, survivor = pids
    os.kill(killed, signal.SIGKILL)
    (exited,) = log.wait_for(event("web process exited", pid=killed))
    assert exited["level"] == "error"
    assert exited["signal"] == "SIGKILL"
    log.wait_for(event("web process started", replacing=killed))

    parent.send_signal(signal.SIGTERM)
    parent.wait(timeout=60)
    log.wait_for(event("process stopping", process="web supervisor", signal="SIGTERM"))
    log.wait_for(event("process stopping", process="web", pid=survivor, signal="SIGTERM"))
    (stopped,) = log.wait_for(event("web process exited", pid=survivor))
    assert stopped["level"] == "info"
