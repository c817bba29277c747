"""Scopes: what an API key, or a staff user through their role, may do."""

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
    # Posting activities (purchases, visits) without the rest of loyalty:write: a scanner
    # or a till that earns points but edits no program, card or balance.
    ACTIVITIES_WRITE = "activities:write"
    USERS_READ = "users:read"  # the tenant's staff: members, roles, pending invitations
    USERS_WRITE = "users:write"  # invite, change roles, remove members (owners)
    AUDIT_READ = "audit:read"  # the audit log: who changed what


ALL_SCOPES = tuple(Scope)
