"""Rendering a :class:`~passmint.wallet.designs.schemas.TemplateDesign` to Google Wallet JSON.

Pure (ARCHITECTURE §3): the design, the style, the pass data, ids, image URLs and ``now``
come in; a class or object dict goes out, ready for the walletobjects v1 REST API or a
save JWT (``specs/google-wallet.md`` §1–§2). No database, settings, clock or randomness.

Mapping (spec §1 and §6, pass-converter's blueprint, written afresh):

* style → vertical: :func:`passmint.wallet.google.verticals.vertical_for`.
* Fields (header, primary, secondary, auxiliary, back) → object ``textModulesData`` (id =
  field key, header = label, body = value as text); header, secondary and auxiliary
  fields are laid out on the card by the class's ``classTemplateInfo`` (at most 3 rows
  of at most 3 items, ``fieldPath: object.textModulesData['key']``). Some fields are shown
  natively instead: a loyalty card's first and second primary fields become
  ``loyaltyPoints``/``secondaryLoyaltyPoints``, a gift card's primary fields with a
  ``currency_code`` become ``balance``, a generic pass's first primary field becomes its
  ``header`` (label: ``subheader``).
* Links → object ``linksModuleData``; barcode → ``barcode`` (QR_CODE, PDF_417, AZTEC,
  CODE_128, with ``alternateText``); ``colors.background`` → ``hexBackgroundColor``
  (class, or object for event tickets and generic passes, whose class has none);
  images → ``{sourceUri: {uri}}`` from ``image_urls`` (image name → absolute https URL
  that passmint serves under ``PASSMINT_PUBLIC_URL``; Google fetches them, spec §1);
  ``locations`` → class ``merchantLocations`` (≤10; the deprecated ``locations`` is
  never written); expiry → object ``validTimeInterval.end``.
* Texts with translations in ``design.localizations`` get a ``LocalizedString`` whose
  ``translatedValues`` hold one entry per language of the design (the source text where
  a language lacks the key, as Apple's ``pass.strings`` do). The default language is
  the ``language`` argument (``en`` unless told).
* Object ``state``: ``INACTIVE`` when voided, ``EXPIRED`` once ``now`` is past the expiry,
  else ``ACTIVE`` (Google itself may take up to 24 h to expire a pass, spec §1).
* Class texts are rendered without pass data (a class is shared by every pass of the
  template version): placeholders there render as their default or empty, and
  :func:`validate_design_for_google` warns about them.

Vertical-specific data (documented sources):

* loyalty: ``programName`` = ``logo_text`` or ``description``; ``programLogo`` = logo (or
  icon). Primary field values that render to an int (int32) become ``int`` balances,
  other numbers ``double``, text ``string``; a field with ``currency_code`` whose value
  is an integer of minor units becomes ``money``.
* offer: ``provider`` = ``organization_name``, ``title`` = ``description``,
  ``redemptionChannel`` = ``INSTORE`` (a coupon shown at a till), ``titleImage`` = logo.
* giftCard: data ``card_number`` (default: the serial number) → ``cardNumber``; data
  ``pin`` → ``pin``; data ``balance`` (integer, minor units) with data ``currency`` (or
  the balance field's ``currency_code``) → ``balance`` as Money in micros, with
  ``balanceUpdateTime`` = ``now``.
* eventTicket: ``eventName`` = ``semantics.eventName`` (static) or ``description``.
* flight (Apple semantic tags, static text in the design, since the class is the flight):
  ``semantics.airlineCode`` (IATA, 2 chars), ``semantics.flightNumber`` (digits),
  ``semantics.departureAirportCode``, ``semantics.destinationAirportCode`` and
  ``semantics.originalDepartureDate`` (local time; any offset is dropped because Google
  rejects one). Object: ``passengerName`` from ``semantics.passengerName`` (text or
  ``{givenName, familyName}``, placeholders allowed) or data ``passenger_name``;
  ``reservationInfo.confirmationCode`` from ``semantics.confirmationNumber``.
* transit: ``transitType`` from ``transit_type`` (bus→BUS, train→RAIL, boat→FERRY,
  generic→OTHER); ``logo`` = logo (or icon); object ``tripType`` = ``ONE_WAY``;
  ``passengerNames`` as for flights when available.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from passmint.wallet.apple.problems import Problem, Severity
from passmint.wallet.apple.styles import PassStyle, TransitType
from passmint.wallet.designs import placeholders
from passmint.wallet.designs.schemas import (
    DesignError,
    DesignField,
    FieldList,
    TemplateDesign,
    color_hex,
    design_path,
)
from passmint.wallet.designs.survey import SURVEY_KEY, survey_answer_url
from passmint.wallet.google.verticals import Vertical, vertical_for

__all__ = [
    "MAX_LOCATIONS",
    "MAX_TEXT_MODULES",
    "money",
    "object_state",
    "render_class",
    "render_object",
    "validate_design_for_google",
]

MAX_LOCATIONS: Final = 10
"""merchantLocations per class or object (spec §1)."""
MAX_TEXT_MODULES: Final = 10
"""textModulesData Google shows from an object (spec §1)."""
MAX_CARD_ROWS: Final = 3
MAX_ROW_ITEMS: Final = 3

_ID_SUFFIX = re.compile(r"[A-Za-z0-9._-]+", re.ASCII)
_ISSUER = re.compile(r"[0-9]+", re.ASCII)
_BARCODE_TYPES: Final = {
    "qr": "QR_CODE",
    "pdf417": "PDF_417",
    "aztec": "AZTEC",
    "code128": "CODE_128",
}
# Barcode formats per vertical; IATA BCBP boarding passes are 2-D codes, so a CODE_128
# flight pass is flagged (as a warning: Google itself accepts the type).
_FLIGHT_BARCODES: Final = frozenset({"qr", "pdf417", "aztec"})
_TRANSIT_TYPES: Final = {
    TransitType.BUS: "BUS",
    TransitType.TRAIN: "RAIL",
    TransitType.BOAT: "FERRY",
    TransitType.GENERIC: "OTHER",
}
# ISO 4217 minor-unit exponents that differ from 2.
_ZERO_DECIMALS = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"
_THREE_DECIMALS = "BHD IQD JOD KWD LYD OMR TND"
_EXPONENTS: Final = {
    **dict.fromkeys(_ZERO_DECIMALS.split(), 0),
    **dict.fromkeys(_THREE_DECIMALS.split(), 3),
    **dict.fromkeys(("CLF", "UYW"), 4),
}
_CURRENCY = re.compile(r"[A-Z]{3}", re.ASCII)
_FLIGHT_SEMANTICS: Final = (
    "airlineCode",
    "flightNumber",
    "departureAirportCode",
    "destinationAirportCode",
    "originalDepartureDate",
)
_INT32 = (-(2**31), 2**31 - 1)
_AREAS: Final = tuple(area.value for area in FieldList)
_ROW_AREAS: Final = (FieldList.HEADER.value, FieldList.SECONDARY.value, FieldList.AUXILIARY.value)
"""The areas a Google card lays out as rows."""


# -- helpers --------------------------------------------------------------------------------


def money(minor_units: int, currency: str) -> dict[str, str]:
    """Google ``Money`` for an amount in ISO 4217 minor units: micros = units × 10^(6-exp).

    ``micros`` is int64, which Google's JSON carries as a string (spec §1 "Gift card");
    e.g. 2550 EUR cents → ``"25500000"``, 500 JPY → ``"500000000"``.
    """
    if isinstance(minor_units, bool) or not isinstance(minor_units, int):
        raise TypeError("an amount is an integer of minor units")
    if not _CURRENCY.fullmatch(currency):
        raise ValueError(f"{currency!r} is not an ISO 4217 currency code")
    exponent = _EXPONENTS.get(currency, 2)
    return {"currencyCode": currency, "micros": str(minor_units * 10 ** (6 - exponent))}


def object_state(*, voided: bool, now: datetime, expires_at: datetime | None) -> str:
    """``INACTIVE`` if voided, ``EXPIRED`` once ``now`` is past ``expires_at``, else ``ACTIVE``."""
    if voided:
        return "INACTIVE"
    if expires_at is not None and expires_at.tzinfo is not None and now > expires_at:
        return "EXPIRED"
    return "ACTIVE"


def _check_id(value: str, issuer_id: str, what: str) -> None:
    prefix, dot, suffix = value.partition(".")
    if not (_ISSUER.fullmatch(issuer_id) and prefix == issuer_id and dot):
        raise ValueError(f"{what} {value!r} must be '<issuer_id>.<suffix>'")
    if not _ID_SUFFIX.fullmatch(suffix):
        raise ValueError(f"{what} {value!r}: the suffix takes letters, digits, '.', '_', '-'")


@dataclass(slots=True)
class _Context:
    design: TemplateDesign
    data: Mapping[str, Any]
    language: str
    image_urls: Mapping[str, str]
    problems: list[Problem] = field(default_factory=list)
    issuer: str | None = None
    """The organization name rendered, once asked for (each image describes itself by it)."""

    def text(self, template: str) -> str:
        return placeholders.render_text(template, self.data)

    def issuer_text(self) -> str:
        if self.issuer is None:
            self.issuer = self.text(self.design.organization_name)
        return self.issuer

    def localized(self, text: str) -> dict[str, Any]:
        """A LocalizedString; translatedValues for every language when any translates it."""
        value: dict[str, Any] = {"defaultValue": {"language": self.language, "value": text}}
        tables = self.design.localizations
        if any(text in table for table in tables.values()):
            value["translatedValues"] = [
                {"language": lang, "value": table.get(text, text)}
                for lang, table in tables.items()
                if lang != self.language
            ]
        return value

    def image(self, *names: str) -> dict[str, Any] | None:
        for name in names:
            if getattr(self.design.images, name, None) is None:
                continue
            url = self.image_urls.get(name)
            if url is None:
                continue
            if not url.startswith("https://"):
                raise ValueError(f"image {name}: Google fetches images over https, not {url!r}")
            description = self.localized(self.issuer_text())
            return {"sourceUri": {"uri": url}, "contentDescription": description}
        return None

    def require_image(self, key: str, *names: str) -> dict[str, Any]:
        image = self.image(*names)
        if image is None:
            wanted = " or ".join(names)
            self.problems.append(
                Problem("images", "google_image_missing", f"{key} needs an image URL: {wanted}")
            )
            return {}
        return image


def _vertical(design: TemplateDesign, style: PassStyle) -> Vertical:
    return vertical_for(style, gift_card=design.gift_card, transit_type=design.transit_type)


def _consumed(design: TemplateDesign, vertical: Vertical) -> set[str]:
    """Keys of fields shown natively rather than as text modules."""
    primary = design.fields.primary
    if vertical is Vertical.LOYALTY:
        return {f.key for f in primary[:2]}
    if vertical is Vertical.GIFT_CARD:
        return {f.key for f in primary if f.currency_code is not None}
    if vertical is Vertical.GENERIC:
        return {f.key for f in primary[:1]}
    return set()


def _text_fields(
    design: TemplateDesign, vertical: Vertical
) -> Iterator[tuple[FieldList, int, DesignField]]:
    consumed = _consumed(design, vertical)
    for area, index, item in design.fields.all():
        if item.key not in consumed:
            yield area, index, item


def _value_text(item: DesignField, data: Mapping[str, Any]) -> str:
    value = item.value
    if isinstance(value, str):
        return placeholders.render_text(value, data)
    return str(value)


def _semantic(ctx: _Context, key: str) -> object:
    if ctx.design.semantics is None or key not in ctx.design.semantics:
        return None
    return placeholders.render_json(ctx.design.semantics[key], ctx.data)


def _semantic_text(ctx: _Context, key: str) -> str | None:
    value = _semantic(ctx, key)
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float | str):
        text = str(value).strip()
        return text or None
    return None


def _passenger_name(ctx: _Context) -> str | None:
    value = _semantic(ctx, "passengerName")
    if isinstance(value, Mapping):
        parts = [value.get("givenName"), value.get("familyName")]
        value = " ".join(str(p) for p in parts if isinstance(p, str) and p)
    if isinstance(value, str) and value.strip():
        return value.strip()
    name = placeholders.lookup(ctx.data, "passenger_name")
    return name.strip() if isinstance(name, str) and name.strip() else None


def _local_time(value: str) -> str:
    """An ISO-8601 date-time without its offset (Google rejects one on flight times)."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return value
    return parsed.replace(tzinfo=None).isoformat()


def _raise_if(problems: list[Problem]) -> None:
    errors = [p for p in problems if p.severity is Severity.ERROR]
    if errors:
        raise DesignError(errors)


# -- classes --------------------------------------------------------------------------------


def _card_rows(design: TemplateDesign, vertical: Vertical) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    consumed = _consumed(design, vertical)
    for area in _ROW_AREAS:
        fields: list[DesignField] = getattr(design.fields, area)
        keys = [f.key for f in fields if f.key not in consumed][:MAX_ROW_ITEMS]
        if not keys or len(rows) == MAX_CARD_ROWS:
            continue
        items = [
            {"firstValue": {"fields": [{"fieldPath": f"object.textModulesData['{key}']"}]}}
            for key in keys
        ]
        if len(items) == 1:
            rows.append({"oneItem": {"item": items[0]}})
        elif len(items) == 2:
            rows.append({"twoItems": {"startItem": items[0], "endItem": items[1]}})
        else:
            start, middle, end = items
            rows.append({"threeItems": {"startItem": start, "middleItem": middle, "endItem": end}})
    return rows


def render_class(
    design: TemplateDesign,
    style: PassStyle,
    *,
    issuer_id: str,
    class_id: str,
    image_urls: Mapping[str, str],
    review_status: str = "UNDER_REVIEW",
    language: str = "en",
    checked: Sequence[Problem] | None = None,
) -> dict[str, Any]:
    """The ``<vertical>Class`` body of a template version (insert, or PATCH with UNDER_REVIEW).

    ``class_id`` is ``<issuer_id>.<suffix>``; ``image_urls`` maps image names (``logo``,
    ``icon``, ``strip`` ...) to absolute https URLs. ``review_status`` is ``UNDER_REVIEW``
    (always, even when updating an approved class) or ``DRAFT`` (spec §1). Raises
    :class:`DesignError` when the design lacks what the vertical requires, ValueError for
    malformed ids or non-https image URLs. ``checked``: the problems of
    :func:`validate_design_for_google` for this design and style, when the caller has
    them (they are not looked for again).
    """
    style = PassStyle(style)
    _check_id(class_id, issuer_id, "class id")
    if review_status not in ("UNDER_REVIEW", "DRAFT"):
        raise ValueError("a class write may only set reviewStatus UNDER_REVIEW or DRAFT")
    vertical = _vertical(design, style)
    ctx = _Context(design, {}, language, image_urls)
    ctx.problems += validate_design_for_google(design, style) if checked is None else checked
    out: dict[str, Any] = {"id": class_id}
    issuer = ctx.issuer_text()
    if vertical is not Vertical.GENERIC:
        out["issuerName"] = issuer
        localized_issuer = ctx.localized(issuer)
        if "translatedValues" in localized_issuer:
            out["localizedIssuerName"] = localized_issuer
        out["reviewStatus"] = review_status
        if design.colors.background is not None:
            out["hexBackgroundColor"] = color_hex(design.colors.background)
    description = ctx.text(design.description)
    hero = ctx.image("strip", "background")
    if vertical is Vertical.LOYALTY:
        program = ctx.text(design.logo_text) if design.logo_text else description
        out["programName"] = program
        out["localizedProgramName"] = ctx.localized(program)
        out["programLogo"] = ctx.require_image("programLogo", "logo", "icon")
    elif vertical is Vertical.GIFT_CARD:
        logo = ctx.image("logo", "icon")
        if logo is not None:
            out["programLogo"] = logo
    elif vertical is Vertical.OFFER:
        out["provider"] = issuer
        out["localizedProvider"] = ctx.localized(issuer)
        out["title"] = description
        out["localizedTitle"] = ctx.localized(description)
        out["redemptionChannel"] = "INSTORE"
        logo = ctx.image("logo", "icon")
        if logo is not None:
            out["titleImage"] = logo
    elif vertical is Vertical.EVENT_TICKET:
        out["eventName"] = ctx.localized(_semantic_text(ctx, "eventName") or description)
        logo = ctx.image("logo", "icon")
        if logo is not None:
            out["logo"] = logo
    elif vertical is Vertical.FLIGHT:
        carrier: dict[str, Any] = {"carrierIataCode": _semantic_text(ctx, "airlineCode") or ""}
        logo = ctx.image("logo", "icon")
        if logo is not None:
            carrier["airlineLogo"] = logo
        out["flightHeader"] = {
            "carrier": carrier,
            "flightNumber": _semantic_text(ctx, "flightNumber") or "",
        }
        out["origin"] = {"airportIataCode": _semantic_text(ctx, "departureAirportCode") or ""}
        destination = _semantic_text(ctx, "destinationAirportCode") or ""
        out["destination"] = {"airportIataCode": destination}
        departure = _semantic_text(ctx, "originalDepartureDate") or ""
        out["localScheduledDepartureDateTime"] = _local_time(departure)
    elif vertical is Vertical.TRANSIT:
        out["transitType"] = _TRANSIT_TYPES.get(design.transit_type or TransitType.GENERIC, "OTHER")
        out["logo"] = ctx.require_image("logo", "logo", "icon")
        out["transitOperatorName"] = ctx.localized(issuer)
    if hero is not None and vertical is not Vertical.GENERIC:
        out["heroImage"] = hero
    if design.locations:
        out["merchantLocations"] = [
            {"latitude": place.latitude, "longitude": place.longitude}
            for place in design.locations[:MAX_LOCATIONS]
        ]
    rows = _card_rows(design, vertical)
    if rows:
        out["classTemplateInfo"] = {"cardTemplateOverride": {"cardRowTemplateInfos": rows}}
    _raise_if(ctx.problems)
    return out


# -- objects --------------------------------------------------------------------------------


def _points(ctx: _Context, item: DesignField) -> dict[str, Any]:
    label = ctx.text(item.label) if item.label is not None else ""
    value = placeholders.render(item.value, ctx.data) if isinstance(item.value, str) else item.value
    balance: dict[str, Any]
    if isinstance(value, int) and item.currency_code is not None:
        balance = {"money": money(value, item.currency_code)}
    elif isinstance(value, int) and _INT32[0] <= value <= _INT32[1]:
        balance = {"int": value}
    elif isinstance(value, int | float):
        balance = {"double": float(value)}
    else:
        balance = {"string": str(value)}
    out: dict[str, Any] = {"balance": balance}
    if label:
        out["label"] = label
        out["localizedLabel"] = ctx.localized(label)
    return out


def _text_modules(ctx: _Context, vertical: Vertical) -> list[dict[str, Any]]:
    modules: list[dict[str, Any]] = []
    for _, _, item in _text_fields(ctx.design, vertical):
        module: dict[str, Any] = {"id": item.key}
        body = _value_text(item, ctx.data)
        if item.label is not None:
            header = ctx.text(item.label)
            module["header"] = header
            module["localizedHeader"] = ctx.localized(header)
        module["body"] = body
        if "translatedValues" in ctx.localized(body):
            module["localizedBody"] = ctx.localized(body)
        modules.append(module)
    return modules


def _links(ctx: _Context) -> dict[str, Any] | None:
    uris: list[dict[str, Any]] = []
    for index, link in enumerate(ctx.design.links):
        url = placeholders.render_text(link.url, ctx.data, escape=placeholders.percent_encode)
        label = ctx.text(link.label)
        uris.append(
            {
                "uri": url,
                "description": label,
                "localizedDescription": ctx.localized(label),
                "id": link.key or f"link_{index + 1}",
            }
        )
    survey = ctx.design.survey
    if survey is not None:
        question = ctx.text(survey.question)
        key = survey.key or SURVEY_KEY
        for number, template in enumerate(survey.answers, 1):
            answer = ctx.text(template)
            uris.append(
                {
                    "uri": survey_answer_url(ctx.data, number),
                    "description": f"{question}: {answer}",
                    "localizedDescription": _pair(ctx, question, answer),
                    "id": f"{key}_{number}",
                }
            )
    return {"uris": uris} if uris else None


def _pair(ctx: _Context, question: str, answer: str) -> dict[str, Any]:
    """``question: answer`` as a LocalizedString, each part translated where the design's
    tables translate it."""
    value: dict[str, Any] = {
        "defaultValue": {"language": ctx.language, "value": f"{question}: {answer}"}
    }
    tables = ctx.design.localizations
    if any(question in table or answer in table for table in tables.values()):
        value["translatedValues"] = [
            {
                "language": lang,
                "value": f"{table.get(question, question)}: {table.get(answer, answer)}",
            }
            for lang, table in tables.items()
            if lang != ctx.language
        ]
    return value


def _barcode(ctx: _Context) -> dict[str, Any] | None:
    barcode = ctx.design.barcode
    if barcode is None:
        return None
    value = ctx.text(barcode.message)
    out: dict[str, Any] = {"type": _BARCODE_TYPES[barcode.format], "value": value}
    if barcode.alt_text is not None:
        out["alternateText"] = ctx.text(barcode.alt_text)
    if barcode.format == "qr" and not value.isascii():
        out["renderEncoding"] = "UTF_8"  # only supported for QR codes [disco Barcode]
    return out


def _expiry(ctx: _Context, expires_at: datetime | None) -> datetime | None:
    if expires_at is not None:
        return expires_at
    if ctx.design.expiration_date is None:
        return None
    text = ctx.text(ctx.design.expiration_date).strip()
    try:
        return datetime.fromisoformat(text) if text else None
    except ValueError:
        return None


def render_object(
    design: TemplateDesign,
    style: PassStyle,
    data: Mapping[str, Any],
    *,
    issuer_id: str,
    class_id: str,
    object_id: str,
    serial_number: str,
    image_urls: Mapping[str, str],
    voided: bool,
    now: datetime,
    expires_at: datetime | None = None,
    language: str = "en",
) -> dict[str, Any]:
    """The ``<vertical>Object`` body of one pass (insert, PUT or PATCH).

    ``data`` fills the placeholders (``serial_number`` is added); ``expires_at`` (aware)
    overrides the design's ``expiration_date``. ``now`` must be aware. Raises
    :class:`DesignError` when required data is missing (a gift card balance that is not
    an integer of minor units, a flight without a passenger name), ValueError for
    malformed ids or non-https image URLs.
    """
    style = PassStyle(style)
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    _check_id(class_id, issuer_id, "class id")
    _check_id(object_id, issuer_id, "object id")
    vertical = _vertical(design, style)
    ctx = _Context(design, {**data, "serial_number": serial_number}, language, image_urls)
    expiry = _expiry(ctx, expires_at)
    out: dict[str, Any] = {
        "id": object_id,
        "classId": class_id,
        "state": object_state(voided=voided, now=now, expires_at=expiry),
    }
    primary = design.fields.primary
    if vertical is Vertical.LOYALTY and primary:
        out["loyaltyPoints"] = _points(ctx, primary[0])
        if len(primary) > 1:
            out["secondaryLoyaltyPoints"] = _points(ctx, primary[1])
    elif vertical is Vertical.GIFT_CARD:
        _gift_card(ctx, out, serial_number, now)
    elif vertical is Vertical.GENERIC:
        issuer = ctx.text(design.organization_name)
        out["cardTitle"] = ctx.localized(issuer)
        if primary:
            header, subheader = _value_text(primary[0], ctx.data), primary[0].label
            if subheader is not None:
                out["subheader"] = ctx.localized(ctx.text(subheader))
        else:
            header = ctx.text(design.description)
        out["header"] = ctx.localized(header or ctx.text(design.description))
        logo = ctx.image("logo", "icon")
        if logo is not None:
            out["logo"] = logo
        hero = ctx.image("strip", "background")
        if hero is not None:
            out["heroImage"] = hero
    elif vertical in (Vertical.FLIGHT, Vertical.TRANSIT):
        name = _passenger_name(ctx)
        if vertical is Vertical.FLIGHT:
            if name is None:
                ctx.problems.append(
                    Problem(
                        "semantics.passengerName",
                        "google_passenger_name_missing",
                        "a flight pass needs semantics.passengerName or data passenger_name",
                    )
                )
            out["passengerName"] = name or ""
            reservation: dict[str, Any] = {}
            code = _semantic_text(ctx, "confirmationNumber")
            if code is not None:
                reservation["confirmationCode"] = code
            out["reservationInfo"] = reservation
        else:
            out["tripType"] = "ONE_WAY"
            if name is not None:
                out["passengerNames"] = name
    if design.colors.background is not None and vertical in (
        Vertical.EVENT_TICKET,
        Vertical.GENERIC,
    ):
        out["hexBackgroundColor"] = color_hex(design.colors.background)
    barcode = _barcode(ctx)
    if barcode is not None:
        out["barcode"] = barcode
    modules = _text_modules(ctx, vertical)
    if modules:
        out["textModulesData"] = modules
    links = _links(ctx)
    if links is not None:
        out["linksModuleData"] = links
    if expiry is not None:
        out["validTimeInterval"] = {"end": {"date": expiry.isoformat()}}
    _raise_if(ctx.problems)
    return out


def _gift_card(ctx: _Context, out: dict[str, Any], serial_number: str, now: datetime) -> None:
    number = placeholders.lookup(ctx.data, "card_number")
    out["cardNumber"] = str(number) if isinstance(number, str | int) and number else serial_number
    pin = placeholders.lookup(ctx.data, "pin")
    if isinstance(pin, str | int) and not isinstance(pin, bool):
        out["pin"] = str(pin)
    balance = placeholders.lookup(ctx.data, "balance")
    if balance is None or not isinstance(balance, int | float):
        return
    currency = placeholders.lookup(ctx.data, "currency")
    if not isinstance(currency, str):
        codes = [f.currency_code for _, _, f in ctx.design.fields.all() if f.currency_code]
        currency = codes[0] if codes else None
    if isinstance(balance, bool) or not isinstance(balance, int) or currency is None:
        ctx.problems.append(
            Problem(
                "fields",
                "google_balance_invalid",
                "a gift card balance is an integer of minor units with a currency code",
            )
        )
        return
    out["balance"] = money(balance, currency)
    out["balanceUpdateTime"] = {"date": now.isoformat()}


# -- design validation ----------------------------------------------------------------------


def validate_design_for_google(design: TemplateDesign, style: PassStyle) -> list[Problem]:
    """What Google Wallet cannot represent in this design, reported when a template is saved.

    Errors: more than 10 locations (``merchantLocations``, spec §1); a boardingPass
    without ``transit_type``; a flight without its static semantics (``airlineCode`` ...,
    see the module docstring). Warnings: more than 10 text modules (Google shows 10),
    more than 3 fields in an area laid out as a card row, placeholders in texts that go
    into the shared class, ``http://`` links, a CODE_128 barcode on a boarding pass.
    """
    style = PassStyle(style)
    found: list[Problem] = []

    def report(path: str, code: str, message: str, *, warn: bool = False) -> None:
        found.append(Problem(path, code, message, Severity.WARNING if warn else Severity.ERROR))

    if style is PassStyle.BOARDING_PASS and design.transit_type is None:
        report("transit_type", "transit_type_missing", "a boardingPass needs a transit_type")
        return found
    if design.gift_card and style is not PassStyle.STORE_CARD:
        report("gift_card", "gift_card_not_allowed", f"a {style} cannot be a gift card")
        return found
    vertical = _vertical(design, style)
    if len(design.locations) > MAX_LOCATIONS:
        report(
            "locations",
            "google_too_many_locations",
            f"Google Wallet takes at most {MAX_LOCATIONS} merchantLocations, "
            f"the design has {len(design.locations)}",
        )
    consumed = _consumed(design, vertical)
    first_hidden: str | None = None  # the path of the first text module Google hides
    modules = 0
    for area in _AREAS:
        for index, item in enumerate(getattr(design.fields, area)):
            if item.key not in consumed:
                if modules == MAX_TEXT_MODULES:
                    first_hidden = f"fields.{area}[{index}]"
                modules += 1
    if first_hidden is not None:
        report(
            first_hidden,
            "google_too_many_text_modules",
            f"Google Wallet shows {MAX_TEXT_MODULES} text modules per object; later fields "
            "are hidden",
            warn=True,
        )
    for area in _ROW_AREAS:
        fields: list[DesignField] = getattr(design.fields, area)
        shown = [f for f in fields if f.key not in consumed]
        if len(shown) > MAX_ROW_ITEMS:
            report(
                f"fields.{area}",
                "google_card_row_too_long",
                f"a Google card row holds {MAX_ROW_ITEMS} items; the rest show in details",
                warn=True,
            )
    class_texts = [("organization_name", design.organization_name)]
    class_texts.append(("description", design.description))
    if design.logo_text is not None:
        class_texts.append(("logo_text", design.logo_text))
    for path, template in class_texts:
        if placeholders.has_placeholders(template):
            report(
                path,
                "google_class_text_has_placeholders",
                "Google renders this text on the class, shared by every pass: "
                "placeholders there render empty",
                warn=True,
            )
    for index, link in enumerate(design.links):
        if link.url.lower().startswith("http://"):
            report(
                design_path("links", index, "url"),
                "google_link_not_https",
                "Google Wallet links should be https, mailto: or tel: (spec §1 Modules)",
                warn=True,
            )
    if vertical is Vertical.FLIGHT:
        if design.barcode is not None and design.barcode.format not in _FLIGHT_BARCODES:
            report(
                "barcode.format",
                "google_barcode_not_supported",
                "boarding passes carry IATA BCBP in a 2-D code: use qr, pdf417 or aztec",
                warn=True,
            )
        semantics = design.semantics or {}
        for key in _FLIGHT_SEMANTICS:
            value = semantics.get(key)
            text = str(value) if isinstance(value, str | int) else ""
            if not text.strip() or placeholders.has_placeholders(text):
                report(
                    design_path("semantics", key),
                    "google_flight_field_missing",
                    f"a Google flight class needs semantics.{key} as static text",
                )
        if "passengerName" not in semantics:
            report(
                "semantics.passengerName",
                "google_passenger_name_from_data",
                "without semantics.passengerName, every pass needs data passenger_name",
                warn=True,
            )
    return found
