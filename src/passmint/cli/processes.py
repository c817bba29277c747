"""The processes ``passmint serve`` and ``passmint worker`` start: their logging, the metrics
directory they share, and the supervision that logs every child's exit with its cause (a
web process replaced under load used to leave no line above info)."""

from __future__ import annotations

import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from multiprocessing.connection import wait
from multiprocessing.process import BaseProcess

import structlog
import uvicorn
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors.multiprocess import Multiprocess

from passmint import logs
from passmint.config import get_settings

log = structlog.get_logger("passmint.process")
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"  # read by prometheus-client when it is imported
_CLEAN = {0, -signal.SIGTERM, -signal.SIGINT}
HEALTHCHECK = 30  # seconds a web process may leave the supervisor's ping unanswered


def start_logging(level: str | None = None) -> None:
    """Log as settings say (``level`` overrides PASSMINT_LOG_LEVEL, for this process and
    the ones it starts)."""
    if level:
        os.environ["PASSMINT_LOG_LEVEL"] = level.lower()
        get_settings.cache_clear()
    settings = get_settings()
    logs.configure(settings.log_level, settings.log_format)


@contextmanager
def shared_metrics(processes: int) -> Iterator[None]:
    """Several web processes: their metrics go to files in one directory, so that
    ``/metrics`` of any of them shows the sums. PROMETHEUS_MULTIPROC_DIR when it is set
    (shared with the worker processes of the host, emptied at boot), else a directory of
    our own for as long as we run."""
    if processes <= 1 or os.environ.get(MULTIPROC_ENV):
        yield
        return
    path = tempfile.mkdtemp(prefix="passmint-metrics-")
    os.environ[MULTIPROC_ENV] = path
    try:
        yield
    finally:
        os.environ.pop(MULTIPROC_ENV, None)
        shutil.rmtree(path, ignore_errors=True)


def log_exit(process: str, pid: int | None, exitcode: int | None, cause: str) -> None:
    """A child's exit: at info when it stopped because we stopped, else at error."""
    stopping = logs.stop_signal() is not None
    expected = stopping and exitcode in _CLEAN
    method = log.info if expected else log.error
    method(
        f"{process} process exited",
        pid=pid,
        cause="stopped with its parent" if expected else cause,
        **logs.describe_exit(exitcode),
    )
    if pid is not None and os.environ.get(MULTIPROC_ENV):
        from passmint.kit import metrics

        metrics.process_gone(pid)


def watch_workers(children: Sequence[BaseProcess]) -> None:
    """Wait until every (started) worker process has exited, logging each exit as it
    happens, with its exit code or signal."""
    for child in children:
        log.info("worker process started", pid=child.pid)
    pending = {child.sentinel: child for child in children}
    while pending:
        for sentinel in wait(list(pending)):
            child = pending.pop(sentinel)  # type: ignore[arg-type]
            child.join()
            log_exit("worker", child.pid, child.exitcode, "died")


class WebSupervisor(Multiprocess):
    """uvicorn's supervisor of web processes (it replaces one that dies or hangs), logging
    each exit with its cause: uvicorn's own line says only "died", at info."""

    def init_processes(self) -> None:
        super().init_processes()
        for process in self.processes:
            log.info("web process started", pid=process.pid)

    def keep_subprocess_alive(self) -> None:
        before = list(self.processes)
        running = {process.pid: process.process.is_alive() for process in before}
        super().keep_subprocess_alive()
        for old in before:
            if old.exitcode is None:
                continue  # alive and answering
            cause = "stopped answering its health check: killed" if running.get(old.pid) else "died"
            if old.exitcode == STARTUP_FAILURE:
                cause = "failed to start: stopping"
            log_exit("web", old.pid, old.exitcode, cause)
            new = self.processes[before.index(old)]
            if new is not old:
                log.warning("web process started", pid=new.pid, replacing=old.pid)

    def join_all(self) -> None:
        super().join_all()
        for process in self.processes:
            log_exit("web", process.pid, process.exitcode, "exited while stopping")

    def handle_int(self) -> None:
        logs.stopping("web supervisor", signal.SIGINT)
        super().handle_int()

    def handle_term(self) -> None:
        logs.stopping("web supervisor", signal.SIGTERM)
        super().handle_term()


def run_web(config: uvicorn.Config) -> None:
    """``uvicorn.run`` with :class:`WebSupervisor` for several processes."""
    if config.workers > 1:
        # uvicorn kills a web process that leaves its ping unanswered for 5 s, from the
        # moment it is spawned: a loaded host takes longer than that to import passmint,
        # and new processes were killed and replaced in a loop before they could serve.
        config.timeout_worker_healthcheck = max(config.timeout_worker_healthcheck, HEALTHCHECK)
        WebSupervisor(config, sockets=[config.bind_socket()]).run()
        return
    server = uvicorn.Server(config)
    with suppress(KeyboardInterrupt):
        server.run()
    if not server.started:
        sys.exit(STARTUP_FAILURE)
