"""API key scopes."""

from __future__ import annotations

from enum import StrEnum


class Scope(StrEnum):
    TEMPLATES_READ = "templates:read"
    TEMPLATES_WRITE = "templates:write"
    PASSES_READ = "passes:read"
    PASSES_WRITE = "passes:write"
    CREDENTIALS_READ = "credentials:read"
    CREDENTIALS_WRITE = "credentials:write"
    EVENTS_READ = "events:read"
    API_KEYS_WRITE = "api_keys:write"


ALL_SCOPES = tuple(Scope)
