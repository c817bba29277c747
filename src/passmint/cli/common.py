"""Helpers shared by the CLI commands: errors, time, safe file writes."""

from __future__ import annotations

import functools
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import ParamSpec, TypeVar

import typer

from passmint.errors import PassmintError

P = ParamSpec("P")
R = TypeVar("R")


def fail_on_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn domain errors into ``error: <code>: <message>`` on stderr and exit status 1."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except PassmintError as exc:
            typer.echo(f"error: {exc.code}: {exc.message}", err=True)
            problems = exc.details.get("problems")
            if isinstance(problems, list) and len(problems) > 1:
                for item in problems:
                    typer.echo(f"  {item['path']}: {item['message']} ({item['code']})", err=True)
            raise typer.Exit(1) from None
        except OSError as exc:
            typer.echo(f"error: io_error: {exc}", err=True)
            raise typer.Exit(1) from None

    return wrapper


def write_private_file(path: Path, data: bytes, *, private: bool = False) -> None:
    """Write ``data`` to ``path`` atomically: a reader never sees a partial file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o600 if private else 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)
