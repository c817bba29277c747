"""Request and response bodies of the templates, images, passes and credentials API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from passmint.passes.apple.styles import PassStyle
from passmint.passes.designs.schemas import TemplateDesign

T = TypeVar("T")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ImageOut(BaseModel):
    id: uuid.UUID
    sha256: str
    width: int | None
    height: int | None


class TemplateCreate(Strict):
    name: str = Field(min_length=1, max_length=200, examples=["Café Lumen loyalty"])
    style: PassStyle = Field(description="Apple pass style; Google's vertical follows from it.")
    design: TemplateDesign


class TemplatePatch(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    design: TemplateDesign | None = Field(
        default=None, description="A new design makes a new version; passes follow it."
    )


class TemplateOut(BaseModel):
    id: uuid.UUID
    name: str
    style: PassStyle
    version: int
    design: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(description="Pass as ?cursor= to get the next page.")


class PassCreate(Strict):
    template_id: uuid.UUID
    data: dict[str, Any] = Field(
        default_factory=dict, description="Values for the design's {{ placeholders }}."
    )
    external_id: str | None = Field(
        default=None, max_length=255, description="Your id for the pass (CRM, POS…)."
    )


class PassPatch(Strict):
    data: dict[str, Any] = Field(description="Merged into the pass's data; null removes a key.")


class PassUrls(BaseModel):
    pkpass: str = Field(description="Public, unguessable URL of the signed .pkpass.")
    landing: str = Field(description="The pass's landing page for customers.")
    google: str | None = Field(
        default=None,
        description="Save to Google Wallet link (null until the tenant has a Google issuer).",
    )


class MessageIn(Strict):
    header: str = Field(min_length=1, max_length=100)
    body: str = Field(min_length=1, max_length=1000)


class PassOut(BaseModel):
    id: uuid.UUID
    template_id: uuid.UUID
    template_version: int
    serial_number: str
    external_id: str | None
    status: str
    version: int
    data: dict[str, Any]
    urls: PassUrls
    created_at: datetime
    last_modified: datetime


class ApnsTokenIn(Strict):
    auth: Literal["token"]
    key_p8: str = Field(description="The .p8 auth key (PEM).")
    key_id: str = Field(min_length=10, max_length=10)
    team_id: str = Field(min_length=10, max_length=10)


class ApnsCertificateIn(Strict):
    auth: Literal["certificate"] = "certificate"


class AppleCredentialsIn(Strict):
    """The Pass Type ID certificate and key, as PEM or as a base64 .p12 with its password."""

    format: Literal["pem", "p12"] = "pem"
    certificate: str = Field(description="PEM certificate, or base64 of the .p12 file.")
    private_key: str | None = Field(default=None, description="PEM private key (format pem).")
    password: str | None = Field(default=None, description="Key or .p12 password.")
    wwdr: str | None = Field(default=None, description="WWDR intermediate override (PEM).")
    apns: ApnsTokenIn | ApnsCertificateIn = Field(
        default_factory=ApnsCertificateIn, discriminator="auth"
    )
