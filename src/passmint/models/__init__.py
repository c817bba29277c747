"""All ORM tables, one module per aggregate."""

from passmint.models.audit import AuditEvent
from passmint.models.base import Base
from passmint.models.coupons import (
    Campaign,
    CampaignCustomerUse,
    Code,
    CodeBatch,
    Redemption,
    RedemptionRollback,
)
from passmint.models.credentials import AppleCredential
from passmint.models.events import Event, IdempotencyRecord, OutboxJob
from passmint.models.google import (
    GoogleCallbackNonce,
    GoogleClass,
    GoogleCredential,
    GoogleNotification,
    GoogleObject,
)
from passmint.models.loyalty import (
    Account,
    Activity,
    Customer,
    LedgerEntry,
    LotAllocation,
    Program,
    Referral,
    Reward,
)
from passmint.models.passes import Counter, Device, Pass, PassBundle, Registration
from passmint.models.staff import Invitation, Membership, PasswordReset, User, UserSession
from passmint.models.surveys import SurveyAnswer
from passmint.models.templates import Asset, Template, TemplateVersion
from passmint.models.tenants import ApiKey, Tenant, TenantQuota

__all__ = [
    "Account",
    "Activity",
    "ApiKey",
    "AppleCredential",
    "Asset",
    "AuditEvent",
    "Base",
    "Campaign",
    "CampaignCustomerUse",
    "Code",
    "CodeBatch",
    "Counter",
    "Customer",
    "Device",
    "Event",
    "GoogleCallbackNonce",
    "GoogleClass",
    "GoogleCredential",
    "GoogleNotification",
    "GoogleObject",
    "IdempotencyRecord",
    "Invitation",
    "LedgerEntry",
    "LotAllocation",
    "Membership",
    "OutboxJob",
    "Pass",
    "PassBundle",
    "PasswordReset",
    "Program",
    "Redemption",
    "RedemptionRollback",
    "Referral",
    "Registration",
    "Reward",
    "SurveyAnswer",
    "Template",
    "TemplateVersion",
    "Tenant",
    "TenantQuota",
    "User",
    "UserSession",
]
