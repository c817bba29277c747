"""The loyalty engine: programs, customers, accounts, the ledger, activities, tiers,
rewards and referrals. Services flush and never commit; jobs go through the outbox.

Ledger rules (ARCHITECTURE §value):

* Every movement is an appended :class:`LedgerEntry` with an actor and a unique
  idempotency key; amounts and kinds never change. A credit is a *lot*: its ``remaining``
  and ``status`` (pending → posted) are the lot's bookkeeping.
* Debits consume lots first-expiring-first (never-expiring last, then oldest) and say
  which lots in ``LotAllocation``; expiry posts an ``expire`` entry for what a lot has left.
* ``Account.balance``/``pending``/``lifetime_earned`` are caches of the ledger's sums,
  updated in the same transaction, rebuildable with :func:`rebuild_balances`.
* Every balance change locks the account row first, so concurrent spends serialize and
  never overdraw; only reversals of returned purchases may take a balance below zero.
* After every change the account's pass data (``points``, ``tier``, ``next_reward`` …) is
  re-rendered, which pushes Apple devices and PATCHes the Google object.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from passmint.coupons import service as coupons
from passmint.errors import check_json_object
from passmint.kit.ids import uuid7
from passmint.kit.jsonobject import ATTRIBUTES
from passmint.loyalty import repository
from passmint.loyalty.errors import (
    AccountClosed,
    AccountExists,
    AccountNotFound,
    ActivityConflict,
    CustomerConflict,
    CustomerNotFound,
    EntryNotFound,
    InsufficientBalance,
    InvalidLoyaltyInput,
    ProgramInactive,
    ProgramNotFound,
    PurchaseNotFound,
    ReferralCodeNotFound,
    RefundExceedsSpend,
    ReturnExceedsPurchase,
    RewardNotFound,
    RewardUnavailable,
    SelfReferral,
)
from passmint.loyalty.rules import (
    Earning,
    RuleUsage,
    day_bounds,
    earnings,
    expiry_for,
    next_tier,
    period_bounds,
    proportional,
    tier_for,
)
from passmint.loyalty.schemas import (
    ActivityIn,
    CustomerIn,
    ProgramConfig,
    RewardIn,
    Tier,
)
from passmint.models import (
    Account,
    Activity,
    Customer,
    LedgerEntry,
    LotAllocation,
    Program,
    Referral,
    Reward,
)
from passmint.passes import repository as pass_repository
from passmint.passes import service as pass_service
from passmint.passes.service import PassContext
from passmint.wallet.designs.usage import Provider
from passmint.worker.outbox import enqueue

SETTLE_JOB: Final = "loyalty.settle_account"
TIER_REVIEW_JOB: Final = "loyalty.review_tier"
BIRTHDAY_JOB: Final = "loyalty.birthdays"
RENDER_JOB: Final = "loyalty.render_pass"
RENDER_KEY: Final = "passmint.loyalty.render_pending"
_NUMBER_DIGITS: Final = 12
_REFERRAL_ALPHABET: Final = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


@dataclass(frozen=True)
class Actor:
    """Who moved value: an API key, a staff user, a rule or the system (expiry)."""

    type: str
    id: str | None = None


SYSTEM = Actor("system")


def config_of(program: Program) -> ProgramConfig:
    return ProgramConfig.model_validate(program.config)


# -- programs --------------------------------------------------------------------------------


async def create_program(
    ctx: PassContext, *, name: str, template_id: uuid.UUID, config: ProgramConfig
) -> Program:
    await pass_service.get_template(ctx, template_id)  # 404 for another tenant's template
    program = Program(
        id=uuid7(),
        tenant_id=ctx.tenant_id,
        name=name,
        template_id=template_id,
        status="active",
        config=config.model_dump(mode="json"),
        created_at=ctx.now,
        updated_at=ctx.now,
    )
    ctx.session.add(program)
    await ctx.session.flush()
    if any(rule.trigger == "birthday" for rule in config.earn_rules):
        await _schedule_birthdays(ctx, program, config)
    return program


async def list_programs(ctx: PassContext) -> list[Program]:
    return await repository.list_programs(ctx.session, ctx.tenant_id)


async def list_rewards(ctx: PassContext, program_id: uuid.UUID) -> list[Reward]:
    program = await get_program(ctx, program_id)
    return await repository.rewards_of_program(ctx.session, program.id)


async def get_program(ctx: PassContext, program_id: uuid.UUID, *, lock: bool = False) -> Program:
    program = await repository.get_program(ctx.session, ctx.tenant_id, program_id, lock=lock)
    if program is None:
        raise ProgramNotFound(f"no program {program_id}")
    return program


async def update_program(
    ctx: PassContext,
    program_id: uuid.UUID,
    *,
    name: str | None,
    status: str | None,
    config: ProgramConfig | None,
) -> Program:
    program = await get_program(ctx, program_id, lock=True)
    if name is not None:
        program.name = name
    if status is not None:
        program.status = status
    if config is not None:
        old = config_of(program)
        if old.currency.code != config.currency.code and await repository.has_accounts(
            ctx.session, program.id
        ):
            raise InvalidLoyaltyInput(
                "config.currency.code cannot change once cards exist (their passes show it)"
            )
        program.config = config.model_dump(mode="json")
        if any(r.trigger == "birthday" for r in config.earn_rules) and not any(
            r.trigger == "birthday" for r in old.earn_rules
        ):
            await _schedule_birthdays(ctx, program, config)
    program.updated_at = ctx.now
    return program


# -- customers -------------------------------------------------------------------------------


async def upsert_customer(ctx: PassContext, data: CustomerIn) -> Customer:
    """Match by external id, then phone, then email; fill in what the match lacks."""
    found = await repository.matching_customers(
        ctx.session, ctx.tenant_id, external_id=data.external_id, phone=data.phone, email=data.email
    )
    if len({c.id for c in found}) > 1:
        raise CustomerConflict(
            "external_id, phone and email belong to different customers",
            details={"customer_ids": sorted(str(c.id) for c in found)},
        )
    customer = found[0] if found else None
    if customer is None:
        customer = Customer(
            id=uuid7(),
            tenant_id=ctx.tenant_id,
            attributes={},
            created_at=ctx.now,
            updated_at=ctx.now,
        )
        ctx.session.add(customer)
    for name in ("external_id", "email", "phone", "name", "birthday", "locale"):
        value = getattr(data, name)
        current = getattr(customer, name, None)
        updatable = name in ("name", "birthday", "locale")  # identifiers only fill gaps
        if value is not None and (current is None or (updatable and current != value)):
            setattr(customer, name, value)
    attributes = {**(customer.attributes or {}), **data.attributes}
    check_json_object(attributes, ATTRIBUTES, "attributes")  # merges must not grow past them
    customer.attributes = attributes
    customer.updated_at = ctx.now
    await ctx.session.flush()
    return customer


async def get_customer(ctx: PassContext, customer_id: uuid.UUID) -> Customer:
    customer = await repository.get_customer(ctx.session, ctx.tenant_id, customer_id)
    if customer is None:
        raise CustomerNotFound(f"no customer {customer_id}")
    return customer


# -- accounts --------------------------------------------------------------------------------


def _card_number() -> str:
    """12 digits, the last a Luhn check digit (typo-proof at a till)."""
    body = [secrets.randbelow(10) for _ in range(_NUMBER_DIGITS - 1)]
    body[0] = body[0] or 1
    total = 0
    for index, digit in enumerate(reversed(body)):
        doubled = digit * 2 if index % 2 == 0 else digit
        total += doubled - 9 if doubled > 9 else doubled
    return "".join(map(str, body)) + str((10 - total % 10) % 10)


def _referral_code() -> str:
    return "".join(secrets.choice(_REFERRAL_ALPHABET) for _ in range(8))


async def create_account(
    ctx: PassContext,
    program_id: uuid.UUID,
    *,
    customer: CustomerIn | None,
    external_id: str | None,
    referral_code: str | None,
    actor: Actor,
) -> Account:
    program = await get_program(ctx, program_id)
    if program.status != "active":
        raise ProgramInactive(f"program {program.name!r} is {program.status}")
    config = config_of(program)
    holder = await upsert_customer(ctx, customer) if customer is not None else None
    if holder is not None:
        existing = await repository.account_of_customer(ctx.session, program.id, holder.id)
        if existing is not None:
            raise AccountExists(
                "this customer already has a card in this program",
                details={"account_id": str(existing.id)},
            )
    referrer = None
    if referral_code is not None:
        referrer = await repository.account_by_referral_code(
            ctx.session, ctx.tenant_id, referral_code.strip().upper()
        )
        if referrer is None or referrer.program_id != program.id:
            raise ReferralCodeNotFound("no card of this program has that referral code")
        if holder is not None and referrer.customer_id == holder.id:
            raise SelfReferral("a customer cannot refer themselves")
    account = Account(
        id=uuid7(),
        tenant_id=ctx.tenant_id,
        program_id=program.id,
        customer_id=holder.id if holder else None,
        external_id=external_id,
        number=_card_number(),
        status="active",
        balance=0,
        pending=0,
        lifetime_earned=0,
        tier=config.tiers[0].key if config.tiers else None,
        tier_since=ctx.now if config.tiers else None,
        tier_review_at=None,
        referral_code=_referral_code(),
        referred_by=referrer.id if referrer else None,
        last_activity_at=ctx.now,
        created_at=ctx.now,
        updated_at=ctx.now,
    )
    ctx.session.add(account)
    await ctx.session.flush()
    if referrer is not None:
        ctx.session.add(
            Referral(
                id=uuid7(),
                tenant_id=ctx.tenant_id,
                referrer_account_id=referrer.id,
                referee_account_id=account.id,
                status="pending",
                created_at=ctx.now,
            )
        )
    welcome = earnings(config, trigger="enrollment", tier=account.tier, usage={}, at=ctx.now)
    await _post_earnings(ctx, account, config, welcome, key_base=f"enrollment:{account.id}")
    await _upgrade(ctx, account, config)
    pass_ = await pass_service.issue_pass(  # rendered once, with the welcome points in
        ctx,
        template_id=program.template_id,
        data=await pass_data(ctx, account, program, config, holder),
        external_id=str(account.id),
    )
    account.pass_id = pass_.id
    return account


async def get_account(ctx: PassContext, account_id: uuid.UUID, *, lock: bool = False) -> Account:
    account = await repository.get_account(ctx.session, ctx.tenant_id, account_id, lock=lock)
    if account is None:
        raise AccountNotFound(f"no account {account_id}")
    return account


async def attach_customer(ctx: PassContext, account_id: uuid.UUID, data: CustomerIn) -> Account:
    """An anonymous card becomes personal: the customer is bound, the ledger untouched."""
    account = await get_account(ctx, account_id, lock=True)
    customer = await upsert_customer(ctx, data)
    if account.customer_id == customer.id:
        return account
    if account.customer_id is not None:
        raise AccountExists("this card already belongs to another customer")
    other = await repository.account_of_customer(ctx.session, account.program_id, customer.id)
    if other is not None:
        raise AccountExists(
            "this customer already has a card in this program",
            details={"account_id": str(other.id)},
        )
    if account.referred_by is not None:
        referrer = await repository.get_account(ctx.session, ctx.tenant_id, account.referred_by)
        if referrer is not None and referrer.customer_id == customer.id:
            raise SelfReferral("a customer cannot refer themselves")
    account.customer_id = customer.id
    account.updated_at = ctx.now
    program = await get_program(ctx, account.program_id)
    await _after_change(ctx, account, program, config_of(program))
    return account


# -- the ledger ------------------------------------------------------------------------------


def _entry(
    ctx: PassContext,
    account: Account,
    *,
    kind: str,
    amount: int,
    key: str,
    actor: Actor,
    status: str = "posted",
    available_at: datetime | None = None,
    expires_at: datetime | None = None,
    remaining: int = 0,
    rule: str | None = None,
    activity: Activity | None = None,
    reward: Reward | None = None,
    reverses: LedgerEntry | None = None,
    note: str | None = None,
) -> LedgerEntry:
    entry = LedgerEntry(
        id=uuid7(),
        tenant_id=ctx.tenant_id,
        account_id=account.id,
        kind=kind,
        amount=amount,
        status=status,
        available_at=available_at or ctx.now,
        expires_at=expires_at,
        remaining=remaining,
        activity_id=activity.id if activity else None,
        reward_id=reward.id if reward else None,
        reverses_id=reverses.id if reverses else None,
        rule=rule,
        actor_type=actor.type,
        actor_id=actor.id,
        idempotency_key=key,
        note=note,
        created_at=ctx.now,
    )
    ctx.session.add(entry)
    return entry


async def _credit(
    ctx: PassContext,
    account: Account,
    config: ProgramConfig,
    amount: int,
    *,
    key: str,
    actor: Actor,
    kind: str = "earn",
    rule: str | None = None,
    activity: Activity | None = None,
    note: str | None = None,
) -> LedgerEntry:
    """A new lot: pending for ``pending_days`` when earned, expiring as the policy says."""
    pending = kind == "earn" and config.pending_days > 0
    available_at = ctx.now + timedelta(days=config.pending_days) if pending else ctx.now
    expires_at = expiry_for(config.expiry, available_at, config.timezone)
    entry = _entry(
        ctx,
        account,
        kind=kind,
        amount=amount,
        key=key,
        actor=actor,
        status="pending" if pending else "posted",
        available_at=available_at,
        expires_at=expires_at,
        remaining=amount,
        rule=rule,
        activity=activity,
        note=note,
    )
    if pending:
        account.pending += amount
        await _schedule_settle(ctx, account, available_at)
    else:
        account.balance += amount
    if kind == "earn":
        account.lifetime_earned += amount
    if expires_at is not None:
        await _schedule_settle(ctx, account, expires_at)
    return entry


async def _post_earnings(
    ctx: PassContext,
    account: Account,
    config: ProgramConfig,
    found: list[Earning],
    *,
    key_base: str,
    activity: Activity | None = None,
    note: str | None = None,
) -> list[LedgerEntry]:
    """One lot per earning rule, keyed ``<key_base>:<rule>`` (so a retry posts nothing)."""
    return [
        await _credit(
            ctx,
            account,
            config,
            earning.points,
            key=f"{key_base}:{earning.rule.key}",
            actor=Actor("rule", earning.rule.key),
            rule=earning.rule.key,
            activity=activity,
            note=note,
        )
        for earning in found
    ]


async def _debit(
    ctx: PassContext,
    account: Account,
    amount: int,
    *,
    kind: str,
    key: str,
    actor: Actor,
    allow_negative: bool = False,
    prefer: LedgerEntry | None = None,
    reward: Reward | None = None,
    reverses: LedgerEntry | None = None,
    activity: Activity | None = None,
    note: str | None = None,
) -> LedgerEntry:
    """Take ``amount`` from the lots, first-expiring first (``prefer`` first of all)."""
    if amount > account.balance and not allow_negative:
        raise InsufficientBalance(
            f"the card has {account.balance}, not {amount}",
            details={"balance": account.balance, "requested": amount},
        )
    entry = _entry(
        ctx,
        account,
        kind=kind,
        amount=-amount,
        key=key,
        actor=actor,
        reward=reward,
        reverses=reverses,
        activity=activity,
        note=note,
    )
    lots = await repository.open_lots(ctx.session, account.id)
    if prefer is not None and prefer in lots:
        lots.remove(prefer)
        lots.insert(0, prefer)
    left = amount
    for lot in lots:
        if left == 0:
            break
        take = min(lot.remaining, left)
        lot.remaining -= take
        left -= take
        ctx.session.add(LotAllocation(debit_id=entry.id, credit_id=lot.id, amount=take))
    account.balance -= amount
    if kind == "reversal":
        account.lifetime_earned -= amount
    return entry


async def settle(ctx: PassContext, account: Account, config: ProgramConfig) -> bool:
    """Make due pending points available and expire what has expired (idempotent)."""
    changed = False
    due = await repository.due_pending(ctx.session, account.id, ctx.now) if account.pending else []
    for lot in due:
        lot.status = "posted"
        account.pending -= lot.remaining
        account.balance += lot.remaining  # less than its amount if reversed while pending
        changed = True
    lots = (
        await repository.expired_lots(ctx.session, account.id, ctx.now)
        if config.expiry.kind in ("rolling", "period_end")
        else []
    )
    if config.expiry.kind == "inactivity" and account.last_activity_at is not None:
        assert config.expiry.days is not None
        if ctx.now - account.last_activity_at >= timedelta(days=config.expiry.days):
            lots = await repository.open_lots(ctx.session, account.id)
    for lot in lots:
        amount = lot.remaining
        entry = _entry(
            ctx,
            account,
            kind="expire",
            amount=-amount,
            key=f"expire:{lot.id}",
            actor=SYSTEM,
            note=f"lot of {lot.created_at.date().isoformat()}",
        )
        lot.remaining = 0
        ctx.session.add(LotAllocation(debit_id=entry.id, credit_id=lot.id, amount=amount))
        account.balance -= amount
        changed = True
    return changed


async def settle_and_show(ctx: PassContext, account_id: uuid.UUID) -> None:
    """The settle job: activate and expire what is due, then update the pass."""
    account, program, config = await _locked(ctx, account_id)
    await _after_change(ctx, account, program, config)


async def _schedule_settle(ctx: PassContext, account: Account, at: datetime) -> None:
    await enqueue(
        ctx.session,
        SETTLE_JOB,
        {"tenant_id": str(ctx.tenant_id), "account_id": str(account.id)},
        now=ctx.now,
        delay=max(timedelta(0), at - ctx.now) + timedelta(seconds=1),
    )


async def rebuild_balances(ctx: PassContext, account_id: uuid.UUID) -> dict[str, Any]:
    """Recompute the cached balances from the ledger; returns both, and whether they differed."""
    account = await get_account(ctx, account_id, lock=True)
    before = {
        "balance": account.balance,
        "pending": account.pending,
        "lifetime_earned": account.lifetime_earned,
    }
    available, pending, lifetime = await repository.sums(ctx.session, account.id)
    account.balance, account.pending, account.lifetime_earned = available, pending, lifetime
    after = {"balance": available, "pending": pending, "lifetime_earned": lifetime}
    return {"before": before, "after": after, "changed": before != after}


async def _locked(
    ctx: PassContext, account_id: uuid.UUID
) -> tuple[Account, Program, ProgramConfig]:
    account = await get_account(ctx, account_id, lock=True)
    if account.status != "active":
        raise AccountClosed("this card is closed")
    program = await get_program(ctx, account.program_id)
    config = config_of(program)
    await settle(ctx, account, config)
    return account, program, config


async def spend(
    ctx: PassContext,
    account_id: uuid.UUID,
    amount: int,
    *,
    key: str,
    actor: Actor,
    note: str | None,
) -> LedgerEntry:
    existing = await repository.entry_by_key(ctx.session, ctx.tenant_id, f"spend:{key}")
    if existing is not None:
        return existing
    account, program, config = await _locked(ctx, account_id)
    entry = await _debit(
        ctx, account, amount, kind="spend", key=f"spend:{key}", actor=actor, note=note
    )
    await _after_change(ctx, account, program, config)
    return entry


async def refund(
    ctx: PassContext,
    account_id: uuid.UUID,
    spend_id: uuid.UUID,
    amount: int | None,
    *,
    key: str,
    actor: Actor,
    note: str | None,
) -> LedgerEntry:
    """Give back (part of) a spend: the points return to the lots they came from, with
    their original expiry (a lot that expired meanwhile expires again at once)."""
    existing = await repository.entry_by_key(ctx.session, ctx.tenant_id, f"refund:{key}")
    if existing is not None:
        return existing
    account, program, config = await _locked(ctx, account_id)
    spent = await repository.get_entry(ctx.session, ctx.tenant_id, spend_id)
    if spent is None or spent.account_id != account.id or spent.kind != "spend":
        raise EntryNotFound(f"no spend {spend_id} on this card")
    # reversed_amounts negates sums; refunds are positive, so this is minus what came back
    back = -(await repository.reversed_amounts(ctx.session, [spent.id])).get(spent.id, 0)
    refundable = -spent.amount - back
    amount = refundable if amount is None else amount
    if amount > refundable:
        raise RefundExceedsSpend(
            f"only {refundable} of this spend is left to refund",
            details={"refundable": refundable},
        )
    entry = _entry(
        ctx,
        account,
        kind="refund",
        amount=amount,
        key=f"refund:{key}",
        actor=actor,
        reverses=spent,
        note=note,
    )
    left, skip = amount, back  # earlier refunds gave back the latest allocations first
    for allocation, lot in await repository.allocations_of(ctx.session, spent.id):
        already = min(skip, allocation.amount)
        skip -= already
        give = min(left, allocation.amount - already)
        lot.remaining += give
        left -= give
        if left == 0:
            break
    account.balance += amount
    await settle(ctx, account, config)
    await _after_change(ctx, account, program, config)
    return entry


async def adjust(
    ctx: PassContext, account_id: uuid.UUID, amount: int, *, key: str, actor: Actor, note: str
) -> LedgerEntry:
    existing = await repository.entry_by_key(ctx.session, ctx.tenant_id, f"adjust:{key}")
    if existing is not None:
        return existing
    account, program, config = await _locked(ctx, account_id)
    if amount > 0:
        entry = await _credit(
            ctx, account, config, amount, key=f"adjust:{key}", actor=actor, kind="adjust", note=note
        )
    else:
        entry = await _debit(
            ctx, account, -amount, kind="adjust", key=f"adjust:{key}", actor=actor, note=note
        )
    await _after_change(ctx, account, program, config)
    return entry


# -- activities ------------------------------------------------------------------------------


def request_hash(body: ActivityIn) -> str:
    data = body.model_dump(mode="json", exclude={"source"})
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


async def find_activity(
    ctx: PassContext, source: str, external_id: str, digest: str
) -> dict[str, Any] | None:
    """The stored result of an activity already posted (a replay), or None."""
    found = await repository.get_activity(ctx.session, ctx.tenant_id, source, external_id)
    if found is None:
        return None
    if found.request_hash != digest:
        raise ActivityConflict(
            f"activity {external_id!r} from {source!r} was posted before with other details",
            details={"activity_id": str(found.id)},
        )
    return {**found.result, "replayed": True}


async def _resolve_account(ctx: PassContext, body: ActivityIn) -> uuid.UUID:
    if body.account_id is not None:
        return body.account_id
    scanned = body.card_number or body.barcode_value
    assert scanned is not None
    found = await repository.account_id_by_scan(ctx.session, ctx.tenant_id, scanned.strip())
    if found is None:
        raise AccountNotFound("no card has that number or barcode")
    return found


async def post_activity(
    ctx: PassContext, body: ActivityIn, *, source: str, actor: Actor
) -> dict[str, Any]:
    """Apply an activity exactly once: all its entries post, or none (one transaction).

    A replay of (source, external_id) with the same body returns the first result and
    posts nothing; with another body it is a 409."""
    digest = request_hash(body)
    replay = await find_activity(ctx, source, body.external_id, digest)
    if replay is not None:
        return replay
    account, program, config = await _locked(ctx, await _resolve_account(ctx, body))
    activity = Activity(
        id=uuid7(),
        tenant_id=ctx.tenant_id,
        source=source,
        external_id=body.external_id,
        request_hash=digest,
        account_id=account.id,
        kind=body.kind,
        amount=body.amount,
        currency=body.currency,
        items=body.items,
        returned_amount=0,
        result={},
        occurred_at=body.occurred_at or ctx.now,
        created_at=ctx.now,
    )
    ctx.session.add(activity)
    await ctx.session.flush()  # the unique (tenant, source, external_id) guards concurrency
    posted: list[LedgerEntry] = []
    if body.kind == "return":
        posted += await _reverse_purchase(ctx, account, activity, body, source, actor)
    else:
        posted += await _earn(ctx, account, config, activity, body, actor)
        if body.kind == "purchase":
            posted += await _qualify_referral(ctx, account, config, activity)
        account.last_activity_at = ctx.now
        if config.expiry.kind == "inactivity":
            assert config.expiry.days is not None
            await _schedule_settle(ctx, account, ctx.now + timedelta(days=config.expiry.days))
    await _after_change(ctx, account, program, config)
    activity.result = {
        "activity_id": str(activity.id),
        "account_id": str(account.id),
        "kind": activity.kind,
        "entries": [entry_json(e) for e in posted],
        "balance": account.balance,
        "pending": account.pending,
        "tier": account.tier,
        "replayed": False,
    }
    return activity.result


async def _usage(ctx: PassContext, account: Account, config: ProgramConfig) -> dict[str, RuleUsage]:
    day_start, _ = day_bounds(ctx.now, config.timezone)
    rows = await repository.rule_usage(
        ctx.session, account.id, [r.key for r in config.earn_rules], day_start
    )
    return {key: RuleUsage(today, total, last) for key, (today, total, last) in rows.items()}


async def _earn(
    ctx: PassContext,
    account: Account,
    config: ProgramConfig,
    activity: Activity,
    body: ActivityIn,
    actor: Actor,
) -> list[LedgerEntry]:
    found = earnings(
        config,
        trigger=body.kind,
        amount=body.amount,
        currency=body.currency,
        event=body.event,
        tier=account.tier,
        usage=await _usage(ctx, account, config),
        at=ctx.now,
    )
    return await _post_earnings(
        ctx,
        account,
        config,
        found,
        key_base=f"activity:{activity.id}",
        activity=activity,
        note=f"by {actor.type} {actor.id}" if actor.id else None,
    )


async def _reverse_purchase(
    ctx: PassContext,
    account: Account,
    activity: Activity,
    body: ActivityIn,
    source: str,
    actor: Actor,
) -> list[LedgerEntry]:
    assert body.original_external_id is not None
    original = await repository.get_activity(
        ctx.session, ctx.tenant_id, source, body.original_external_id, lock=True
    )
    if original is None or original.kind != "purchase" or original.account_id != account.id:
        raise PurchaseNotFound(
            f"no purchase {body.original_external_id!r} from {source!r} on this card"
        )
    if body.currency != original.currency:
        raise InvalidLoyaltyInput(f"the purchase was in {original.currency}, not {body.currency}")
    returnable = original.amount - original.returned_amount
    if body.amount > returnable:
        raise ReturnExceedsPurchase(
            f"only {returnable} of the purchase is left to return",
            details={"returnable": returnable},
        )
    returned_after = original.returned_amount + body.amount
    credits = await repository.earn_entries_of_activity(ctx.session, original.id)
    already = await repository.reversed_amounts(ctx.session, [c.id for c in credits])
    activity.original_activity_id = original.id
    original.returned_amount = returned_after
    out = []
    for credit in credits:
        take = proportional(credit.amount, returned_after, original.amount) - already.get(
            credit.id, 0
        )
        if take <= 0:
            continue
        key = f"activity:{activity.id}:reverse:{credit.id}"
        if credit.status == "pending":
            credit.remaining -= min(take, credit.remaining)
            account.pending -= take
            account.lifetime_earned -= take
            entry = _entry(
                ctx,
                account,
                kind="reversal",
                amount=-take,
                key=key,
                actor=actor,
                status="pending",
                activity=activity,
                reverses=credit,
                rule=credit.rule,
            )
        else:
            entry = await _debit(
                ctx,
                account,
                take,
                kind="reversal",
                key=key,
                actor=actor,
                allow_negative=True,
                prefer=credit,
                reverses=credit,
                activity=activity,
            )
            entry.rule = credit.rule
        out.append(entry)
    return out


async def _qualify_referral(
    ctx: PassContext, account: Account, config: ProgramConfig, activity: Activity
) -> list[LedgerEntry]:
    """A referee's first qualifying purchase rewards both sides, once."""
    if account.referred_by is None:
        return []
    referral = await repository.referral_of_referee(ctx.session, account.id)
    if referral is None or referral.status != "pending":
        return []
    rules = [r for r in config.earn_rules if r.trigger == "referral"]
    qualifying = [
        r
        for r in rules
        if activity.amount >= r.min_amount
        and (r.currency is None or r.currency == activity.currency)
    ]
    if not qualifying:
        return []
    referrer = await repository.get_account(
        ctx.session, ctx.tenant_id, referral.referrer_account_id, lock=True
    )
    if referrer is None:
        return []
    if referrer.customer_id is not None and referrer.customer_id == account.customer_id:
        referral.status = "rejected"
        return []
    out = []
    for rule in qualifying:
        for side, target in (("referee", account), ("referrer", referrer)):
            entry = await _credit(
                ctx,
                target,
                config,
                rule.points,
                key=f"referral:{referral.id}:{rule.key}:{side}",
                actor=Actor("rule", rule.key),
                rule=rule.key,
                activity=activity if target is account else None,
                note=f"referral ({side})",
            )
            if target is account:
                out.append(entry)
    referral.status = "rewarded"
    referral.rewarded_at = ctx.now
    referral.qualified_activity_id = activity.id
    if referrer.id != account.id:
        program = await get_program(ctx, referrer.program_id)
        await _after_change(ctx, referrer, program, config)
    return out


# -- tiers -----------------------------------------------------------------------------------


def _window(config: ProgramConfig, at: datetime) -> tuple[datetime | None, datetime | None]:
    policy = config.tier_policy
    if policy.metric == "rolling":
        assert policy.rolling_days is not None
        return at - timedelta(days=policy.rolling_days), None
    if policy.metric == "calendar":
        assert policy.period is not None
        return period_bounds(at, policy.period, config.timezone)[0], None
    return None, None


def _review_time(config: ProgramConfig, at: datetime) -> datetime | None:
    policy = config.tier_policy
    grace = timedelta(days=policy.grace_days)
    if policy.metric == "calendar":
        assert policy.period is not None
        return period_bounds(at, policy.period, config.timezone)[1] + grace
    if policy.metric == "rolling":
        assert policy.rolling_days is not None
        return at + timedelta(days=policy.rolling_days) + grace
    return None


async def _qualifying(ctx: PassContext, account: Account, config: ProgramConfig) -> int:
    """The tier metric now: lifetime points are the cached counter, no query needed."""
    if config.tier_policy.metric == "lifetime":
        return account.lifetime_earned
    return await repository.qualifying_points(ctx.session, account.id, *_window(config, ctx.now))


def _rank(config: ProgramConfig, key: str | None) -> int:
    keys = [t.key for t in config.tiers]
    return keys.index(key) if key in keys else -1


async def _upgrade(ctx: PassContext, account: Account, config: ProgramConfig) -> int | None:
    """Upgrades happen at once; downgrades wait for the review at the period's end.
    Returns the qualifying points (None without tiers)."""
    if not config.tiers:
        return None
    qualifying = await _qualifying(ctx, account, config)
    reached = tier_for(config.tiers, qualifying)
    if reached is not None and _rank(config, reached.key) > _rank(config, account.tier):
        account.tier = reached.key
        account.tier_since = ctx.now
        account.tier_review_at = _review_time(config, ctx.now)
        if account.tier_review_at is not None:
            await enqueue(
                ctx.session,
                TIER_REVIEW_JOB,
                {"tenant_id": str(ctx.tenant_id), "account_id": str(account.id)},
                now=ctx.now,
                delay=account.tier_review_at - ctx.now + timedelta(seconds=1),
            )
    return qualifying


async def review_tier(ctx: PassContext, account_id: uuid.UUID) -> bool:
    """At the period's end plus grace: keep the tier if the period that ended qualified for
    it, else move down to the tier it did qualify for. Returns whether the tier changed."""
    account, program, config = await _locked(ctx, account_id)
    if account.tier_review_at is None or ctx.now < account.tier_review_at or not config.tiers:
        return False
    policy = config.tier_policy
    judged_at = account.tier_review_at - timedelta(days=policy.grace_days) - timedelta(seconds=1)
    if policy.metric == "calendar":
        assert policy.period is not None
        start, end = period_bounds(judged_at, policy.period, config.timezone)
    else:
        assert policy.rolling_days is not None
        end = judged_at + timedelta(seconds=1)
        start = end - timedelta(days=policy.rolling_days)
    qualifying = await repository.qualifying_points(ctx.session, account.id, start, end)
    current_qualifying = await repository.qualifying_points(
        ctx.session, account.id, *_window(config, ctx.now)
    )
    earned = tier_for(config.tiers, max(qualifying, current_qualifying))
    target = earned.key if earned is not None else config.tiers[0].key
    changed = _rank(config, target) < _rank(config, account.tier)
    if changed:
        account.tier = target
        account.tier_since = ctx.now
    account.tier_review_at = _review_time(config, ctx.now)
    if account.tier_review_at is not None and _rank(config, account.tier) > 0:
        await enqueue(
            ctx.session,
            TIER_REVIEW_JOB,
            {"tenant_id": str(ctx.tenant_id), "account_id": str(account.id)},
            now=ctx.now,
            delay=account.tier_review_at - ctx.now + timedelta(seconds=1),
        )
    else:
        account.tier_review_at = None
    if changed:
        await _after_change(ctx, account, program, config)
    return changed


# -- rewards ---------------------------------------------------------------------------------


async def create_reward(ctx: PassContext, program_id: uuid.UUID, body: RewardIn) -> Reward:
    program = await get_program(ctx, program_id)
    reward = Reward(
        id=uuid7(),
        tenant_id=ctx.tenant_id,
        program_id=program.id,
        name=body.name,
        cost=body.cost,
        stock=body.stock,
        per_customer_limit=body.per_customer_limit,
        kind=body.kind,
        campaign_id=body.campaign_id,
        credit_amount=body.credit_amount,
        active=True,
        created_at=ctx.now,
    )
    ctx.session.add(reward)
    await ctx.session.flush()
    return reward


async def redeem_reward(
    ctx: PassContext,
    account_id: uuid.UUID,
    reward_id: uuid.UUID,
    *,
    key: str,
    actor: Actor,
) -> dict[str, Any]:
    """Spend the reward's cost and hand out what it gives: a coupon code of its campaign
    (the coupons service's ``issue_code``) or a credit to the card. Stock and the
    per-customer limit hold under concurrency (account lock + conditional stock update)."""
    ledger_key = f"reward:{key}"
    existing = await repository.entry_by_key(ctx.session, ctx.tenant_id, ledger_key)
    if existing is not None:
        return {"entry": entry_json(existing), "replayed": True}
    account, program, config = await _locked(ctx, account_id)
    reward = await repository.get_reward(ctx.session, ctx.tenant_id, reward_id)
    if reward is None or reward.program_id != program.id:
        raise RewardNotFound(f"no reward {reward_id} in this program")
    if not reward.active:
        raise RewardUnavailable("this reward is not offered now", details={"reason": "inactive"})
    if reward.per_customer_limit is not None:
        used = await repository.reward_uses(ctx.session, account.id, reward.id)
        if used >= reward.per_customer_limit:
            raise RewardUnavailable(
                f"this card already took this reward {used} time(s)",
                details={"reason": "per_customer_limit", "limit": reward.per_customer_limit},
            )
    if reward.cost > account.balance:
        raise InsufficientBalance(
            f"the reward costs {reward.cost}, the card has {account.balance}",
            details={"balance": account.balance, "cost": reward.cost},
        )
    if not await repository.take_stock(ctx.session, reward.id):
        raise RewardUnavailable("this reward is out of stock", details={"reason": "out_of_stock"})
    entry = await _debit(
        ctx,
        account,
        reward.cost,
        kind="spend",
        key=ledger_key,
        actor=actor,
        reward=reward,
        note=f"reward: {reward.name}",
    )
    out: dict[str, Any] = {"entry": entry_json(entry), "replayed": False}
    if reward.kind == "coupon":
        assert reward.campaign_id is not None
        code = await coupons.issue_code(
            ctx, reward.campaign_id, customer_id=account.customer_id, idempotency_key=ledger_key
        )
        out["code"] = {"id": str(code.id), "code": code.code}
    else:
        assert reward.credit_amount is not None
        credit = await _credit(
            ctx,
            account,
            config,
            reward.credit_amount,
            key=f"{ledger_key}:credit",
            actor=actor,
            kind="adjust",
            note=f"reward: {reward.name}",
        )
        out["credit"] = entry_json(credit)
    await _after_change(ctx, account, program, config)
    out["balance"] = account.balance
    return out


# -- pass, wallet, history -------------------------------------------------------------------


PASS_DATA_NAMES: Final = frozenset(
    {"points", "pending", "currency_name", "card_number", "referral_code", "tier", "tier_key"}
    | {"next_tier", "points_to_next_tier", "next_reward", "points_to_next_reward", "name"}
)
"""The keys of :func:`pass_data` besides the currency's own code (``stamps`` ...)."""


def pass_data_names(program: Program) -> frozenset[str]:
    """The ``{{ placeholders }}`` the program fills on its cards' passes."""
    return PASS_DATA_NAMES | {config_of(program).currency.code}


def pass_data_samples(program: Program) -> dict[str, Any]:
    """Plausible values of what :func:`pass_data` fills, from the program's configuration,
    for a designer's preview: a card half way to its second tier."""
    config = config_of(program)
    tiers = sorted(config.tiers, key=lambda tier: tier.threshold)
    current = tiers[0] if tiers else None
    upcoming = tiers[1] if len(tiers) > 1 else None
    if current is not None and upcoming is not None:
        balance = max(1, (current.threshold + upcoming.threshold) // 2)
    else:
        balance = max(120, current.threshold if current is not None else 0)
    return {
        "points": balance,
        config.currency.code: balance,
        "pending": 0,
        "currency_name": config.currency.plural,
        "tier": current.name if current else "",
        "tier_key": current.key if current else "",
        "next_tier": upcoming.name if upcoming else "",
        "points_to_next_tier": upcoming.threshold - balance if upcoming else 0,
    }


@pass_service.provides_pass_data
async def _program_providers(
    ctx: PassContext, template_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, list[Provider]]:
    """The loyalty programs these templates back: they write their cards' pass data."""
    wanted = set(template_ids)
    out: dict[uuid.UUID, list[Provider]] = {}
    for program in await list_programs(ctx):
        if program.template_id in wanted:
            provider = Provider(
                f"program {program.name!r}",
                pass_data_names(program),
                samples=pass_data_samples(program),
            )
            out.setdefault(program.template_id, []).append(provider)
    return out


async def pass_data(
    ctx: PassContext,
    account: Account,
    program: Program,
    config: ProgramConfig,
    customer: Customer | None,
    qualifying: int | None = None,
) -> dict[str, Any]:
    """What a card's pass shows: the bindings a template uses as ``{{ placeholders }}``."""
    tier = next((t for t in config.tiers if t.key == account.tier), None)
    upcoming = next_tier(config.tiers, account.tier)
    if upcoming is not None and qualifying is None:
        qualifying = await _qualifying(ctx, account, config)
    rewards = [r for r in await repository.rewards_of_program(ctx.session, program.id) if r.active]
    ahead = [r for r in rewards if r.cost > account.balance]
    target = ahead[0] if ahead else (rewards[-1] if rewards else None)
    data: dict[str, Any] = {
        "points": account.balance,
        config.currency.code: account.balance,
        "pending": account.pending,
        "currency_name": config.currency.plural if account.balance != 1 else config.currency.name,
        "card_number": account.number,
        "referral_code": account.referral_code,
        "tier": tier.name if tier else "",
        "tier_key": account.tier or "",
        "next_tier": upcoming.name if upcoming else "",
        "points_to_next_tier": max(0, upcoming.threshold - (qualifying or 0)) if upcoming else 0,
        "next_reward": target.name if target else "",
        "points_to_next_reward": max(0, target.cost - account.balance) if target else 0,
        "name": (customer.name if customer and customer.name else ""),
    }
    return data


async def _after_change(
    ctx: PassContext, account: Account, program: Program, config: ProgramConfig
) -> None:
    """Tier upgrade now; the pass after commit: a job re-renders it from the committed
    state (pushing Apple devices and PATCHing the Google object when it shows anything
    new), so the value transaction stays short and several changes to one card in a
    row cost one render."""
    await _upgrade(ctx, account, config)
    account.updated_at = ctx.now
    if account.pass_id is None:
        return
    pending: set[uuid.UUID] = ctx.session.info.setdefault(RENDER_KEY, set())
    if account.id in pending:
        return
    pending.add(account.id)
    await enqueue(
        ctx.session,
        RENDER_JOB,
        {"tenant_id": str(ctx.tenant_id), "account_id": str(account.id)},
        now=ctx.now,
    )


async def render_card_pass(ctx: PassContext, account_id: uuid.UUID) -> bool:
    """Bring a card's pass up to date with the card (the render job). True if it changed."""
    account = await get_account(ctx, account_id)
    if account.pass_id is None:
        return False
    program = await get_program(ctx, account.program_id)
    config = config_of(program)
    customer = (
        await repository.get_customer(ctx.session, ctx.tenant_id, account.customer_id)
        if account.customer_id
        else None
    )
    data = await pass_data(ctx, account, program, config, customer)
    pass_ = await pass_repository.get_pass(ctx.session, ctx.tenant_id, account.pass_id)
    if pass_ is None or pass_.status == "voided":
        return False
    if all(pass_.data.get(k) == v for k, v in data.items()):
        return False
    await pass_service.update_pass(ctx, pass_.id, data)
    return True


def entry_json(entry: LedgerEntry) -> dict[str, Any]:
    return {
        "id": str(entry.id),
        "kind": entry.kind,
        "amount": entry.amount,
        "status": entry.status,
        "rule": entry.rule,
        "available_at": entry.available_at.isoformat(),
        "expires_at": entry.expires_at.isoformat() if entry.expires_at else None,
        "remaining": entry.remaining,
        "reverses_id": str(entry.reverses_id) if entry.reverses_id else None,
        "activity_id": str(entry.activity_id) if entry.activity_id else None,
        "reward_id": str(entry.reward_id) if entry.reward_id else None,
        "actor_type": entry.actor_type,
        "actor_id": entry.actor_id,
        "note": entry.note,
        "created_at": entry.created_at.isoformat(),
    }


async def history(ctx: PassContext, account_id: uuid.UUID) -> dict[str, Any]:
    """The balance explained entry by entry (oldest first, with the running balance), and
    what is pending and what expires when."""
    account = await get_account(ctx, account_id)
    rows = await repository.entries(ctx.session, account.id)
    running = 0
    out = []
    for entry in rows:
        if entry.status == "posted":
            running += entry.amount
        out.append({**entry_json(entry), "balance_after": running})
    expiring: dict[str, int] = {}
    for lot in await repository.open_lots(ctx.session, account.id):
        if lot.expires_at is not None:
            when = lot.expires_at.isoformat()
            expiring[when] = expiring.get(when, 0) + lot.remaining
    pending = [
        {"amount": lot.remaining, "available_at": lot.available_at.isoformat()}
        for lot in await repository.open_lots(ctx.session, account.id, status="pending")
    ]
    return {
        "account_id": str(account.id),
        "balance": account.balance,
        "pending": account.pending,
        "lifetime_earned": account.lifetime_earned,
        "entries": out,
        "expiring": [{"expires_at": k, "amount": v} for k, v in sorted(expiring.items())],
        "pending_lots": pending,
    }


async def wallet(ctx: PassContext, customer_id: uuid.UUID) -> dict[str, Any]:
    customer = await get_customer(ctx, customer_id)
    cards = []
    for account in await repository.accounts_of_customer(ctx.session, customer.id):
        program = await get_program(ctx, account.program_id)
        config = config_of(program)
        upcoming = next_tier(config.tiers, account.tier)
        qualifying = await _qualifying(ctx, account, config)
        current = next((t for t in config.tiers if t.key == account.tier), None)
        rewards = []
        for reward in await repository.rewards_of_program(ctx.session, program.id):
            if not reward.active or reward.cost > account.balance or reward.stock == 0:
                continue
            if reward.per_customer_limit is not None:
                used = await repository.reward_uses(ctx.session, account.id, reward.id)
                if used >= reward.per_customer_limit:
                    continue
            rewards.append({"id": str(reward.id), "name": reward.name, "cost": reward.cost})
        cards.append(
            {
                "account_id": str(account.id),
                "program": {"id": str(program.id), "name": program.name},
                "number": account.number,
                "currency": config.currency.model_dump(),
                "balance": account.balance,
                "pending": account.pending,
                "tier": _tier_json(current),
                "next_tier": (
                    {
                        "key": upcoming.key,
                        "name": upcoming.name,
                        "threshold": upcoming.threshold,
                        "qualifying_points": qualifying,
                        "points_needed": max(0, upcoming.threshold - qualifying),
                    }
                    if upcoming is not None
                    else None
                ),
                "rewards_available": rewards,
                "pass_id": str(account.pass_id) if account.pass_id else None,
            }
        )
    return {"customer_id": str(customer.id), "cards": cards}


def _tier_json(tier: Tier | None) -> dict[str, Any] | None:
    if tier is None:
        return None
    return {"key": tier.key, "name": tier.name, "threshold": tier.threshold}


# -- birthdays -------------------------------------------------------------------------------


async def _schedule_birthdays(ctx: PassContext, program: Program, config: ProgramConfig) -> None:
    await enqueue(
        ctx.session,
        BIRTHDAY_JOB,
        {"tenant_id": str(ctx.tenant_id), "program_id": str(program.id)},
        now=ctx.now,
        delay=timedelta(0),
    )


async def award_birthdays(ctx: PassContext, program_id: uuid.UUID) -> int:
    """Credit today's birthdays (program time zone), once per card per year."""
    program = await get_program(ctx, program_id)
    config = config_of(program)
    rules = [r for r in config.earn_rules if r.trigger == "birthday"]
    if not rules or program.status != "active":
        return 0
    today = ctx.now.astimezone(ZoneInfo(config.timezone)).date()
    awarded = 0
    for account_id in await repository.accounts_with_birthday(
        ctx.session, program.id, today.month, today.day
    ):
        key_base = f"birthday:{account_id}:{today.year}"
        if await repository.entry_by_key(ctx.session, ctx.tenant_id, f"{key_base}:{rules[0].key}"):
            continue
        account, _, _ = await _locked(ctx, account_id)
        found = earnings(config, trigger="birthday", tier=account.tier, usage={}, at=ctx.now)
        awarded += len(await _post_earnings(ctx, account, config, found, key_base=key_base))
        await _after_change(ctx, account, program, config)
    return awarded


def next_birthday_run(now: datetime, timezone: str) -> datetime:
    return day_bounds(now, timezone)[1] + timedelta(minutes=5)
