"""Customers and their cards: matching or creating a customer, making a card (its number,
referral code, welcome points and pass; one per customer per program) and making an
anonymous card personal."""

from __future__ import annotations

import secrets
import uuid
from typing import Final

from passmint.errors import check_json_object
from passmint.kit.ids import uuid7
from passmint.kit.jsonobject import ATTRIBUTES
from passmint.loyalty import cardpass, ledger, repository, tiers
from passmint.loyalty.common import Actor, config_of, get_account, get_program
from passmint.loyalty.errors import (
    AccountExists,
    CustomerConflict,
    CustomerNotFound,
    ProgramInactive,
    ReferralCodeNotFound,
    SelfReferral,
)
from passmint.loyalty.rules import earnings
from passmint.loyalty.schemas import CustomerIn
from passmint.models import Account, Customer, Referral
from passmint.passes import service as pass_service
from passmint.passes.service import PassContext

_NUMBER_DIGITS: Final = 12
_REFERRAL_ALPHABET: Final = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


async def upsert_customer(ctx: PassContext, data: CustomerIn) -> Customer:
    """Match by external id, then phone, then email; fill in what the match lacks."""
    return (await _upsert_customer(ctx, data))[0]


async def _upsert_customer(ctx: PassContext, data: CustomerIn) -> tuple[Customer, bool]:
    """The customer, and whether it is new."""
    found = await repository.matching_customers(
        ctx.session, ctx.tenant_id, external_id=data.external_id, phone=data.phone, email=data.email
    )
    if len({c.id for c in found}) > 1:
        raise CustomerConflict(
            "external_id, phone and email belong to different customers",
            details={"customer_ids": sorted(str(c.id) for c in found)},
        )
    customer = found[0] if found else None
    created = customer is None
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
    return customer, created


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
    holder, new_holder = (
        await _upsert_customer(ctx, customer) if customer is not None else (None, True)
    )
    if holder is not None and not new_holder:  # a customer created now has no card yet
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
    # Not flushed yet: the card's row goes out with its welcome lots, in one flush that
    # writes accounts before the rows referring to them (ledger entries, referrals).
    ctx.session.add(account)
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
    await ledger.post_earnings(ctx, account, config, welcome, key_base=f"enrollment:{account.id}")
    await tiers.upgrade(ctx, account, config)
    # A new card qualifies for tiers with what it earned on opening (every entry is dated
    # now, inside any tier window), so its pass data needs no look-up of them.
    qualifying = account.lifetime_earned
    pass_ = await pass_service.issue_pass(  # rendered once, with the welcome points in
        ctx,
        template_id=program.template_id,
        data=await cardpass.pass_data(ctx, account, program, config, holder, qualifying),
        external_id=str(account.id),
    )
    account.pass_id = pass_.id
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
    await cardpass.after_change(ctx, account, program, config_of(program))
    return account
