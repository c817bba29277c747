"""Assembling signed ``.pkpass`` and ``.pkpasses`` bundles (spec §2).

``PassTemplate`` is the fast path: a pass.json and its files are validated once, the static
files are hashed and zip-encoded once, and pass.json is pre-serialized into segments around
*slots* (the serial number, the authentication token, every field value by key, the barcode
message and alt text). Building a pass fills the slots, checks only the new values, hashes
pass.json, writes the manifest, signs it and concatenates the archive.

Everything here is pure: the signing time is an argument.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from passmint.errors import PassmintError
from passmint.kit.zipwriter import ZipEntry, write_zip
from passmint.wallet.apple.images import check_images
from passmint.wallet.apple.problems import InvalidPass, Problem, errors_only
from passmint.wallet.apple.signing import ManifestSigner
from passmint.wallet.apple.strings import check_localizations, strings_tables
from passmint.wallet.apple.styles import PassStyle, style_of
from passmint.wallet.apple.validation import validate_pass_json
from passmint.wallet.apple.validation_rules import parse_iso_datetime

PKPASS_MIME = "application/vnd.apple.pkpass"
PKPASSES_MIME = "application/vnd.apple.pkpasses"
MAX_PASSES_PER_BUNDLE = 10
MAX_PASSES_BYTES = 150 * 1024 * 1024
RESERVED_NAMES = frozenset({"pass.json", "manifest.json", "signature"})
FIELD_LISTS = (
    "headerFields",
    "primaryFields",
    "secondaryFields",
    "auxiliaryFields",
    "backFields",
    "additionalInfoFields",
)
FieldValue = str | int | float
_SLOT = re.compile(r'"\\u0000slot(\d+)\\u0000"')


class BundleError(PassmintError):
    code = "invalid_bundle"
    status = 422


class UnknownSlot(BundleError):
    """A value was given for a field or key the template does not have."""

    code = "unknown_template_slot"


def manifest_json(files: Mapping[str, bytes]) -> bytes:
    """manifest.json: the SHA-1 of every file, keyed by its ``/``-separated path."""
    return _manifest({name: hashlib.sha1(data).hexdigest() for name, data in files.items()})  # noqa: S324


def _manifest(hashes: Mapping[str, str]) -> bytes:
    return json.dumps(dict(sorted(hashes.items())), separators=(",", ":")).encode()


def _is_ignored(name: str) -> bool:
    parts = name.split("/")
    return parts[0] == "__MACOSX" or parts[-1] == ".DS_Store" or name.endswith("/")


def check_files(pass_json: Mapping[str, Any], files: Mapping[str, bytes]) -> list[Problem]:
    """All content checks for a pass and its files: pass.json rules, images, localizations."""
    problems = list(validate_pass_json(pass_json, strings=strings_tables(files)))
    style = style_of(dict(pass_json))
    nfc = isinstance(pass_json.get("nfc"), dict)
    problems += check_images(files, style, nfc=nfc)
    problems += check_localizations(files, pass_json)
    return problems


@dataclass(frozen=True, slots=True)
class _Slot:
    name: str
    default: Any
    kind: str  # "text" | "date" | "number" | "value" | "token"


class PassTemplate:
    """One validated pass design from which many distinct, signed passes are built."""

    def __init__(self, pass_json: Mapping[str, Any], files: Mapping[str, bytes]) -> None:
        bad = sorted(set(files) & RESERVED_NAMES)
        if bad:
            raise BundleError(f"files may not be named {', '.join(bad)}: passmint writes them")
        self.files = {n: d for n, d in sorted(files.items()) if not _is_ignored(n)}
        problems = errors_only(check_files(pass_json, self.files))
        if problems:
            raise InvalidPass(problems)
        self.pass_json: dict[str, Any] = copy.deepcopy(dict(pass_json))
        style = style_of(self.pass_json)
        assert style is not None  # validated above
        self.style: PassStyle = style
        self.pass_type_identifier = str(self.pass_json["passTypeIdentifier"])
        self.team_identifier = str(self.pass_json["teamIdentifier"])
        self._static_hashes = {
            n: hashlib.sha1(d).hexdigest()  # noqa: S324 - Apple's manifest format
            for n, d in self.files.items()
        }
        self._static_entries = [ZipEntry.make(n, d) for n, d in self.files.items()]
        self._slots, self._segments = self._compile()
        self._slot_index = {slot.name: i for i, slot in enumerate(self._slots)}
        self._default_json = [json.dumps(slot.default, ensure_ascii=False) for slot in self._slots]

    # -- compilation -------------------------------------------------------------------------
    def _compile(self) -> tuple[list[_Slot], list[str]]:
        doc = copy.deepcopy(self.pass_json)
        slots: list[_Slot] = []
        index: dict[str, int] = {}

        def mark(name: str, default: Any, kind: str) -> str:
            if name not in index:
                index[name] = len(slots)
                slots.append(_Slot(name, default, kind))
            return f"\x00slot{index[name]}\x00"

        doc["serialNumber"] = mark("serialNumber", doc["serialNumber"], "text")
        if "authenticationToken" in doc:
            doc["authenticationToken"] = mark(
                "authenticationToken", doc["authenticationToken"], "token"
            )
        style_dict = doc[self.style.value]
        for list_name in FIELD_LISTS:
            for field in style_dict.get(list_name, []):
                kind = "value"
                if "dateStyle" in field or "timeStyle" in field:
                    kind = "date"
                elif "numberStyle" in field or "currencyCode" in field:
                    kind = "number"
                field["value"] = mark(f"field:{field['key']}", field["value"], kind)
        barcodes = [*doc.get("barcodes", [])]
        if isinstance(doc.get("barcode"), dict):
            barcodes.append(doc["barcode"])
        for barcode in barcodes:
            barcode["message"] = mark("barcode.message", barcode["message"], "text")
            if "altText" in barcode:
                barcode["altText"] = mark("barcode.altText", barcode["altText"], "text")
        text = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
        pieces = _SLOT.split(text)
        # split() alternates literal text and captured slot numbers; keep text at even
        # positions and the slot number (as a string) at odd positions.
        return slots, pieces

    # -- building ----------------------------------------------------------------------------
    def render_pass_json(
        self,
        *,
        serial_number: str | None = None,
        authentication_token: str | None = None,
        fields: Mapping[str, FieldValue] | None = None,
        barcode_message: str | None = None,
        barcode_alt_text: str | None = None,
    ) -> bytes:
        """pass.json with the given values in place of the template's."""
        values: dict[int, str] = {}
        given: list[tuple[str, Any]] = []
        if serial_number is not None:
            given.append(("serialNumber", serial_number))
        if authentication_token is not None:
            given.append(("authenticationToken", authentication_token))
        if barcode_message is not None:
            given.append(("barcode.message", barcode_message))
        if barcode_alt_text is not None:
            given.append(("barcode.altText", barcode_alt_text))
        if fields:
            given.extend((f"field:{key}", value) for key, value in fields.items())
        problems: list[Problem] = []
        for name, value in given:
            position = self._slot_index.get(name)
            if position is None:
                raise UnknownSlot(f"the template has no {name.replace('field:', 'field ')!r}")
            problem = _check_slot(self._slots[position], value)
            if problem is not None:
                problems.append(problem)
            values[position] = json.dumps(value, ensure_ascii=False)
        if problems:
            raise InvalidPass(problems)
        segments = self._segments
        defaults = self._default_json
        out = [segments[0]]
        for i in range(1, len(segments), 2):
            position = int(segments[i])
            out.append(values.get(position) or defaults[position])
            out.append(segments[i + 1])
        return "".join(out).encode()

    def build(
        self,
        signer: ManifestSigner,
        *,
        signing_time: datetime,
        serial_number: str | None = None,
        authentication_token: str | None = None,
        fields: Mapping[str, FieldValue] | None = None,
        barcode_message: str | None = None,
        barcode_alt_text: str | None = None,
    ) -> bytes:
        """A signed .pkpass for one pass."""
        identity = signer.identity
        if (identity.pass_type_id, identity.team_id) != (
            self.pass_type_identifier,
            self.team_identifier,
        ):
            identity.check_pass_identity(self.pass_type_identifier, self.team_identifier)
        pass_json = self.render_pass_json(
            serial_number=serial_number,
            authentication_token=authentication_token,
            fields=fields,
            barcode_message=barcode_message,
            barcode_alt_text=barcode_alt_text,
        )
        hashes = dict(self._static_hashes)
        hashes["pass.json"] = hashlib.sha1(pass_json).hexdigest()  # noqa: S324
        manifest = _manifest(hashes)
        signature = signer.sign(manifest, signing_time=signing_time)
        # Per-pass entries are stored, not deflated: a few KB more per pass, and deflating
        # them would cost more time than everything else but the signature.
        return write_zip(
            [
                ZipEntry.make("pass.json", pass_json, compress=False),
                *self._static_entries,
                ZipEntry.make("manifest.json", manifest, compress=False),
                ZipEntry.make("signature", signature, compress=False),
            ]
        )


def _check_slot(slot: _Slot, value: object) -> Problem | None:
    path = "$.serialNumber" if slot.name == "serialNumber" else f"<{slot.name}>"
    if slot.kind in ("text", "token"):
        if not isinstance(value, str) or not value:
            return Problem(path, "invalid_value", f"{slot.name} must be a non-empty string")
        if slot.kind == "token" and len(value) < 16:
            return Problem(
                "$.authenticationToken",
                "authentication_token_too_short",
                "authenticationToken must be at least 16 characters",
            )
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return Problem(path, "invalid_field_value", "a field value must be a string or number")
    if isinstance(value, float) and not math.isfinite(value):
        return Problem(path, "invalid_field_value", "a field value must be a finite number")
    if slot.kind == "date" and parse_iso_datetime(value) is None:
        return Problem(
            path,
            "invalid_date",
            f"{slot.name} has dateStyle/timeStyle, so its value must be an ISO-8601 date "
            f"with hours and minutes and a time zone, not {value!r}",
        )
    if slot.kind == "number" and isinstance(value, str):
        return Problem(
            path,
            "number_style_on_non_numeric_value",
            f"{slot.name} has numberStyle/currencyCode, so its value must be a number",
        )
    return None


def build_pkpass(
    pass_json: Mapping[str, Any],
    files: Mapping[str, bytes],
    signer: ManifestSigner,
    *,
    signing_time: datetime,
) -> bytes:
    """Validate and sign one pass (the slow, general path)."""
    return PassTemplate(pass_json, files).build(signer, signing_time=signing_time)


def build_pkpasses(passes: Sequence[bytes], names: Iterable[str] | None = None) -> bytes:
    """A ``.pkpasses`` bundle: a zip of up to 10 ``.pkpass`` files, 150 MB at most."""
    if not passes:
        raise BundleError("a .pkpasses bundle needs at least one pass")
    if len(passes) > MAX_PASSES_PER_BUNDLE:
        raise BundleError(
            f"a .pkpasses bundle holds at most {MAX_PASSES_PER_BUNDLE} passes, not {len(passes)}"
        )
    total = sum(len(p) for p in passes)
    if total > MAX_PASSES_BYTES:
        raise BundleError(f"a .pkpasses bundle holds at most 150 MB, these passes take {total} B")
    labels = (
        list(names) if names is not None else [f"pass{i + 1}.pkpass" for i in range(len(passes))]
    )
    if len(labels) != len(passes) or len(set(labels)) != len(labels):
        raise BundleError("each pass in a .pkpasses bundle needs its own unique name")
    return write_zip(
        ZipEntry.make(name, data, compress=False) for name, data in zip(labels, passes, strict=True)
    )
