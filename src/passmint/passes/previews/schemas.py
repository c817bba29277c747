"""Request and response bodies of ``POST /api/v1/previews``."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, Field

from passmint.kit.jsonobject import JsonLimits
from passmint.kit.text import Line
from passmint.passes.schemas import PassData, Strict
from passmint.wallet.apple.styles import PassStyle
from passmint.wallet.designs.preview import ProblemSource
from passmint.wallet.designs.schemas import BarcodeKind

PREVIEW_DESIGN: Final = JsonLimits(
    max_keys=20_000, max_depth=16, max_key_length=64 * 1024, max_bytes=1024 * 1024
)
"""A design to preview, taken as it is (it may not validate: its problems are the answer).
Its long keys are translations' source texts; the request body's own limit comes first."""

DesignJson = Annotated[dict[str, Any], PREVIEW_DESIGN]


class PreviewIn(Strict):
    """What to preview: a design as the designer holds it, even half-typed."""

    style: PassStyle = Field(description="The template's style; Google's vertical follows.")
    design: DesignJson = Field(
        description=(
            "The design, as `design` of POST /api/v1/templates takes it. It need not be "
            "valid: every problem comes back with its path."
        ),
        examples=[
            {
                "organization_name": "Café Lumen",
                "description": "Loyalty card",
                "images": {"icon": "0192f0c4-7d2a-7b7e-8f00-5b1d2c3e4f50"},
                "fields": {
                    "primary": [{"key": "points", "label": "POINTS", "value": "{{ points }}"}]
                },
                "barcode": {"format": "qr", "message": "{{ serial_number }}"},
            }
        ],
    )
    sample_data: PassData = Field(
        default_factory=dict,
        description="Placeholder values to show; names left out get generated ones.",
        examples=[{"points": 120, "tier": "Gold"}],
    )
    language: Annotated[Line, Field(max_length=35)] | None = Field(
        None,
        description="One of the design's languages (`fr`, `ar` ...); null: its own texts.",
        examples=["fr"],
    )
    template_id: uuid.UUID | None = Field(
        None,
        description=(
            "The template being edited: the loyalty programs it backs fill their "
            "placeholders (`{{ points }}`, `{{ tier }}` ...), so those do not warn."
        ),
    )


class PreviewProblemOut(BaseModel):
    """A problem, at its place in the design."""

    path: str = Field(
        description=(
            "JSON Pointer into the request's `design` (`/fields/primary/0/value`, "
            '`/colors/background`); `""` is the design as a whole.'
        ),
        examples=["/colors/background"],
    )
    code: str = Field(examples=["invalid_color"])
    message: str
    severity: Literal["error", "warning"] = Field(
        description="An error stops the design from being saved; a warning does not."
    )
    source: ProblemSource = Field(
        description=(
            "What found it: `design` (the schema), `apple` (the design's rules and Apple's "
            "pass.json rules), `google`, `images`, `barcode`, `placeholders`, `preview`."
        )
    )


class BarcodeOut(BaseModel):
    """The barcode as the phone draws it."""

    format: BarcodeKind
    message: str = Field(description="The message with the sample data filled in.")
    encoding: str
    alt_text: str | None = Field(description="The text under the code, in the language.")
    svg: str | None = Field(
        description=(
            "The symbol as an SVG element (rectangles only; viewBox in modules); null when "
            "the message cannot be drawn (see the problems at /barcode/message)."
        )
    )
    width: int | None = Field(description="Modules across, quiet zone included.")
    height: int | None


class PreviewOut(BaseModel):
    """What the design renders to, and every problem. Parts that could not be rendered
    are null; `valid` says whether the design can be saved."""

    valid: bool = Field(description="No error among the problems.")
    style: PassStyle
    language: str | None = Field(description="The language shown; null: the design's texts.")
    direction: Literal["ltr", "rtl"] = Field(description="How the language is written.")
    languages: list[str] = Field(description="The design's languages.")
    pass_json: dict[str, Any] | None = Field(
        description="The Apple pass.json the phone gets (identities are fake ones)."
    )
    localized_pass_json: dict[str, Any] | None = Field(
        description="`pass_json` as a phone set to `language` shows it (pass.strings applied)."
    )
    strings: dict[str, str] | None = Field(description="The language's pass.strings table.")
    google_vertical: str | None = Field(examples=["loyalty"])
    google_class: dict[str, Any] | None = Field(description="As the Google sync builds it.")
    google_object: dict[str, Any] | None = Field(description="As the Google sync builds it.")
    barcode: BarcodeOut | None
    images: dict[str, str] = Field(
        description="Image name → URL, for the language.",
        examples=[{"icon": "https://passes.example/i/0192f0c4-7d2a-7b7e-8f00-5b1d2c3e4f50.png"}],
    )
    sample_data: dict[str, Any] = Field(description="The data the placeholders were filled from.")
    problems: list[PreviewProblemOut]
