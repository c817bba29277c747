"""Shared test helpers: the discovery document google-api-python-client ships (spec §5)."""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files

from passmint.wallet.google.schema import Discovery, load_discovery

DISCOVERY_FILE = (
    files("googleapiclient") / "discovery_cache" / "documents" / "walletobjects.v1.json"
)


@cache
def discovery() -> Discovery:
    """The walletobjects v1 schemas, parsed once per test session."""
    return load_discovery(json.loads(DISCOVERY_FILE.read_text(encoding="utf-8")))
