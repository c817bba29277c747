"""The loyalty screens' forms ⇄ the loyalty API's bodies.

A form is read into the body the API takes (``ProgramCreate``, ``ProgramPatch``,
``RewardIn``, ``AdjustIn``) and validated by those same schemas, so a rule is refused here
exactly when the API refuses it, with the API's message, shown next to its control.
What a person types is read strictly first: whole numbers are digits only, amounts are
read in the currency's minor units (``12.50`` EUR is 1250) and anything that could be read
two ways (``1,250``) is refused with a message saying how to write it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Final, TypeVar

from pydantic import BaseModel, ValidationError

from passmint.admin.i18n import Texts
from passmint.kit.currencies import MINOR_UNITS
from passmint.loyalty.schemas import ProgramConfig
from passmint.web.errors import validation_error

M = TypeVar("M", bound=BaseModel)

RULE_FIELDS: Final = (
    "key",
    "trigger",
    "points",
    "per_amount",
    "currency",
    "rounding",
    "min_amount",
    "event",
    "tiers",
    "daily_cap",
    "customer_cap",
    "cooldown_minutes",
)
RULE_CHOICES: Final = frozenset({"trigger", "rounding", "currency"})
"""Selects: a row whose other fields are empty is a row nobody filled in."""
TIER_FIELDS: Final = ("key", "name", "threshold", "multiplier")
SECTIONS: Final[dict[str, tuple[str, ...]]] = {
    "currency": ("code", "name", "plural"),
    "tier_policy": ("metric", "rolling_days", "period", "grace_days"),
    "expiry": ("kind", "days", "period"),
}
TOP_FIELDS: Final = ("name", "status", "template_id", "pending_days", "timezone")
REWARD_FIELDS: Final = (
    "name",
    "cost",
    "kind",
    "credit_amount",
    "campaign_id",
    "stock",
    "per_customer_limit",
)
MAX_ROWS: Final = 200
MAX_NUMBER_CHARS: Final = 24
PERCENT_DIGITS: Final = 2  # a multiplier in percent, stored in basis points
_INDEX: Final = re.compile(r"[0-9]{1,4}")
_WHOLE: Final = re.compile(r"[0-9]+")
_SIGNED: Final = re.compile(r"[+-]?[0-9]+")
_DECIMAL: Final = re.compile(r"([0-9]+)(?:\.([0-9]+))?")
_SEPARATORS: Final = re.compile(r"[,'’_\s\u00a0\u202f]")


class Unreadable(ValueError):
    """What a person typed cannot be read as the number it should be (the message says
    how to write it, in their language)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class Problems:
    """Messages by control name (``earn_rules.0.points``); ``""`` is the form as a whole."""

    by_name: dict[str, list[str]] = field(default_factory=dict)
    unreadable: set[str] = field(default_factory=set)

    def add(self, name: str, message: str) -> None:
        messages = self.by_name.setdefault(name, [])
        if message not in messages:
            messages.append(message)

    def __bool__(self) -> bool:
        return bool(self.by_name)

    def count(self) -> int:
        return sum(len(m) for m in self.by_name.values())


# -- numbers as people type them -------------------------------------------------------------


def whole_number(t: Texts, text: str, *, signed: bool = False) -> int:
    """Digits only (a sign first if ``signed``): ``1500``, ``-20``."""
    value = text.strip()
    if len(value) > MAX_NUMBER_CHARS:
        raise Unreadable(t.gettext("This number is too long."))
    if (_SIGNED if signed else _WHOLE).fullmatch(value):
        return int(value)
    if signed:
        raise Unreadable(
            t.gettext("Write a whole number, like 50 to add or -20 to take away (digits only).")
        )
    raise Unreadable(
        t.gettext("Write a whole number with digits only, like 1500 (no separators or decimals).")
    )


def decimal_units(t: Texts, text: str, exponent: int, *, unit: str = "") -> int:
    """``12.50`` with ``exponent`` 2 → 1250: a dot before at most ``exponent`` decimals,
    no separators. ``1,250`` or ``1.250,00`` could mean two things and are refused."""
    value = text.strip()
    if len(value) > MAX_NUMBER_CHARS:
        raise Unreadable(t.gettext("This number is too long."))
    if _SEPARATORS.search(value):
        raise Unreadable(
            t.gettext(
                "“%(value)s” could be read in more than one way: write a dot before the "
                "decimals and no thousands separators, like 1250.50.",
                value=value,
            )
        )
    match = _DECIMAL.fullmatch(value)
    if match is None:
        raise Unreadable(
            t.gettext("“%(value)s” is not an amount: write it like 12.50.", value=value)
        )
    whole, fraction = match.group(1), match.group(2) or ""
    if len(fraction) > exponent:
        if exponent == 0:
            raise Unreadable(t.gettext("%(unit)s amounts have no decimals.", unit=unit))
        if not unit:  # a multiplier in percent: no unit to name
            raise Unreadable(
                t.ngettext(
                    "Use at most %(num)s decimal.", "Use at most %(num)s decimals.", exponent
                )
            )
        raise Unreadable(
            t.ngettext(
                "%(unit)s amounts have at most %(num)s decimal.",
                "%(unit)s amounts have at most %(num)s decimals.",
                exponent,
                unit=unit,
            )
        )
    scale: int = 10**exponent
    return int(whole) * scale + int(fraction.ljust(exponent, "0") or "0")


def minor_text(amount: int, exponent: int) -> str:
    """1250 with ``exponent`` 2 → ``12.50`` (what :func:`decimal_units` reads back)."""
    if exponent == 0:
        return str(amount)
    sign = "-" if amount < 0 else ""
    whole, fraction = divmod(abs(amount), 10**exponent)
    return f"{sign}{whole}.{fraction:0{exponent}d}"


def percent_text(basis_points: int) -> str:
    """12,500 basis points → ``125``; 11,250 → ``112.5``."""
    text = minor_text(basis_points, PERCENT_DIGITS)
    return text.rstrip("0").rstrip(".") if "." in text else text


def exponent_of(currency: str | None) -> int | None:
    return MINOR_UNITS.get(currency) if currency else None


def money(t: Texts, text: str, currency: str | None) -> int:
    """An amount in ``currency`` → minor units; without a currency, minor units as typed."""
    exponent = exponent_of(currency)
    if exponent is None:
        if _WHOLE.fullmatch(text.strip()):
            return whole_number(t, text)
        raise Unreadable(
            t.gettext(
                "Choose the rule's currency to write an amount with decimals, or give it in "
                "minor units (cents) without a currency."
            )
        )
    return decimal_units(t, text, exponent, unit=currency or "")


# -- rows ------------------------------------------------------------------------------------


def _rows(form: Mapping[str, str], prefix: str) -> list[dict[str, str]]:
    """The rows ``prefix.<n>.<key>`` in the order of n."""
    rows: dict[int, dict[str, str]] = {}
    for name, value in form.items():
        if not name.startswith(prefix + "."):
            continue
        index, _, key = name[len(prefix) + 1 :].partition(".")
        if _INDEX.fullmatch(index) and key:
            rows.setdefault(int(index), {})[key] = value.strip()
    return [rows[i] for i in sorted(rows)][:MAX_ROWS]


def _filled(row: Mapping[str, str], keys: Iterable[str], choices: frozenset[str]) -> bool:
    return any(row.get(k) for k in keys if k not in choices)


# -- programs --------------------------------------------------------------------------------


@dataclass
class ProgramForm:
    """What the program form shows (text as typed, rows in order), the body it makes
    for the API's schema, and what could not be read."""

    values: dict[str, Any]
    body: dict[str, Any]
    problems: Problems


def empty_program_values() -> dict[str, Any]:
    """A new program's form: the API's defaults."""
    return program_values(name="", status="active", template_id="", config=ProgramConfig())


def program_values(
    *, name: str, status: str, template_id: str, config: ProgramConfig
) -> dict[str, Any]:
    """A stored program as its form shows it."""

    def text(value: object) -> str:
        return "" if value is None else str(value)

    rules = []
    for rule in config.earn_rules:
        exponent = exponent_of(rule.currency)
        row = {k: text(getattr(rule, k)) for k in RULE_FIELDS}
        for amount in ("per_amount", "min_amount"):
            value = getattr(rule, amount)
            if value is not None and exponent is not None:
                row[amount] = minor_text(value, exponent)
        row["tiers"] = ", ".join(rule.tiers or [])
        rules.append(row)
    tiers = [
        {
            "key": tier.key,
            "name": tier.name,
            "threshold": str(tier.threshold),
            "multiplier": percent_text(tier.multiplier),
        }
        for tier in config.tiers
    ]
    sections = {
        section: {k: text(getattr(getattr(config, section), k)) for k in keys}
        for section, keys in SECTIONS.items()
    }
    return {
        "name": name,
        "status": status,
        "template_id": template_id,
        "pending_days": str(config.pending_days),
        "timezone": config.timezone,
        "earn_rules": rules,
        "tiers": tiers,
        **sections,
    }


def _number_into(
    target: dict[str, Any],
    key: str,
    raw: str,
    name: str,
    problems: Problems,
    read: Callable[[str], int],
) -> None:
    if not raw:
        return
    try:
        target[key] = read(raw)
    except Unreadable as exc:
        problems.add(name, exc.message)
        problems.unreadable.add(name)


def program_from_form(t: Texts, form: Mapping[str, str]) -> ProgramForm:
    """The program the form describes: ``body`` is ``{"name", "status", "template_id",
    "config"}`` with empty fields left out (the schema's defaults apply)."""
    problems = Problems()
    values: dict[str, Any] = {k: (form.get(k) or "").strip() for k in TOP_FIELDS}
    config: dict[str, Any] = {}
    for section, keys in SECTIONS.items():
        row = {k: (form.get(f"{section}.{k}") or "").strip() for k in keys}
        values[section] = row
        part: dict[str, Any] = {}
        for k, raw in row.items():
            if k in ("rolling_days", "grace_days", "days"):
                _number_into(part, k, raw, f"{section}.{k}", problems, lambda s: whole_number(t, s))
            elif raw:
                part[k] = raw
        config[section] = part
    rules = [r for r in _rows(form, "earn_rules") if _filled(r, RULE_FIELDS, RULE_CHOICES)]
    values["earn_rules"] = [{k: r.get(k, "") for k in RULE_FIELDS} for r in rules]
    config["earn_rules"] = []
    for index, row in enumerate(values["earn_rules"]):
        rule: dict[str, Any] = {}
        currency = row["currency"] or None
        for k in RULE_FIELDS:
            raw, name = row[k], f"earn_rules.{index}.{k}"
            if k in ("points", "daily_cap", "customer_cap", "cooldown_minutes"):
                _number_into(rule, k, raw, name, problems, lambda s: whole_number(t, s))
            elif k in ("per_amount", "min_amount"):
                _number_into(rule, k, raw, name, problems, partial(money, t, currency=currency))
            elif k == "tiers":
                named = [part.strip() for part in raw.split(",") if part.strip()]
                if named:
                    rule[k] = named
            elif raw:
                rule[k] = raw
        config["earn_rules"].append(rule)
    tiers = [r for r in _rows(form, "tiers") if _filled(r, TIER_FIELDS, frozenset())]
    values["tiers"] = [{k: r.get(k, "") for k in TIER_FIELDS} for r in tiers]
    config["tiers"] = []
    for index, row in enumerate(values["tiers"]):
        tier: dict[str, Any] = {}
        for k in TIER_FIELDS:
            raw, name = row[k], f"tiers.{index}.{k}"
            if k == "threshold":
                _number_into(tier, k, raw, name, problems, lambda s: whole_number(t, s))
            elif k == "multiplier":
                _number_into(
                    tier, k, raw, name, problems, lambda s: decimal_units(t, s, PERCENT_DIGITS)
                )
            elif raw:
                tier[k] = raw
        config["tiers"].append(tier)
    _number_into(
        config,
        "pending_days",
        values["pending_days"],
        "pending_days",
        problems,
        lambda s: whole_number(t, s),
    )
    if values["timezone"]:
        config["timezone"] = values["timezone"]
    body: dict[str, Any] = {"config": config}
    for k in ("name", "status", "template_id"):
        if values[k]:
            body[k] = values[k]
    return ProgramForm(values=values, body=body, problems=problems)


def _control(path: str, message: str) -> str:
    """The control a problem of the API's schema belongs to (``""``: the whole form)."""
    parts = [part for part in path.split(".") if part]
    if parts[:1] == ["config"]:
        parts = parts[1:]
    if not parts:  # the configuration as a whole: its section, if the message names one
        if message.startswith("earn rule"):
            return "earn_rules"
        if message.startswith("tier"):
            return "tiers"
        return ""
    head = parts[0]
    if head in ("earn_rules", "tiers"):
        fields = RULE_FIELDS if head == "earn_rules" else TIER_FIELDS
        if len(parts) >= 3 and parts[2] in fields:
            return ".".join(parts[:3])
        return ".".join(parts[:2])
    if head in SECTIONS:
        return ".".join(parts[:2]) if len(parts) >= 2 and parts[1] in SECTIONS[head] else head
    return head


def _blocked(name: str, unreadable: set[str]) -> bool:
    """A problem of a control that could not be read (already said), or of its row."""
    return any(u == name or u.startswith(name + ".") for u in unreadable) if name else False


def schema_problems(exc: ValidationError, problems: Problems) -> None:
    """The API's messages for ``exc`` (the same ``invalid_request`` problems it answers),
    each by its control; none for what could not be read already."""
    _, payload = validation_error(exc.errors())
    for problem in payload["error"]["details"].get("problems", []):
        message = str(problem["message"]).removeprefix("Value error, ")
        name = _control(str(problem["path"]), message)
        if _blocked(name, problems.unreadable):
            continue
        problems.add(name, message)


def validated(model: type[M], body: Mapping[str, Any], problems: Problems) -> M | None:
    """``body`` as ``model`` (the API's schema), or None with its problems added."""
    try:
        result = model.model_validate(dict(body))
    except ValidationError as exc:
        schema_problems(exc, problems)
        return None
    return None if problems else result


# -- rewards and adjustments -----------------------------------------------------------------


def reward_from_form(
    t: Texts, form: Mapping[str, str]
) -> tuple[dict[str, str], dict[str, Any], Problems]:
    """(the form's values, the body of ``RewardIn``, what could not be read)."""
    problems = Problems()
    values = {k: (form.get(f"reward.{k}") or "").strip() for k in REWARD_FIELDS}
    body: dict[str, Any] = {}
    for k, raw in values.items():
        if k in ("cost", "credit_amount", "stock", "per_customer_limit"):
            _number_into(body, k, raw, f"reward.{k}", problems, lambda s: whole_number(t, s))
        elif raw:
            body[k] = raw
    return values, body, problems


def reward_problems(exc: ValidationError, problems: Problems) -> None:
    """The API's messages for a reward, by control (``reward.cost``; ``reward`` for the
    reward as a whole)."""
    _, payload = validation_error(exc.errors())
    for problem in payload["error"]["details"].get("problems", []):
        message = str(problem["message"]).removeprefix("Value error, ")
        head = str(problem["path"]).split(".")[0]
        name = f"reward.{head}" if head in REWARD_FIELDS else "reward"
        if name not in problems.unreadable:
            problems.add(name, message)
