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
    REDEMPTIONS_WRITE = "redemptions:write"  # a POS or scanner: redeem and roll back only
    # A dry run of a redemption: tells whether a code is usable, its campaign and its value
    # without using it up. Not in redemptions:write, or a till's key would be an oracle
    # for finding valid codes; a till that previews holds both (coupons:read also may).
    VALIDATIONS_WRITE = "validations:write"


ALL_SCOPES = tuple(Scope)
