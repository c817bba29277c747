"""A designer's preview of a design: what each wallet gets, and every problem, at its path.

:func:`render_preview` takes a design as JSON (possibly half-typed), a style, sample data
and a language, and renders it with the renderers that build real passes:

* the Apple ``pass.json`` (:func:`~.render_apple.render_pass_json`), checked by
  :func:`~.render_apple.validate_rendered` (the design's rules and Apple's pass.json rules),
  and the same pass.json with the language's ``pass.strings`` applied, which is what a
  phone set to that language shows;
* the Google Wallet class and object as the Google sync builds them
  (:mod:`passmint.wallet.google.render`), with the design checks Google's vertical needs
  and its recommended text lengths (:mod:`passmint.wallet.google.textlimits`);
* the barcode drawn as a real symbol (:mod:`.barcodes`) from the rendered message;
* the image URLs for the language, each image checked against its slot from its stored
  size (no decoding: :func:`~passmint.wallet.apple.images.needed_source`);
* the placeholders no known source fills (as :func:`~.usage.check_design` warns when a
  template is saved, but with the sample data's names counting as filled too, and a
  bounded number of misspellings looked for: :func:`_placeholder_problems`).

Every problem carries a JSON Pointer into the *design* (``/fields/primary/0/value``,
``/colors/background``; ``""`` for the design as a whole) so an editor can show it beside
the control it comes from, and the ``source`` that found it. A design the schema refuses
is still rendered as far as it goes (:mod:`.salvage`); its schema problems are all there.

A preview runs on every keystroke, so each piece of work is done once: one walk of the
design's texts serves the sample data, the translation rules and the placeholders, Google's
design checks run once (:func:`~passmint.wallet.google.render.render_class` is given them),
and a problem's path is written only when the problem is found.

No credentials are needed: the identities are clearly fake ones (:data:`PREVIEW_PASS_TYPE`,
:data:`PREVIEW_TEAM`, :data:`PREVIEW_ISSUER`). Pure: the assets, ``now`` and the URLs come in.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Final, Literal

from babel import Locale, UnknownLocaleError

from passmint.wallet.apple.images import IMAGE_SPECS, needed_source
from passmint.wallet.apple.images import supported_images as apple_images
from passmint.wallet.apple.problems import Problem, Severity
from passmint.wallet.apple.styles import PassStyle
from passmint.wallet.apple.validation import localizable_strings
from passmint.wallet.designs import placeholders, usage
from passmint.wallet.designs.barcodes import BarcodeError, draw
from passmint.wallet.designs.render_apple import (
    localization_tables,
    make_sample_data,
    render_pass_json,
    validate_rendered,
)
from passmint.wallet.designs.salvage import MISSING_ASSET, salvage, under
from passmint.wallet.designs.schemas import (
    BarcodeKind,
    DesignError,
    DesignText,
    TemplateDesign,
    child_path,
    design_path,
)
from passmint.wallet.google.render import (
    render_class,
    render_object,
    validate_design_for_google,
)
from passmint.wallet.google.textlimits import check_lengths
from passmint.wallet.google.verticals import vertical_for

__all__ = [
    "PREVIEW_ISSUER",
    "PREVIEW_PASS_TYPE",
    "PREVIEW_TEAM",
    "BarcodePreview",
    "Preview",
    "PreviewAsset",
    "PreviewProblem",
    "ProblemSource",
    "pointer",
    "render_preview",
    "text_direction",
]

PREVIEW_PASS_TYPE: Final = "pass.invalid.passmint.preview"  # noqa: S105 - an identifier
PREVIEW_TEAM: Final = "PREVIEW000"
PREVIEW_ISSUER: Final = "0000000000000000000"
PREVIEW_AUTH_TOKEN: Final = "preview-token-not-for-devices"  # noqa: S105 - not a secret
PREVIEW_GOOGLE_IMAGES: Final = "https://images.preview.invalid/i"
"""Stands for the image URLs Google would fetch when this server's are not https."""

_WEB_SERVICE_KEYS: Final = ("webServiceURL", "authenticationToken")
MAX_TRANSLATION_CELLS: Final = 200_000
"""Languages × translated texts a preview renders (40 languages of 5,000 texts): every
language's table holds every text, so beyond this the design is refused its translations."""
MAX_INTEGER: Final = 2**53
MAX_LANGUAGES: Final = 100
MAX_FIELDS: Final = 1000
"""Fields of a design a preview renders (a pass's back holds any number; a thousand is
already no pass anyone reads)."""
MAX_PROBLEMS: Final = 500
"""Problems a preview lists; beyond, one ``more_problems`` says how many were left out."""
MAX_POOL: Final = 300
"""Sample-data names a misspelt placeholder is compared with."""
MAX_SUGGESTED: Final = 50
"""Unknown placeholders per preview that are compared with the names known."""
MAX_NAME_LENGTH: Final = 128


class ProblemSource(StrEnum):
    """What found a problem."""

    DESIGN = "design"  # the design schema
    APPLE = "apple"  # the design's rules and Apple's pass.json rules
    GOOGLE = "google"  # what Google Wallet's vertical needs, its text lengths
    IMAGES = "images"  # the images' assets and sizes
    BARCODE = "barcode"  # drawing the barcode
    PLACEHOLDERS = "placeholders"  # names no source fills
    PREVIEW = "preview"  # the preview request itself (a language the design lacks)


@dataclass(frozen=True, slots=True)
class PreviewProblem:
    """One problem: ``path`` is a JSON Pointer into the design (``""``: the whole design)."""

    path: str
    code: str
    message: str
    severity: Severity
    source: ProblemSource

    def as_dict(self) -> dict[str, str]:
        return {
            "path": self.path,
            "code": self.code,
            "message": self.message,
            "severity": self.severity.value,
            "source": self.source.value,
        }


@dataclass(frozen=True, slots=True)
class PreviewAsset:
    """An uploaded image the design may name: the URL a browser loads it from, the https URL
    Google Wallet would fetch (None when this server's public URL is not https), and its
    pixel size when known."""

    url: str
    google_url: str | None
    width: int | None = None
    height: int | None = None


@dataclass(frozen=True, slots=True)
class BarcodePreview:
    """The pass's barcode as rendered, and drawn (``svg`` None when it cannot be: see the
    problems at ``/barcode/message``)."""

    format: BarcodeKind
    message: str
    encoding: str
    alt_text: str | None
    svg: str | None
    width: int | None
    height: int | None


@dataclass(frozen=True, slots=True)
class Preview:
    """What a design renders to; ``None`` where nothing could be rendered."""

    style: PassStyle
    language: str | None
    """The language shown; None: the design's own texts."""
    direction: Literal["ltr", "rtl"]
    languages: tuple[str, ...]
    """The design's languages (its localizations and localized images)."""
    pass_json: dict[str, Any] | None
    """The pass.json the phone gets (with fake identities)."""
    localized_pass_json: dict[str, Any] | None
    """``pass_json`` with the language's pass.strings applied: what the phone shows."""
    strings: dict[str, str] | None
    """The language's pass.strings table (source text → translation)."""
    google_vertical: str | None
    google_class: dict[str, Any] | None
    google_object: dict[str, Any] | None
    barcode: BarcodePreview | None
    images: dict[str, str]
    """Image name → URL for this language (names whose asset is unknown are left out)."""
    sample_data: dict[str, Any]
    """The data the placeholders were filled from: the sample data over generated values."""
    problems: tuple[PreviewProblem, ...] = field(default=())

    @property
    def valid(self) -> bool:
        """No error: the design can be saved (warnings do not stop it)."""
        return all(p.severity is not Severity.ERROR for p in self.problems)

    @property
    def barcode_svg(self) -> str | None:
        """The barcode's symbol, when it could be drawn."""
        return self.barcode.svg if self.barcode is not None else None

    def as_dict(self) -> dict[str, Any]:
        """The preview as JSON (the body of ``POST /api/v1/previews``)."""
        barcode = self.barcode
        return {
            "valid": self.valid,
            "style": self.style.value,
            "language": self.language,
            "direction": self.direction,
            "languages": list(self.languages),
            "pass_json": self.pass_json,
            "localized_pass_json": self.localized_pass_json,
            "strings": self.strings,
            "google_vertical": self.google_vertical,
            "google_class": self.google_class,
            "google_object": self.google_object,
            "barcode": None
            if barcode is None
            else {
                "format": barcode.format,
                "message": barcode.message,
                "encoding": barcode.encoding,
                "alt_text": barcode.alt_text,
                "svg": barcode.svg,
                "width": barcode.width,
                "height": barcode.height,
            },
            "images": self.images,
            "sample_data": self.sample_data,
            "problems": [problem.as_dict() for problem in self.problems],
        }


# -- paths ------------------------------------------------------------------------------

_SEGMENT = re.compile(
    r'\.?(?P<name>[A-Za-z_][A-Za-z0-9_]*)|\[(?P<index>\d+)\]|\[(?P<key>"(?:[^"\\]|\\.)*")\]'
)


def _segments(path: str) -> list[str] | None:
    parts: list[str] = []
    position = 0
    while position < len(path):
        match = _SEGMENT.match(path, position)
        if match is None or (position == 0 and path.startswith(".")):
            return None
        if match["name"] is not None:
            parts.append(match["name"])
        elif match["index"] is not None:
            parts.append(match["index"])
        else:
            parts.append(str(json.loads(match["key"])))
        position = match.end()
    return parts


def pointer(path: str) -> str:
    """A design path (``fields.primary[0].value``, ``localizations["pt-BR"]``) as a JSON
    Pointer (``/fields/primary/0/value``). Paths that are not into the design (``$`` or a
    pass.json path the renderer could not trace back, a bundle file) give ``""``."""
    if not path or path.startswith("$"):
        return ""
    parts = _segments(path)
    if parts is None:
        return ""
    return "".join("/" + part.replace("~", "~0").replace("/", "~1") for part in parts)


def text_direction(language: str | None, text: str = "") -> Literal["ltr", "rtl"]:
    """How the language is written (Babel's locale data); without a language, the direction
    of the first strongly directed character of ``text`` (the design's own texts may be
    Arabic); left to right when neither tells."""
    if language:
        try:
            locale = Locale.parse(language, sep="-")
        except (UnknownLocaleError, ValueError):
            return "ltr"
        return "rtl" if locale.character_order == "right-to-left" else "ltr"
    for character in text:
        kind = unicodedata.bidirectional(character)
        if kind in ("R", "AL"):
            return "rtl"
        if kind == "L":
            return "ltr"
    return "ltr"


# -- the preview --------------------------------------------------------------------------


@dataclass(slots=True)
class _Found:
    """Problems as they are found: design paths, then made pointers at the end."""

    replaced: tuple[str, ...]
    items: list[tuple[Problem, ProblemSource]] = field(default_factory=list)

    def add(self, problems: Iterable[Problem], source: ProblemSource) -> None:
        for problem in problems:
            if source is ProblemSource.DESIGN or not under(problem.path, self.replaced):
                self.items.append((problem, source))

    def result(self) -> tuple[PreviewProblem, ...]:
        """Errors first, then warnings, each in the order found; at most MAX_PROBLEMS."""
        seen: set[tuple[str, str, str]] = set()
        out: list[PreviewProblem] = []
        left, left_errors = 0, False
        ordered = sorted(self.items, key=lambda item: item[0].severity is not Severity.ERROR)
        for problem, source in ordered:
            if len(out) == MAX_PROBLEMS:
                left += 1
                left_errors = left_errors or problem.severity is Severity.ERROR
                continue
            path = pointer(problem.path)
            # The renderers repeat each other (Apple's and Google's checks of one rule):
            # one problem per path and code, but one per placeholder.
            key = (
                path,
                problem.code,
                problem.message if source is ProblemSource.PLACEHOLDERS else "",
            )
            if key in seen:
                continue
            seen.add(key)
            message = problem.message
            if not path and problem.path not in ("", "$"):
                message = f"{message} (at {problem.path})"
            out.append(PreviewProblem(path, problem.code, message, problem.severity, source))
        if left:
            message = f"{left} more problems are not listed: fix these first"
            severity = Severity.ERROR if left_errors else Severity.WARNING
            out.append(
                PreviewProblem("", "more_problems", message, severity, ProblemSource.PREVIEW)
            )
        return tuple(out)


def render_preview(
    design: Mapping[str, Any],
    style: PassStyle,
    *,
    now: datetime,
    sample_data: Mapping[str, Any] | None = None,
    language: str | None = None,
    assets: Mapping[str, PreviewAsset] | None = None,
    providers: Sequence[usage.Provider] = (),
    later: frozenset[str] = frozenset(),
    web_service_url: str | None = None,
    google_callback_url: str | None = None,
) -> Preview:
    """The preview of ``design`` (raw JSON) for ``style``; see the module docstring.

    ``assets`` maps the asset ids the design may name to what is known of them (an id
    that is not there is not an uploaded image of this tenant). ``providers`` are those
    that write the pass data (loyalty programs) and ``later`` the names the service fills
    after issue (a message): neither warns. ``now`` (aware) dates the Google object.
    """
    style = PassStyle(style)
    design, oversized = _bounded(design)
    salvaged = salvage(design)
    found = _Found(salvaged.replaced)
    found.add(oversized, ProblemSource.DESIGN)
    found.add(salvaged.problems, ProblemSource.DESIGN)
    sample_problems: list[Problem] = []
    sample = dict(_finite(sample_data or {}, "", sample_problems))
    if sample_problems:
        where = ", ".join(p.path for p in sample_problems[:5])
        message = f"sample values beyond ±{MAX_INTEGER:,} are shown as 0 ({where})"
        found.add(
            [Problem("", "sample_number_too_large", message, Severity.WARNING)],
            ProblemSource.PREVIEW,
        )
    parsed = salvaged.design
    if parsed is None:
        return Preview(
            style=style,
            language=None,
            direction="ltr",
            languages=(),
            pass_json=None,
            localized_pass_json=None,
            strings=None,
            google_vertical=None,
            google_class=None,
            google_object=None,
            barcode=None,
            images={},
            sample_data=sample,
            problems=found.result(),
        )
    languages = tuple(dict.fromkeys([*parsed.localizations, *parsed.localized_images]))
    if language is not None and language not in languages:
        listing = ", ".join(languages) or "none"
        message = f"the design has no {language!r} texts (its languages: {listing})"
        unknown = Problem("localizations", "preview_language_unknown", message, Severity.WARNING)
        found.add([unknown], ProblemSource.PREVIEW)
        language = None
    # Every check that reads the design's texts reads this one walk of them.
    texts = list(parsed.texts())
    data = make_sample_data(parsed, sample, texts=texts)
    serial = data.get("serial_number")
    serial = serial if isinstance(serial, str) and serial else placeholders.SAMPLE_SERIAL
    data["serial_number"] = serial

    pass_json = render_pass_json(
        parsed,
        style,
        data,
        serial_number=serial,
        pass_type_identifier=PREVIEW_PASS_TYPE,
        team_identifier=PREVIEW_TEAM,
    )
    tables = localization_tables(parsed)
    # The web service is this server's, not the design's: it is checked where it is set.
    apple = validate_rendered(parsed, style, pass_json, tables=tables, texts=texts)
    found.add(apple, ProblemSource.APPLE)
    if web_service_url is not None:
        pass_json = _with_web_service(pass_json, web_service_url)
    table = tables.get(language) if language is not None else None
    localized = _localized(pass_json, table) if table else pass_json

    images = _images(parsed, style, language, assets or {}, found)
    google = _google(parsed, style, data, serial, assets or {}, now, google_callback_url, found)
    barcode = _barcode(parsed, pass_json, localized, found)
    unknown_names = _placeholder_problems(parsed, sample, providers, later, texts)
    found.add(unknown_names, ProblemSource.PLACEHOLDERS)
    vertical, google_class, google_object = google
    return Preview(
        style=style,
        language=language,
        direction=text_direction(language, f"{parsed.organization_name} {parsed.description}"),
        languages=languages,
        pass_json=pass_json,
        localized_pass_json=localized,
        strings=dict(table) if table else None,
        google_vertical=vertical,
        google_class=google_class,
        google_object=google_object,
        barcode=barcode,
        images=images,
        sample_data=data,
        problems=found.result(),
    )


def _bounded(design: Mapping[str, Any]) -> tuple[Mapping[str, Any], list[Problem]]:
    """The design cut to what a preview renders, and the problems that say what was cut:
    translations beyond :data:`MAX_LANGUAGES` or :data:`MAX_TRANSLATION_CELLS`, fields
    beyond :data:`MAX_FIELDS` (the last ones: the others keep their paths)."""
    problems: list[Problem] = []
    kept = dict(_finite(design, "", problems))
    tables = design.get("localizations")
    images = design.get("localized_images")
    languages = len(tables) if isinstance(tables, (dict, Mapping)) else 0
    languages += len(images) if isinstance(images, (dict, Mapping)) else 0
    texts = 0
    if isinstance(tables, (dict, Mapping)):
        given = [table for table in tables.values() if isinstance(table, (dict, Mapping))]
        # The distinct texts are counted only when they could be too many (or are said).
        cells = languages * sum(map(len, given))
        if languages > MAX_LANGUAGES or cells > MAX_TRANSLATION_CELLS:
            texts = len({key for table in given for key in table})
    if languages > MAX_LANGUAGES or languages * texts > MAX_TRANSLATION_CELLS:
        message = (
            f"{languages} languages and {texts} translated texts are more than a pass carries "
            f"(at most {MAX_LANGUAGES} languages and {MAX_TRANSLATION_CELLS:,} translations "
            "in all): the preview leaves the translations out"
        )
        problems.append(Problem("localizations", "too_many_translations", message))
        kept.pop("localizations", None)
        kept.pop("localized_images", None)
    fields = design.get("fields")
    if isinstance(fields, (dict, Mapping)) and (
        sum(len(items) for items in fields.values() if isinstance(items, list)) > MAX_FIELDS
    ):
        room = MAX_FIELDS
        cut: dict[str, Any] = {}
        for area, items in fields.items():
            if isinstance(items, list):
                cut[area] = items[: max(room, 0)]
                room -= len(items)
            else:
                cut[area] = items
        if room < 0:
            message = (
                f"{MAX_FIELDS + (-room)} fields are more than a preview renders ({MAX_FIELDS} at "
                "most): the last ones are left out"
            )
            problems.append(Problem("fields", "too_many_fields_to_preview", message))
            kept["fields"] = cut
    return kept, problems


def _big(node: Any) -> bool:
    """Whether an integer beyond ±2^53 is anywhere in ``node`` (one walk, no recursion)."""
    stack = [node]
    pop, push = stack.pop, stack.extend
    while stack:
        item = pop()
        kind = type(item)
        if kind is str or kind is float or kind is bool or item is None:
            continue
        if kind is dict:
            push(item.values())
        elif kind is list:
            push(item)
        elif kind is int:
            if item > MAX_INTEGER or item < -MAX_INTEGER:
                return True
        elif isinstance(item, Mapping):
            push(item.values())
        elif isinstance(item, list):
            push(item)
        elif isinstance(item, int) and abs(item) > MAX_INTEGER:
            return True
    return False


def _finite(node: Any, path: str, problems: list[Problem]) -> Any:
    """``node`` with every integer beyond ±2^53 (no JSON reader keeps it exact; Python's
    float() overflows on some) replaced by 0, each reported at its path."""
    if path == "" and not _big(node):
        return node  # the usual case: nothing to copy
    if isinstance(node, Mapping):
        return {k: _finite(v, child_path(path, k), problems) for k, v in node.items()}
    if isinstance(node, list):
        return [_finite(v, child_path(path, i), problems) for i, v in enumerate(node)]
    if isinstance(node, int) and not isinstance(node, bool) and abs(node) > MAX_INTEGER:
        message = f"numbers are at most {MAX_INTEGER:,} in size"
        problems.append(Problem(path or "$", "number_too_large", message))
        return 0
    return node


def _with_web_service(pass_json: dict[str, Any], url: str) -> dict[str, Any]:
    """pass.json with the web service keys where :func:`render_pass_json` puts them."""
    out: dict[str, Any] = {}
    for key, value in pass_json.items():
        out[key] = value
        if key == "teamIdentifier":
            out.update(zip(_WEB_SERVICE_KEYS, (url, PREVIEW_AUTH_TOKEN), strict=True))
    return out


def _copy(node: Any) -> Any:
    """A copy of JSON data, its objects and arrays new (strings and numbers are immutable):
    what a JSON round trip gives, without writing and reading the text."""
    if isinstance(node, dict):
        return {key: _copy(value) for key, value in node.items()}
    if isinstance(node, list | tuple):
        return [_copy(value) for value in node]
    return node


_JSON_PATH = re.compile(r'\.([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]')


def _localized(pass_json: dict[str, Any], table: Mapping[str, str]) -> dict[str, Any]:
    """A copy of pass.json with every string Wallet looks up in pass.strings translated."""
    out: dict[str, Any] = _copy(pass_json)
    for path, text in localizable_strings(pass_json).items():
        if text not in table:
            continue
        keys: list[str | int] = []
        for match in _JSON_PATH.finditer(path, 1):
            name, index, quoted = match.groups()
            keys.append(int(index) if index is not None else name or json.loads(quoted))
        node: Any = out
        for key in keys[:-1]:
            node = node[key]
        node[keys[-1]] = table[text]
    return out


# -- images ---------------------------------------------------------------------------------


def _images(
    design: TemplateDesign,
    style: PassStyle,
    language: str | None,
    assets: Mapping[str, PreviewAsset],
    found: _Found,
) -> dict[str, str]:
    """Image name → URL for the language; problems for unknown assets and small sources."""
    # (language or None, image name, asset id); the path is written only for a problem.
    shown = {name.value: asset for name, asset in design.images.items()}
    wanted: list[tuple[str | None, str, str]] = [(None, n, a) for n, a in shown.items()]
    for lang, table in design.localized_images.items():
        wanted += [(lang, name.value, asset) for name, asset in table.items()]
    if language is not None:
        shown.update({n.value: a for n, a in design.localized_images.get(language, {}).items()})
    supported = set(apple_images(style))
    problems: list[Problem] = []
    for where, name, asset_id in wanted:
        if asset_id == MISSING_ASSET:
            continue  # the schema's problem
        asset = assets.get(asset_id)
        if asset is None:
            message = f"no uploaded image {asset_id!r}"
            problems.append(Problem(_image_path(where, name), "asset_not_found", message))
            continue
        if name not in supported or asset.width is None or asset.height is None:
            continue  # an unsupported image is the design rules' problem
        need = needed_source(name, style, (asset.width, asset.height), gift_card=design.gift_card)
        if need is not None and (asset.width < need[0] or asset.height < need[1]):
            box = IMAGE_SPECS[name].fit.value
            message = (
                f"the image is {asset.width}×{asset.height} px; a {name} on a {style} "
                f"({box} fit) needs at least {need[0]}×{need[1]} px for @3x"
            )
            problems.append(Problem(_image_path(where, name), "image_too_small", message))
    found.add(problems, ProblemSource.IMAGES)
    return {name: assets[a].url for name, a in shown.items() if a in assets}


def _image_path(language: str | None, name: str) -> str:
    if language is None:
        return design_path("images", name)
    return design_path("localized_images", language, name)


# -- Google ---------------------------------------------------------------------------------

_NOT_IN_ID = re.compile(r"[^A-Za-z0-9._-]")


def _google(
    design: TemplateDesign,
    style: PassStyle,
    data: Mapping[str, Any],
    serial: str,
    assets: Mapping[str, PreviewAsset],
    now: datetime,
    callback_url: str | None,
    found: _Found,
) -> tuple[str | None, dict[str, Any] | None, dict[str, Any] | None]:
    checked = validate_design_for_google(design, style)
    found.add(checked, ProblemSource.GOOGLE)
    urls: dict[str, str] = {}
    fake = False
    for name, asset_id in design.images.items():
        asset = assets.get(asset_id)
        if asset is None:
            continue
        if asset.google_url is None:
            fake = True
        urls[name.value] = asset.google_url or f"{PREVIEW_GOOGLE_IMAGES}/{asset_id}.png"
    if fake:
        message = (
            "Google Wallet fetches images over https, and this server's public URL is not "
            "https (PASSMINT_PUBLIC_URL): the preview stands in https URLs, but Google "
            "Wallet cannot show the images of passes issued here"
        )
        warning = Problem("images", "google_images_not_https", message, Severity.WARNING)
        found.add([warning], ProblemSource.GOOGLE)
    class_id = f"{PREVIEW_ISSUER}.pm-preview"
    suffix = _NOT_IN_ID.sub("_", serial)
    try:
        vertical = vertical_for(style, gift_card=design.gift_card, transit_type=design.transit_type)
        class_body = render_class(
            design,
            style,
            issuer_id=PREVIEW_ISSUER,
            class_id=class_id,
            image_urls=urls,
            checked=checked,  # the checks above, not run again
        )
        if callback_url is not None:
            class_body["callbackOptions"] = {"url": callback_url}
        object_body = render_object(
            design,
            style,
            data,
            issuer_id=PREVIEW_ISSUER,
            class_id=class_id,
            object_id=f"{PREVIEW_ISSUER}.pm-{suffix}",
            serial_number=serial,
            image_urls=urls,
            voided=False,
            now=now,
        )
    except DesignError as exc:
        found.add(exc.problems, ProblemSource.GOOGLE)
        return None, None, None
    except (KeyError, ValueError, ArithmeticError) as exc:  # a malformed id, a huge number
        message = f"Google Wallet cannot render this design: {exc}"
        found.add([Problem("", "google_render_failed", message)], ProblemSource.GOOGLE)
        return None, None, None
    found.add(check_lengths(design, class_body, object_body), ProblemSource.GOOGLE)
    return vertical.value, class_body, object_body


# -- barcode and placeholders ---------------------------------------------------------------


def _barcode(
    design: TemplateDesign,
    pass_json: Mapping[str, Any],
    localized: Mapping[str, Any],
    found: _Found,
) -> BarcodePreview | None:
    if design.barcode is None or not pass_json.get("barcodes"):
        return None
    entry = pass_json["barcodes"][0]
    alt = localized["barcodes"][0].get("altText")
    message, encoding = str(entry["message"]), design.barcode.encoding
    try:
        symbol = draw(design.barcode.format, message, encoding=encoding)
    except BarcodeError as exc:
        found.add([Problem("barcode.message", exc.code, exc.message)], ProblemSource.BARCODE)
        return BarcodePreview(design.barcode.format, message, encoding, alt, None, None, None)
    return BarcodePreview(
        design.barcode.format, message, encoding, alt, symbol.svg, symbol.width, symbol.height
    )


def _placeholder_problems(
    design: TemplateDesign,
    sample: Mapping[str, Any],
    providers: Sequence[usage.Provider],
    later: frozenset[str],
    texts: Sequence[DesignText],
) -> list[Problem]:
    """``placeholder_unknown`` for names neither the programs nor the sample data fill; when
    there are neither, only for near misses of the built-ins (any other name may be pass
    data), as when a template is saved. Suggestions are looked for among a bounded pool,
    for a bounded number of names: a large design or sample must not make a preview slow."""
    names = [name for name in usage.data_names(sample) if len(name) <= MAX_NAME_LENGTH]
    known = frozenset(names) | frozenset(n for provider in providers for n in provider.names)
    fixed = placeholders.BUILTIN_NAMES | later
    if all(name in fixed or name in known for name in _names_used(texts)):
        return []  # the usual case: every name is filled, no use needs listing
    labels = [provider.label for provider in providers] + (["the sample data"] if sample else [])
    pool = fixed | frozenset(n for p in providers for n in p.names) | frozenset(names[:MAX_POOL])
    problems: list[Problem] = []
    tried = 0
    for use in usage.uses(design, texts=texts):
        if use.name in fixed or use.name in known:
            continue
        if len(problems) > MAX_PROBLEMS or (not known and tried >= MAX_SUGGESTED):
            break  # more are not listed anyway
        suggestion = placeholders.suggest(use.name, pool) if tried < MAX_SUGGESTED else None
        tried += 1
        hint = f"; did you mean {{{{ {suggestion} }}}}?" if suggestion else ""
        if known:
            shows = "renders empty" if use.required else "shows its default"
            message = (
                f"{{{{ {use.name} }}}} is not filled by {' or '.join(labels)}: each pass must "
                f"bring it in its data, or it {shows}{hint}"
            )
        elif suggestion is not None:
            message = (
                f"{{{{ {use.name} }}}} is not built in, so every pass must provide it in its "
                f"data{hint}"
            )
        else:
            continue
        problems += [
            Problem(path, "placeholder_unknown", message, Severity.WARNING) for path in use.paths
        ]
    return problems


def _names_used(texts: Sequence[DesignText]) -> Iterator[str]:
    """Every placeholder name of ``texts`` (with repeats), without their paths."""
    for text in texts:
        if "{{" in text.template:
            for part in placeholders.parts(text.template):
                if isinstance(part, placeholders.Placeholder):
                    yield part.name
