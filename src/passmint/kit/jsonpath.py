"""JSON paths for problem reports: ``$.a``, ``$.a[0]``, ``$["odd key"]``."""

from __future__ import annotations

import json
import re

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*", re.ASCII)


def child(path: str, key: str | int) -> str:
    """The JSON path of ``key`` under ``path``."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    if _IDENTIFIER.fullmatch(key):
        return f"{path}.{key}"
    return f"{path}[{json.dumps(key, ensure_ascii=False)}]"
