"""Errors of the pass service (templates, passes, credentials)."""

from __future__ import annotations

from passmint.errors import PassmintError


class TemplateNotFound(PassmintError):
    code = "template_not_found"
    status = 404


class PassNotFound(PassmintError):
    code = "pass_not_found"
    status = 404


class ImageNotFound(PassmintError):
    code = "image_not_found"
    status = 404


class CredentialsMissing(PassmintError):
    """The tenant has no Apple credentials (``GET /api/v1/credentials/apple``), or no wallet
    credentials at all when it issues a pass: PUT /api/v1/credentials/apple (Apple Wallet)
    or PUT /api/v1/credentials/google (Google Wallet) first. The code predates Google-only
    tenants and is kept for clients that match it."""

    code = "apple_credentials_missing"
    status = 409


class ApplePassUnavailable(PassmintError):
    """The pass is in Google Wallet only: its tenant had no Apple credentials when it was
    issued and has none yet (``urls.pkpass`` is null). It becomes an Apple pass as soon as
    the tenant uploads Apple credentials."""

    code = "apple_pass_unavailable"
    status = 409


class PassVoided(PassmintError):
    code = "pass_voided"
    status = 409


class InvalidInput(PassmintError):
    code = "invalid_input"
    status = 400
