"""Lengths of the text columns that hold what clients send, defined once.

The models size their ``String(n)`` columns with these and the request schemas and path
parameters cap their fields with the same names, so a value too long for its column is a
4xx at the edge, never a ``StringDataRightTruncation`` from PostgreSQL (SQLite would store
it whole). ``tests/service/test_lengths.py`` checks every column against what lands in it.
"""

from __future__ import annotations

from typing import Final

# names and labels
TITLE: Final = 200
"""Tenants, API keys and templates."""
NAME: Final = 255
"""Customers, programs, rewards, campaigns and their free items."""

# identifiers a client chooses
EXTERNAL_ID: Final = 255
"""Your id of a customer, card, pass or activity; an order reference."""
SOURCE: Final = 64
"""Where an activity comes from (a till, a shop)."""
KEY: Final = 64
"""Earn rule and tier keys."""
SKU: Final = 64

# contact
EMAIL: Final = 320
PHONE: Final = 32
LOCALE: Final = 35
TIMEZONE: Final = 64
CURRENCY: Final = 3
"""ISO 4217 alpha-3."""

# free text
NOTE: Final = 500
"""Reasons of spends, refunds, adjustments and rollbacks."""

# coupon codes
CODE: Final = 64
"""A code as customers see it (and its normalized form)."""
CODE_PREFIX: Final = 32
CODE_PATTERN: Final = 64
CODE_CHARSET: Final = 64
REFERRAL_CODE: Final = 32

# passes and devices (PassKit)
PASS_TYPE_ID: Final = 255
SERIAL_NUMBER: Final = 64
DOWNLOAD_TOKEN: Final = 64
DEVICE_LIBRARY_ID: Final = 255
DEVICE_MODEL: Final = 64
"""Read from the User-Agent header for the event log."""
IDEMPOTENCY_KEY: Final = 255

# Google Wallet service accounts
GOOGLE_ISSUER_ID: Final = 32
GOOGLE_CLIENT_EMAIL: Final = 320
GOOGLE_PRIVATE_KEY_ID: Final = 128
GOOGLE_TOKEN_URI: Final = 500

# Apple credentials
APPLE_TEAM_ID: Final = 32
APNS_KEY_ID: Final = 32

# staff sessions and the audit log (written by the service, cut to these)
USER_AGENT: Final = 255
IP_ADDRESS: Final = 64
"""An IPv6 address in full is 45 characters."""
REQUEST_ID: Final = 128
OPERATION: Final = 300
"""``METHOD /route/{template}`` of the request that made a change."""
