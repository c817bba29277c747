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
    LOYALTY_READ = "loyalty:read"
    LOYALTY_WRITE = "loyalty:write"
    COUPONS_READ = "coupons:read"
    COUPONS_WRITE = "coupons:write"
    REDEMPTIONS_WRITE = "redemptions:write"  # a POS or scanner: validate and redeem only


ALL_SCOPES = tuple(Scope)
