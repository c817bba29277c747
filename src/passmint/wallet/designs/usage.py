"""What a design's ``{{ placeholders }}`` need, and what a pass's data leaves empty.

A placeholder is filled, in this order, by a built-in the renderer always provides
(``serial_number``, ``pass_id``), by a value the service fills later (``message`` from
``POST /passes/{id}/messages``), by a *provider* that writes the pass data (a loyalty
program's cards), or by the pass's own ``data``. A missing value renders as its default or
as nothing, silently on the pass, so these checks make it visible without refusing
anything:

* :func:`check_design`, when a template is saved: every placeholder with its paths in the
  design and its source, and a ``placeholder_unknown`` warning for a name that no known
  source provides and that looks like a misspelt one (``{{ serial }}`` → ``serial_number``),
  or, when providers write the data, for every name they do not provide.
* :func:`check_data`, when a pass is issued or changed: ``placeholder_missing`` for a name
  its data lacks, ``placeholder_unusable_value`` for a value that is not plain data.

Pure: no I/O, settings or clock.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from itertools import islice
from typing import Any, Final, Literal

from passmint.wallet.designs import placeholders
from passmint.wallet.designs.placeholders import BUILTIN_NAMES, Placeholder
from passmint.wallet.designs.schemas import DesignText, TemplateDesign

__all__ = [
    "DataWarning",
    "DesignPlaceholder",
    "DesignWarning",
    "Provider",
    "Source",
    "check_data",
    "check_design",
    "data_names",
    "uses",
]

# Names of a pass's data offered as suggestions: a bounded number of short ones, so a
# huge payload costs no more than a normal one.
_MAX_DATA_NAMES: Final = 2000
_MAX_NAME_LENGTH: Final = 128


class Source(StrEnum):
    """Who fills a placeholder."""

    BUILT_IN = "built_in"
    MESSAGE = "message"
    PROGRAM = "program"
    DATA = "data"


@dataclass(frozen=True, slots=True)
class Provider:
    """Something that writes the data of a template's passes, such as a loyalty program
    for its cards: the names it provides and how to name it in a message; ``samples`` are
    plausible values of some of the names, for a designer's preview."""

    label: str
    names: frozenset[str]
    samples: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True, slots=True)
class DesignPlaceholder:
    """One name the design uses: every path it appears at (design order), the paths
    where it has no default, and its source."""

    name: str
    paths: tuple[str, ...]
    required_paths: tuple[str, ...]
    source: Source = Source.DATA

    @property
    def required(self) -> bool:
        """Whether some use has no default (a missing value there renders as nothing)."""
        return bool(self.required_paths)


@dataclass(frozen=True, slots=True)
class DesignWarning:
    """A placeholder that no known source provides: it renders as its default or nothing."""

    code: Literal["placeholder_unknown"]
    placeholder: str
    paths: tuple[str, ...]
    message: str
    suggestion: str | None = None


@dataclass(frozen=True, slots=True)
class DataWarning:
    """A placeholder a pass's data leaves empty; ``paths`` are its uses without default."""

    code: Literal["placeholder_missing", "placeholder_unusable_value"]
    placeholder: str
    paths: tuple[str, ...]
    message: str
    suggestion: str | None = None


def uses(
    design: TemplateDesign, *, texts: Sequence[DesignText] | None = None
) -> list[DesignPlaceholder]:
    """Every name the design uses, in order of first use, built-ins included.
    ``texts``: ``design.texts()``, when the caller has them."""
    paths: dict[str, list[str]] = {}
    required: dict[str, list[str]] = {}
    for text in design.texts() if texts is None else texts:
        if "{{" not in text.template:
            continue  # literal text: no placeholder
        for part in placeholders.parts(text.template):
            if not isinstance(part, Placeholder):
                continue
            seen = paths.setdefault(part.name, [])
            if text.path not in seen:
                seen.append(text.path)
            wanted = required.setdefault(part.name, [])
            if part.default is None and text.path not in wanted:
                wanted.append(text.path)
    return [DesignPlaceholder(name, tuple(paths[name]), tuple(required[name])) for name in paths]


def _fmt(name: str) -> str:
    return "{{ " + name + " }}"


def _did_you_mean(suggestion: str | None) -> str:
    return f"; did you mean {_fmt(suggestion)}?" if suggestion else ""


def _renders(use: DesignPlaceholder) -> str:
    return "renders empty" if use.required else "always renders its default"


def check_design(
    design: TemplateDesign,
    *,
    later: frozenset[str] = frozenset(),
    providers: Sequence[Provider] = (),
) -> tuple[list[DesignPlaceholder], list[DesignWarning]]:
    """The design's placeholders with their sources, and warnings for unknown names.

    ``later`` are names the service fills after issue (they never warn). Without
    ``providers`` a pass's data may hold any name, so only a near miss of a built-in or
    of ``later`` warns. With providers (the template backs loyalty programs, whose cards'
    data they write), every name one of them lacks warns, naming the provider.
    """
    found: list[DesignPlaceholder] = []
    warnings: list[DesignWarning] = []
    fixed = BUILTIN_NAMES | later
    for use in uses(design):
        if use.name in BUILTIN_NAMES:
            found.append(_with_source(use, Source.BUILT_IN))
            continue
        if use.name in later:
            found.append(_with_source(use, Source.MESSAGE))
            continue
        lacking = [p for p in providers if use.name not in p.names]
        if providers and not lacking:
            found.append(_with_source(use, Source.PROGRAM))
            continue
        found.append(use)
        if lacking:
            for provider in lacking:
                suggestion = placeholders.suggest(use.name, fixed | provider.names)
                message = (
                    f"{provider.label} does not provide {_fmt(use.name)}: it "
                    f"{_renders(use)} on the passes it writes{_did_you_mean(suggestion)}"
                )
                warnings.append(
                    DesignWarning("placeholder_unknown", use.name, use.paths, message, suggestion)
                )
            continue
        suggestion = placeholders.suggest(use.name, fixed)
        if suggestion is not None:
            message = (
                f"{_fmt(use.name)} is not built in, so every pass must provide it in its "
                f"data; did you mean {_fmt(suggestion)}?"
            )
            warnings.append(
                DesignWarning("placeholder_unknown", use.name, use.paths, message, suggestion)
            )
    return found, warnings


def _with_source(use: DesignPlaceholder, source: Source) -> DesignPlaceholder:
    return DesignPlaceholder(use.name, use.paths, use.required_paths, source)


def data_names(data: Mapping[str, Any]) -> Iterator[str]:
    """The dotted name of every value in ``data``, nested mappings walked breadth first."""
    queue: deque[tuple[str, Mapping[str, Any]]] = deque([("", data)])
    while queue:
        base, node = queue.popleft()
        for key, value in node.items():
            name = f"{base}.{key}" if base else key
            yield name
            if isinstance(value, Mapping):
                queue.append((name, value))


def _kind(value: object) -> str:
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, float):
        return "a non-finite number"
    return "not plain data"


def check_data(
    design: TemplateDesign, data: Mapping[str, Any], *, later: frozenset[str] = frozenset()
) -> list[DataWarning]:
    """Placeholders that ``data`` leaves empty, each with the paths where it has no default.

    ``data`` is what the renderer gets (built-ins included). A null value is not reported:
    it says "nothing here" on purpose. Names in ``later`` are never reported.
    """
    warnings: list[DataWarning] = []
    known: list[str] | None = None
    for use in uses(design):
        if not use.required or use.name in later:
            continue
        state = placeholders.value_state(data, use.name)
        if state == "absent":
            if known is None:
                names = islice(data_names(data), _MAX_DATA_NAMES)
                known = [name for name in names if len(name) <= _MAX_NAME_LENGTH]
            suggestion = placeholders.suggest(use.name, known)
            hint = f"; data has {suggestion!r}: did you mean it?" if suggestion else ""
            message = f"the pass's data has no {use.name!r}, so {_fmt(use.name)} renders empty"
            warnings.append(
                DataWarning(
                    "placeholder_missing", use.name, use.required_paths, message + hint, suggestion
                )
            )
        elif state == "unusable":
            message = (
                f"data {use.name!r} is {_kind(placeholders.lookup(data, use.name))}; only "
                f"text, numbers, booleans and dates fill a placeholder, so {_fmt(use.name)} "
                "renders empty"
            )
            warnings.append(
                DataWarning("placeholder_unusable_value", use.name, use.required_paths, message)
            )
    return warnings
