from __future__ import annotations

from passmint.errors import PassmintError


class Unauthorized(PassmintError):
    """The API key is missing, malformed, unknown or revoked."""

    code = "unauthorized"
    status = 401


class Forbidden(PassmintError):
    """The API key lacks the scope this operation needs."""

    code = "insufficient_scope"
    status = 403


class NotFound(PassmintError):
    """No such object for this tenant (other tenants' objects are not found either)."""

    code = "not_found"
    status = 404


class QuotaExceeded(PassmintError):
    """The tenant stores as many of these as it may. ``details``: ``quota`` (``codes``,
    ``passes``, ``templates`` or ``images``), ``limit``, ``used`` and ``requested``."""

    code = "quota_exceeded"
    status = 403
