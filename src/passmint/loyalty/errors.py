"""Errors of the loyalty engine (each a 4xx with a stable code)."""

from __future__ import annotations

from passmint.errors import PassmintError


class ProgramNotFound(PassmintError):
    code = "program_not_found"
    status = 404


class ProgramInactive(PassmintError):
    code = "program_inactive"
    status = 409


class CustomerNotFound(PassmintError):
    code = "customer_not_found"
    status = 404


class CustomerConflict(PassmintError):
    """The external id, phone and email given belong to different customers."""

    code = "customer_conflict"
    status = 409


class AccountNotFound(PassmintError):
    code = "account_not_found"
    status = 404


class AccountExists(PassmintError):
    code = "account_exists"
    status = 409


class AccountClosed(PassmintError):
    code = "account_closed"
    status = 409


class InsufficientBalance(PassmintError):
    code = "insufficient_balance"
    status = 409


class ActivityConflict(PassmintError):
    """The same (source, external_id) came before with a different body."""

    code = "activity_conflict"
    status = 409


class PurchaseNotFound(PassmintError):
    code = "purchase_not_found"
    status = 404


class ReturnExceedsPurchase(PassmintError):
    code = "return_exceeds_purchase"
    status = 422


class SelfReferral(PassmintError):
    code = "self_referral"
    status = 422


class ReferralCodeNotFound(PassmintError):
    code = "referral_code_not_found"
    status = 404


class RewardNotFound(PassmintError):
    code = "reward_not_found"
    status = 404


class RewardUnavailable(PassmintError):
    """Inactive, out of stock or over the customer's limit (details say which)."""

    code = "reward_unavailable"
    status = 409


class InvalidLoyaltyInput(PassmintError):
    code = "invalid_input"
    status = 400


class EntryNotFound(PassmintError):
    code = "entry_not_found"
    status = 404


class RefundExceedsSpend(PassmintError):
    code = "refund_exceeds_spend"
    status = 422
