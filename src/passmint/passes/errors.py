"""Errors of the pass service (templates, passes, credentials)."""

from __future__ import annotations

from passmint.errors import PassmintError


class TemplateNotFound(PassmintError):
    code = "template_not_found"
    status = 404


class PassNotFound(PassmintError):
    code = "pass_not_found"
    status = 404


class StoredDesignInvalid(PassmintError):
    """A template version stored before a rule tightened (a tab or a newline in a one-line
    text, a value over a newer limit) no longer validates: save the template's design again
    (``PATCH /api/v1/templates/{id}``); ``details.problems`` says what to change."""

    code = "template_design_outdated"
    status = 409


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
