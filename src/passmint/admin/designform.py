"""The designer's form and the design it stands for.

Controls are named by their path in the design, dots between parts and list positions as
numbers (``fields.primary.0.label``, ``locations.2.latitude``); a problem the renderers
report at ``/fields/primary/0/label`` belongs to the control named ``fields.primary.0.label``
(:func:`control_name`). :func:`design_from_form` rebuilds the design from what the browser
sent; what cannot be read (a latitude that is not a number, JSON that does not parse) comes
back as a problem at its path instead of a value, so the renderers' checks and these speak
through one list.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Protocol

from passmint.kit import jsondepth
from passmint.wallet.designs.schemas import FieldList

AREAS: Final = tuple(area.value for area in FieldList)
FIELD_KEYS: Final = (
    "key",
    "label",
    "value",
    "change_message",
    "text_alignment",
    "date_style",
    "time_style",
    "number_style",
    "currency_code",
    "row",
)
FIELD_FLAGS: Final = ("is_relative", "ignores_time_zone")
LOCATION_KEYS: Final = ("latitude", "longitude", "altitude", "relevant_text")
BEACON_KEYS: Final = ("proximity_uuid", "major", "minor", "relevant_text")
LINK_KEYS: Final = ("label", "url", "key")
DETECTORS: Final = ("phone_number", "link", "address", "calendar_event")
"""What Wallet can make tappable in a back field's text (all of them when none is said)."""
IMAGE_SLOTS: Final = ("icon", "logo", "strip", "background", "thumbnail", "footer")
TOP_TEXTS: Final = (
    "organization_name",
    "description",
    "logo_text",
    "transit_type",
    "expiration_date",
    "relevant_date",
    "grouping_identifier",
)
JSON_TEXTS: Final = ("semantics", "user_info")
TRANSLATED_TOP: Final = ("organization_name", "description", "logo_text")
_INDEX: Final = re.compile(r"\A(0|[1-9][0-9]{0,2})\Z")
MAX_ROWS: Final = 200


class Problem(Protocol):
    """What a problem shows: where in the design, and what (a renderer's or the form's)."""

    @property
    def path(self) -> str: ...
    @property
    def message(self) -> str: ...


@dataclass(frozen=True, slots=True)
class FormProblem:
    path: str  # a JSON pointer into the design
    message: str


def control_name(pointer: str) -> str:
    """The control a design path belongs to: ``/fields/primary/0/label`` →
    ``fields.primary.0.label``."""
    return ".".join(part.replace("~1", "/").replace("~0", "~") for part in pointer.split("/")[1:])


def control_id(name: str) -> str:
    return "f-" + re.sub(r"[^A-Za-z0-9_-]", "-", name)


def _text(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value or None


def _rows(form: Mapping[str, str], prefix: str) -> list[dict[str, str]]:
    """The rows ``prefix.<n>.<key>`` in the order of n."""
    rows: dict[int, dict[str, str]] = {}
    for name, value in form.items():
        if not name.startswith(prefix + "."):
            continue
        index, _, key = name[len(prefix) + 1 :].partition(".")
        if not _INDEX.match(index) or not key:
            continue
        position = int(index)
        if position < MAX_ROWS:
            rows.setdefault(position, {})[key] = value
    return [rows[i] for i in sorted(rows)]


def _number(
    raw: str | None, path: str, problems: list[FormProblem], *, integer: bool = False
) -> int | float | str | None:
    text = _text(raw)
    if text is None:
        return None
    try:
        return int(text) if integer else float(text.replace(",", "."))
    except ValueError:
        problems.append(FormProblem(path, f"{text!r} is not a number"))
        return text  # kept, so the form shows what was typed


def design_from_form(form: Mapping[str, str]) -> tuple[dict[str, Any], list[FormProblem]]:
    """The design the form describes, and what in it could not be read."""
    problems: list[FormProblem] = []
    design: dict[str, Any] = {}
    for name in TOP_TEXTS:
        if (value := _text(form.get(name))) is not None:
            design[name] = value
    colors = {
        part: value
        for part in ("background", "foreground", "label")
        if (value := _text(form.get(f"colors.{part}"))) is not None
    }
    if colors:
        design["colors"] = colors
    if form.get("gift_card") == "on":
        design["gift_card"] = True
    if form.get("sharing_prohibited") == "on":
        design["sharing_prohibited"] = True
    images = {slot: value for slot in IMAGE_SLOTS if (value := _text(form.get(f"images.{slot}")))}
    design["images"] = images
    localized_images = _localized_images(form)
    if localized_images:
        design["localized_images"] = localized_images
    fields: dict[str, list[dict[str, Any]]] = {}
    for area in AREAS:
        rows = []
        for index, row in enumerate(_rows(form, f"fields.{area}")):
            field: dict[str, Any] = {}
            for key in FIELD_KEYS:
                value = _text(row.get(key))
                if value is None:
                    continue
                if key == "row":
                    field[key] = _number(
                        value, f"/fields/{area}/{index}/row", problems, integer=True
                    )
                else:
                    field[key] = value
            for flag in FIELD_FLAGS:
                if row.get(flag) == "on":
                    field[flag] = True
            if field and row.get("data_detectors") == "shown":
                # the four boxes start ticked: Wallet's default is every detector
                chosen = [d for d in DETECTORS if row.get(f"detect_{d}") == "on"]
                if len(chosen) < len(DETECTORS):
                    field["data_detectors"] = chosen
            if field:
                rows.append(field)
        if rows:
            fields[area] = rows
    _name_fields(fields)
    design["fields"] = fields
    barcode_format = _text(form.get("barcode.format"))
    if barcode_format and barcode_format != "none":
        barcode: dict[str, Any] = {"format": barcode_format}
        for key in ("message", "alt_text", "encoding"):
            if (value := _text(form.get(f"barcode.{key}"))) is not None:
                barcode[key] = value
        design["barcode"] = barcode
    locations = []
    for index, row in enumerate(_rows(form, "locations")):
        if not any(_text(row.get(key)) for key in LOCATION_KEYS):
            continue
        location: dict[str, Any] = {}
        for key in ("latitude", "longitude", "altitude"):
            if (number := _number(row.get(key), f"/locations/{index}/{key}", problems)) is not None:
                location[key] = number
        if (text := _text(row.get("relevant_text"))) is not None:
            location["relevant_text"] = text
        locations.append(location)
    if locations:
        design["locations"] = locations
    max_distance = _number(form.get("max_distance"), "/max_distance", problems)
    if max_distance is not None:
        design["max_distance"] = max_distance
    beacons = []
    for index, row in enumerate(_rows(form, "beacons")):
        if not any(_text(row.get(key)) for key in BEACON_KEYS):
            continue
        beacon: dict[str, Any] = {}
        if (text := _text(row.get("proximity_uuid"))) is not None:
            beacon["proximity_uuid"] = text
        for key in ("major", "minor"):
            path = f"/beacons/{index}/{key}"
            if (number := _number(row.get(key), path, problems, integer=True)) is not None:
                beacon[key] = number
        if (text := _text(row.get("relevant_text"))) is not None:
            beacon["relevant_text"] = text
        beacons.append(beacon)
    if beacons:
        design["beacons"] = beacons
    links = [
        {key: value for key in LINK_KEYS if (value := _text(row.get(key))) is not None}
        for row in _rows(form, "links")
        if any(_text(row.get(key)) for key in LINK_KEYS)
    ]
    if links:
        design["links"] = links
    survey = _survey(form)
    if survey:
        design["survey"] = survey
    localizations = {
        lang: table
        for lang, table in _localizations(form).items()
        if table or lang not in localized_images  # a language of images alone has no table
    }
    if localizations:
        design["localizations"] = localizations
    for name in JSON_TEXTS:
        raw = _text(form.get(name))
        if raw is None:
            continue
        try:
            design[name] = jsondepth.loads(raw)  # a deep nest is refused before parsing
        except ValueError as exc:
            problems.append(FormProblem(f"/{name}", f"this is not valid JSON: {exc}"))
    return design, problems


def _name_fields(fields: dict[str, list[dict[str, Any]]]) -> None:
    """A field left without a key gets one from its label (``NEXT REWARD`` →
    ``next_reward``), unique in the design: people name fields, passes need keys."""
    taken = {f["key"] for rows in fields.values() for f in rows if isinstance(f.get("key"), str)}
    for area, rows in fields.items():
        for index, field in enumerate(rows):
            if "key" in field:
                continue
            base = re.sub(r"[^a-z0-9]+", "_", str(field.get("label", "")).lower()).strip("_")
            base = base if re.match(r"[a-z]", base) else f"{area}_{index + 1}"
            base = base[:56]
            key, n = base, 2
            while key in taken:
                key, n = f"{base}_{n}", n + 1
            taken.add(key)
            field["key"] = key


def _survey(form: Mapping[str, str]) -> dict[str, Any] | None:
    """``survey.question``, ``survey.answers.<n>.text`` and ``survey.key``; None when
    neither a question nor an answer is given."""
    question = _text(form.get("survey.question"))
    rows = _rows(form, "survey.answers")
    answers = [text for row in rows if (text := _text(row.get("text"))) is not None]
    if question is None and not answers:
        return None
    survey: dict[str, Any] = {"answers": answers}
    if question is not None:
        survey["question"] = question
    if (key := _text(form.get("survey.key"))) is not None:
        survey["key"] = key
    return survey


def _localized_images(form: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """``localized_images.<language>.<slot>``: the images a language replaces."""
    found: dict[str, dict[str, str]] = {}
    for name, value in form.items():
        if not name.startswith("localized_images."):
            continue
        language, _, slot = name[len("localized_images.") :].rpartition(".")
        if language and slot in IMAGE_SLOTS and (asset := _text(value)) is not None:
            found.setdefault(language, {})[slot] = asset
    return found


def _localizations(form: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """The translation table: ``l10n.<n>.source`` is a text of the design, and
    ``l10n.<n>.<language>`` its translation; ``languages`` lists the columns."""
    languages = [lang for lang in (form.get("languages") or "").split() if lang]
    table: dict[str, dict[str, str]] = {lang: {} for lang in languages}
    for row in _rows(form, "l10n"):
        source = row.get("source", "")
        if not source.strip():
            continue
        for lang in languages:
            if (value := _text(row.get(lang))) is not None:
                table[lang][source] = value
    return table


def translatable(design: Mapping[str, Any]) -> list[str]:
    """The texts of a design a translation table lists (what Wallet looks up in a
    language's pass.strings): the organization name, description and logo text, labels,
    values and change messages without placeholders, the barcode's text, link labels and
    lock-screen texts, in order, without repeats; plus whatever the table already
    translates."""
    seen: dict[str, None] = {}
    fields = design.get("fields") or {}
    for area in AREAS:
        for field in fields.get(area) or []:
            for key in ("label", "value", "change_message"):
                text = field.get(key)
                if isinstance(text, str) and text.strip() and "{{" not in text:
                    seen.setdefault(text, None)
    barcode = design.get("barcode") or {}
    for text in (*(design.get(key) for key in TRANSLATED_TOP), barcode.get("alt_text")):
        if isinstance(text, str) and text.strip() and "{{" not in text:
            seen.setdefault(text, None)
    for group in ("links", "locations", "beacons"):
        for item in design.get(group) or []:
            for key in ("label", "relevant_text"):
                text = item.get(key)
                if isinstance(text, str) and text.strip() and "{{" not in text:
                    seen.setdefault(text, None)
    survey = design.get("survey") or {}
    for text in [survey.get("question"), *(survey.get("answers") or [])]:
        if isinstance(text, str) and text.strip() and "{{" not in text:
            seen.setdefault(text, None)
    for table in (design.get("localizations") or {}).values():
        for source in table:
            seen.setdefault(source, None)
    return list(seen)


def languages_of(design: Mapping[str, Any]) -> list[str]:
    """The design's languages: those it translates, then those it has images for."""
    tables = design.get("localizations") or {}
    images = design.get("localized_images") or {}
    return list(dict.fromkeys([*tables, *images]))


def flat(problems: Iterable[Problem]) -> dict[str, list[str]]:
    """Messages by control name."""
    found: dict[str, list[str]] = {}
    for problem in problems:
        found.setdefault(control_name(problem.path), []).append(problem.message)
    return found
