"""Logging, configured once per process by its entry point (``serve``, ``worker``, ``demo``
and the uvicorn app factories).

Every line is a JSON object (``timestamp``, ``level``, ``logger``, ``event``, the request's
``request_id`` when there is one, and the call's own keys), or, for development on a
terminal, a readable console line. uvicorn's, arq's and every other library's standard
``logging`` records go through the same formatter. An exception is written as a plain
traceback without local variables: rendering locals (structlog's default with rich) took
seconds per error on the event loop, which froze every other request of the process.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Mapping
from types import FrameType
from typing import Any, Final, Literal, TextIO

import structlog
from structlog.tracebacks import ExceptionDictTransformer

LogFormat = Literal["json", "console"]

_HANDLED: Final = "_passmint_logged"
# Libraries that log every request, job or migration step at info: warnings only unless debugging.
_CHATTY: Final = ("alembic", "arq", "httpx", "httpcore", "hpack", "h2", "asyncio", "aiosqlite")
_handler: logging.Handler | None = None
_stop: signal.Signals | None = None
REQUEST_ID_KEY: Final = "passmint.request_id"
"""ASGI scope key of the request's id, for code that runs outside the request's log
context (the error handler of the last resort)."""

log = structlog.get_logger("passmint.process")


def request_id(scope: Mapping[str, Any]) -> str | None:
    """The id the web layer gave the request in ``scope``."""
    value = scope.get(REQUEST_ID_KEY)
    return value if isinstance(value, str) else None


def mark_logged(exc: BaseException) -> None:
    """The error handler logged ``exc``: the server's own "Exception in ASGI application"
    line for it would be the same error a second time (with the cost of another traceback)."""
    with contextlib.suppress(AttributeError):  # no attributes: logged twice, no harm
        setattr(exc, _HANDLED, True)


class _DropLoggedTwice(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.name.startswith("uvicorn"):
            return not getattr(record.exc_info[1], _HANDLED, False)
        return True


def _shared() -> list[structlog.typing.Processor]:
    """What every line gets, from structlog and from standard ``logging`` alike."""
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]


def formatter(fmt: LogFormat, *, colors: bool = False) -> logging.Formatter:
    renderer: list[structlog.typing.Processor]
    if fmt == "json":
        renderer = [
            structlog.processors.ExceptionRenderer(ExceptionDictTransformer(show_locals=False)),
            structlog.processors.JSONRenderer(default=str),
        ]
    else:
        renderer = [
            structlog.dev.ConsoleRenderer(
                colors=colors, exception_formatter=structlog.dev.plain_traceback
            )
        ]
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_shared(),
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *renderer],
    )


def configure(
    level: str = "info", fmt: LogFormat | None = None, *, stream: TextIO | None = None
) -> logging.Handler:
    """Route structlog and standard ``logging`` to one handler on ``stream`` (stderr) in
    ``fmt``: JSON, or the console format when unset and ``stream`` is a terminal. Calling
    it again replaces the handler it installed before."""
    global _handler
    stream = stream if stream is not None else sys.stderr
    tty = stream.isatty()
    chosen: LogFormat = fmt or ("console" if tty else "json")
    structlog.configure(
        processors=[
            *_shared(),
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter(chosen, colors=tty))
    handler.addFilter(_DropLoggedTwice())
    root = logging.getLogger()
    if _handler is not None:
        root.removeHandler(_handler)
    root.addHandler(handler)
    _handler = handler
    numeric = logging.getLevelName(level.upper())
    root.setLevel(numeric if isinstance(numeric, int) else logging.INFO)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi"):
        own = logging.getLogger(name)  # uvicorn's default config prints on its own
        own.handlers.clear()
        own.propagate = True
    for name in _CHATTY:
        logging.getLogger(name).setLevel(logging.DEBUG if level == "debug" else logging.WARNING)
    return handler


def announce(process: str) -> None:
    """Log that this process runs, and from now on the signal that stops it (SIGTERM,
    SIGINT) at warning before the handler that was there (uvicorn's, arq's, the default)
    does its work. Call it once the process's own handlers are installed."""
    log.info("process started", process=process, pid=os.getpid())
    if threading.current_thread() is not threading.main_thread():
        return
    for sig in (signal.SIGTERM, signal.SIGINT):
        previous = signal.getsignal(sig)
        if getattr(previous, _HANDLED, False):
            continue
        signal.signal(sig, _announcing(process, previous))


def stopping(process: str, signum: int) -> None:
    """Log that this process stops on ``signum``, at warning (someone or something stopped
    it: the line to look for when a process went away)."""
    global _stop
    _stop = signal.Signals(signum)
    log.warning("process stopping", process=process, pid=os.getpid(), signal=_stop.name)


def stop_signal() -> str | None:
    """The signal this process was asked to stop with, if it was."""
    return _stop.name if _stop is not None else None


def _announcing(process: str, previous: Any) -> Callable[[int, FrameType | None], None]:
    def handler(signum: int, frame: FrameType | None) -> None:
        stopping(process, signum)
        if callable(previous):
            previous(signum, frame)
        elif previous == signal.SIG_DFL:
            signal.signal(signum, signal.SIG_DFL)
            signal.raise_signal(signum)

    setattr(handler, _HANDLED, True)
    return handler


def describe_exit(exitcode: int | None) -> dict[str, Any]:
    """A child process's exit, for a log line: its exit code or the signal that ended it."""
    if exitcode is None:
        return {"exit": "running"}
    if exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = str(-exitcode)
        return {"exit": "signal", "signal": name}
    return {"exit": "code", "exit_code": exitcode}
