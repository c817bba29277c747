"""The platform-neutral design of a pass template (the ``design`` of ``POST /api/v1/templates``).

One design renders to an Apple Wallet pass (:mod:`.render_apple`) and, later, to a Google
Wallet class and object. The template's ``style`` (``storeCard``, ``coupon``,
``eventTicket``, ``generic``, ``boardingPass``) is stored beside the design, not in it.

JSON keys are snake_case; unknown keys are rejected (``extra="forbid"``) so a typo is
reported instead of silently ignored. Every text may hold ``{{ placeholders }}``
(:mod:`.placeholders`) filled from the pass data when a pass is issued or updated; their
syntax is checked here. Rules that depend on the style or on Apple's limits (field counts,
supported images, ``%@`` in change messages after rendering ...) are checked by
:func:`passmint.wallet.designs.render_apple.validate_design`.
"""

from __future__ import annotations

import codecs
import json
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Final, Literal, NamedTuple

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    JsonValue,
    PlainValidator,
    StrictFloat,
    StrictInt,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from passmint.errors import PassmintError
from passmint.kit.jsonobject import JsonLimits
from passmint.kit.text import MULTILINE, Line, Multiline
from passmint.wallet.apple.problems import Problem
from passmint.wallet.apple.strings import canonical_lproj_name
from passmint.wallet.apple.styles import TransitType
from passmint.wallet.designs import placeholders

# -- errors and paths -----------------------------------------------------------------------


class DesignError(PassmintError):
    """The design is invalid; ``problems`` lists every reason with its path in the design."""

    code: ClassVar[str] = "invalid_design"
    status: ClassVar[int] = 422

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        listing = "; ".join(str(p) for p in self.problems[:20])
        more = f" (+{len(self.problems) - 20} more)" if len(self.problems) > 20 else ""
        problems_json = [{**asdict(p), "severity": p.severity.value} for p in self.problems]
        super().__init__(
            f"{len(self.problems)} problem(s): {listing}{more}",
            details={"problems": problems_json},
        )


def child_path(base: str, part: str | int) -> str:
    """``part`` under the design path ``base`` (``""`` is the design itself)."""
    if isinstance(part, int):
        return f"{base}[{part}]"
    if part.isascii() and part.isidentifier():  # [A-Za-z_][A-Za-z0-9_]*
        return f"{base}.{part}" if base else part
    return f"{base}[{json.dumps(part, ensure_ascii=False)}]"


def design_path(*parts: str | int) -> str:
    """A path into the design: ``fields.primary[0].value``, ``localizations["pt-BR"]``."""
    out = ""
    for part in parts:
        out = child_path(out, part)
    return out


_ERROR_CODES = {
    "missing": "missing_required",
    "extra_forbidden": "unknown_key",
    "enum": "invalid_enum",
    "literal_error": "invalid_enum",
    "too_long": "too_many_items",
    "string_pattern_mismatch": "invalid_format",
}


def _error_code(error_type: str) -> str:
    if error_type in _ERROR_CODES:
        return _ERROR_CODES[error_type]
    if error_type.endswith("_type") or error_type == "is_instance_of":
        return "invalid_type"
    if error_type.startswith(("design_", "invalid_")):
        return error_type  # our own PydanticCustomError codes
    return "invalid_value"


def _error_path(data: object, loc: Sequence[int | str]) -> str:
    """Follow Pydantic's location through the raw data, dropping union-branch tags."""
    parts: list[str | int] = []
    node = data
    for index, part in enumerate(loc):
        found, value = _descend(node, part)
        if found:
            node = value
        elif part == "[key]" or not (index == len(loc) - 1 and isinstance(node, Mapping)):
            continue  # a tag Pydantic adds for unions and validators, not a key
        parts.append(part)
    return design_path(*parts)


def _descend(node: object, part: int | str) -> tuple[bool, object]:
    if isinstance(node, Mapping) and isinstance(part, str) and part in node:
        return True, node[part]
    if isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
        return True, node[part]
    return False, None


def parse_design(data: object) -> TemplateDesign:
    """Validate raw JSON data as a design; raises :class:`DesignError` with every problem."""
    try:
        return TemplateDesign.model_validate(data)
    except ValidationError as exc:
        problems: list[Problem] = []
        seen: set[tuple[str, str]] = set()
        for err in exc.errors(include_url=False, include_input=False):
            path, code = _error_path(data, err["loc"]), _error_code(err["type"])
            if (path, code) not in seen:
                seen.add((path, code))
                problems.append(Problem(path or "$", code, err["msg"]))
        raise DesignError(problems) from exc


# -- value types ----------------------------------------------------------------------------


def _check_template(value: str) -> str:
    try:
        placeholders.parse(value)
    except placeholders.PlaceholderError as exc:
        raise PydanticCustomError(
            "invalid_placeholder",
            "{reason} at position {position}",
            {"reason": exc.reason, "position": exc.position},
        ) from exc
    return value


Template = Annotated[Line, AfterValidator(_check_template)]
"""One line of text that may hold ``{{ placeholders }}``."""

TextTemplate = Annotated[Multiline, AfterValidator(_check_template)]
"""Free text (newlines and tabs kept) that may hold ``{{ placeholders }}``."""


def _check_value(value: object) -> str | int | float:
    if isinstance(value, str):
        return _check_template(MULTILINE.check(value))
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > _MAX_EXACT:
        # math.isfinite would overflow on a huge int; JSON numbers past 2**53 lose digits
        raise PydanticCustomError(
            "number_too_large", "a number value is at most 2**53 (9007199254740992) in size"
        )
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise PydanticCustomError(
            "invalid_type", "a value is text (placeholders allowed) or a finite number"
        )
    return value


_MAX_EXACT = 2**53


FieldValue = Annotated[
    str | int | float,
    PlainValidator(_check_value),
    WithJsonSchema(
        {"anyOf": [{"type": "string", "pattern": MULTILINE.pattern}, {"type": "number"}]}
    ),
]
"""A field value: text with placeholders, or a JSON number (kept as int or float)."""

NonEmptyTemplate = Annotated[Line, Field(min_length=1), AfterValidator(_check_template)]
NonEmptyTextTemplate = Annotated[Multiline, Field(min_length=1), AfterValidator(_check_template)]

DESIGN_JSON = JsonLimits(max_keys=500, max_depth=8, max_key_length=128, max_bytes=64 * 1024)
"""Limits of ``semantics`` and ``user_info``."""
DesignJson = Annotated[dict[str, JsonValue], DESIGN_JSON]

FieldKey = Annotated[
    Line,
    Field(
        pattern=r"^[A-Za-z][A-Za-z0-9_]{0,63}$",
        description=(
            "Unique across all fields and links of the design. Letters, digits and _ "
            "(Google Wallet uses keys inside field paths, so no dots or spaces)."
        ),
        examples=["points"],
    ),
]

AssetId = Annotated[
    Line,
    Field(
        pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,127}$",
        description="The id of an uploaded image asset (a high-resolution PNG).",
        examples=["ast_logo_01"],
    ),
]


def _check_lang(tag: str) -> str:
    if canonical_lproj_name(tag) != tag or "_" in tag:
        canonical = canonical_lproj_name(tag.replace("_", "-"))
        hint = f"; write {canonical!r}" if canonical else ""
        raise PydanticCustomError(
            "invalid_language_tag",
            "{tag} is not a language tag like fr, pt-BR, zh-Hans or es-419{hint}",
            {"tag": repr(tag), "hint": hint},
        )
    return tag


LanguageTag = Annotated[Line, Field(max_length=35), AfterValidator(_check_lang)]

_HEX6 = re.compile(r"#([0-9A-Fa-f]{2})([0-9A-Fa-f]{2})([0-9A-Fa-f]{2})", re.ASCII)
_HEX3 = re.compile(r"#([0-9A-Fa-f])([0-9A-Fa-f])([0-9A-Fa-f])", re.ASCII)
_RGB = re.compile(r"rgb\(\s*(\d{1,3})\s*,\s*(\d{1,3})\s*,\s*(\d{1,3})\s*\)", re.ASCII)


def color_rgb(value: str) -> tuple[int, int, int]:
    """(r, g, b) of ``#RRGGBB``, ``#RGB`` or ``rgb(r, g, b)``; raises ValueError otherwise."""
    text = value.strip()
    if match := _HEX6.fullmatch(text):
        r, g, b = (int(part, 16) for part in match.groups())
    elif match := _HEX3.fullmatch(text):
        r, g, b = (int(part * 2, 16) for part in match.groups())
    elif (match := _RGB.fullmatch(text)) and all(int(p) <= 255 for p in match.groups()):
        r, g, b = (int(part) for part in match.groups())
    else:
        raise ValueError(f"{value!r} is not a colour: use #RRGGBB, #RGB or rgb(r, g, b)")
    return r, g, b


def color_apple(value: str) -> str:
    """Apple's spelling of a colour: ``rgb(r, g, b)``."""
    r, g, b = color_rgb(value)
    return f"rgb({r}, {g}, {b})"


def color_hex(value: str) -> str:
    """Google's spelling of a colour: ``#rrggbb``."""
    r, g, b = color_rgb(value)
    return f"#{r:02x}{g:02x}{b:02x}"


def _check_color(value: str) -> str:
    try:
        color_rgb(value)
    except ValueError as exc:
        raise PydanticCustomError("invalid_color", str(exc)) from exc
    return value


Color = Annotated[
    Line,
    AfterValidator(_check_color),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^(#[0-9A-Fa-f]{6}|#[0-9A-Fa-f]{3}|rgb\(\d{1,3}, ?\d{1,3}, ?\d{1,3}\))$",
            "description": "#RRGGBB, #RGB or rgb(r, g, b) with components 0-255.",
            "examples": ["#1d3557", "#fff", "rgb(29, 53, 87)"],
        }
    ),
]

_TRANSIT_SHORT = {t.name.lower(): t.value for t in TransitType}
_TRANSIT_SCHEMA = {"type": "string", "enum": [*(t.value for t in TransitType), *_TRANSIT_SHORT]}
TransitTypeName = Annotated[
    TransitType,
    BeforeValidator(lambda v: _TRANSIT_SHORT.get(v.lower(), v) if isinstance(v, str) else v),
    WithJsonSchema(_TRANSIT_SCHEMA),
]
"""Apple's PKTransitType name, or its short form (air, boat, bus, generic, train)."""


# Apple's names are these, capitalised and prefixed: left → PKTextAlignmentLeft ...
TextAlign = Literal["left", "center", "right", "natural"]
DateFormat = Literal["none", "short", "medium", "long", "full"]
NumberFormat = Literal["decimal", "percent", "scientific", "spell_out"]
DataDetector = Literal["phone_number", "link", "address", "calendar_event"]
BarcodeKind = Literal["qr", "pdf417", "aztec", "code128"]


class ImageName(StrEnum):
    ICON = "icon"
    LOGO = "logo"
    STRIP = "strip"
    BACKGROUND = "background"
    THUMBNAIL = "thumbnail"
    FOOTER = "footer"


class FieldList(StrEnum):
    """The areas of a pass that hold fields, front to back."""

    HEADER = "header"
    PRIMARY = "primary"
    SECONDARY = "secondary"
    AUXILIARY = "auxiliary"
    BACK = "back"


_AREAS: tuple[str, ...] = tuple(area.value for area in FieldList)
_AREA_NAMES: tuple[tuple[FieldList, str], ...] = tuple((area, area.value) for area in FieldList)
_IMAGE_NAMES: tuple[tuple[ImageName, str], ...] = tuple((name, name.value) for name in ImageName)


# -- models ---------------------------------------------------------------------------------

TextKind = Literal["text", "number", "date"]


class DesignText(NamedTuple):
    """A text of a design that may hold placeholders (see :meth:`TemplateDesign.texts`).

    ``kind`` is what a value filling the whole text must be (a date for date-styled fields
    and dates, a number for number-styled fields); ``localizable`` is whether Wallet looks
    the rendered text up in ``pass.strings``. Immutable, and a tuple: a design has dozens
    and a preview walks them on every keystroke, so they are cheap to make.
    """

    path: str
    template: str
    kind: TextKind
    localizable: bool


class _DesignModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DesignColors(_DesignModel):
    """Colours of the pass; Wallet picks defaults for any left out."""

    background: Color | None = Field(None, description="Background colour.")
    foreground: Color | None = Field(None, description="Colour of the field values.")
    label: Color | None = Field(None, description="Colour of the field labels.")


class DesignImages(_DesignModel):
    """Image asset ids. Give high-resolution sources: they are scaled to every density.

    Apple sizes (points; sources must be 3× for @3x): icon 29×29 (required: shown on the
    lock screen), logo up to 160×50, strip 375×123 (375×144 on coupons and gift cards,
    375×98 on event tickets), background 180×220 and thumbnail 90×90 (event tickets;
    thumbnail also generic), footer 286×15 (boarding passes).
    """

    icon: AssetId = Field(description="Required: iOS refuses a pass without an icon.")
    logo: AssetId | None = Field(None, description="Top-left logo (Google: the round logo).")
    strip: AssetId | None = Field(None, description="Image behind the primary fields.")
    background: AssetId | None = Field(None, description="Blurred background (event tickets).")
    thumbnail: AssetId | None = Field(None, description="Thumbnail (event tickets, generic).")
    footer: AssetId | None = Field(None, description="Image above the barcode (boarding passes).")

    def items(self) -> Iterator[tuple[ImageName, str]]:
        """(image name, asset id) of every image set, in the order above."""
        for name, attribute in _IMAGE_NAMES:
            asset: str | None = getattr(self, attribute)
            if asset is not None:
                yield name, asset


class DesignField(_DesignModel):
    """One field. ``label``, ``value`` and ``change_message`` may hold placeholders."""

    key: FieldKey
    label: Template | None = Field(None, examples=["POINTS"])
    value: FieldValue = Field(
        description=(
            "Text with placeholders, or a number. A value that is exactly one placeholder "
            "holding a number stays a number (needed by number_style and currency_code)."
        ),
        examples=["{{ points }}", "{{ customer.first_name }}", 0],
    )
    change_message: TextTemplate | None = Field(
        None,
        description="Lock-screen message when the value changes; %@ stands for the new value.",
        examples=["You now have %@ points"],
    )
    text_alignment: TextAlign | None = Field(
        None, description="Not allowed on primary and back fields."
    )
    date_style: DateFormat | None = Field(
        None, description="Makes the value an ISO-8601 date shown in the holder's locale."
    )
    time_style: DateFormat | None = Field(None, description="Time part of a date value.")
    is_relative: bool | None = Field(None, description="Show a date as relative (in 2 days).")
    ignores_time_zone: bool | None = Field(
        None, description="Show a date in its own time zone, not the device's."
    )
    number_style: NumberFormat | None = Field(None, description="Format of a numeric value.")
    currency_code: str | None = Field(
        None,
        pattern=r"^[A-Z]{3}$",
        description="ISO 4217 code: show a numeric value as money.",
        examples=["EUR"],
    )
    row: Literal[0, 1] | None = Field(
        None, description="Event tickets: auxiliary row (1 adds a second row)."
    )
    data_detectors: list[DataDetector] | None = Field(
        None, description="Back fields only: what to make tappable ([] = nothing)."
    )

    @model_validator(mode="after")
    def _date_or_number(self) -> DesignField:
        if (self.date_style or self.time_style) and (self.number_style or self.currency_code):
            raise PydanticCustomError(
                "design_conflicting_formats",
                "a field is either a date (date_style/time_style) or a number "
                "(number_style/currency_code), not both",
            )
        return self


class DesignFields(_DesignModel):
    """Fields by area. How many each style shows is checked per style."""

    header: list[DesignField] = Field(
        default_factory=list, description="Top right; still visible when passes are stacked."
    )
    primary: list[DesignField] = Field(default_factory=list, description="The main value.")
    secondary: list[DesignField] = Field(default_factory=list)
    auxiliary: list[DesignField] = Field(default_factory=list)
    back: list[DesignField] = Field(
        default_factory=list, description="Details behind the pass; unlimited."
    )

    def all(self) -> Iterator[tuple[FieldList, int, DesignField]]:
        """(area, index, field) of every field, front to back."""
        for area, attribute in _AREA_NAMES:
            for index, field in enumerate(getattr(self, attribute)):
                yield area, index, field


class DesignBarcode(_DesignModel):
    """The barcode; Apple shows the first format the device supports."""

    format: BarcodeKind = Field(examples=["qr"])
    message: NonEmptyTextTemplate = Field(
        "{{ serial_number }}", description="What the code encodes (placeholders allowed)."
    )
    alt_text: Template | None = Field(
        None, description="Text under the code.", examples=["{{ serial_number }}"]
    )
    encoding: Annotated[Line, Field(max_length=32)] = Field(
        "iso-8859-1", description="Character encoding of the message."
    )

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, encoding: str) -> str:
        try:
            codecs.lookup(encoding)
        except LookupError as exc:
            raise PydanticCustomError(
                "invalid_encoding", "unknown encoding {encoding}", {"encoding": repr(encoding)}
            ) from exc
        return encoding


class DesignLocation(_DesignModel):
    """A place where the pass shows on the lock screen."""

    latitude: StrictFloat = Field(ge=-90, le=90, examples=[48.8566])
    longitude: StrictFloat = Field(ge=-180, le=180, examples=[2.3522])
    altitude: Annotated[StrictFloat, Field(allow_inf_nan=False)] | None = Field(
        None, description="Metres."
    )
    relevant_text: Template | None = Field(None, examples=["Your coffee is waiting"])


class DesignBeacon(_DesignModel):
    """An iBeacon near which the pass shows on the lock screen (Apple only)."""

    proximity_uuid: str = Field(
        pattern=r"^[0-9A-Fa-f]{8}-(?:[0-9A-Fa-f]{4}-){3}[0-9A-Fa-f]{12}$",
        examples=["E2C56DB5-DFFB-48D2-B060-D0F5A71096E0"],
    )
    major: Annotated[StrictInt, Field(ge=0, le=65535)] | None = None
    minor: Annotated[StrictInt, Field(ge=0, le=65535)] | None = None
    relevant_text: Template | None = None


_LINK_SCHEMES = ("https://", "http://", "mailto:", "tel:")


def _check_link_url(url: str) -> str:
    if not url.lower().startswith(_LINK_SCHEMES):
        raise PydanticCustomError(
            "invalid_link_url",
            "a link must start with https://, http://, mailto: or tel: (placeholders may "
            "follow; their values are percent-encoded)",
        )
    return url


class DesignLink(_DesignModel):
    """A link on the back of the pass (Google: the links module)."""

    label: NonEmptyTemplate = Field(examples=["Terms and conditions"])
    url: Annotated[NonEmptyTemplate, AfterValidator(_check_link_url)] = Field(
        description=(
            "Starts with https://, http://, mailto: or tel:. Placeholder values are "
            "percent-encoded, so data can never change the scheme or host."
        ),
        examples=["https://cafe.example/terms", "https://cafe.example/cards/{{ pass_id }}"],
    )
    key: FieldKey | None = Field(None, description="Field key; default link_1, link_2 ...")


MAX_SURVEY_QUESTION: Final = 500
MAX_SURVEY_ANSWER: Final = 200


class DesignSurvey(_DesignModel):
    """A question on the back of the pass with an answer button per answer: each is a link
    to this server (``/p/<the pass's link>/answers/<n>``) that records the pass's answer
    (Google: one entry of the links module per answer)."""

    question: Annotated[NonEmptyTemplate, Field(max_length=MAX_SURVEY_QUESTION)] = Field(
        examples=["How was your visit?"]
    )
    answers: list[Annotated[NonEmptyTemplate, Field(max_length=MAX_SURVEY_ANSWER)]] = Field(
        min_length=2, max_length=5, examples=[["Great", "OK", "Not good"]]
    )
    key: FieldKey | None = Field(
        None,
        description=(
            "Field key; default survey. Answers are counted by their number under this key: "
            "a survey that asks something else takes another key."
        ),
    )


_POINTS = {"key": "points", "label": "POINTS", "value": "{{ points }}", "number_style": "decimal"}
_EXAMPLE: dict[str, Any] = {
    "organization_name": "Café Lumen",
    "description": "Café Lumen loyalty card",
    "colors": {"background": "#1d3557", "foreground": "#ffffff", "label": "#a8dadc"},
    "images": {"icon": "ast_icon", "logo": "ast_logo", "strip": "ast_strip"},
    "fields": {
        "header": [{"key": "tier", "label": "TIER", "value": '{{ tier | default: "Bronze" }}'}],
        "primary": [{**_POINTS, "change_message": "You now have %@ points"}],
        "secondary": [{"key": "name", "label": "MEMBER", "value": "{{ customer.first_name }}"}],
    },
    "barcode": {"format": "qr", "message": "{{ serial_number }}"},
    "links": [{"label": "Terms", "url": "https://cafe.example/terms"}],
    "localizations": {"fr": {"MEMBER": "MEMBRE", "TIER": "NIVEAU"}},
}


class TemplateDesign(_DesignModel):
    """How every pass of a template looks: texts, colours, images, fields, barcode, relevance.

    Platform-neutral: Apple Wallet and Google Wallet passes are both rendered from it.
    """

    model_config = ConfigDict(json_schema_extra={"examples": [_EXAMPLE]})

    organization_name: NonEmptyTemplate = Field(
        description="Who issues the pass; shown on the lock screen.", examples=["Café Lumen"]
    )
    description: NonEmptyTextTemplate = Field(
        description="What the pass is (read by VoiceOver).", examples=["Loyalty card"]
    )
    logo_text: Template | None = Field(None, description="Text next to the logo.")
    colors: DesignColors = Field(default_factory=DesignColors)
    gift_card: bool = Field(
        False,
        description="A storeCard used as a gift card: taller strip (375×144), Google giftCard.",
    )
    transit_type: TransitTypeName | None = Field(
        None, description="Required on boardingPass templates; only allowed there."
    )
    images: DesignImages
    localized_images: dict[LanguageTag, dict[ImageName, AssetId]] = Field(
        default_factory=dict,
        description="Per language, images that replace the default ones.",
        examples=[{"ar": {"logo": "ast_logo_ar"}}],
    )
    fields: DesignFields = Field(default_factory=DesignFields)
    barcode: DesignBarcode | None = None
    locations: list[DesignLocation] = Field(default_factory=list, max_length=10)
    max_distance: StrictInt | Annotated[StrictFloat, Field(allow_inf_nan=False)] | None = Field(
        None, gt=0, description="Metres from a location within which the pass is relevant."
    )
    beacons: list[DesignBeacon] = Field(default_factory=list, max_length=10)
    links: list[DesignLink] = Field(
        default_factory=list, max_length=20, description="Links on the back."
    )
    survey: DesignSurvey | None = Field(
        None, description="A question with 2 to 5 answer buttons on the back of the pass."
    )
    localizations: dict[LanguageTag, dict[Annotated[Multiline, Field(min_length=1)], Multiline]] = (
        Field(
            default_factory=dict,
            description=(
                "Per language tag, translations keyed by the exact text used in the design "
                "(a label such as 'POINTS', a static value, a change message, a link label)."
            ),
            examples=[{"fr": {"POINTS": "POINTS"}, "ar": {"POINTS": "النقاط"}}],
        )
    )
    expiration_date: Template | None = Field(
        None,
        description="ISO-8601 date-time after which the pass is shown as expired.",
        examples=["{{ expires_at }}", "2026-12-31T23:59:00+01:00"],
    )
    relevant_date: Template | None = Field(
        None,
        description="ISO-8601 date-time when the pass is relevant (e.g. the event start).",
        examples=["{{ event.starts_at }}"],
    )
    sharing_prohibited: bool | None = Field(None, description="Hide the share button.")
    grouping_identifier: Template | None = Field(
        None, description="Groups event tickets or boarding passes of one event or trip."
    )
    semantics: DesignJson | None = Field(
        None,
        description=(
            "Apple semantic tags (camelCase, passed through); placeholders in strings "
            "render as text."
        ),
        examples=[{"eventName": "Night of Strings", "venueName": "Salle Pleyel"}],
    )
    user_info: DesignJson | None = Field(
        None, description="Hidden JSON for apps; placeholders in strings render as text."
    )

    def texts(self) -> Iterator[DesignText]:
        """Every text of the design that may hold placeholders, with its path.

        The paths are those :func:`design_path` gives (``fields.primary[0].label``), written
        out directly: every key here is an identifier."""
        yield DesignText("organization_name", self.organization_name, "text", True)
        yield DesignText("description", self.description, "text", True)
        if self.logo_text is not None:
            yield DesignText("logo_text", self.logo_text, "text", True)
        fields = self.fields
        for area in _AREAS:
            for index, field in enumerate(getattr(fields, area)):
                path = f"fields.{area}[{index}]"
                if field.label is not None:
                    yield DesignText(f"{path}.label", field.label, "text", True)
                value = field.value
                if isinstance(value, str):
                    kind: TextKind = "text"
                    if field.date_style is not None or field.time_style is not None:
                        kind = "date"
                    elif field.number_style is not None or field.currency_code is not None:
                        kind = "number"
                    yield DesignText(f"{path}.value", value, kind, kind == "text")
                if field.change_message is not None:
                    yield DesignText(f"{path}.change_message", field.change_message, "text", True)
        if self.barcode is not None:
            yield DesignText("barcode.message", self.barcode.message, "text", False)
            if self.barcode.alt_text is not None:
                yield DesignText("barcode.alt_text", self.barcode.alt_text, "text", True)
        for index, link in enumerate(self.links):
            yield DesignText(f"links[{index}].label", link.label, "text", True)
            yield DesignText(f"links[{index}].url", link.url, "text", False)
        if self.survey is not None:
            yield DesignText("survey.question", self.survey.question, "text", True)
            for index, answer in enumerate(self.survey.answers):
                yield DesignText(f"survey.answers[{index}]", answer, "text", False)
        places: tuple[tuple[str, Sequence[DesignLocation | DesignBeacon]], ...] = (
            ("locations", self.locations),
            ("beacons", self.beacons),
        )
        for key, items in places:
            for index, place in enumerate(items):
                if place.relevant_text is not None:
                    path = f"{key}[{index}].relevant_text"
                    yield DesignText(path, place.relevant_text, "text", True)
        for name, date in (
            ("expiration_date", self.expiration_date),
            ("relevant_date", self.relevant_date),
        ):
            if date is not None:
                yield DesignText(name, date, "date", False)
        if self.grouping_identifier is not None:
            yield DesignText("grouping_identifier", self.grouping_identifier, "text", False)
        for path, leaf in placeholders.json_texts(self.semantics, "semantics"):
            kind = "date" if path.endswith(("Date", ".date")) else "text"
            yield DesignText(path, leaf, kind, False)
        for path, leaf in placeholders.json_texts(self.user_info, "user_info"):
            yield DesignText(path, leaf, "text", False)

    @field_validator("semantics", "user_info")
    @classmethod
    def _check_json_templates(
        cls, value: dict[str, JsonValue] | None, info: ValidationInfo
    ) -> dict[str, JsonValue] | None:
        for path, leaf in placeholders.json_texts(value, info.field_name or ""):
            try:
                placeholders.parse(leaf)
            except placeholders.PlaceholderError as exc:
                raise PydanticCustomError(
                    "invalid_placeholder",
                    "{path}: {reason} at position {position}",
                    {"path": path, "reason": exc.reason, "position": exc.position},
                ) from exc
        return value
