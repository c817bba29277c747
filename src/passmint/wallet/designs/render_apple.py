"""Rendering a :class:`~.schemas.TemplateDesign` to an Apple Wallet pass (spec §1–§2).

Pure: the design, the style, the pass data and the image bytes come in; a pass.json dict
and bundle files go out. No database, settings, clock or randomness.

* :func:`render_pass_json` fills the placeholders and maps the neutral vocabulary to
  Apple's (``left`` → ``PKTextAlignmentLeft``, ``#fff`` → ``rgb(255, 255, 255)`` ...).
* :func:`render_files` renders every image at @1x/@2x/@3x with the Apple engine and writes
  one ``xx.lproj/pass.strings`` per language. Every folder gets the same keys: a missing
  translation is written as the source text, which is what Wallet would show anyway.
* :func:`validate_design` renders the design with sample data and runs the engine's
  validators, reporting each problem at its path in the design (``fields.primary[0]``)
  with the pass.json path or file in the message, so a bad design is refused when the
  template is saved rather than when the first pass is issued.

Links become back fields whose ``attributedValue`` is ``<a href='…'>label</a>`` (the only
markup Wallet supports), HTML-escaped; values filled into a link URL are percent-encoded.
Semantics and userInfo are passed through with placeholders in strings rendered as text.
"""

from __future__ import annotations

import copy
import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import chain
from typing import Any

from pydantic.alias_generators import to_camel

from passmint.kit.jsonpath import child
from passmint.wallet.apple.images import ImageError, check_images, prepare_images
from passmint.wallet.apple.images import supported_images as apple_images
from passmint.wallet.apple.model import (
    LEGACY_BARCODE_FORMATS,
    BarcodeFormat,
)
from passmint.wallet.apple.problems import Problem, Severity, errors_only
from passmint.wallet.apple.strings import (
    StringsError,
    check_localizations,
    localize_bundle_files,
)
from passmint.wallet.apple.styles import PassStyle
from passmint.wallet.apple.validation import validate_pass_json
from passmint.wallet.designs import placeholders
from passmint.wallet.designs.schemas import (
    DesignBeacon,
    DesignError,
    DesignField,
    DesignLink,
    DesignLocation,
    DesignSurvey,
    DesignText,
    FieldList,
    ImageName,
    TemplateDesign,
    color_apple,
    design_path,
)
from passmint.wallet.designs.survey import SURVEY_KEY, survey_answer_url

__all__ = [
    "DesignError",
    "assert_valid_design",
    "field_keys_with_change_messages",
    "localization_tables",
    "make_sample_data",
    "placeholder_names",
    "render_files",
    "render_pass_json",
    "validate_design",
    "validate_rendered",
]

_SAMPLE_PASS_TYPE = "pass.com.example.design"  # noqa: S105 - an identifier
_SAMPLE_TEAM = "DESIGNTEAM"

_BARCODE_FORMATS = {
    "qr": BarcodeFormat.QR,
    "pdf417": BarcodeFormat.PDF417,
    "aztec": BarcodeFormat.AZTEC,
    "code128": BarcodeFormat.CODE128,
}
_LIST_KEYS = {
    FieldList.HEADER: "headerFields",
    FieldList.PRIMARY: "primaryFields",
    FieldList.SECONDARY: "secondaryFields",
    FieldList.AUXILIARY: "auxiliaryFields",
    FieldList.BACK: "backFields",
}
_COLOR_KEYS = (
    ("backgroundColor", "background"),
    ("foregroundColor", "foreground"),
    ("labelColor", "label"),
)
_TOP_LEVEL = {
    "organizationName": "organization_name",
    "description": "description",
    "logoText": "logo_text",
    **{key: f"colors.{name}" for key, name in _COLOR_KEYS},
    "maxDistance": "max_distance",
    "expirationDate": "expiration_date",
    "relevantDate": "relevant_date",
    "sharingProhibited": "sharing_prohibited",
    "groupingIdentifier": "grouping_identifier",
    "semantics": "semantics",
    "userInfo": "user_info",
}

# pass.json key → design key, below a mapped object (``None``: copy the rest of the path).
_FIELD_KEYS = {to_camel(name): name for name in DesignField.model_fields} | {
    "dataDetectorTypes": "data_detectors"
}
_LINK_KEYS = {"key": "key", "value": "url", "attributedValue": "label"}
_SURVEY_KEYS = {"key": "key", "label": "question", "value": "answers", "attributedValue": "answers"}
_BARCODE_KEYS = {"format": "format", "message": "message", "altText": "alt_text"} | {
    "messageEncoding": "encoding"
}
_PLACE_KEYS = {to_camel(name): name for name in DesignLocation.model_fields} | {
    "proximityUUID": "proximity_uuid",
    "major": "major",
    "minor": "minor",
}


@dataclass(frozen=True, slots=True)
class _Origin:
    """Where a pass.json node comes from in the design."""

    path: str
    keys: Mapping[str, str] | None = None


Origins = dict[str, _Origin]


# -- rendering pass.json --------------------------------------------------------------------

_NUMERIC = re.compile(r"[+-]?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?", re.ASCII)


def _as_number(value: str) -> str | int | float:
    """A numeric string as a number (for number_style/currency_code fields), else unchanged."""
    text = value.strip()
    if not _NUMERIC.fullmatch(text):
        return value
    if text.lstrip("+-").isdigit():
        return int(text)
    number = float(text)
    return number if number not in (float("inf"), float("-inf")) else value


def _apple_name(prefix: str, name: str) -> str:
    """``spell_out`` → ``PKNumberStyleSpellOut``: Apple spells the neutral names this way."""
    return prefix + "".join(word.capitalize() for word in name.split("_"))


def _anchor(url: str, label: str) -> str:
    return f"<a href='{html.escape(url, quote=True)}'>{html.escape(label, quote=True)}</a>"


def _field(field: DesignField, data: Mapping[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = {"key": field.key}
    if field.label is not None:
        entry["label"] = placeholders.render_text(field.label, data)
    value = placeholders.render(field.value, data) if isinstance(field.value, str) else field.value
    if isinstance(value, str) and (field.number_style or field.currency_code):
        value = _as_number(value)
    entry["value"] = value
    if field.change_message is not None:
        entry["changeMessage"] = placeholders.render_text(field.change_message, data)
    if field.text_alignment is not None:
        entry["textAlignment"] = _apple_name("PKTextAlignment", field.text_alignment)
    if field.date_style is not None:
        entry["dateStyle"] = _apple_name("PKDateStyle", field.date_style)
    if field.time_style is not None:
        entry["timeStyle"] = _apple_name("PKDateStyle", field.time_style)
    if field.is_relative is not None:
        entry["isRelative"] = field.is_relative
    if field.ignores_time_zone is not None:
        entry["ignoresTimeZone"] = field.ignores_time_zone
    if field.number_style is not None:
        entry["numberStyle"] = _apple_name("PKNumberStyle", field.number_style)
    if field.currency_code is not None:
        entry["currencyCode"] = field.currency_code
    if field.row is not None:
        entry["row"] = field.row
    if field.data_detectors is not None:
        detectors = [_apple_name("PKDataDetectorType", d) for d in field.data_detectors]
        entry["dataDetectorTypes"] = detectors
    return entry


def _link(link: DesignLink, index: int, data: Mapping[str, Any]) -> dict[str, Any]:
    url = placeholders.render_text(link.url, data, escape=placeholders.percent_encode)
    label = placeholders.render_text(link.label, data)
    return {"key": _link_key(link, index), "value": url, "attributedValue": _anchor(url, label)}


def _link_key(link: DesignLink, index: int) -> str:
    return link.key or f"link_{index + 1}"


def _survey(survey: DesignSurvey, data: Mapping[str, Any]) -> dict[str, Any]:
    """The survey as one back field: the question, then a tappable line per answer."""
    answers = [placeholders.render_text(answer, data) for answer in survey.answers]
    links = [
        _anchor(survey_answer_url(data, number), answer) for number, answer in enumerate(answers, 1)
    ]
    return {
        "key": survey.key or SURVEY_KEY,
        "label": placeholders.render_text(survey.question, data),
        "value": "\n".join(answers),
        "attributedValue": "\n".join(links),
    }


def _style_dict(design: TemplateDesign, style: PassStyle, data: Mapping[str, Any]) -> Any:
    body: dict[str, Any] = {}
    if style is PassStyle.BOARDING_PASS and design.transit_type is not None:
        body["transitType"] = design.transit_type.value
    for area, list_key in _LIST_KEYS.items():
        fields: list[DesignField] = getattr(design.fields, area.value)
        entries = [_field(field, data) for field in fields]
        if area is FieldList.BACK:
            entries += [_link(link, index, data) for index, link in enumerate(design.links)]
            if design.survey is not None:
                entries.append(_survey(design.survey, data))
        if entries:
            body[list_key] = entries
    return body


def _place(place: DesignLocation | DesignBeacon, data: Mapping[str, Any]) -> dict[str, Any]:
    item = {
        key: getattr(place, name)
        for key, name in _PLACE_KEYS.items()
        if key != "relevantText" and getattr(place, name, None) is not None
    }
    if place.relevant_text is not None:
        item["relevantText"] = placeholders.render_text(place.relevant_text, data)
    return item


def render_pass_json(
    design: TemplateDesign,
    style: PassStyle,
    data: Mapping[str, Any],
    *,
    serial_number: str,
    pass_type_identifier: str,
    team_identifier: str,
    web_service_url: str | None = None,
    authentication_token: str | None = None,
    voided: bool = False,
    expiration_date: str | datetime | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A complete pass.json for one pass, with a deterministic key order.

    ``data`` fills the placeholders; ``serial_number`` is also available as
    ``{{ serial_number }}`` (the caller puts ``pass_id`` in ``data``). ``expiration_date``
    (an ISO-8601 string or an aware datetime) overrides the design's. ``extra`` keys (e.g.
    ``nfc``, ``appLaunchURL``) are added last and win over rendered ones. The result is
    not validated here: :func:`validate_design` checks the design, and the bundle builder
    checks every pass.
    """
    style = PassStyle(style)
    data = {**data, "serial_number": serial_number}
    out: dict[str, Any] = {
        "formatVersion": 1,
        "passTypeIdentifier": pass_type_identifier,
        "serialNumber": serial_number,
        "teamIdentifier": team_identifier,
    }
    if web_service_url is not None:
        out["webServiceURL"] = web_service_url
    if authentication_token is not None:
        out["authenticationToken"] = authentication_token
    texts = {
        "organizationName": design.organization_name,
        "description": design.description,
        "logoText": design.logo_text,
    }
    out |= {k: placeholders.render_text(v, data) for k, v in texts.items() if v is not None}
    for key, name in _COLOR_KEYS:
        color: str | None = getattr(design.colors, name)
        if color is not None:
            out[key] = color_apple(color)
    out[style.value] = _style_dict(design, style, data)

    if design.barcode is not None:
        barcode = design.barcode
        barcode_format = _BARCODE_FORMATS[barcode.format]
        entry: dict[str, Any] = {
            "format": barcode_format.value,
            "message": placeholders.render_text(barcode.message, data),
            "messageEncoding": barcode.encoding,
        }
        if barcode.alt_text is not None:
            entry["altText"] = placeholders.render_text(barcode.alt_text, data)
        out["barcodes"] = [entry]
        if barcode_format in LEGACY_BARCODE_FORMATS:
            # iOS < 9 reads only the singular key, which knows only these three formats.
            out["barcode"] = dict(entry)
    if design.locations:
        out["locations"] = [_place(place, data) for place in design.locations]
    if design.beacons:
        out["beacons"] = [_place(beacon, data) for beacon in design.beacons]
    if design.max_distance is not None:
        out["maxDistance"] = design.max_distance

    if voided:
        out["voided"] = True
    if isinstance(expiration_date, datetime):
        out["expirationDate"] = expiration_date.isoformat()
    elif expiration_date is not None:
        out["expirationDate"] = expiration_date
    elif design.expiration_date is not None:
        out["expirationDate"] = placeholders.render_text(design.expiration_date, data)
    if design.relevant_date is not None:
        when = placeholders.render_text(design.relevant_date, data)
        # iOS 18 reads relevantDates; iOS 26 renamed the entry's key to "date": write both.
        out["relevantDate"] = when
        out["relevantDates"] = [{"relevantDate": when, "date": when}]
    if design.sharing_prohibited is not None:
        out["sharingProhibited"] = design.sharing_prohibited
    if design.grouping_identifier is not None:
        out["groupingIdentifier"] = placeholders.render_text(design.grouping_identifier, data)
    if design.semantics is not None:
        out["semantics"] = placeholders.render_json(design.semantics, data)
    if design.user_info is not None:
        out["userInfo"] = placeholders.render_json(design.user_info, data)
    if extra:
        out.update(copy.deepcopy(dict(extra)))
    return out


def _origins(design: TemplateDesign, style: PassStyle) -> Origins:
    """pass.json path → design origin, for every node :func:`render_pass_json` may write."""
    origins: Origins = {child("$", key): _Origin(path) for key, path in _TOP_LEVEL.items()}
    origins["$.relevantDates"] = _Origin("relevant_date", {})
    origins["$.barcodes"] = _Origin("barcode", {})
    origins["$.barcodes[0]"] = origins["$.barcode"] = _Origin("barcode", _BARCODE_KEYS)
    for key in ("locations", "beacons"):
        origins[child("$", key)] = _Origin(key, {})
        for index in range(len(getattr(design, key))):
            origins[child(child("$", key), index)] = _Origin(design_path(key, index), _PLACE_KEYS)
    style_path = child("$", style.value)
    origins[child(style_path, "transitType")] = _Origin("transit_type", {})
    for area, list_key in _LIST_KEYS.items():
        list_path = child(style_path, list_key)
        origins[list_path] = _Origin(design_path("fields", area.value), {})
        for index in range(len(getattr(design.fields, area.value))):
            field_path = design_path("fields", area.value, index)
            origins[child(list_path, index)] = _Origin(field_path, _FIELD_KEYS)
    back, first_link = child(style_path, "backFields"), len(design.fields.back)
    for index in range(len(design.links)):
        origins[child(back, first_link + index)] = _Origin(design_path("links", index), _LINK_KEYS)
    if design.survey is not None:
        survey_at = child(back, first_link + len(design.links))
        origins[survey_at] = _Origin("survey", _SURVEY_KEYS)
    return origins


# -- files ----------------------------------------------------------------------------------


def localization_tables(design: TemplateDesign) -> dict[str, dict[str, str]]:
    """``{lang: {source: translation}}`` with the same keys in every language.

    Languages with only localized images get a table too (every ``.lproj`` folder must
    define the same keys). A missing translation is the source text. Links whose label
    and URL have no placeholders also get their ``<a href>`` string translated.

    Keys are sorted: a design read back from PostgreSQL's JSONB has its keys reordered,
    and the same design must give the same files (else saving it unchanged would push
    every pass).
    """
    if not design.localizations:
        return {}
    keys = sorted({k for table in design.localizations.values() for k in table})
    languages = list(dict.fromkeys([*design.localizations, *design.localized_images]))
    # (the URL escaped, the label, the source's <a href> string), escaped once for all languages
    links = [
        (html.escape(link.url, quote=True), link.label, _anchor(link.url, link.label))
        for link in design.links
        if link.label in keys
        and not placeholders.has_placeholders(link.url)
        and not placeholders.has_placeholders(link.label)
    ]
    tables: dict[str, dict[str, str]] = {}
    for lang in languages:
        given = design.localizations.get(lang, {})
        table = {key: given.get(key, key) for key in keys}
        for url, label, anchor in links:
            if anchor not in table:  # as _anchor(url, translated label) writes it
                table[anchor] = f"<a href='{url}'>{html.escape(table[label], quote=True)}</a>"
        tables[lang] = table
    return tables


def render_files(
    design: TemplateDesign, style: PassStyle, assets: Mapping[str, bytes]
) -> dict[str, bytes]:
    """The bundle files of the design: images at every density, and ``xx.lproj/pass.strings``.

    ``assets`` maps asset ids to high-resolution PNG bytes. Raises :class:`DesignError`
    (code ``asset_not_found``) for unknown asset ids, the engine's ImageError for images
    that are not usable PNGs or too small, and StringsError for bad language folders.
    """
    style = PassStyle(style)
    sources: dict[str, bytes] = {}
    problems: list[Problem] = []
    wanted: list[tuple[str, str, str]] = [
        (f"{name.value}.png", asset, design_path("images", name.value))
        for name, asset in design.images.items()
    ]
    for lang, images in design.localized_images.items():
        for name, asset in images.items():
            wanted.append(
                (
                    f"{lang}.lproj/{name.value}.png",
                    asset,
                    design_path("localized_images", lang, name.value),
                )
            )
    for file_name, asset, path in wanted:
        if asset in assets:
            sources[file_name] = assets[asset]
        else:
            problems.append(Problem(path, "asset_not_found", f"no image asset {asset!r}"))
    if problems:
        raise DesignError(problems)
    files = prepare_images(sources, style, gift_card=design.gift_card)
    files.update(localize_bundle_files(localization_tables(design)))
    return dict(sorted(files.items()))


# -- what the design uses -------------------------------------------------------------------


def placeholder_names(design: TemplateDesign) -> set[str]:
    """Every data name the design uses, built-ins (serial_number, pass_id) included."""
    return {name for text in design.texts() for name in placeholders.names(text.template)}


def field_keys_with_change_messages(design: TemplateDesign) -> dict[str, str]:
    """Field key → change message template, for every field that has one."""
    return {
        field.key: field.change_message
        for _, _, field in design.fields.all()
        if field.change_message is not None
    }


def make_sample_data(
    design: TemplateDesign,
    overrides: Mapping[str, Any] | None = None,
    *,
    texts: Sequence[DesignText] | None = None,
) -> dict[str, Any]:
    """Plausible data for every placeholder of the design (see placeholders.sample_data).
    ``texts``: ``design.texts()``, when the caller has them."""
    found = design.texts() if texts is None else texts
    return placeholders.sample_data(((t.template, t.kind) for t in found), overrides)


# -- validation -----------------------------------------------------------------------------

_LAST_SEGMENT = re.compile(r'^(.*)(\.[A-Za-z_][A-Za-z0-9_]*|\[\d+\]|\["(?:[^"\\]|\\.)*"\])$')
_FIRST_KEY = re.compile(r"^\.([A-Za-z_][A-Za-z0-9_]*)(.*)$")
_IMAGE_FILE = re.compile(r"^(?:(?P<lang>[^/]+)\.lproj/)?(?P<name>[A-Za-z]+)(?:@[23]x)?\.png$")


def _from_json_path(json_path: str, origins: Origins) -> str | None:
    prefix, rest = json_path, ""
    while prefix not in origins:
        match = _LAST_SEGMENT.match(prefix)
        if match is None:
            return None
        prefix, rest = match[1], match[2] + rest
    origin = origins[prefix]
    if origin.keys is None:
        return origin.path + rest
    first = _FIRST_KEY.match(rest)
    if first is not None and first[1] in origin.keys:
        return f"{origin.path}.{origin.keys[first[1]]}{first[2]}"
    return origin.path


def _from_file(path: str) -> str | None:
    image = _IMAGE_FILE.match(path)
    if image is not None and image["name"] in {n.value for n in ImageName}:
        if image["lang"]:
            return design_path("localized_images", image["lang"], image["name"])
        return design_path("images", image["name"])
    folder, _, name = path.partition("/")
    if folder.endswith(".lproj") and name in ("pass.strings", ""):
        return design_path("localizations", folder.removesuffix(".lproj"))
    return None


def _to_design(problem: Problem, origins: Origins) -> Problem:
    if problem.path.startswith("$"):
        path = _from_json_path(problem.path, origins)
    else:
        path = _from_file(problem.path)
    if path is None or path == problem.path:
        return problem
    where = "pass.json " if problem.path.startswith("$") else ""
    message = f"{problem.message} (at {where}{problem.path})"
    return Problem(path, problem.code, message, problem.severity)


def _design_checks(
    design: TemplateDesign, style: PassStyle, texts: Sequence[DesignText] | None = None
) -> list[Problem]:
    """Rules clearer on the design than on the rendered pass: style, images, translations.
    ``texts``: ``design.texts()``, when the caller has them."""
    found: list[Problem] = []

    def report(path: str, code: str, message: str, *, warn: bool = False) -> None:
        found.append(Problem(path, code, message, Severity.WARNING if warn else Severity.ERROR))

    boarding = style is PassStyle.BOARDING_PASS
    if boarding and design.transit_type is None:
        report("transit_type", "transit_type_missing", "a boardingPass needs a transit_type")
    elif not boarding and design.transit_type is not None:
        report("transit_type", "transit_type_not_allowed", f"a {style} has no transit_type")
    if design.gift_card and style is not PassStyle.STORE_CARD:
        report("gift_card", "gift_card_not_allowed", f"a {style} cannot be a gift card")
    supported = apple_images(style)
    images = [("images", name.value) for name, _ in design.images.items()]
    images += [
        (design_path("localized_images", lang), name.value)
        for lang, table in design.localized_images.items()
        for name in table
    ]
    for base, name in images:
        if name not in supported:
            message = f"{style} passes do not show a {name}; they show {', '.join(supported)}"
            report(f"{base}.{name}", "image_not_supported_by_style", message)
    strip, images_set = design.images.strip, design.images
    if (
        style is PassStyle.EVENT_TICKET
        and strip
        and (images_set.background or images_set.thumbnail)
    ):
        message = "an eventTicket takes a strip or a background/thumbnail, not both"
        report("images.strip", "image_strip_with_background", message)

    localizations = design.localizations
    if not localizations:
        return found
    if texts is None:
        texts = list(design.texts())
    static: set[str] = set()  # what Wallet looks up in pass.strings (or passmint: a survey)
    messages: set[str] = set()  # change messages
    for text in texts:
        template = text.template
        if text.localizable and (
            "{{" not in template or not placeholders.has_placeholders(template)
        ):
            static.add(template)
        elif text.path.startswith("survey."):
            # translated by their templates: Google's links, the answer's thank-you page
            static.add(template)
        if text.path.endswith(".change_message"):
            messages.add(template)
    all_keys = list(dict.fromkeys(chain.from_iterable(localizations.values())))
    for lang, table in localizations.items():
        if len(table) < len(all_keys):
            absent = ", ".join(repr(key) for key in all_keys if key not in table)
            message = f"no {lang} translation of {absent}; Wallet shows the text as written"
            report(design_path("localizations", lang), "localization_missing", message, warn=True)
        if table.keys() <= static and all("%@" in table[key] for key in table.keys() & messages):
            continue  # the usual table: every key a text, every change message with its %@
        for key, translation in table.items():
            # The path is written only for a problem: most keys have none.
            if key not in static:
                message = (
                    f"{key!r} is not a text of this design: keys are the exact labels, values, "
                    "change messages and link labels (without placeholders)"
                )
                path = design_path("localizations", lang, key)
                report(path, "localization_key_unused", message, warn=True)
            if key in messages and "%@" not in translation:
                message = "a translated change message must carry %@ (the new value)"
                report(
                    design_path("localizations", lang, key), "change_message_placeholder", message
                )
    return found


def validate_rendered(
    design: TemplateDesign,
    style: PassStyle,
    pass_json: Mapping[str, Any],
    *,
    tables: Mapping[str, Mapping[str, str]] | None = None,
    texts: Sequence[DesignText] | None = None,
) -> list[Problem]:
    """The checks of :func:`validate_design` on a pass.json already rendered from
    ``design`` (a preview renders once, with its own data, and checks that): the design's
    own rules, then Apple's pass.json rules, each problem at its path in the design.
    ``tables``: :func:`localization_tables` of ``design`` and ``texts``: ``design.texts()``,
    when the caller has them."""
    style = PassStyle(style)
    problems = _design_checks(design, style, texts)
    if tables is None:
        tables = localization_tables(design)
    strings = {f"{lang}.lproj/pass.strings": table for lang, table in tables.items()}
    found = validate_pass_json(pass_json, strings=strings)
    if found:  # where each node comes from is worked out only when one has a problem
        origins = _origins(design, style)
        problems += [_to_design(p, origins) for p in found]
    return problems


def validate_design(
    design: TemplateDesign,
    style: PassStyle,
    *,
    assets: Mapping[str, bytes] | None = None,
    sample_data: Mapping[str, Any] | None = None,
) -> list[Problem]:
    """Every problem (errors and warnings) of the design for ``style``, in a stable order.

    The design is rendered with :func:`make_sample_data` (``sample_data`` merged on top)
    and checked with Apple's pass.json rules; with ``assets`` its images and localizations
    are rendered and checked too. Paths point into the design (``fields.primary[0].
    change_message``); the message names the pass.json path or bundle file it came from.
    """
    style = PassStyle(style)
    data = make_sample_data(design, sample_data)
    serial = data.get("serial_number")
    pass_json = render_pass_json(
        design,
        style,
        data,
        serial_number=serial if isinstance(serial, str) and serial else placeholders.SAMPLE_SERIAL,
        pass_type_identifier=_SAMPLE_PASS_TYPE,
        team_identifier=_SAMPLE_TEAM,
    )
    problems = validate_rendered(design, style, pass_json)
    if assets is not None:
        origins = _origins(design, style)
        try:
            files = render_files(design, style, assets)
        except (DesignError, ImageError) as exc:
            problems += [_to_design(p, origins) for p in exc.problems]
        except StringsError as exc:
            path = _from_file(exc.path) or exc.path
            problems.append(Problem(path, exc.code, exc.message))
        else:
            found = [p for p in check_images(files, style) if p.severity is Severity.WARNING]
            found += check_localizations(files, pass_json)
            problems += [_to_design(p, origins) for p in found]
    seen: set[tuple[str, str]] = set()
    unique: list[Problem] = []
    for problem in problems:
        if (problem.path, problem.code) not in seen:
            seen.add((problem.path, problem.code))
            unique.append(problem)
    return unique


def assert_valid_design(
    design: TemplateDesign,
    style: PassStyle,
    *,
    assets: Mapping[str, bytes] | None = None,
    sample_data: Mapping[str, Any] | None = None,
) -> list[Problem]:
    """Raise :class:`DesignError` with the errors of :func:`validate_design`; return warnings."""
    problems = validate_design(design, style, assets=assets, sample_data=sample_data)
    errors = errors_only(problems)
    if errors:
        raise DesignError(errors)
    return [p for p in problems if p.severity is not Severity.ERROR]
