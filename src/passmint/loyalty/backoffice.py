"""What staff screens ask of the loyalty engine besides the API's operations: finding
customers and cards, a card's standing (tier and rewards within reach, what expires when),
its ledger a page at a time with the balance after each entry, and offering a reward or
no longer offering it. Like the use-case modules: flushes, never commits."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from passmint.loyalty import cardpass, common, customers, repository
from passmint.loyalty.errors import RewardNotFound
from passmint.loyalty.rules import next_tier
from passmint.loyalty.schemas import CurrencyConfig, ProgramConfig, Tier
from passmint.models import Account, Customer, LedgerEntry, Program, Reward
from passmint.passes.service import PassContext

MAX_PAGE: Final = 10_000
"""Pages past this are not served (a search that needs them needs more words)."""
_SEPARATORS: Final = re.compile(r"[\s().-]")
_DIGITS: Final = re.compile(r"\+?[0-9]{3,}")


@dataclass(frozen=True, slots=True)
class CardLine:
    """A card in a list, with its program's name and what its points are called."""

    account: Account
    program_name: str
    unit: CurrencyConfig


def _card_lines(rows: list[tuple[Account, Program]]) -> list[CardLine]:
    units: dict[uuid.UUID, CurrencyConfig] = {}
    lines = []
    for account, program in rows:
        if program.id not in units:
            units[program.id] = common.config_of(program).currency
        lines.append(CardLine(account, program.name, units[program.id]))
    return lines


@dataclass(frozen=True, slots=True)
class Found:
    """One page of a search: customers with their cards, and anonymous cards whose number
    starts with what was typed (on the first page)."""

    customers: list[tuple[Customer, list[CardLine]]]
    anonymous: list[CardLine]
    page: int
    has_next: bool


@dataclass(frozen=True, slots=True)
class Progress:
    """How far a card is from something: a tier's threshold or a reward's cost."""

    name: str
    target: int
    reached: int

    @property
    def to_go(self) -> int:
        return max(0, self.target - self.reached)


@dataclass(frozen=True, slots=True)
class CardView:
    """A card's standing: its balances, tier and progress, the rewards it is saving for,
    the points waiting to become available and what expires when."""

    account: Account
    program: Program
    config: ProgramConfig
    customer: Customer | None
    tier: Tier | None
    next_tier: Progress | None
    rewards: list[Progress]
    expiring: list[tuple[datetime, int]]
    pending: list[tuple[datetime, int]]
    expires_all_at: datetime | None
    """Inactivity expiry: when everything goes unless the card is used before."""


@dataclass(frozen=True, slots=True)
class LedgerLine:
    entry: LedgerEntry
    balance_after: int


@dataclass(frozen=True, slots=True)
class LedgerPage:
    lines: list[LedgerLine]
    page: int
    has_next: bool


def _digits(text: str) -> tuple[str | None, str | None]:
    """What a typed phone number and card number would be made of, if ``text`` looks like
    one: ``+33 6 12`` → (``+33612``, None); ``06 12`` → (``612``, ``0612``), the national
    trunk 0 dropped from the phone (numbers are stored in E.164); ``0033 6`` → ``+336``."""
    compact = _SEPARATORS.sub("", text)
    if not _DIGITS.fullmatch(compact):
        return None, None
    if compact.startswith("+"):
        return compact, None
    phone = "+" + compact[2:] if compact.startswith("00") else compact.removeprefix("0")
    return phone, compact


async def find_customers(
    ctx: PassContext, text: str, *, page: int = 1, per_page: int = 25
) -> Found:
    """Customers whose name, email, phone, external id or card number matches ``text``
    (all of them, newest first, when it is empty), ``per_page`` at a time."""
    text = text.strip()
    page = min(max(page, 1), MAX_PAGE)
    phone, number = _digits(text) if text else (None, None)
    rows = await repository.search_customers(
        ctx.session,
        ctx.tenant_id,
        text=text or None,
        phone=phone,
        number=number,
        limit=per_page + 1,
        offset=(page - 1) * per_page,
    )
    shown = rows[:per_page]
    cards: dict[uuid.UUID, list[CardLine]] = {c.id: [] for c in shown}
    for line in _card_lines(
        await repository.cards_of_customers(ctx.session, ctx.tenant_id, [c.id for c in shown])
    ):
        if line.account.customer_id in cards:
            cards[line.account.customer_id].append(line)
    anonymous = []
    if number and page == 1:
        anonymous = _card_lines(
            await repository.anonymous_cards(ctx.session, ctx.tenant_id, number, per_page)
        )
    return Found(
        customers=[(c, cards[c.id]) for c in shown],
        anonymous=anonymous,
        page=page,
        has_next=len(rows) > per_page,
    )


async def customer_cards(
    ctx: PassContext, customer_id: uuid.UUID
) -> tuple[Customer, list[CardLine]]:
    """A customer (404 for another tenant's) and their cards."""
    customer = await customers.get_customer(ctx, customer_id)
    rows = await repository.cards_of_customers(ctx.session, ctx.tenant_id, [customer.id])
    return customer, _card_lines(rows)


async def card_view(ctx: PassContext, account_id: uuid.UUID) -> CardView:
    """A card's standing (404 for another tenant's card)."""
    account = await common.get_account(ctx, account_id)
    program = await common.get_program(ctx, account.program_id)
    config = common.config_of(program)
    customer = (
        await customers.get_customer(ctx, account.customer_id) if account.customer_id else None
    )
    tier = next((t for t in config.tiers if t.key == account.tier), None)
    upcoming = next_tier(config.tiers, account.tier)
    progress = None
    if upcoming is not None:
        data = await cardpass.pass_data(ctx, account, program, config, customer)
        to_go = int(data["points_to_next_tier"])
        progress = Progress(upcoming.name, upcoming.threshold, upcoming.threshold - to_go)
    rewards = [
        Progress(r.name, r.cost, min(account.balance, r.cost))
        for r in await repository.rewards_of_program(ctx.session, program.id)
        if r.active and r.stock != 0
    ]
    expiring: dict[datetime, int] = {}
    for lot in await repository.open_lots(ctx.session, account.id):
        if lot.expires_at is not None:
            expiring[lot.expires_at] = expiring.get(lot.expires_at, 0) + lot.remaining
    pending = [
        (lot.available_at, lot.remaining)
        for lot in await repository.open_lots(ctx.session, account.id, status="pending")
    ]
    expires_all_at = None
    if (
        config.expiry.kind == "inactivity"
        and config.expiry.days is not None
        and account.last_activity_at is not None
        and account.balance > 0
    ):
        expires_all_at = account.last_activity_at + timedelta(days=config.expiry.days)
    return CardView(
        account=account,
        program=program,
        config=config,
        customer=customer,
        tier=tier,
        next_tier=progress,
        rewards=rewards,
        expiring=sorted(expiring.items()),
        pending=pending,
        expires_all_at=expires_all_at,
    )


async def ledger_page(
    ctx: PassContext, account: Account, *, page: int = 1, per_page: int = 50
) -> LedgerPage:
    """A card's entries, newest first, each with the available balance right after it
    (``account``: the tenant's card, as :func:`card_view` found it)."""
    page = min(max(page, 1), MAX_PAGE)
    rows = await repository.entries_page(
        ctx.session, account.id, limit=per_page + 1, offset=(page - 1) * per_page
    )
    shown = rows[:per_page]
    lines: list[LedgerLine] = []
    if shown:
        balance = await repository.posted_through(ctx.session, shown[0])
        for entry in shown:
            lines.append(LedgerLine(entry, balance))
            if entry.status == "posted":
                balance -= entry.amount
    return LedgerPage(lines=lines, page=page, has_next=len(rows) > per_page)


async def set_reward_active(
    ctx: PassContext, program_id: uuid.UUID, reward_id: uuid.UUID, active: bool
) -> Reward:
    """Offer a reward of the program again, or stop offering it (nothing is deleted: the
    ledger names it)."""
    program = await common.get_program(ctx, program_id)
    reward = await repository.get_reward(ctx.session, ctx.tenant_id, reward_id)
    if reward is None or reward.program_id != program.id:
        raise RewardNotFound(f"no reward {reward_id} in this program")
    reward.active = active
    await ctx.session.flush()
    return reward
