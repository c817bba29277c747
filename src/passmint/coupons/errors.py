"""Errors of campaigns, codes and redemptions.

Two families. :class:`Rejection` subclasses are verdicts on a code (the same codes answer a
validation dry run with ``valid: false`` and a redemption with a 4xx). Until a code is
proven usable only ``code_not_found``, ``code_expired`` and ``usage_limit_reached`` are
disclosed: a voided code or a paused campaign is ``code_not_found``. Everything else is bad
input or a missing object and always a 4xx.
"""

from __future__ import annotations

from passmint.errors import PassmintError

# -- verdicts on a code ------------------------------------------------------------------------


class Rejection(PassmintError):
    """A code that cannot be redeemed as asked."""

    code = "rejected"
    status = 409


class CodeNotFound(Rejection):
    """No usable code with this text (also: voided codes, paused or archived campaigns)."""

    code = "code_not_found"
    status = 404


class CodeExpired(Rejection):
    code = "code_expired"
    status = 409


class UsageLimitReached(Rejection):
    """The code (``max_uses``) or the campaign (``total_limit``) is used up."""

    code = "usage_limit_reached"
    status = 409


class CodeNotActiveYet(Rejection):
    code = "code_not_active_yet"
    status = 409


class ConditionsNotMet(Rejection):
    """``details.condition`` says which: min_amount, max_amount, currency, weekday, hours,
    customer, tier or per_customer_limit."""

    code = "conditions_not_met"
    status = 400


class InsufficientBalance(Rejection):
    code = "insufficient_balance"
    status = 409


# -- rollbacks ---------------------------------------------------------------------------------


class AlreadyRolledBack(PassmintError):
    code = "already_rolled_back"
    status = 409


class InvalidRollback(PassmintError):
    """A partial rollback of a non-gift-card redemption, or more than is left to undo."""

    code = "invalid_rollback"
    status = 400


# -- objects -----------------------------------------------------------------------------------


class CampaignNotFound(PassmintError):
    code = "campaign_not_found"
    status = 404


class CampaignInactive(PassmintError):
    """The campaign is paused or archived: it hands out no codes."""

    code = "campaign_inactive"
    status = 409


class BatchNotFound(PassmintError):
    code = "batch_not_found"
    status = 404


class RedemptionNotFound(PassmintError):
    code = "redemption_not_found"
    status = 404


class CustomerNotFound(PassmintError):
    code = "customer_not_found"
    status = 404


class CodeConflict(PassmintError):
    """A code of the request was stored by someone else meanwhile."""

    code = "code_conflict"
    status = 409


class CodeSpaceExhausted(PassmintError):
    """The pattern has no room for more unique codes (the tenant's existing codes fill it)."""

    code = "code_space_exhausted"
    status = 409


class IdempotencyKeyReused(PassmintError):
    code = "idempotency_key_reused"
    status = 409


# -- bad input ---------------------------------------------------------------------------------


class InvalidRules(PassmintError):
    """A campaign's value or rules contradict each other; ``details.field`` names the field."""

    code = "invalid_rules"
    status = 400


class UnknownCurrency(PassmintError):
    """Not an ISO 4217 alpha-3 code in circulation; ``details.field`` names the field."""

    code = "unknown_currency"
    status = 400


class InvalidAmount(PassmintError):
    """Negative or absurd (over 10^12 minor units); ``details.field`` names the field."""

    code = "invalid_amount"
    status = 400


class InvalidCode(PassmintError):
    """Text that cannot be a code: only letters, digits, spaces, ``-``, ``_`` and ``.``,
    at most 64 characters once normalized."""

    code = "invalid_code"
    status = 400


class InvalidPattern(PassmintError):
    """A batch's prefix, pattern, charset or length is unusable; ``details.field`` says which."""

    code = "invalid_pattern"
    status = 400


class PatternSpaceTooSmall(PassmintError):
    """The pattern's space is under 1,000 times the codes made from it (this batch and the
    tenant's earlier ones of the same pattern): codes would be too easy to guess.
    ``details``: ``possible``, ``requested``, ``earlier``, ``needed``, ``factor``."""

    code = "pattern_space_too_small"
    status = 400


class InvalidImport(PassmintError):
    """The CSV was refused as a whole; ``details.errors`` lists ``{line, error, message}``."""

    code = "invalid_import"
    status = 400


class InvalidInput(PassmintError):
    """Another malformed value; ``details.field`` names it."""

    code = "invalid_input"
    status = 400
