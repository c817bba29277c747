"""HTTP API of the loyalty engine: programs, rewards, customers, accounts (cards), their
ledger, activities from a POS, and the customer's wallet (``/api/v1``)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError

from passmint.coupons import service as coupon_service
from passmint.loyalty import activities, common, customers, ledger, programs, rewards, wallet
from passmint.loyalty.schemas import (
    AccountCreate,
    AccountOut,
    AccountPatch,
    ActivityIn,
    AdjustIn,
    CustomerIn,
    CustomerOut,
    ProgramCreate,
    ProgramOut,
    ProgramPatch,
    RefundIn,
    RewardIn,
    RewardOut,
    SpendIn,
)
from passmint.models import Account, Customer, LedgerEntry, Program, Reward
from passmint.passes import service as pass_service
from passmint.passes.endpoints import pass_out
from passmint.passes.host import ServiceHost
from passmint.passes.service import PassContext
from passmint.tenants.service import Principal
from passmint.web.deps import (
    ActivitiesWrite,
    LoyaltyRead,
    LoyaltyWrite,
    RuntimeDep,
    pass_context,
)
from passmint.web.idempotency import IdempotencyKey, require_key, run_idempotent

router = APIRouter(prefix="/api/v1", tags=["loyalty"])


def _actor(principal: Principal) -> common.Actor:
    return common.Actor(principal.actor_type, principal.actor_id)


def program_out(program: Program) -> ProgramOut:
    return ProgramOut.model_validate(program)


def reward_out(reward: Reward) -> RewardOut:
    return RewardOut.model_validate(reward)


def customer_out(customer: Customer) -> CustomerOut:
    return CustomerOut.model_validate(customer)


async def account_out(ctx: PassContext, account: Account) -> AccountOut:
    urls = None
    if account.pass_id is not None:
        pass_ = await pass_service.get_pass(ctx, account.pass_id)
        urls = (await pass_out(ctx, pass_)).urls.model_dump()
    return AccountOut(
        id=account.id,
        program_id=account.program_id,
        customer_id=account.customer_id,
        external_id=account.external_id,
        number=account.number,
        status=account.status,
        balance=account.balance,
        pending=account.pending,
        lifetime_earned=account.lifetime_earned,
        tier=account.tier,
        referral_code=account.referral_code,
        pass_id=account.pass_id,
        pass_urls=urls,
        created_at=account.created_at,
    )


# -- programs and rewards --------------------------------------------------------------------


@router.post("/programs", status_code=201, response_model=ProgramOut)
async def create_program(
    body: ProgramCreate, runtime: RuntimeDep, principal: LoyaltyWrite
) -> ProgramOut:
    """A program: its currency, earn rules, tiers, expiry and pending policy, and the pass
    template of its cards. Contradictory settings are refused with the field named."""
    async with runtime.transaction() as session:
        program = await programs.create_program(
            pass_context(runtime, session, principal),
            name=body.name,
            template_id=body.template_id,
            config=body.config,
        )
        return program_out(program)


@router.get("/programs", response_model=list[ProgramOut])
async def list_programs(runtime: RuntimeDep, principal: LoyaltyRead) -> list[ProgramOut]:
    async with runtime.db.sessions() as session:
        rows = await common.list_programs(pass_context(runtime, session, principal))
        return [program_out(p) for p in rows]


@router.get("/programs/{program_id}", response_model=ProgramOut)
async def get_program(
    program_id: uuid.UUID, runtime: RuntimeDep, principal: LoyaltyRead
) -> ProgramOut:
    async with runtime.db.sessions() as session:
        ctx = pass_context(runtime, session, principal)
        return program_out(await common.get_program(ctx, program_id))


@router.patch("/programs/{program_id}", response_model=ProgramOut)
async def patch_program(
    program_id: uuid.UUID, body: ProgramPatch, runtime: RuntimeDep, principal: LoyaltyWrite
) -> ProgramOut:
    async with runtime.transaction() as session:
        program = await programs.update_program(
            pass_context(runtime, session, principal),
            program_id,
            name=body.name,
            status=body.status,
            config=body.config,
        )
        return program_out(program)


@router.post("/programs/{program_id}/rewards", status_code=201, response_model=RewardOut)
async def create_reward(
    program_id: uuid.UUID, body: RewardIn, runtime: RuntimeDep, principal: LoyaltyWrite
) -> RewardOut:
    async with runtime.transaction() as session:
        ctx = pass_context(runtime, session, principal)
        return reward_out(await rewards.create_reward(ctx, program_id, body))


@router.get("/programs/{program_id}/rewards", response_model=list[RewardOut])
async def list_rewards(
    program_id: uuid.UUID, runtime: RuntimeDep, principal: LoyaltyRead
) -> list[RewardOut]:
    async with runtime.db.sessions() as session:
        ctx = pass_context(runtime, session, principal)
        return [reward_out(r) for r in await rewards.list_rewards(ctx, program_id)]


# -- customers -------------------------------------------------------------------------------


@router.post("/customers", response_model=CustomerOut)
async def upsert_customer(
    body: CustomerIn, runtime: RuntimeDep, principal: LoyaltyWrite
) -> CustomerOut:
    """Create a customer, or update the one matching the external id, phone or email."""
    async with runtime.transaction() as session:
        ctx = pass_context(runtime, session, principal)
        return customer_out(await customers.upsert_customer(ctx, body))


@router.get("/customers/{customer_id}", response_model=CustomerOut)
async def get_customer(
    customer_id: uuid.UUID, runtime: RuntimeDep, principal: LoyaltyRead
) -> CustomerOut:
    async with runtime.db.sessions() as session:
        ctx = pass_context(runtime, session, principal)
        return customer_out(await customers.get_customer(ctx, customer_id))


@router.get("/customers/{customer_id}/wallet")
async def customer_wallet(
    customer_id: uuid.UUID, runtime: RuntimeDep, principal: LoyaltyRead
) -> dict[str, Any]:
    """Balances, tier and progress to the next one, rewards within reach, active coupons
    and gift-card balances."""
    async with runtime.db.sessions() as session:
        ctx = pass_context(runtime, session, principal)
        cards = await wallet.wallet(ctx, customer_id)
        return {**cards, **await coupon_service.customer_wallet(ctx, customer_id)}


# -- accounts --------------------------------------------------------------------------------


@router.post("/programs/{program_id}/accounts", status_code=201, response_model=AccountOut)
async def create_account(
    program_id: uuid.UUID,
    body: AccountCreate,
    runtime: RuntimeDep,
    principal: LoyaltyWrite,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """A card and its pass; the customer is created or matched by external id, phone or
    email (one card per customer per program); without one the card is anonymous."""

    async def operation(session: Any) -> tuple[int, dict[str, Any]]:
        ctx = pass_context(runtime, session, principal)
        account = await customers.create_account(
            ctx,
            program_id,
            customer=body.customer,
            external_id=body.external_id,
            referral_code=body.referral_code,
            actor=_actor(principal),
        )
        return 201, (await account_out(ctx, account)).model_dump(mode="json")

    return await run_idempotent(
        runtime,
        principal,
        idempotency_key,
        f"POST /programs/{program_id}/accounts",
        body.model_dump(mode="json"),
        operation,
    )


@router.get("/accounts/{account_id}", response_model=AccountOut)
async def get_account(
    account_id: uuid.UUID, runtime: RuntimeDep, principal: LoyaltyRead
) -> AccountOut:
    async with runtime.db.sessions() as session:
        ctx = pass_context(runtime, session, principal)
        return await account_out(ctx, await common.get_account(ctx, account_id))


@router.patch("/accounts/{account_id}", response_model=AccountOut)
async def attach_customer(
    account_id: uuid.UUID, body: AccountPatch, runtime: RuntimeDep, principal: LoyaltyWrite
) -> AccountOut:
    """Attach a customer to an anonymous card (its pass becomes personal)."""
    async with runtime.transaction() as session:
        ctx = pass_context(runtime, session, principal)
        account = await customers.attach_customer(ctx, account_id, body.customer)
        return await account_out(ctx, account)


@router.get("/accounts/{account_id}/history")
async def account_history(
    account_id: uuid.UUID, runtime: RuntimeDep, principal: LoyaltyRead
) -> dict[str, Any]:
    """The balance explained entry by entry, what is pending and what expires when."""
    async with runtime.db.sessions() as session:
        return await ledger.history(pass_context(runtime, session, principal), account_id)


async def _post_entry(
    runtime: ServiceHost,
    principal: Principal,
    account_id: uuid.UUID,
    idempotency_key: str | None,
    write: Callable[[PassContext, str, common.Actor], Awaitable[LedgerEntry]],
) -> dict[str, Any]:
    """One ledger write that moves value: its Idempotency-Key is required."""
    key = require_key(idempotency_key)
    async with runtime.transaction() as session:
        ctx = pass_context(runtime, session, principal)
        entry = await write(ctx, key, _actor(principal))
        account = await common.get_account(ctx, account_id)
        return {"entry": common.entry_json(entry), "balance": account.balance}


@router.post("/accounts/{account_id}/spend")
async def spend(
    account_id: uuid.UUID,
    body: SpendIn,
    runtime: RuntimeDep,
    principal: LoyaltyWrite,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    """Spend points at a till (first-expiring points first); never overdraws."""
    return await _post_entry(
        runtime,
        principal,
        account_id,
        idempotency_key,
        lambda ctx, key, actor: ledger.spend(
            ctx, account_id, body.amount, key=key, actor=actor, note=body.reason
        ),
    )


@router.post("/accounts/{account_id}/spend/{entry_id}/refund")
async def refund(
    account_id: uuid.UUID,
    entry_id: uuid.UUID,
    body: RefundIn,
    runtime: RuntimeDep,
    principal: LoyaltyWrite,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    """Give back a spend, whole or in part: the points return to the lots they came from."""
    return await _post_entry(
        runtime,
        principal,
        account_id,
        idempotency_key,
        lambda ctx, key, actor: ledger.refund(
            ctx, account_id, entry_id, body.amount, key=key, actor=actor, note=body.reason
        ),
    )


@router.post("/accounts/{account_id}/adjustments")
async def adjust(
    account_id: uuid.UUID,
    body: AdjustIn,
    runtime: RuntimeDep,
    principal: LoyaltyWrite,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    """A manual correction, positive or negative, with its reason."""
    return await _post_entry(
        runtime,
        principal,
        account_id,
        idempotency_key,
        lambda ctx, key, actor: ledger.adjust(
            ctx, account_id, body.amount, key=key, actor=actor, note=body.reason
        ),
    )


@router.post("/accounts/{account_id}/rebuild")
async def rebuild(
    account_id: uuid.UUID, runtime: RuntimeDep, principal: LoyaltyWrite
) -> dict[str, Any]:
    """Recompute the cached balances from the ledger (they should never differ)."""
    async with runtime.transaction() as session:
        ctx = pass_context(runtime, session, principal)
        return await ledger.rebuild_balances(ctx, account_id)


@router.post("/accounts/{account_id}/rewards/{reward_id}/redeem")
async def redeem_reward(
    account_id: uuid.UUID,
    reward_id: uuid.UUID,
    runtime: RuntimeDep,
    principal: LoyaltyWrite,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    """Spend a reward's cost; get its coupon code or its credit."""
    key = require_key(idempotency_key)

    async with runtime.transaction() as session:
        ctx = pass_context(runtime, session, principal)
        return await rewards.redeem_reward(
            ctx, account_id, reward_id, key=key, actor=_actor(principal)
        )


# -- activities ------------------------------------------------------------------------------


@router.post("/activities")
async def post_activity(
    body: ActivityIn, runtime: RuntimeDep, principal: ActivitiesWrite
) -> JSONResponse:
    """A purchase, visit, return or custom event from a POS: applies the earn rules once per
    (source, external_id) and returns the entries it posted; a replay returns the original
    result (``replayed: true``) and posts nothing; a return reverses points pro rata."""
    source = body.source or (
        f"user:{principal.user_id}" if principal.user_id else f"key:{principal.api_key_id}"
    )
    try:
        async with runtime.transaction() as session:
            result = await activities.post_activity(
                pass_context(runtime, session, principal),
                body,
                source=source,
                actor=_actor(principal),
            )
    except IntegrityError:
        # The same activity, posted concurrently, won the race: answer what it stored.
        async with runtime.db.sessions() as session:
            replay = await activities.find_activity(
                pass_context(runtime, session, principal),
                source,
                body.external_id,
                activities.request_hash(body),
            )
        if replay is None:
            raise
        return JSONResponse(replay, status_code=200)
    return JSONResponse(result, status_code=200 if result.get("replayed") else 201)
