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
    """The tenant has no Apple credentials yet: PUT /api/v1/credentials/apple first."""

    code = "apple_credentials_missing"
    status = 409


class PassVoided(PassmintError):
    code = "pass_voided"
    status = 409


class InvalidInput(PassmintError):
    code = "invalid_input"
    status = 400
