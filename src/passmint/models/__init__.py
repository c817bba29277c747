"""All ORM tables, one module per aggregate."""

from passmint.models.base import Base
from passmint.models.credentials import AppleCredential
from passmint.models.events import Event, IdempotencyRecord, OutboxJob
from passmint.models.google import (
    GoogleCallbackNonce,
    GoogleClass,
    GoogleCredential,
    GoogleNotification,
    GoogleObject,
)
from passmint.models.passes import Counter, Device, Pass, PassBundle, Registration
from passmint.models.templates import Asset, Template, TemplateVersion
from passmint.models.tenants import ApiKey, Tenant

__all__ = [
    "ApiKey",
    "AppleCredential",
    "Asset",
    "Base",
    "Counter",
    "Device",
    "Event",
    "GoogleCallbackNonce",
    "GoogleClass",
    "GoogleCredential",
    "GoogleNotification",
    "GoogleObject",
    "IdempotencyRecord",
    "OutboxJob",
    "Pass",
    "PassBundle",
    "Registration",
    "Template",
    "TemplateVersion",
    "Tenant",
]
