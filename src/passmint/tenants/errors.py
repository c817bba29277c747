from __future__ import annotations

from passmint.errors import PassmintError


class Unauthorized(PassmintError):
    """The API key is missing, malformed, unknown or revoked."""

    code = "unauthorized"
    status = 401


class Forbidden(PassmintError):
    """The API key, or the user's role, lacks the scope this operation needs."""

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


# -- staff accounts ----------------------------------------------------------------------------


class InvalidRole(PassmintError):
    """Not one of the roles (``details.roles`` lists them)."""

    code = "invalid_role"
    status = 400


class InvalidEmail(PassmintError):
    code = "invalid_email"
    status = 400


class InvalidName(PassmintError):
    """A user's name is empty or longer than its column."""

    code = "invalid_name"
    status = 400


class PasswordRejected(PassmintError):
    """A new password breaks a rule (each rule has its own code)."""

    code = "password_rejected"
    status = 400


class PasswordTooShort(PasswordRejected):
    """Fewer characters than ``details.min_length``."""

    code = "password_too_short"


class PasswordTooLong(PasswordRejected):
    """More characters than ``details.max_length``."""

    code = "password_too_long"


class PasswordIsEmail(PasswordRejected):
    """The password is the account's email address."""

    code = "password_equals_email"


class LoginFailed(PassmintError):
    """The email or the password is wrong (the same answer for an unknown email, a wrong
    password and a disabled account, so it tells nobody which accounts exist)."""

    code = "invalid_credentials"
    status = 401


class LoginThrottled(PassmintError):
    """Too many failed logins for this account or from this address: retry after
    ``details.retry_after`` seconds (also the ``Retry-After`` header)."""

    code = "login_throttled"
    status = 429

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            f"too many failed logins; try again in {retry_after} s",
            details={"retry_after": retry_after},
        )
        self.retry_after = retry_after
        self.headers = {"Retry-After": str(retry_after)}


class SessionExpired(PassmintError):
    """No session with this token: logged out, idle too long, past its lifetime, or the
    user lost access to the tenant."""

    code = "session_expired"
    status = 401


class InvalidSecondFactor(PassmintError):
    """The authenticator code or recovery code is wrong, or was used already."""

    code = "invalid_second_factor"
    status = 401


class NoTenant(PassmintError):
    """The account belongs to no tenant (any more): nothing to log in to."""

    code = "no_tenant"
    status = 403


class TotpState(PassmintError):
    """The two-factor setting is not in the state this step needs (``details.reason``)."""

    code = "totp_state"
    status = 409


class InvalidLink(PassmintError):
    """An invitation or password-reset link that is unknown, used, revoked or expired
    (``details.reason``)."""

    code = "invalid_link"
    status = 400


class AlreadyMember(PassmintError):
    """The user is a member of this tenant already."""

    code = "already_member"
    status = 409


class LastOwner(PassmintError):
    """The change would leave the tenant without an owner."""

    code = "last_owner"
    status = 409
