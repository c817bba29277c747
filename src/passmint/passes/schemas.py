"""Request and response bodies of the templates, images, passes and credentials API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from passmint.kit import lengths
from passmint.kit.jsonobject import PASS_DATA
from passmint.kit.text import Line, Multiline, PemText
from passmint.wallet.apple.styles import PassStyle
from passmint.wallet.designs.schemas import TemplateDesign
from passmint.wallet.designs.usage import Source

T = TypeVar("T")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


PassData = Annotated[dict[str, Any], PASS_DATA]
"""A pass's ``data``: bounded (see :data:`passmint.kit.jsonobject.PASS_DATA`)."""
TemplateName = Annotated[Line, Field(min_length=1, max_length=lengths.TITLE)]
ExternalId = Annotated[Line, Field(max_length=lengths.EXTERNAL_ID)]
Pem = Annotated[PemText, Field(max_length=64 * 1024)]


class ImageOut(BaseModel):
    id: uuid.UUID
    sha256: str
    width: int | None
    height: int | None


class TemplateCreate(Strict):
    name: TemplateName = Field(examples=["Café Lumen loyalty"])
    style: PassStyle = Field(description="Apple pass style; Google's vertical follows from it.")
    design: TemplateDesign


class TemplatePatch(Strict):
    name: TemplateName | None = None
    design: TemplateDesign | None = Field(
        default=None, description="A new design makes a new version; passes follow it."
    )


class TemplatePlaceholder(BaseModel):
    """A ``{{ name }}`` the design uses, and who fills it."""

    name: str = Field(examples=["points"], description="The placeholder (dotted for nested).")
    source: Source = Field(
        description=(
            "Who fills it: `built_in` (`serial_number`, `pass_id`: always there), `message` "
            "(`message`, `message_header`: set by POST /passes/{id}/messages), `program` "
            "(the loyalty programs this template backs fill it on their cards), or `data`: "
            "each pass must provide it in its `data`."
        )
    )
    paths: list[str] = Field(
        description="Where the design uses it.", examples=[["fields.primary[0].value"]]
    )
    required: bool = Field(
        description="Used at least once without a default: a pass lacking it shows nothing there."
    )


class TemplateWarning(BaseModel):
    """Something in the design that saves fine but probably renders wrong."""

    code: Literal["placeholder_unknown"] = Field(
        description=(
            "`placeholder_unknown`: no known source provides the placeholder. Reported for a "
            "near miss of a built-in (`{{ serial }}`), and, when the template backs loyalty "
            "programs, for every name a program does not fill."
        )
    )
    path: str = Field(description="Where in the design.", examples=["barcode.message"])
    placeholder: str = Field(examples=["serial"])
    message: str
    suggestion: str | None = Field(
        default=None,
        description="The name it most likely misspells, if any.",
        examples=["serial_number"],
    )


class TemplateOut(BaseModel):
    id: uuid.UUID
    name: str
    style: PassStyle
    version: int
    design: dict[str, Any]
    placeholders: list[TemplatePlaceholder] = Field(
        default_factory=list,
        description=(
            "Every placeholder of the design in order of first use; those with source "
            "`data` are the keys each pass's `data` must provide."
        ),
    )
    warnings: list[TemplateWarning] = Field(
        default_factory=list,
        description="Placeholders no known source provides. The template is saved anyway.",
    )
    created_at: datetime
    updated_at: datetime


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(description="Pass as ?cursor= to get the next page.")


class PassCreate(Strict):
    template_id: uuid.UUID
    data: PassData = Field(
        default_factory=dict,
        description=f"Values for the design's {{{{ placeholders }}}}. {PASS_DATA.summary}",
    )
    external_id: ExternalId | None = Field(
        default=None, description="Your id for the pass (CRM, POS…)."
    )


class PassPatch(Strict):
    data: PassData = Field(
        description=(
            "Merged into the pass's data; null removes a key. The merged data keeps the "
            f"limits of `data`: {PASS_DATA.summary}"
        )
    )


class PassUrls(BaseModel):
    pkpass: str | None = Field(
        description="Public, unguessable URL of the signed .pkpass (null while the tenant "
        "issues to Google Wallet only: no Apple credentials)."
    )
    landing: str = Field(description="The pass's landing page for customers.")
    google: str | None = Field(
        default=None,
        description="Save to Google Wallet link (null until the tenant has a Google issuer).",
    )


class MessageIn(Strict):
    header: Annotated[Line, Field(min_length=1, max_length=100)]
    body: Annotated[Multiline, Field(min_length=1, max_length=1000)]


class PassWarning(BaseModel):
    """A placeholder the pass's data leaves empty. The pass is issued or updated anyway."""

    code: Literal["placeholder_missing", "placeholder_unusable_value"] = Field(
        description=(
            "`placeholder_missing`: `data` has no such key (and it is not built in). "
            "`placeholder_unusable_value`: the value is an object or a list, which a "
            "placeholder cannot show. Placeholders with a default are never reported, nor "
            'is a key set to null or "" (an empty value on purpose).'
        )
    )
    placeholder: str = Field(examples=["tier"])
    paths: list[str] = Field(
        description="Where the design uses it without a default.",
        examples=[["fields.header[0].value"]],
    )
    message: str
    suggestion: str | None = Field(
        default=None,
        description="A key of `data` the placeholder most likely meant, if any.",
        examples=["Tier"],
    )


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
    warnings: list[PassWarning] = Field(
        default_factory=list,
        description=(
            "Placeholders of the pass's template version that its data leaves empty, so the "
            "API user sees what the pass shows blank."
        ),
    )
    created_at: datetime
    last_modified: datetime


class ApnsTokenIn(Strict):
    auth: Literal["token"]
    key_p8: Pem = Field(description="The .p8 auth key (PEM).")
    key_id: Annotated[Line, Field(min_length=10, max_length=10)]
    team_id: Annotated[Line, Field(min_length=10, max_length=10)]


class ApnsCertificateIn(Strict):
    auth: Literal["certificate"] = "certificate"


class AppleCredentialsIn(Strict):
    """The Pass Type ID certificate and key, as PEM or as a base64 .p12 with its password."""

    format: Literal["pem", "p12"] = "pem"
    certificate: Pem = Field(description="PEM certificate, or base64 of the .p12 file.")
    private_key: Pem | None = Field(default=None, description="PEM private key (format pem).")
    password: Annotated[Line, Field(max_length=1024)] | None = Field(
        default=None, description="Key or .p12 password."
    )
    wwdr: Pem | None = Field(default=None, description="WWDR intermediate override (PEM).")
    apns: ApnsTokenIn | ApnsCertificateIn = Field(
        default_factory=ApnsCertificateIn, discriminator="auth"
    )
