"""What a designer's preview can still render of a design that does not validate.

A live preview shows the design after every change, and half-typed designs are the rule:
an unclosed ``{{``, a colour being typed, a field without a key yet. :func:`salvage`
reports every problem :func:`~passmint.wallet.designs.schemas.parse_design` finds, then
repairs a copy of the design until it validates, so the rest still renders:

* a text with a malformed placeholder keeps its text, its ``{{`` made literal (a zero-width
  space between the braces); a one-line text with a newline or tab gets spaces;
* an optional value that is wrong (a colour, an alignment, an unknown key) is left out;
* a list item that cannot be repaired (a field without a key ...) is replaced by a blank
  item of its kind (a field with an empty value, a link, a place), so the items after it
  keep their index and the problems found on them keep their paths;
* a list over its length is cut to it;
* a required text of the pass (organization name, description) becomes a dash, and a
  missing icon a stand-in asset id (:data:`MISSING_ASSET`) that has no image.

``replaced`` lists the design paths that were repaired: a renderer's problem under one of
them is the schema's problem seen again, so a preview leaves it out. Pure.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from pydantic import ValidationError

from passmint.wallet.apple.problems import Problem
from passmint.wallet.designs.schemas import (
    DesignError,
    FieldList,
    TemplateDesign,
    design_path,
    parse_design,
)

__all__ = ["MISSING_ASSET", "Salvaged", "salvage", "under"]

MISSING_ASSET: Final = "_missing_icon"
"""The asset id a salvaged design gets for a missing or invalid icon (no image has it)."""
MAX_ROUNDS: Final = 8
DASH: Final = "—"
_LITERAL_BRACES: Final = "{\u200b{"
_SPACES = re.compile(r"[\t\n\r]+")
_STAND_INS: Final[Mapping[str, dict[str, Any]]] = {
    "links": {"label": DASH, "url": "https://example.invalid/"},
    "locations": {"latitude": 0.0, "longitude": 0.0},
    "beacons": {"proximity_uuid": "00000000-0000-0000-0000-000000000000"},
}
_AREAS: Final = frozenset(area.value for area in FieldList)
# Required values that get a stand-in rather than taking their object with them.
_FILLED: Final[Mapping[tuple[str | int, ...], Any]] = {
    ("organization_name",): DASH,
    ("description",): DASH,
    ("images",): None,  # see _icon
    ("images", "icon"): MISSING_ASSET,
}

Part = str | int


@dataclass(frozen=True, slots=True)
class Salvaged:
    """The design as far as it renders (None: nothing could be made of it), the schema's
    problems (design paths), and the paths that were repaired to render it."""

    design: TemplateDesign | None
    problems: tuple[Problem, ...]
    replaced: tuple[str, ...]


def under(path: str, prefixes: tuple[str, ...]) -> bool:
    """Whether the design path ``path`` is one of ``prefixes`` or inside one."""
    for prefix in prefixes:
        if path == prefix or (path.startswith(prefix) and path[len(prefix)] in ".["):
            return True
    return False


def salvage(data: Mapping[str, Any]) -> Salvaged:
    """The design ``data`` as far as it renders; see the module docstring."""
    try:
        return Salvaged(parse_design(data), (), ())
    except DesignError as exc:
        problems = tuple(exc.problems)
    work: Any = copy.deepcopy(dict(data))
    replaced: list[tuple[Part, ...]] = []
    for _ in range(MAX_ROUNDS):
        try:
            design = TemplateDesign.model_validate(work)
        except ValidationError as exc:
            errors = exc.errors(include_url=False, include_input=False)
        else:
            paths = tuple(dict.fromkeys(design_path(*parts) for parts in replaced))
            return Salvaged(design, problems, paths)
        targets: dict[tuple[Part, ...], tuple[str, Any]] = {}
        for error in errors:
            parts = _target(work, error["loc"])
            last = error["loc"][-1] if error["loc"] else None
            if error["type"] == "missing" and isinstance(last, str) and (*parts, last) in _FILLED:
                parts = (*parts, last)  # a required value that gets a stand-in
            targets.setdefault(parts, (error["type"], error.get("ctx")))
        changed = False
        # Deepest first, and the later items of a list before the earlier ones.
        for parts in sorted(targets, key=_order, reverse=True):
            kind, context = targets[parts]
            if _repair(work, parts, kind, context):
                changed = True
                replaced.append(parts)
        if not changed:
            break
    return Salvaged(None, problems, ())


def _order(parts: tuple[Part, ...]) -> tuple[int, list[tuple[int, int, str]]]:
    return len(parts), [(0, p, "") if isinstance(p, int) else (1, 0, p) for p in parts]


def _target(data: Any, loc: tuple[int | str, ...]) -> tuple[Part, ...]:
    """The node of ``data`` an error is about, following Pydantic's location and skipping
    its union and validator tags; for a missing key, the walk ends at the object lacking
    it."""
    parts: list[Part] = []
    node = data
    for part in loc:
        found = (isinstance(node, Mapping) and isinstance(part, str) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        )
        if found:
            node = node[part]
            parts.append(part)
    return tuple(parts)


def _node(data: Any, parts: tuple[Part, ...]) -> Any:
    node = data
    for part in parts:
        node = node[part]
    return node


def _repair(work: Any, parts: tuple[Part, ...], kind: str, context: Any) -> bool:
    """Change ``work`` at ``parts`` so that this error goes away; False if nothing can."""
    if not parts:
        return False
    node = _node(work, parts) if _exists(work, parts) else None
    if isinstance(node, str) and kind == "invalid_placeholder" and "{{" in node:
        return _put(work, parts, node.replace("{{", _LITERAL_BRACES))
    if isinstance(node, str) and kind == "invalid_text" and _SPACES.search(node):
        return _put(work, parts, _SPACES.sub(" ", node))
    if parts in _FILLED:
        return _icon(work) if parts[0] == "images" else _put(work, parts, _FILLED[parts])
    if isinstance(node, list) and kind == "too_long" and isinstance(context, Mapping):
        limit = context.get("max_length")
        if isinstance(limit, int) and len(node) > limit:
            del node[limit:]
            return True
    return _drop(work, parts)


def _exists(work: Any, parts: tuple[Part, ...]) -> bool:
    parent = _node(work, parts[:-1])
    return (isinstance(parent, dict) and parts[-1] in parent) or isinstance(parent, list)


def _put(work: Any, parts: tuple[Part, ...], value: Any) -> bool:
    parent = _node(work, parts[:-1])
    if _exists(work, parts) and parent[parts[-1]] == value:
        return False
    parent[parts[-1]] = value
    return True


def _drop(work: Any, parts: tuple[Part, ...]) -> bool:
    """Leave the node out; what cannot be left out gets a stand-in."""
    parent = _node(work, parts[:-1])
    key = parts[-1]
    if isinstance(parent, list) and isinstance(key, int):
        stand_in = _stand_in(parts[:-1], key)
        if stand_in is None:
            del parent[key]
            return True
        return _put(work, parts, stand_in)
    if isinstance(parent, dict) and key in parent:
        del parent[key]
        return True
    return False


def _icon(work: Any) -> bool:
    images = work.get("images")
    if not isinstance(images, dict):
        work["images"] = {"icon": MISSING_ASSET}
        return True
    return _put(work, ("images", "icon"), MISSING_ASSET)


def _stand_in(list_parts: tuple[Part, ...], index: int) -> dict[str, Any] | None:
    """A blank item for the design's lists whose items problems point at; None for others."""
    if len(list_parts) == 2 and list_parts[0] == "fields" and list_parts[1] in _AREAS:
        return {"key": f"salvaged_{list_parts[1]}_{index}", "value": ""}
    if len(list_parts) == 1 and isinstance(list_parts[0], str) and list_parts[0] in _STAND_INS:
        return copy.deepcopy(dict(_STAND_INS[list_parts[0]]))
    return None
