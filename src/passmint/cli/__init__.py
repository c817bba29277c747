"""The ``passmint`` command line."""

from __future__ import annotations

from passmint.cli.app import app


def main() -> None:
    app()


__all__ = ["app", "main"]
