"""SQL of the loyalty engine. The money paths' statements are built once, at import, with
``bindparam()`` placeholders: SQLAlchemy memoizes a statement's cache key, so executing
one again skips building and compiling it."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import and_, bindparam, case, extract, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from passmint.models import (
    Account,
    Activity,
    Customer,
    LedgerEntry,
    LotAllocation,
    Pass,
    Program,
    Referral,
    Reward,
)


async def get_program(
    session: AsyncSession, tenant_id: uuid.UUID, program_id: uuid.UUID, *, lock: bool = False
) -> Program | None:
    query = select(Program).where(Program.id == program_id, Program.tenant_id == tenant_id)
    if lock:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def list_programs(session: AsyncSession, tenant_id: uuid.UUID) -> list[Program]:
    query = select(Program).where(Program.tenant_id == tenant_id).order_by(Program.id)
    return list((await session.execute(query)).scalars())


async def has_accounts(session: AsyncSession, program_id: uuid.UUID) -> bool:
    query = select(Account.id).where(Account.program_id == program_id).limit(1)
    return (await session.execute(query)).first() is not None


async def accounts_with_birthday(
    session: AsyncSession, program_id: uuid.UUID, month: int, day: int
) -> list[uuid.UUID]:
    """Cards of the program whose customer was born on ``month``/``day``."""
    query = (
        select(Account.id)
        .join(Customer, Customer.id == Account.customer_id)
        .where(
            Account.program_id == program_id,
            extract("month", Customer.birthday) == month,
            extract("day", Customer.birthday) == day,
        )
        .order_by(Account.id)
    )
    return list((await session.execute(query)).scalars())


async def get_customer(
    session: AsyncSession, tenant_id: uuid.UUID, customer_id: uuid.UUID
) -> Customer | None:
    query = select(Customer).where(Customer.id == customer_id, Customer.tenant_id == tenant_id)
    return (await session.execute(query)).scalar_one_or_none()


async def matching_customers(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    external_id: str | None,
    phone: str | None,
    email: str | None,
) -> list[Customer]:
    conditions = []
    if external_id is not None:
        conditions.append(Customer.external_id == external_id)
    if phone is not None:
        conditions.append(Customer.phone == phone)
    if email is not None:
        conditions.append(Customer.email == email)
    if not conditions:
        return []
    query = (
        select(Customer)
        .where(Customer.tenant_id == tenant_id, or_(*conditions))
        .order_by(Customer.id)
        .with_for_update()
    )
    return list((await session.execute(query)).scalars())


async def get_account(
    session: AsyncSession, tenant_id: uuid.UUID, account_id: uuid.UUID, *, lock: bool = False
) -> Account | None:
    """The tenant's card; without ``lock``, the one this session already holds if it does
    (a SELECT would return that same object, its attributes untouched)."""
    if lock:
        query = select(Account).where(Account.id == account_id, Account.tenant_id == tenant_id)
        return (await session.execute(query.with_for_update())).scalar_one_or_none()
    found = await session.get(Account, account_id)
    return found if found is not None and found.tenant_id == tenant_id else None


async def account_by_referral_code(
    session: AsyncSession, tenant_id: uuid.UUID, code: str
) -> Account | None:
    query = select(Account).where(Account.tenant_id == tenant_id, Account.referral_code == code)
    return (await session.execute(query)).scalar_one_or_none()


async def account_of_customer(
    session: AsyncSession, program_id: uuid.UUID, customer_id: uuid.UUID
) -> Account | None:
    query = select(Account).where(
        Account.program_id == program_id, Account.customer_id == customer_id
    )
    return (await session.execute(query)).scalar_one_or_none()


async def accounts_of_customer(session: AsyncSession, customer_id: uuid.UUID) -> list[Account]:
    query = select(Account).where(Account.customer_id == customer_id).order_by(Account.id)
    return list((await session.execute(query)).scalars())


async def entries(session: AsyncSession, account_id: uuid.UUID) -> list[LedgerEntry]:
    query = (
        select(LedgerEntry)
        .where(LedgerEntry.account_id == account_id)
        .order_by(LedgerEntry.created_at, LedgerEntry.id)
    )
    return list((await session.execute(query)).scalars())


async def entry_by_key(session: AsyncSession, tenant_id: uuid.UUID, key: str) -> LedgerEntry | None:
    query = select(LedgerEntry).where(
        LedgerEntry.tenant_id == tenant_id, LedgerEntry.idempotency_key == key
    )
    return (await session.execute(query)).scalar_one_or_none()


_LOT_ORDER: Final = (  # first-expiring first (never-expiring last), oldest first
    case((LedgerEntry.expires_at.is_(None), 1), else_=0),
    LedgerEntry.expires_at,
    LedgerEntry.created_at,
    LedgerEntry.id,
)


async def open_lots(
    session: AsyncSession, account_id: uuid.UUID, *, status: str = "posted"
) -> list[LedgerEntry]:
    """Credits with something left, first-expiring first (never-expiring last), oldest first."""
    query = (
        select(LedgerEntry)
        .where(
            LedgerEntry.account_id == account_id,
            LedgerEntry.remaining > 0,
            LedgerEntry.status == status,
        )
        .order_by(*_LOT_ORDER)
    )
    return list((await session.execute(query)).scalars())


async def due_pending(
    session: AsyncSession, account_id: uuid.UUID, now: datetime
) -> list[LedgerEntry]:
    query = select(LedgerEntry).where(
        LedgerEntry.account_id == account_id,
        LedgerEntry.status == "pending",
        LedgerEntry.available_at <= now,
    )
    return list((await session.execute(query.order_by(LedgerEntry.created_at))).scalars())


async def expired_lots(
    session: AsyncSession, account_id: uuid.UUID, now: datetime
) -> list[LedgerEntry]:
    query = select(LedgerEntry).where(
        LedgerEntry.account_id == account_id,
        LedgerEntry.status == "posted",
        LedgerEntry.remaining > 0,
        LedgerEntry.expires_at.is_not(None),
        LedgerEntry.expires_at <= now,
    )
    return list((await session.execute(query.order_by(LedgerEntry.expires_at))).scalars())


async def sums(session: AsyncSession, account_id: uuid.UUID) -> tuple[int, int, int]:
    """(available, pending, lifetime earned) recomputed from the ledger."""
    earned_kinds = ("earn", "reversal")  # reversals only ever take back earnings
    query = select(
        func.coalesce(
            func.sum(case((LedgerEntry.status == "posted", LedgerEntry.amount), else_=0)), 0
        ),
        func.coalesce(
            func.sum(case((LedgerEntry.status == "pending", LedgerEntry.amount), else_=0)), 0
        ),
        func.coalesce(
            func.sum(
                case(
                    (LedgerEntry.kind.in_(earned_kinds), LedgerEntry.amount),
                    else_=0,
                )
            ),
            0,
        ),
    ).where(LedgerEntry.account_id == account_id)
    available, pending, lifetime = (await session.execute(query)).one()
    return int(available), int(pending), int(lifetime)


async def qualifying_points(
    session: AsyncSession, account_id: uuid.UUID, start: datetime | None, end: datetime | None
) -> int:
    """Points earned (less the reversals of earnings) in [start, end): the tier metric."""
    query = select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(
        LedgerEntry.account_id == account_id,
        LedgerEntry.kind.in_(("earn", "reversal")),
    )
    if start is not None:
        query = query.where(LedgerEntry.created_at >= start)
    if end is not None:
        query = query.where(LedgerEntry.created_at < end)
    return int((await session.execute(query)).scalar_one())


_TODAY: Final = case(
    (LedgerEntry.created_at >= bindparam("day_start"), LedgerEntry.amount), else_=0
)
_RULE_USAGE: Final = (
    select(
        LedgerEntry.rule,
        func.coalesce(func.sum(_TODAY), 0),
        func.coalesce(func.sum(LedgerEntry.amount), 0),
        func.max(LedgerEntry.created_at),
    )
    .where(
        LedgerEntry.account_id == bindparam("account_id"),
        LedgerEntry.kind == "earn",
        LedgerEntry.rule.in_(bindparam("rules", expanding=True)),
    )
    .group_by(LedgerEntry.rule)
)


async def rule_usage(
    session: AsyncSession, account_id: uuid.UUID, rules: Sequence[str], day_start: datetime
) -> dict[str, tuple[int, int, datetime | None]]:
    """Per earn rule: (points today, points ever, last earned) for caps and cooldowns."""
    if not rules:
        return {}
    params = {"account_id": account_id, "rules": list(rules), "day_start": day_start}
    rows = (await session.execute(_RULE_USAGE, params)).all()
    return {str(rule): (int(today), int(total), last) for rule, today, total, last in rows}


async def get_activity(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    source: str,
    external_id: str,
    *,
    lock: bool = False,
) -> Activity | None:
    query = select(Activity).where(
        Activity.tenant_id == tenant_id,
        Activity.source == source,
        Activity.external_id == external_id,
    )
    if lock:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def earn_entries_of_activity(
    session: AsyncSession, activity_id: uuid.UUID
) -> list[LedgerEntry]:
    query = select(LedgerEntry).where(
        LedgerEntry.activity_id == activity_id, LedgerEntry.kind == "earn"
    )
    return list((await session.execute(query.order_by(LedgerEntry.id))).scalars())


async def reversed_amounts(
    session: AsyncSession, entry_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, int]:
    if not entry_ids:
        return {}
    query = (
        select(LedgerEntry.reverses_id, func.sum(LedgerEntry.amount))
        .where(LedgerEntry.reverses_id.in_(entry_ids))
        .group_by(LedgerEntry.reverses_id)
    )
    return {rid: -int(total) for rid, total in (await session.execute(query)).all() if rid}


async def get_reward(
    session: AsyncSession, tenant_id: uuid.UUID, reward_id: uuid.UUID
) -> Reward | None:
    query = select(Reward).where(Reward.id == reward_id, Reward.tenant_id == tenant_id)
    return (await session.execute(query)).scalar_one_or_none()


async def rewards_of_program(session: AsyncSession, program_id: uuid.UUID) -> list[Reward]:
    query = select(Reward).where(Reward.program_id == program_id).order_by(Reward.cost, Reward.id)
    return list((await session.execute(query)).scalars())


async def take_stock(session: AsyncSession, reward_id: uuid.UUID) -> bool:
    """One unit of a reward's stock, atomically (unlimited stock always succeeds)."""
    result = await session.execute(
        update(Reward)
        .where(Reward.id == reward_id, or_(Reward.stock.is_(None), Reward.stock > 0))
        .values(stock=case((Reward.stock.is_(None), None), else_=Reward.stock - 1))
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


async def reward_uses(session: AsyncSession, account_id: uuid.UUID, reward_id: uuid.UUID) -> int:
    query = select(func.count()).where(
        LedgerEntry.account_id == account_id,
        LedgerEntry.reward_id == reward_id,
        LedgerEntry.kind == "spend",
    )
    return int((await session.execute(query)).scalar_one())


async def referral_of_referee(session: AsyncSession, account_id: uuid.UUID) -> Referral | None:
    query = select(Referral).where(Referral.referee_account_id == account_id).with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def get_entry(
    session: AsyncSession, tenant_id: uuid.UUID, entry_id: uuid.UUID
) -> LedgerEntry | None:
    query = select(LedgerEntry).where(
        LedgerEntry.id == entry_id, LedgerEntry.tenant_id == tenant_id
    )
    return (await session.execute(query)).scalar_one_or_none()


async def allocations_of(
    session: AsyncSession, debit_id: uuid.UUID
) -> list[tuple[LotAllocation, LedgerEntry]]:
    """What a debit took, lot by lot, most recently allocated first (refunds undo it LIFO)."""
    query = (
        select(LotAllocation, LedgerEntry)
        .join(LedgerEntry, LedgerEntry.id == LotAllocation.credit_id)
        .where(LotAllocation.debit_id == debit_id)
        .order_by(LotAllocation.id.desc())
    )
    return [(row[0], row[1]) for row in (await session.execute(query)).all()]


# -- money paths: a card locked with what its change needs, in as few statements as can be


@dataclass(frozen=True)
class LockedCard:
    """A card locked for a change, its program; whether pending points are due and posted
    ones expired; the activity asked about if posted before (id, request hash, result)."""

    account: Account
    program: Program
    due: bool
    expired: bool
    replay: tuple[uuid.UUID, str, dict[str, Any]] | None = None


def _lot_exists(*conditions: Any) -> Any:
    lots = select(LedgerEntry.id).where(LedgerEntry.account_id == Account.id, *conditions)
    return lots.correlate(Account).exists()


_DUE: Final = case(
    (
        Account.pending != 0,
        _lot_exists(LedgerEntry.status == "pending", LedgerEntry.available_at <= bindparam("now")),
    ),
    else_=False,
)
_EXPIRED: Final = _lot_exists(
    LedgerEntry.status == "posted",
    LedgerEntry.remaining > 0,
    LedgerEntry.expires_at.is_not(None),
    LedgerEntry.expires_at <= bindparam("now"),
)
_PROGRAMS: Final = select(Program.id).where(Program.tenant_id == bindparam("tenant_id"))
_SCANNED: Final = func.coalesce(  # a card's number (through (program, number)), else a serial
    select(Account.id)
    .where(Account.program_id.in_(_PROGRAMS), Account.number == bindparam("scanned"))
    .correlate(None)
    .limit(1)
    .scalar_subquery(),
    select(Account.id)
    .join(Pass, Pass.id == Account.pass_id)
    .where(Account.tenant_id == bindparam("tenant_id"), Pass.serial_number == bindparam("scanned"))
    .correlate(None)
    .limit(1)
    .scalar_subquery(),
)


def _locking(card: Any, *, activity: bool) -> Any:
    query = (
        select(Account, Program, _DUE, _EXPIRED)
        .join(Program, Program.id == Account.program_id)
        .where(card, Account.tenant_id == bindparam("tenant_id"))
        .with_for_update(of=Account)
    )
    posted = (
        Activity.tenant_id == bindparam("tenant_id"),
        Activity.source == bindparam("source"),
        Activity.external_id == bindparam("external_id"),
    )
    return (
        query.add_columns(Activity.id, Activity.request_hash, Activity.result).outerjoin(
            Activity, and_(*posted)
        )
        if activity
        else query
    )


_LOCKS: Final = {  # by (what names the card: its id, else what was scanned; with the activity)
    (scan, activity): _locking(
        Account.id == (_SCANNED if scan else bindparam("account_id")), activity=activity
    )
    for scan in (False, True)
    for activity in (False, True)
}


async def lock_card(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    account_id: uuid.UUID | None,
    now: datetime,
    *,
    scanned: str | None = None,
    activity: tuple[str, str] | None = None,
) -> LockedCard | None:
    """In one statement: the tenant's card ``account_id`` (else the one ``scanned`` names:
    its number, else its pass's serial) locked, with its program, whether settling finds
    anything and, with ``activity`` (source, external id), that activity if posted before
    (in the statement's snapshot: one committed while this waited for the lock is not in
    it; its unique key refuses the second insert instead). SQLite's write transaction has
    the lock already."""
    params = {"tenant_id": tenant_id, "now": now, "account_id": account_id, "scanned": scanned}
    if activity is not None:
        params["source"], params["external_id"] = activity
    query = _LOCKS[account_id is None, activity is not None]
    if (row := (await session.execute(query, params)).one_or_none()) is None:
        return None
    replay = None if activity is None or row[4] is None else (row[4], row[5], row[6])
    return LockedCard(row[0], row[1], bool(row[2]), bool(row[3]), replay)


_LOTS_AND_KEY: Final = (
    select(LedgerEntry)
    .where(
        or_(
            and_(
                LedgerEntry.account_id == bindparam("account_id"),
                LedgerEntry.remaining > 0,
                LedgerEntry.status == "posted",
            ),
            and_(
                LedgerEntry.tenant_id == bindparam("tenant_id"),
                LedgerEntry.idempotency_key == bindparam("key"),
            ),
        )
    )
    .order_by(*_LOT_ORDER)
)


async def lots_and_entry(
    session: AsyncSession, tenant_id: uuid.UUID, account_id: uuid.UUID, key: str
) -> tuple[list[LedgerEntry], LedgerEntry | None]:
    """In one statement: the card's open posted lots (in :func:`open_lots`' order) and the
    entry ``key`` posted, if any (asked with the card's lock held: a racing retry sees it)."""
    params = {"account_id": account_id, "tenant_id": tenant_id, "key": key}
    rows = list((await session.execute(_LOTS_AND_KEY, params)).scalars())
    found = next((e for e in rows if e.idempotency_key == key and e.tenant_id == tenant_id), None)
    return [e for e in rows if e is not found], found


# -- staff screens: finding customers and cards, a card's ledger a page at a time -------------


def _escaped(text: str) -> str:
    """``text`` with LIKE's wildcards taken literally (escape character ``\\``)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def search_customers(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    text: str | None,
    phone: str | None,
    number: str | None,
    limit: int,
    offset: int,
) -> list[Customer]:
    """The tenant's customers, newest first; with ``text``, those whose name or email holds
    it or whose external id is it, those whose phone holds ``phone`` and those with a card
    whose number starts with ``number``."""
    query = select(Customer).where(Customer.tenant_id == tenant_id)
    if text:
        pattern = f"%{_escaped(text)}%"
        conditions = [
            Customer.name.ilike(pattern, escape="\\"),
            Customer.email.ilike(pattern, escape="\\"),
            Customer.external_id == text,
        ]
        if phone:
            conditions.append(Customer.phone.like(f"%{_escaped(phone)}%", escape="\\"))
        if number:
            holders = select(Account.customer_id).where(
                Account.tenant_id == tenant_id,
                Account.customer_id.is_not(None),
                Account.number.like(f"{_escaped(number)}%", escape="\\"),
            )
            conditions.append(Customer.id.in_(holders))
        query = query.where(or_(*conditions))
    query = query.order_by(Customer.created_at.desc(), Customer.id.desc())
    return list((await session.execute(query.limit(limit).offset(offset))).scalars())


async def anonymous_cards(
    session: AsyncSession, tenant_id: uuid.UUID, number: str, limit: int
) -> list[tuple[Account, Program]]:
    """Cards without a customer whose number starts with ``number``, with their program."""
    query = (
        select(Account, Program)
        .join(Program, Program.id == Account.program_id)
        .where(
            Account.tenant_id == tenant_id,
            Account.customer_id.is_(None),
            Account.number.like(f"{_escaped(number)}%", escape="\\"),
        )
        .order_by(Account.number)
        .limit(limit)
    )
    return [(row[0], row[1]) for row in (await session.execute(query)).all()]


async def cards_of_customers(
    session: AsyncSession, tenant_id: uuid.UUID, customer_ids: Sequence[uuid.UUID]
) -> list[tuple[Account, Program]]:
    """The cards of these customers, with their program."""
    if not customer_ids:
        return []
    query = (
        select(Account, Program)
        .join(Program, Program.id == Account.program_id)
        .where(Account.tenant_id == tenant_id, Account.customer_id.in_(customer_ids))
        .order_by(Account.created_at, Account.id)
    )
    return [(row[0], row[1]) for row in (await session.execute(query)).all()]


async def entries_page(
    session: AsyncSession, account_id: uuid.UUID, *, limit: int, offset: int
) -> list[LedgerEntry]:
    """A card's entries, newest first."""
    query = (
        select(LedgerEntry)
        .where(LedgerEntry.account_id == account_id)
        .order_by(LedgerEntry.created_at.desc(), LedgerEntry.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list((await session.execute(query)).scalars())


async def posted_through(session: AsyncSession, entry: LedgerEntry) -> int:
    """The sum of the posted amounts of ``entry``'s card up to ``entry`` itself, in the
    ledger's order (created_at, id): the balance right after it."""
    query = select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(
        LedgerEntry.account_id == entry.account_id,
        LedgerEntry.status == "posted",
        or_(
            LedgerEntry.created_at < entry.created_at,
            (LedgerEntry.created_at == entry.created_at) & (LedgerEntry.id <= entry.id),
        ),
    )
    return int((await session.execute(query)).scalar_one())
