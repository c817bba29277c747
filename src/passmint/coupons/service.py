"""Campaigns, codes and publications; the API the loyalty domain calls (``issue_code``,
``customer_wallet``). Batches live in ``coupons.batches``, redemptions in
``coupons.redemptions``.

Services flush and never commit. A code handed to a customer in a campaign with a template
gets its own pass, kept in step with the code (uses left, balance, state).
"""

from __future__ import annotations

import dataclasses
import secrets
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm.attributes import set_committed_value

from passmint.coupons import codes, repository
from passmint.coupons.errors import (
    CampaignInactive,
    CampaignNotFound,
    CodeNotFound,
    CustomerNotFound,
    IdempotencyKeyReused,
)
from passmint.coupons.rules import (
    CampaignStatus,
    CodeState,
    Kind,
    Terms,
    check_terms,
    is_expired,
    uses_left,
)
from passmint.coupons.schemas import CampaignCreate, CampaignPatch, CampaignRules
from passmint.kit.currencies import format_minor
from passmint.kit.ids import uuid7
from passmint.models import Campaign, Code
from passmint.passes import service as passes
from passmint.passes.errors import PassVoided
from passmint.passes.events import EventKind, record
from passmint.passes.service import PassContext
from passmint.tenants import quotas
from passmint.tenants.quotas import Quota

NEW_CODE_ATTEMPTS = 5

# -- terms ---------------------------------------------------------------------------------


def _minutes(text: str | None) -> int | None:
    if text is None:
        return None
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def _hhmm(minutes: int | None) -> str | None:
    return None if minutes is None else f"{minutes // 60:02d}:{minutes % 60:02d}"


def terms_of(campaign: Campaign) -> Terms:
    return Terms(
        kind=campaign.kind,
        percent_off_bp=campaign.percent_off_bp,
        amount_off=campaign.amount_off,
        max_discount=campaign.max_discount,
        item_sku=campaign.item_sku,
        item_name=campaign.item_name,
        initial_balance=campaign.initial_balance,
        currency=campaign.currency,
        starts_at=campaign.starts_at,
        ends_at=campaign.ends_at,
        timezone=campaign.timezone,
        weekdays=None if campaign.weekdays is None else tuple(campaign.weekdays),
        hours_from=campaign.hours_from,
        hours_to=campaign.hours_to,
        min_order_amount=campaign.min_order_amount,
        max_order_amount=campaign.max_order_amount,
        customer_ids=(
            None
            if campaign.customer_ids is None
            else frozenset(uuid.UUID(str(c)) for c in campaign.customer_ids)
        ),
        tiers=None if campaign.tiers is None else frozenset(str(t) for t in campaign.tiers),
        per_customer_limit=campaign.per_customer_limit,
        total_limit=campaign.total_limit,
        code_max_uses=campaign.code_max_uses,
    )


_RULE_FIELDS = {
    "starts_at": "starts_at",
    "ends_at": "ends_at",
    "timezone": "timezone",
    "weekdays": "weekdays",
    "hours_from": "hours_from",
    "hours_to": "hours_to",
    "min_order_amount": "min_order_amount",
    "max_order_amount": "max_order_amount",
    "per_customer_limit": "per_customer_limit",
    "total_limit": "total_limit",
    "max_uses_per_code": "code_max_uses",
    "customer_ids": "customer_ids",
    "tiers": "tiers",
}


def _rule_value(name: str, value: Any) -> Any:
    if value is None:
        return None
    if name in ("starts_at", "ends_at"):
        return value.astimezone(UTC)
    if name in ("hours_from", "hours_to"):
        return _minutes(value)
    if name == "weekdays":
        return tuple(value)
    if name == "customer_ids":
        return frozenset(value)
    if name == "tiers":
        return frozenset(str(t) for t in value)
    return value


def _with_rules(terms: Terms, rules: CampaignRules, fields: set[str]) -> Terms:
    changes = {
        _RULE_FIELDS[name]: _rule_value(name, getattr(rules, name))
        for name in fields
        if name in _RULE_FIELDS
    }
    if changes.get("timezone", terms.timezone) is None:
        changes["timezone"] = "UTC"
    return dataclasses.replace(terms, **changes)


def _apply_terms(campaign: Campaign, terms: Terms) -> None:
    campaign.percent_off_bp = terms.percent_off_bp
    campaign.amount_off = terms.amount_off
    campaign.max_discount = terms.max_discount
    campaign.item_sku = terms.item_sku
    campaign.item_name = terms.item_name
    campaign.initial_balance = terms.initial_balance
    campaign.currency = terms.currency
    campaign.starts_at = terms.starts_at
    campaign.ends_at = terms.ends_at
    campaign.timezone = terms.timezone
    campaign.weekdays = None if terms.weekdays is None else sorted(terms.weekdays)
    campaign.hours_from = terms.hours_from
    campaign.hours_to = terms.hours_to
    campaign.min_order_amount = terms.min_order_amount
    campaign.max_order_amount = terms.max_order_amount
    campaign.customer_ids = (
        None if terms.customer_ids is None else sorted(str(c) for c in terms.customer_ids)
    )
    campaign.tiers = None if terms.tiers is None else sorted(terms.tiers)
    campaign.per_customer_limit = terms.per_customer_limit
    campaign.total_limit = terms.total_limit
    campaign.code_max_uses = terms.code_max_uses


def rules_of(campaign: Campaign) -> CampaignRules:
    return CampaignRules(
        starts_at=campaign.starts_at,
        ends_at=campaign.ends_at,
        timezone=campaign.timezone,
        weekdays=campaign.weekdays,
        hours_from=_hhmm(campaign.hours_from),
        hours_to=_hhmm(campaign.hours_to),
        min_order_amount=campaign.min_order_amount,
        max_order_amount=campaign.max_order_amount,
        per_customer_limit=campaign.per_customer_limit,
        total_limit=campaign.total_limit,
        max_uses_per_code=campaign.code_max_uses,
        customer_ids=(
            None if campaign.customer_ids is None else [uuid.UUID(c) for c in campaign.customer_ids]
        ),
        tiers=campaign.tiers,
    )


# -- campaigns -------------------------------------------------------------------------------


async def create_campaign(ctx: PassContext, body: CampaignCreate) -> Campaign:
    terms = Terms(
        kind=body.kind,
        percent_off_bp=body.percent_off_bp,
        amount_off=body.amount_off,
        max_discount=body.max_discount,
        item_sku=body.item_sku,
        item_name=body.item_name,
        initial_balance=body.initial_balance,
        currency=body.currency,
        code_max_uses=None if body.kind == Kind.GIFT_CARD else 1,
    )
    terms = _with_rules(terms, body.rules, set(body.rules.model_fields_set))
    check_terms(terms)
    if body.template_id is not None:
        await passes.get_template(ctx, body.template_id)
    campaign = Campaign(
        id=uuid7(),
        tenant_id=ctx.tenant_id,
        name=body.name.strip() or body.name,
        kind=body.kind.value,
        status=body.status,
        template_id=body.template_id,
        total_used=0,
        created_at=ctx.now,
        updated_at=ctx.now,
    )
    _apply_terms(campaign, terms)
    ctx.session.add(campaign)
    await ctx.session.flush()
    return campaign


async def get_campaign(ctx: PassContext, campaign_id: uuid.UUID, *, lock: bool = False) -> Campaign:
    campaign = await repository.get_campaign(ctx.session, ctx.tenant_id, campaign_id, lock=lock)
    if campaign is None:
        raise CampaignNotFound(f"no campaign {campaign_id}")
    return campaign


async def list_campaigns(ctx: PassContext, after: uuid.UUID | None, limit: int) -> list[Campaign]:
    return await repository.list_campaigns(ctx.session, ctx.tenant_id, after, limit)


async def update_campaign(
    ctx: PassContext, campaign_id: uuid.UUID, body: CampaignPatch
) -> Campaign:
    """Waits for the redemptions and rollbacks in flight (they hold the campaign's KEY SHARE
    lock), so a total or per-customer limit set now counts every committed redemption
    exactly once."""
    campaign = await get_campaign(ctx, campaign_id, lock=True)
    sent = body.model_fields_set
    value_fields = (
        "percent_off_bp",
        "amount_off",
        "max_discount",
        "item_sku",
        "item_name",
        "initial_balance",
    )
    terms = dataclasses.replace(
        terms_of(campaign), **{f: getattr(body, f) for f in value_fields if f in sent}
    )
    if body.rules is not None:
        terms = _with_rules(terms, body.rules, set(body.rules.model_fields_set))
    check_terms(terms)
    if "template_id" in sent and body.template_id is not None:
        await passes.get_template(ctx, body.template_id)
    had_limit = campaign.total_limit is not None
    had_customer_limit = campaign.per_customer_limit is not None
    _apply_terms(campaign, terms)
    # Counters are kept only while a limit needs them: a new limit counts what was redeemed.
    if campaign.total_limit is not None and not had_limit:
        campaign.total_used = await repository.count_live_redemptions(ctx.session, campaign.id)
    if campaign.per_customer_limit is not None and not had_customer_limit:
        await repository.recount_customer_uses(ctx.session, ctx.tenant_id, campaign.id)
    if body.name is not None:
        campaign.name = body.name.strip() or body.name
    if body.status is not None:
        campaign.status = body.status
    if "template_id" in sent:
        campaign.template_id = body.template_id
    campaign.updated_at = ctx.now
    await ctx.session.flush()
    return campaign


# -- codes -----------------------------------------------------------------------------------


def code_state(code: Code) -> CodeState:
    return CodeState(
        status=code.status,
        max_uses=code.max_uses,
        used_count=code.used_count,
        balance=code.balance,
        expires_at=code.expires_at,
        customer_id=code.customer_id,
    )


def state_label(campaign: Campaign, code: Code, now: datetime) -> str:
    """active, redeemed (no use or balance left), expired or voided."""
    if code.status == "voided":
        return "voided"
    if is_expired(terms_of(campaign), code_state(code), now):
        return "expired"
    if code.max_uses is not None and code.used_count >= code.max_uses:
        return "redeemed"
    if campaign.kind == Kind.GIFT_CARD and (code.balance or 0) <= 0:
        return "redeemed"
    return "active"


def _percent(basis_points: int) -> str:
    whole, rest = divmod(basis_points, 100)
    return f"{whole}%" if rest == 0 else f"{whole}.{rest:02d}".rstrip("0") + "%"


def offer_text(campaign: Campaign) -> str:
    """What the code gives, for a pass field: ``10%``, ``5.00 EUR``, the item's name."""
    if campaign.kind == Kind.FREE_ITEM:
        return campaign.item_name or campaign.item_sku or ""
    if campaign.kind == Kind.GIFT_CARD:
        return "gift card"
    if campaign.percent_off_bp is not None:
        return _percent(campaign.percent_off_bp)
    assert campaign.amount_off is not None
    assert campaign.currency is not None
    return f"{format_minor(campaign.amount_off, campaign.currency)} {campaign.currency}"


def pass_data(campaign: Campaign, code: Code, now: datetime) -> dict[str, Any]:
    """The placeholders a coupon or gift-card design can use (null leaves a field blank)."""
    expires = earliest(code.expires_at, campaign.ends_at)
    left = uses_left(code_state(code))
    gift = campaign.kind == Kind.GIFT_CARD and campaign.currency is not None
    return {
        "code": code.code,
        "campaign": campaign.name,
        "kind": campaign.kind,
        "discount": offer_text(campaign),
        "status": state_label(campaign, code, now),
        "expires_at": expires.isoformat() if expires is not None else None,
        "uses_left": left,
        "balance": (format_minor(code.balance or 0, campaign.currency or "") if gift else None),
        "balance_minor": code.balance if gift else None,
        "currency": campaign.currency,
    }


async def sync_pass(ctx: PassContext, campaign: Campaign, code: Code) -> None:
    """Show the code's current state on its pass (pushed to devices if it changed)."""
    if code.pass_id is None:
        return
    try:
        await passes.update_pass(ctx, code.pass_id, pass_data(campaign, code, ctx.now))
    except PassVoided:
        return  # voided by hand: it shows nothing any more


def committed(code: Code, used_count: int, balance: int | None) -> None:
    """Record counters a conditional UPDATE returned, without marking the code dirty."""
    set_committed_value(code, "used_count", used_count)
    set_committed_value(code, "balance", balance)


async def list_codes(
    ctx: PassContext,
    campaign_id: uuid.UUID,
    *,
    batch_id: uuid.UUID | None,
    customer_id: uuid.UUID | None,
    after: uuid.UUID | None,
    limit: int,
) -> tuple[Campaign, list[Code]]:
    campaign = await get_campaign(ctx, campaign_id)
    rows = await repository.list_codes(
        ctx.session,
        ctx.tenant_id,
        campaign.id,
        batch_id=batch_id,
        customer_id=customer_id,
        after=after,
        limit=limit,
    )
    return campaign, rows


async def get_code(
    ctx: PassContext, campaign_id: uuid.UUID, code_id: uuid.UUID, *, lock: bool = False
) -> tuple[Campaign, Code]:
    campaign = await get_campaign(ctx, campaign_id)
    code = await repository.get_code(ctx.session, ctx.tenant_id, code_id, lock=lock)
    if code is None or code.campaign_id != campaign.id:
        raise CodeNotFound(f"no code {code_id} in this campaign")
    return campaign, code


async def void_code(
    ctx: PassContext, campaign_id: uuid.UUID, code_id: uuid.UUID
) -> tuple[Campaign, Code]:
    """The code answers ``code_not_found`` from now on; its pass is voided."""
    campaign, code = await get_code(ctx, campaign_id, code_id, lock=True)
    if code.status != "voided":
        code.status = "voided"
        await ctx.session.flush()
        if code.pass_id is not None:
            await passes.void_pass(ctx, code.pass_id)
    return campaign, code


# -- publications ----------------------------------------------------------------------------


async def _check_customer(ctx: PassContext, customer_id: uuid.UUID | None) -> None:
    if customer_id is not None and not await repository.customer_exists(
        ctx.session, ctx.tenant_id, customer_id
    ):
        raise CustomerNotFound(f"no customer {customer_id}")


async def _new_code(
    ctx: PassContext, campaign: Campaign, customer_id: uuid.UUID | None, key: str
) -> uuid.UUID:
    await quotas.take(ctx.session, ctx.tenant_id, ctx.quotas, Quota.CODES)
    spec = codes.parse_spec(prefix=None, pattern=None, charset=None, length=None)
    for _ in range(NEW_CODE_ATTEMPTS):
        shown, normal = codes.generate(spec, 1, secrets.token_bytes)
        code_id = await repository.insert_published_code(
            ctx.session,
            Code(
                id=uuid7(),
                tenant_id=ctx.tenant_id,
                campaign_id=campaign.id,
                batch_id=None,
                code=shown[0],
                code_normalized=normal[0],
                status="active",
                max_uses=campaign.code_max_uses,
                used_count=0,
                balance=campaign.initial_balance if campaign.kind == Kind.GIFT_CARD else None,
                expires_at=None,
                customer_id=customer_id,
                pass_id=None,
                publication_key=key,
                published_at=ctx.now,
                created_at=ctx.now,
            ),
        )
        if code_id is not None:
            return code_id
    raise RuntimeError("could not draw an unused code in 5 tries of 31^10")  # pragma: no cover


async def issue_code(
    ctx: PassContext,
    campaign_id: uuid.UUID,
    *,
    customer_id: uuid.UUID | None,
    idempotency_key: str,
) -> Code:
    """Hand a code of the campaign to a customer (or to nobody in particular): a free
    pre-generated code if there is one, else a new one; with the campaign's template, the
    code's pass is issued too. The same ``idempotency_key`` returns the same code.

    Raises ``campaign_not_found`` (404), ``campaign_inactive`` (409: paused, archived or
    ended), ``customer_not_found`` (404) and ``idempotency_key_reused`` (409).
    """
    existing = await repository.code_by_publication_key(ctx.session, ctx.tenant_id, idempotency_key)
    if existing is not None:
        if existing.campaign_id != campaign_id or existing.customer_id != customer_id:
            raise IdempotencyKeyReused(
                "this idempotency key handed out a code of another campaign or customer"
            )
        return existing
    campaign = await get_campaign(ctx, campaign_id)
    if campaign.status != CampaignStatus.ACTIVE:
        raise CampaignInactive(f"the campaign is {campaign.status}")
    if campaign.ends_at is not None and campaign.ends_at <= ctx.now:
        raise CampaignInactive("the campaign has ended")
    await _check_customer(ctx, customer_id)
    code_id = await repository.publish_free_code(
        ctx.session, campaign.id, now=ctx.now, customer_id=customer_id, key=idempotency_key
    )
    if code_id is None:
        code_id = await _new_code(ctx, campaign, customer_id, idempotency_key)
    code = await repository.get_code(ctx.session, ctx.tenant_id, code_id, fresh=True)
    assert code is not None
    if campaign.template_id is not None:
        pass_ = await passes.issue_pass(
            ctx,
            template_id=campaign.template_id,
            data=pass_data(campaign, code, ctx.now),
            external_id=f"code:{code.id}",
        )
        code.pass_id = pass_.id
        await ctx.session.flush()
    return code


# -- the customer's wallet -------------------------------------------------------------------


def earliest(*moments: datetime | None) -> datetime | None:
    """The first of the moments given (a code dies at its own or its campaign's end)."""
    return min((m for m in moments if m is not None), default=None)


def _offer(campaign: Campaign) -> dict[str, Any]:
    if campaign.kind == Kind.FREE_ITEM:
        return {"type": "free_item", "item_sku": campaign.item_sku, "item_name": campaign.item_name}
    if campaign.percent_off_bp is not None:
        return {
            "type": "percentage",
            "percent_off_bp": campaign.percent_off_bp,
            "max_discount": campaign.max_discount,
            "currency": campaign.currency,
        }
    return {"type": "amount", "amount_off": campaign.amount_off, "currency": campaign.currency}


async def customer_wallet(
    ctx: PassContext, customer_id: uuid.UUID
) -> dict[str, list[dict[str, Any]]]:
    """The customer's usable coupons and gift cards, JSON-ready::

        {"coupons": [{code_id, code, campaign_id, campaign_name, kind, discount, text,
                      expires_at, uses_left, pass_id}],
         "gift_cards": [{code_id, code, campaign_id, campaign_name, balance, currency,
                         expires_at, pass_id}]}

    Voided, expired, used-up and empty codes and those of paused campaigns are left out.
    """
    await _check_customer(ctx, customer_id)
    coupons: list[dict[str, Any]] = []
    gift_cards: list[dict[str, Any]] = []
    for code, campaign in await repository.codes_of_customer(
        ctx.session, ctx.tenant_id, customer_id
    ):
        if campaign.status != CampaignStatus.ACTIVE:
            continue
        if state_label(campaign, code, ctx.now) != "active":
            continue
        expires = earliest(code.expires_at, campaign.ends_at)
        common = {
            "code_id": str(code.id),
            "code": code.code,
            "campaign_id": str(campaign.id),
            "campaign_name": campaign.name,
            "expires_at": expires.isoformat() if expires is not None else None,
            "pass_id": str(code.pass_id) if code.pass_id is not None else None,
        }
        if campaign.kind == Kind.GIFT_CARD:
            gift_cards.append({**common, "balance": code.balance, "currency": campaign.currency})
        else:
            coupons.append(
                {
                    **common,
                    "kind": campaign.kind,
                    "discount": _offer(campaign),
                    "text": offer_text(campaign),
                    "uses_left": uses_left(code_state(code)),
                }
            )
    return {"coupons": coupons, "gift_cards": gift_cards}


# -- guessing --------------------------------------------------------------------------------


async def record_guessing(
    ctx: PassContext,
    *,
    api_key_id: uuid.UUID | None,
    user_id: uuid.UUID | None = None,
    client: str,
    by: str,
    limit: str,
) -> None:
    """The tenant's alarm: ``by`` (``api_key``, ``user`` or ``address``) got more
    ``code_not_found`` answers than ``limit`` allows (``100 per 1 hour``), which is what
    guessing codes looks like. Recorded in the event log as ``code_guessing``, once per
    window, naming the API key or the staff user who called."""
    caller = {"user_id": str(user_id)} if user_id else {"api_key_id": str(api_key_id)}
    await record(
        ctx.session,
        tenant_id=ctx.tenant_id,
        kind=EventKind.CODE_GUESSING,
        now=ctx.now,
        data={"by": by, **caller, "client": client, "limit": limit},
    )
