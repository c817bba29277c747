"""The ledger: lots credited and debited, pending points settled and expired ones expired,
spends, refunds and adjustments, a card's history and its cached balances rebuilt.

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
  re-rendered by a job (:func:`passmint.loyalty.cardpass.after_change`), which pushes
  Apple devices and PATCHes the Google object.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from passmint.kit.ids import uuid7
from passmint.loyalty import cardpass, repository
from passmint.loyalty.common import SYSTEM, Actor, config_of, entry_json, get_account
from passmint.loyalty.errors import (
    AccountClosed,
    AccountNotFound,
    EntryNotFound,
    InsufficientBalance,
    RefundExceedsSpend,
)
from passmint.loyalty.rules import Earning, expiry_for
from passmint.loyalty.schemas import ProgramConfig
from passmint.models import Account, Activity, LedgerEntry, LotAllocation, Program, Reward
from passmint.passes.service import PassContext
from passmint.worker.outbox import enqueue

SETTLE_JOB: Final = "loyalty.settle_account"


def add_entry(
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


async def credit(
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
    entry = add_entry(
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
        await schedule_settle(ctx, account, available_at)
    else:
        account.balance += amount
    if kind == "earn":
        account.lifetime_earned += amount
    if expires_at is not None:
        await schedule_settle(ctx, account, expires_at)
    return entry


async def post_earnings(
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
        await credit(
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


async def debit(
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
    lots: list[LedgerEntry] | None = None,
) -> LedgerEntry:
    """Take ``amount`` from the lots, first-expiring first (``prefer`` first of all);
    ``lots``: the card's open lots in that order, if already read (:func:`opened`)."""
    if amount > account.balance and not allow_negative:
        raise InsufficientBalance(
            f"the card has {account.balance}, not {amount}",
            details={"balance": account.balance, "requested": amount},
        )
    entry = add_entry(
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
    if lots is None:
        lots = await repository.open_lots(ctx.session, account.id)
    else:
        lots = [lot for lot in lots if lot.remaining > 0]
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


@dataclass(frozen=True)
class Lookups:
    """What the statement that locked a card found out for :func:`settle`: whether any
    pending points are due and any posted ones expired; ``lots``, the card's open posted
    lots if they were read once the lock was held. Settling then reads only what it will
    change. (The flags are read in the locking statement's snapshot, taken before any wait
    for the lock: a change committed meanwhile on the card cannot make points due or
    expired before this request's now, short of clocks that disagree across processes at
    a period's end; fresh ``lots`` are used whatever the flag says.)"""

    due: bool
    expired: bool
    lots: list[LedgerEntry] | None = None


async def settle(
    ctx: PassContext, account: Account, config: ProgramConfig, found: Lookups | None = None
) -> bool:
    """Make due pending points available and expire what has expired (idempotent)."""
    changed = False
    due = (
        await repository.due_pending(ctx.session, account.id, ctx.now)
        if account.pending and (found is None or found.due)
        else []
    )
    for lot in due:
        lot.status = "posted"
        account.pending -= lot.remaining
        account.balance += lot.remaining  # less than its amount if reversed while pending
        changed = True
    lots: list[LedgerEntry] = []
    if config.expiry.kind in ("rolling", "period_end") and (
        found is None or found.expired or found.lots is not None
    ):
        if found is not None and found.lots is not None:
            lots = sorted(
                (x for x in found.lots if x.expires_at is not None and x.expires_at <= ctx.now),
                key=lambda lot: lot.expires_at or ctx.now,
            )
        else:
            lots = await repository.expired_lots(ctx.session, account.id, ctx.now)
    if config.expiry.kind == "inactivity" and account.last_activity_at is not None:
        assert config.expiry.days is not None
        if ctx.now - account.last_activity_at >= timedelta(days=config.expiry.days):
            lots = await repository.open_lots(ctx.session, account.id)
    for lot in lots:
        amount = lot.remaining
        entry = add_entry(
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
    account, program, config = await locked(ctx, account_id)
    await cardpass.after_change(ctx, account, program, config)


async def schedule_settle(ctx: PassContext, account: Account, at: datetime) -> None:
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


async def lock(ctx: PassContext, account_id: uuid.UUID) -> repository.LockedCard:
    """The card locked with its program, in one statement (AccountNotFound without it)."""
    card = await repository.lock_card(ctx.session, ctx.tenant_id, account_id, ctx.now)
    if card is None:
        raise AccountNotFound(f"no account {account_id}")
    return card


async def opened(
    ctx: PassContext, card: repository.LockedCard, lots: list[LedgerEntry] | None = None
) -> tuple[Account, Program, ProgramConfig]:
    """A locked card ready for a change: refused if closed, settled (``lots``: its open
    posted lots, if read with the lock)."""
    account = card.account
    if account.status != "active":
        raise AccountClosed("this card is closed")
    config = config_of(card.program)
    await settle(ctx, account, config, Lookups(card.due, card.expired, lots))
    return account, card.program, config


async def locked(ctx: PassContext, account_id: uuid.UUID) -> tuple[Account, Program, ProgramConfig]:
    return await opened(ctx, await lock(ctx, account_id))


async def posted(ctx: PassContext, key: str) -> LedgerEntry | None:
    """The entry an idempotency key already posted. Asked before the card's lock (a plain
    replay) and again once it is held: a retry racing the first request waits for the lock,
    and then sees what the first one committed instead of posting the key twice."""
    return await repository.entry_by_key(ctx.session, ctx.tenant_id, key)


async def locked_once(
    ctx: PassContext, account_id: uuid.UUID, key: str
) -> tuple[Account, Program, ProgramConfig, list[LedgerEntry] | None] | LedgerEntry:
    """The card locked for a write keyed ``key``, or the entry that key already posted.

    The key is looked up once the lock is held, in the statement that reads the card's
    open lots: a retry racing the first request waits for the lock, then sees what the
    first one committed. A replay is answered even if the card has closed since. The lots
    come back when settling left them as read (none fell due); else None."""
    card = await lock(ctx, account_id)
    lots, existing = await repository.lots_and_entry(
        ctx.session, ctx.tenant_id, card.account.id, key
    )
    if existing is not None:
        return existing
    pending = card.account.pending
    account, program, config = await opened(ctx, card, lots)
    return account, program, config, lots if account.pending == pending else None


async def spend(
    ctx: PassContext,
    account_id: uuid.UUID,
    amount: int,
    *,
    key: str,
    actor: Actor,
    note: str | None,
) -> LedgerEntry:
    card = await locked_once(ctx, account_id, f"spend:{key}")
    if isinstance(card, LedgerEntry):
        return card
    account, program, config, lots = card
    entry = await debit(
        ctx, account, amount, kind="spend", key=f"spend:{key}", actor=actor, note=note, lots=lots
    )
    await cardpass.after_change(ctx, account, program, config)
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
    card = await locked_once(ctx, account_id, f"refund:{key}")
    if isinstance(card, LedgerEntry):
        return card
    account, program, config, _ = card
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
    entry = add_entry(
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
    await cardpass.after_change(ctx, account, program, config)
    return entry


async def adjust(
    ctx: PassContext, account_id: uuid.UUID, amount: int, *, key: str, actor: Actor, note: str
) -> LedgerEntry:
    card = await locked_once(ctx, account_id, f"adjust:{key}")
    if isinstance(card, LedgerEntry):
        return card
    account, program, config, lots = card
    if amount > 0:
        entry = await credit(
            ctx, account, config, amount, key=f"adjust:{key}", actor=actor, kind="adjust", note=note
        )
    else:
        entry = await debit(
            ctx, account, -amount, kind="adjust", key=f"adjust:{key}", actor=actor, note=note,
            lots=lots,
        )  # fmt: skip
    await cardpass.after_change(ctx, account, program, config)
    return entry


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
