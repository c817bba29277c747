"""The campaign and batch forms and the API bodies they stand for.

A form is read into the very bodies the API takes (``CampaignCreate``, ``CampaignPatch``,
``BatchCreate``), so the same Pydantic rules and then the same service rules judge it.
People type what they think in: a percentage (``12.5``) becomes basis points, an amount
(``5,00``) minor units of the campaign's currency, a local date and time a moment in the
campaign's time zone. What cannot be read that way is a problem of its control; so is
every problem the schema or the service names by its field (:func:`control_of`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, TypeVar
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ValidationError

from passmint.admin.i18n import Texts
from passmint.coupons.errors import InvalidRules
from passmint.coupons.rules import Kind, zone
from passmint.coupons.schemas import BatchCreate, CampaignCreate, CampaignPatch
from passmint.errors import PassmintError
from passmint.kit.currencies import MINOR_UNITS, format_minor
from passmint.models import Campaign
from passmint.web.errors import validation_error

KIND_CONTROLS: Final[dict[str, tuple[str, ...]]] = {
    Kind.DISCOUNT: ("percent_off", "amount_off", "max_discount"),
    Kind.FREE_ITEM: ("item_sku", "item_name"),
    Kind.GIFT_CARD: ("initial_balance",),
}
WEEKDAYS: Final = tuple(range(1, 8))
BATCH_CONTROLS: Final = ("count", "prefix", "pattern")

# A field as the API and the services name it → the control that holds it.
_CONTROLS: Final = {
    "percent_off_bp": "percent_off",
    "code_max_uses": "max_uses_per_code",
    "hours": "hours_from",
    "length": "pattern",
    "charset": "pattern",
}
_DECIMAL: Final = re.compile(r"\A([0-9]{1,15})(?:[.,]([0-9]{1,12}))?\Z")
_WHOLE: Final = re.compile(r"\A[0-9]{1,15}\Z")
_SPACES: Final = re.compile(r"[\s\u00a0\u202f]+")
_LIST: Final = re.compile(r"[\s,;]+")


def control_of(name: str | None) -> str | None:
    """The control for a field the API names (``rules.hours_from``, ``percent_off_bp``,
    ``rules.customer_ids.3``)."""
    if not name:
        return None
    parts = [p for p in str(name).split(".") if p]
    if parts and parts[0] == "rules":
        parts = parts[1:]
    if not parts:
        return None
    return _CONTROLS.get(parts[0], parts[0])


def _without_prefix(message: str, field_name: str | None) -> str:
    """``"ends_at: ends_at must be after starts_at"`` next to its control loses the name."""
    if field_name and message.startswith(f"{field_name}: "):
        return message[len(field_name) + 2 :]
    return message


def problems_of(exc: ValidationError) -> list[tuple[str | None, str]]:
    """(control, message) of every problem Pydantic found, in the API's words."""
    _, body = validation_error(exc.errors())
    found = []
    for problem in body["error"]["details"].get("problems", []):
        found.append((control_of(problem["path"]), str(problem["message"])))
    return found


def domain_problem(exc: PassmintError) -> tuple[str | None, str]:
    """(control, message) of a service's refusal that names its field."""
    named = exc.details.get("field") if isinstance(exc.details, dict) else None
    name = str(named) if isinstance(named, str) else None
    return control_of(name), _without_prefix(exc.message, name)


@dataclass
class Reading:
    """What a form said: its values as sent (to show again) and the problems per control
    (``""``: not tied to one)."""

    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)

    def problem(self, control: str | None, message: str) -> None:
        self.errors.setdefault(control or "", message)


class _Reader:
    def __init__(self, form: Mapping[str, str], t: Texts, reading: Reading) -> None:
        self.form = form
        self.t = t
        self.reading = reading

    def text(self, name: str) -> str | None:
        value = self.form.get(name, "").strip()
        return value or None

    def whole(self, name: str) -> int | None:
        raw = self.text(name)
        if raw is None:
            return None
        if not _WHOLE.match(raw):
            self.reading.problem(name, self.t.gettext("Enter a whole number."))
            return None
        return int(raw)

    def _decimal(self, name: str, digits: int) -> int | None:
        raw = self.text(name)
        if raw is None:
            return None
        match = _DECIMAL.match(_SPACES.sub("", raw))
        if match is None:
            self.reading.problem(name, self.t.gettext("Enter a number like 12.50."))
            return None
        fraction = match.group(2) or ""
        if len(fraction) > digits:
            self.reading.problem(
                name,
                self.t.ngettext(
                    "Use at most %(num)s decimal.", "Use at most %(num)s decimals.", digits
                )
                if digits
                else self.t.gettext("Enter a whole number."),
            )
            return None
        scale = int(10**digits)
        return int(match.group(1)) * scale + int(fraction.ljust(digits, "0") or "0")

    def amount(self, name: str, currency: str | None) -> int | None:
        """An amount in the currency's units → minor units."""
        return self._decimal(name, MINOR_UNITS.get(currency or "", 2))

    def percent(self, name: str) -> int | None:
        """A percentage → basis points (``12.5`` → 1250)."""
        return self._decimal(name, 2)

    def moment(self, name: str, where: ZoneInfo | None) -> str | None:
        """A local date and time (``datetime-local``) in the campaign's zone → ISO 8601."""
        raw = self.text(name)
        if raw is None:
            return None
        try:
            local = datetime.fromisoformat(raw)
        except ValueError:
            local = None
        if local is None or local.tzinfo is not None:
            self.reading.problem(name, self.t.gettext("Enter a date and a time."))
            return None
        if where is None:
            return None  # the time zone's own problem says why
        return local.replace(tzinfo=where).isoformat()

    def listed(self, name: str) -> list[str] | None:
        raw = self.text(name)
        if raw is None:
            return None
        return [part for part in _LIST.split(raw) if part]


def _zone(reader: _Reader, reading: Reading) -> tuple[str, ZoneInfo | None]:
    name = reader.text("timezone") or "UTC"
    try:
        return name, zone(name)
    except InvalidRules as exc:
        reading.problem(*domain_problem(exc))
        return name, None


def _rules(reader: _Reader, reading: Reading, currency: str | None) -> dict[str, Any]:
    timezone, where = _zone(reader, reading)
    weekdays = [d for d in WEEKDAYS if reader.form.get(f"weekday.{d}")]
    return {
        "starts_at": reader.moment("starts_at", where),
        "ends_at": reader.moment("ends_at", where),
        "timezone": timezone,
        "weekdays": weekdays or None,
        "hours_from": reader.text("hours_from"),
        "hours_to": reader.text("hours_to"),
        "min_order_amount": reader.amount("min_order_amount", currency),
        "max_order_amount": reader.amount("max_order_amount", currency),
        "per_customer_limit": reader.whole("per_customer_limit"),
        "total_limit": reader.whole("total_limit"),
        "max_uses_per_code": reader.whole("max_uses_per_code"),
        "customer_ids": reader.listed("customer_ids"),
        "tiers": _tiers(reader.text("tiers")),
    }


def _tiers(raw: str | None) -> list[str] | None:
    """Tier keys, comma-separated; text of only commas is an empty list (which the rules
    refuse: it would admit nobody)."""
    if raw is None:
        return None
    return [part.strip() for part in raw.split(",") if part.strip()]


def _value(reader: _Reader, kind: str, currency: str | None) -> dict[str, Any]:
    if kind == Kind.DISCOUNT:
        return {
            "percent_off_bp": reader.percent("percent_off"),
            "amount_off": reader.amount("amount_off", currency),
            "max_discount": reader.amount("max_discount", currency),
        }
    if kind == Kind.FREE_ITEM:
        return {"item_sku": reader.text("item_sku"), "item_name": reader.text("item_name")}
    if kind == Kind.GIFT_CARD:
        return {"initial_balance": reader.amount("initial_balance", currency)}
    return {}


M = TypeVar("M", bound=BaseModel)


def _validated(model: type[M], payload: dict[str, Any], reading: Reading) -> M | None:
    if reading.errors:
        return None
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        for control, message in problems_of(exc):
            reading.problem(control, message)
        return None


def read_create(form: Mapping[str, str], t: Texts) -> tuple[CampaignCreate | None, Reading]:
    """The body ``POST /api/v1/campaigns`` would take, or the problems of the form."""
    reading = Reading(dict(form))
    reader = _Reader(form, t, reading)
    kind = reader.text("kind") or ""
    currency = (reader.text("currency") or "").upper() or None
    rules = _rules(reader, reading, currency)
    if rules["max_uses_per_code"] is None:
        del rules["max_uses_per_code"]  # the kind's default: one use, unlimited for gift cards
    payload: dict[str, Any] = {
        "name": form.get("name", ""),
        "kind": kind,
        "status": reader.text("status") or "active",
        "currency": currency,
        "template_id": reader.text("template_id"),
        "rules": rules,
        **_value(reader, kind, currency),
    }
    return _validated(CampaignCreate, payload, reading), reading


def read_patch(
    form: Mapping[str, str], t: Texts, campaign: Campaign
) -> tuple[CampaignPatch | None, Reading]:
    """The body ``PATCH /api/v1/campaigns/{id}`` would take to make the campaign what the
    form shows (every rule sent: an empty control clears its rule)."""
    reading = Reading(dict(form))
    reader = _Reader(form, t, reading)
    payload: dict[str, Any] = {
        "name": form.get("name", ""),
        "status": reader.text("status") or campaign.status,
        "template_id": reader.text("template_id"),
        "rules": _rules(reader, reading, campaign.currency),
        **_value(reader, campaign.kind, campaign.currency),
    }
    return _validated(CampaignPatch, payload, reading), reading


def read_amount(
    form: Mapping[str, str], t: Texts, name: str, currency: str | None, reading: Reading
) -> int | None:
    """One amount control in the currency's units, as minor units (a problem otherwise)."""
    return _Reader(form, t, reading).amount(name, currency)


def read_batch(form: Mapping[str, str], t: Texts) -> tuple[BatchCreate | None, Reading]:
    """The body ``POST /api/v1/campaigns/{id}/batches`` would take."""
    reading = Reading({name: form.get(name, "") for name in BATCH_CONTROLS})
    reader = _Reader(form, t, reading)
    count = reader.whole("count")
    if count is None and "count" not in reading.errors:
        reading.problem("count", t.gettext("How many codes?"))
    payload = {"count": count, "prefix": reader.text("prefix"), "pattern": reader.text("pattern")}
    return _validated(BatchCreate, payload, reading), reading


# -- a campaign as the form shows it -------------------------------------------------------------


def _percent_text(basis_points: int | None) -> str:
    if basis_points is None:
        return ""
    whole, fraction = divmod(basis_points, 100)
    return str(whole) if not fraction else f"{whole}.{fraction:02d}".rstrip("0")


def _money_text(value: int | None, currency: str | None) -> str:
    return "" if value is None else format_minor(value, currency or "")


def _local(value: datetime | None, where: ZoneInfo) -> str:
    if value is None:
        return ""
    local = value.astimezone(where)
    return local.strftime("%Y-%m-%dT%H:%M" if local.second == 0 else "%Y-%m-%dT%H:%M:%S")


def hhmm(minutes: int | None) -> str:
    """A minute of the day as ``HH:MM`` (empty for none)."""
    return "" if minutes is None else f"{minutes // 60:02d}:{minutes % 60:02d}"


def zone_of(campaign: Campaign) -> ZoneInfo:
    """A stored campaign's time zone (UTC should the zone database no longer know it)."""
    try:
        return ZoneInfo(campaign.timezone)
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


def values_of(campaign: Campaign) -> dict[str, str]:
    """The form's controls for a stored campaign."""
    where = zone_of(campaign)
    currency = campaign.currency
    values = {
        "name": campaign.name,
        "kind": campaign.kind,
        "status": campaign.status,
        "currency": currency or "",
        "percent_off": _percent_text(campaign.percent_off_bp),
        "amount_off": _money_text(campaign.amount_off, currency),
        "max_discount": _money_text(campaign.max_discount, currency),
        "item_sku": campaign.item_sku or "",
        "item_name": campaign.item_name or "",
        "initial_balance": _money_text(campaign.initial_balance, currency),
        "template_id": str(campaign.template_id) if campaign.template_id else "",
        "starts_at": _local(campaign.starts_at, where),
        "ends_at": _local(campaign.ends_at, where),
        "timezone": campaign.timezone,
        "hours_from": hhmm(campaign.hours_from),
        "hours_to": hhmm(campaign.hours_to),
        "min_order_amount": _money_text(campaign.min_order_amount, currency),
        "max_order_amount": _money_text(campaign.max_order_amount, currency),
        "per_customer_limit": _count_text(campaign.per_customer_limit),
        "total_limit": _count_text(campaign.total_limit),
        "max_uses_per_code": _count_text(campaign.code_max_uses),
        "customer_ids": "\n".join(str(c) for c in campaign.customer_ids or []),
        "tiers": ", ".join(str(t) for t in campaign.tiers or []),
    }
    for day in campaign.weekdays or []:
        values[f"weekday.{day}"] = "on"
    return values


def _count_text(value: int | None) -> str:
    return "" if value is None else str(value)
