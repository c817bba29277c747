"""Offline validation of Google Wallet JSON against the walletobjects v1 discovery document.

Google publishes no JSON Schema, only a discovery document (spec §5). This module reads
its ``schemas`` and checks a class or object body the way the conformance checks 7–8 of
``specs/google-wallet.md`` ask:

* ``$ref``, ``type`` (string, integer, number, boolean, array, object) and ``items``;
  ``additionalProperties`` when a schema declares it (a map).
* ``format``: ``int64``/``uint64`` values are JSON *strings* of digits (Google's JSON
  mapping of 64-bit integers, e.g. ``Money.micros``); ``int32``/``uint32`` integers must
  fit; ``double``/``float`` accept any JSON number.
* Unknown properties are rejected (``unknown_property``): Google usually answers 400.
* Properties flagged ``deprecated`` or described "Deprecated. ..." are rejected
  (``deprecated_property``): ``kind``, ``version``, ``infoModuleData`` on loyalty/offer/
  gift card/event/flight/transit objects, ``locations`` ... Their contents are not checked.
* ``enum``: only canonical values pass. A value whose ``enumDeprecated`` flag is set (the
  lowercase "Legacy alias for ``X``. Deprecated." spellings such as ``qrCode``) is
  ``deprecated_enum``; a ``*_UNSPECIFIED`` value is ``unspecified_enum`` (it means "not
  set" and Google rejects or ignores it); anything else outside the list is
  ``invalid_enum``.
* Required fields: the discovery document has no ``required`` lists. A property is
  required in *its own schema* when its description has the sentence ``Required.``
  (in practice at the start, as Google's reference pages print it: "Required. The state
  of the object"; a later sentence "... Required." counts too). Requiredness is never
  inherited: a required property of ``LoyaltyClass`` says nothing about the class copy an
  object may carry in ``classReference`` beyond that schema's own rules.
  Conditional wording ("Required if the class has ``activationOptions``", "Required for
  each nested object of kind ...") is *not* treated as required, and neither is "This is
  a required property of ``flightHeader``" (those are checked by the renderer's design
  validation instead). A missing required field is ``missing_required``; pass
  ``partial=True`` for PATCH bodies and skinny JWT objects, which may omit them.

Pure: the parsed document comes in (the tests load the copy google-api-python-client
ships); nothing here reads files or the network.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from passmint.kit.jsonpath import child
from passmint.wallet.apple.problems import Problem

__all__ = ["Discovery", "load_discovery"]

# "Required." as a sentence of its own: at the start (every case in revision 20260806) or
# after an earlier sentence. "Required if ..." / "Required for ..." do not match.
_REQUIRED = re.compile(r"(?:^|[.!?]\s+)Required\.")
_DEPRECATED = re.compile(r"^\s*Deprecated\.")
_INT64 = re.compile(r"-?(?:0|[1-9][0-9]*)", re.ASCII)
_INT_RANGES = {
    "int32": (-(2**31), 2**31 - 1),
    "uint32": (0, 2**32 - 1),
    "int64": (-(2**63), 2**63 - 1),
    "uint64": (0, 2**64 - 1),
}


def is_required(prop: Mapping[str, Any]) -> bool:
    """Whether a discovery property is required in its schema (description ``Required. ...``)."""
    description = prop.get("description")
    return isinstance(description, str) and _REQUIRED.search(description) is not None


def is_deprecated(prop: Mapping[str, Any]) -> bool:
    """Whether a property is deprecated: flagged ``deprecated``, or described "Deprecated. ..."

    Some deprecations are only in the text (``LoyaltyObject.infoModuleData``: "Deprecated.
    Use textModulesData instead."), so both are honoured (spec §1 "Modules").
    """
    description = prop.get("description")
    described = isinstance(description, str) and _DEPRECATED.match(description) is not None
    return prop.get("deprecated") is True or described


@dataclass(frozen=True, slots=True)
class Discovery:
    """The ``schemas`` of a discovery document, ready to validate request bodies."""

    schemas: Mapping[str, Mapping[str, Any]]
    revision: str | None = None

    def required(self, schema_name: str) -> list[str]:
        """The properties of ``schema_name`` whose description marks them ``Required.``."""
        props: Mapping[str, Any] = self.schemas[schema_name].get("properties", {})
        return sorted(name for name, prop in props.items() if is_required(prop))

    def validate(
        self, schema_name: str, body: Mapping[str, Any], *, partial: bool = False
    ) -> list[Problem]:
        """Every problem of ``body`` as a ``schema_name`` (``LoyaltyClass`` ...), with JSON paths.

        ``partial`` skips the required-field check at every level (PATCH bodies).
        Raises KeyError for a schema the document does not define.
        """
        if schema_name not in self.schemas:
            raise KeyError(schema_name)
        problems: list[Problem] = []
        self._check({"$ref": schema_name}, body, "$", partial, problems)
        return problems

    def _check(
        self,
        spec: Mapping[str, Any],
        value: object,
        path: str,
        partial: bool,
        out: list[Problem],
    ) -> None:
        ref = spec.get("$ref")
        if isinstance(ref, str):
            target = self.schemas.get(ref)
            if target is None:
                out.append(Problem(path, "unknown_schema", f"the document has no schema {ref}"))
                return
            spec = target
        kind = spec.get("type")
        if kind == "object" or (kind is None and "properties" in spec):
            self._check_object(spec, value, path, partial, out)
        elif kind == "array":
            if not isinstance(value, list):
                out.append(Problem(path, "invalid_type", f"expected an array, got {_name(value)}"))
                return
            items: Mapping[str, Any] = spec.get("items", {})
            for index, item in enumerate(value):
                self._check(items, item, child(path, index), partial, out)
        elif kind == "string":
            self._check_string(spec, value, path, out)
        elif kind == "integer":
            self._check_integer(spec, value, path, out)
        elif kind == "number":
            if isinstance(value, bool) or not isinstance(value, int | float):
                out.append(Problem(path, "invalid_type", f"expected a number, got {_name(value)}"))
        elif kind == "boolean":
            if not isinstance(value, bool):
                out.append(Problem(path, "invalid_type", f"expected a boolean, got {_name(value)}"))
        elif kind == "any":
            return

    def _check_object(
        self,
        spec: Mapping[str, Any],
        value: object,
        path: str,
        partial: bool,
        out: list[Problem],
    ) -> None:
        if not isinstance(value, Mapping):
            out.append(Problem(path, "invalid_type", f"expected an object, got {_name(value)}"))
            return
        props: Mapping[str, Mapping[str, Any]] = spec.get("properties", {})
        extra: Mapping[str, Any] | None = spec.get("additionalProperties")
        for key, item in value.items():
            where = child(path, str(key))
            prop = props.get(key)
            if prop is None:
                if extra is not None:
                    self._check(extra, item, where, partial, out)
                else:
                    name = spec.get("id", "this object")
                    out.append(Problem(where, "unknown_property", f"{name} has no {key!r}"))
                continue
            if is_deprecated(prop):
                out.append(Problem(where, "deprecated_property", f"{key!r} is deprecated"))
                continue  # one problem for the whole deprecated subtree
            if item is None:
                continue
            self._check(prop, item, where, partial, out)
        if partial:
            return
        for key, prop in props.items():
            if is_required(prop) and value.get(key) is None:
                name = spec.get("id", "this object")
                out.append(
                    Problem(child(path, key), "missing_required", f"{name} requires {key!r}")
                )

    @staticmethod
    def _check_string(
        spec: Mapping[str, Any], value: object, path: str, out: list[Problem]
    ) -> None:
        if not isinstance(value, str):
            out.append(Problem(path, "invalid_type", f"expected a string, got {_name(value)}"))
            return
        fmt = spec.get("format")
        if fmt in ("int64", "uint64"):
            low, high = _INT_RANGES[fmt]
            if not _INT64.fullmatch(value) or not low <= int(value) <= high:
                out.append(Problem(path, "invalid_format", f"{value!r} is not an {fmt} string"))
        enum: Sequence[str] | None = spec.get("enum")
        if enum is None:
            return
        if value not in enum:
            allowed = ", ".join(v for v in _canonical(spec))
            out.append(Problem(path, "invalid_enum", f"{value!r} is not one of {allowed}"))
            return
        index = list(enum).index(value)
        flags: Sequence[bool] = spec.get("enumDeprecated", ())
        if index < len(flags) and flags[index]:
            out.append(Problem(path, "deprecated_enum", f"{value!r} is a deprecated legacy alias"))
        elif value.endswith("_UNSPECIFIED"):
            out.append(Problem(path, "unspecified_enum", f"{value!r} means 'not set'"))

    @staticmethod
    def _check_integer(
        spec: Mapping[str, Any], value: object, path: str, out: list[Problem]
    ) -> None:
        if isinstance(value, bool) or not isinstance(value, int):
            out.append(Problem(path, "invalid_type", f"expected an integer, got {_name(value)}"))
            return
        fmt = spec.get("format")
        bounds = _INT_RANGES.get(fmt) if isinstance(fmt, str) else None
        if bounds is not None and not bounds[0] <= value <= bounds[1]:
            out.append(Problem(path, "out_of_range", f"{value} does not fit {fmt}"))


def _canonical(spec: Mapping[str, Any]) -> list[str]:
    enum: Sequence[str] = spec.get("enum", ())
    flags: Sequence[bool] = spec.get("enumDeprecated", ())
    return [
        value
        for index, value in enumerate(enum)
        if not (index < len(flags) and flags[index]) and not value.endswith("_UNSPECIFIED")
    ]


def _name(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__


def load_discovery(document: Mapping[str, Any]) -> Discovery:
    """The schemas of a parsed discovery document (``json.load`` of walletobjects.v1.json)."""
    schemas = document.get("schemas")
    if not isinstance(schemas, Mapping) or not schemas:
        raise ValueError("not a discovery document: no 'schemas'")
    revision = document.get("revision")
    return Discovery(dict(schemas), revision if isinstance(revision, str) else None)
