"""HTTP API of campaigns, code batches, codes, validations and redemptions (``/api/v1``).

Scopes: campaigns, batches, codes and publications need ``coupons:read`` / ``coupons:write``;
redemptions and rollbacks accept ``redemptions:write`` (a POS or scanner key) or
``coupons:write``; validations need ``validations:write`` or ``coupons:read``, not
``redemptions:write`` alone: a dry run that tells a valid code from a dead one for free
would make a till's key an oracle for finding codes.

Guessing pays nothing: validations and redemptions are rate-limited per API key and per
client address, ``code_not_found`` answers more strictly (then any code gets 429), and a
burst of them is recorded in the tenant's event log (:class:`Guesses`).
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from passmint.coupons import batches, redemptions, service
from passmint.coupons.errors import CodeNotFound, Rejection
from passmint.coupons.rules import Kind, Value, uses_left
from passmint.coupons.schemas import (
    BatchCreate,
    BatchOut,
    CampaignCreate,
    CampaignOut,
    CampaignPatch,
    CampaignRef,
    CodeOut,
    ErrorOut,
    PublicationIn,
    RedeemIn,
    RedemptionOut,
    RollbackIn,
    RollbackOut,
    ValidationOut,
    ValueOut,
)
from passmint.kit.ids import uuid7
from passmint.models import Campaign, Code, CodeBatch, Redemption, RedemptionRollback
from passmint.passes import service as pass_service
from passmint.passes.endpoints import Cursor, decode_cursor, encode_cursor, pass_out
from passmint.passes.host import ServiceHost
from passmint.passes.schemas import Page
from passmint.passes.service import PassContext
from passmint.tenants.scopes import Scope
from passmint.tenants.service import Principal
from passmint.web import ratelimit
from passmint.web.deps import CouponsRead, CouponsWrite, RuntimeDep, pass_context, requires
from passmint.web.docs import read_body
from passmint.web.errors import error_body
from passmint.web.idempotency import IdempotencyKey, require_key, run_idempotent

router = APIRouter(prefix="/api/v1")
Redeemer = Annotated[Principal, Depends(requires(Scope.REDEMPTIONS_WRITE, Scope.COUPONS_WRITE))]
RedemptionReader = Annotated[
    Principal, Depends(requires(Scope.REDEMPTIONS_WRITE, Scope.COUPONS_READ))
]
Validator = Annotated[Principal, Depends(requires(Scope.VALIDATIONS_WRITE, Scope.COUPONS_READ))]
log = structlog.get_logger("passmint.coupons")


class Guesses:
    """One validation or redemption, against guessing. Per API key and per client address,
    attempts count against ``coupon_attempts`` and ``code_not_found`` answers against
    ``coupon_misses``; a key or address over its misses gets 429 for any code, valid or not,
    until the window ends, so guessing learns nothing more. Misses past ``guess_alarm``
    are recorded in the tenant's event log (``code_guessing``) and logged, once a window."""

    def __init__(self, runtime: ServiceHost, request: Request, principal: Principal) -> None:
        self.runtime = runtime
        self.principal = principal
        self.limiter = ratelimit.shared(runtime)
        self.client = ratelimit.client_ip(request.scope)
        caller = ("user", principal.actor_id) if principal.user_id else ("key", principal.actor_id)
        self.by = {principal.actor_type: caller, "address": ("ip", self.client)}

    async def admit(self) -> None:
        for ids in self.by.values():
            self.limiter.check("coupon_misses", *ids)
            await self.limiter.hit("coupon_attempts", *ids)

    async def judged(self, rejection: Rejection) -> None:
        if not isinstance(rejection, CodeNotFound):
            return
        tenant = str(self.principal.tenant_id)
        for by, ids in self.by.items():
            await self.limiter.count("coupon_misses", *ids)
            crossed = await self.limiter.crossed("guess_alarm", tenant, *ids)
            if crossed is not None:
                await self._alarm(by, str(crossed))

    async def _alarm(self, by: str, limit: str) -> None:
        principal = self.principal
        log.warning(
            "coupon code guessing",
            tenant_id=str(principal.tenant_id),
            by=by,
            **{f"{principal.actor_type}_id": principal.actor_id},
            client=self.client,
            limit=limit,
        )
        async with self.runtime.transaction() as session:
            ctx = pass_context(self.runtime, session, principal)
            await service.record_guessing(
                ctx,
                api_key_id=principal.api_key_id,
                user_id=principal.user_id,
                client=self.client,
                by=by,
                limit=limit,
            )


# -- representations -------------------------------------------------------------------------


def campaign_out(campaign: Campaign) -> CampaignOut:
    return CampaignOut(
        id=campaign.id,
        name=campaign.name,
        kind=Kind(campaign.kind),
        status=campaign.status,
        percent_off_bp=campaign.percent_off_bp,
        amount_off=campaign.amount_off,
        max_discount=campaign.max_discount,
        currency=campaign.currency,
        item_sku=campaign.item_sku,
        item_name=campaign.item_name,
        initial_balance=campaign.initial_balance,
        template_id=campaign.template_id,
        rules=service.rules_of(campaign),
        total_used=campaign.total_used if campaign.total_limit is not None else None,
        created_at=campaign.created_at,
        updated_at=campaign.updated_at,
    )


def batch_out(batch: CodeBatch) -> BatchOut:
    return BatchOut.model_validate(batch, from_attributes=True)


def code_out(ctx: PassContext, campaign: Campaign, code: Code) -> CodeOut:
    return CodeOut(
        id=code.id,
        code=code.code,
        campaign_id=code.campaign_id,
        batch_id=code.batch_id,
        state=service.state_label(campaign, code, ctx.now),  # type: ignore[arg-type]
        max_uses=code.max_uses,
        used_count=code.used_count,
        uses_left=uses_left(service.code_state(code)),
        balance=code.balance,
        currency=campaign.currency,
        expires_at=code.expires_at,
        customer_id=code.customer_id,
        pass_id=code.pass_id,
        published_at=code.published_at,
        created_at=code.created_at,
    )


async def code_with_pass(ctx: PassContext, campaign: Campaign, code: Code) -> CodeOut:
    out = code_out(ctx, campaign, code)
    if code.pass_id is not None:
        out.wallet_pass = await pass_out(ctx, await pass_service.get_pass(ctx, code.pass_id))
    return out


def value_out(value: Value) -> ValueOut:
    return ValueOut(
        kind=Kind(value.kind),
        amount=value.amount,
        currency=value.currency,
        percent_off_bp=value.percent_off_bp,
        item_sku=value.item_sku,
        item_name=value.item_name,
        balance_before=value.balance_before,
        balance_after=value.balance_after,
    )


def redemption_out(
    redemption: Redemption, code: Code, rollbacks: list[RedemptionRollback]
) -> RedemptionOut:
    details = redemption.details
    return RedemptionOut(
        id=redemption.id,
        status=redemption.status,  # type: ignore[arg-type]
        code_id=code.id,
        code=code.code,
        campaign_id=redemption.campaign_id,
        customer_id=redemption.customer_id,
        value=ValueOut(
            kind=Kind(redemption.kind),
            amount=redemption.amount,
            currency=redemption.currency,
            percent_off_bp=details.get("percent_off_bp"),
            item_sku=details.get("item_sku"),
            item_name=details.get("item_name"),
            balance_before=details.get("balance_before"),
            balance_after=redemption.balance_after,
        ),
        order_amount=redemption.order_amount,
        order_ref=redemption.order_ref,
        rolled_back_amount=redemption.rolled_back_amount,
        rollbacks=[
            RollbackOut(id=r.id, amount=r.amount, reason=r.reason, created_at=r.created_at)
            for r in rollbacks
        ],
        created_at=redemption.created_at,
        rolled_back_at=redemption.rolled_back_at,
    )


# -- campaigns -------------------------------------------------------------------------------


@router.post("/campaigns", status_code=201, response_model=CampaignOut, tags=["campaigns"])
async def create_campaign(
    body: CampaignCreate,
    runtime: RuntimeDep,
    principal: CouponsWrite,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    async def operation(session: Any) -> tuple[int, dict[str, Any]]:
        ctx = pass_context(runtime, session, principal)
        campaign = await service.create_campaign(ctx, body)
        return 201, campaign_out(campaign).model_dump(mode="json")

    return await run_idempotent(
        runtime,
        principal,
        idempotency_key,
        "POST /campaigns",
        body.model_dump(mode="json"),
        operation,
    )


@router.get("/campaigns", response_model=Page[CampaignOut], tags=["campaigns"])
async def list_campaigns(
    runtime: RuntimeDep,
    principal: CouponsRead,
    cursor: Cursor | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[CampaignOut]:
    async with runtime.db.sessions() as session:
        ctx = pass_context(runtime, session, principal)
        rows = await service.list_campaigns(ctx, decode_cursor(cursor), limit)
    return Page[CampaignOut](
        items=[campaign_out(c) for c in rows],
        next_cursor=encode_cursor(rows[-1].id) if len(rows) == limit else None,
    )


@router.get("/campaigns/{campaign_id}", response_model=CampaignOut, tags=["campaigns"])
async def get_campaign(
    campaign_id: uuid.UUID, runtime: RuntimeDep, principal: CouponsRead
) -> CampaignOut:
    async with runtime.db.sessions() as session:
        ctx = pass_context(runtime, session, principal)
        return campaign_out(await service.get_campaign(ctx, campaign_id))


@router.patch("/campaigns/{campaign_id}", response_model=CampaignOut, tags=["campaigns"])
async def patch_campaign(
    campaign_id: uuid.UUID, body: CampaignPatch, runtime: RuntimeDep, principal: CouponsWrite
) -> CampaignOut:
    """Change the name, status (``paused``/``archived`` codes answer ``code_not_found``),
    value or rules; in ``rules`` only the fields sent change."""
    async with runtime.transaction() as session:
        ctx = pass_context(runtime, session, principal)
        return campaign_out(await service.update_campaign(ctx, campaign_id, body))


# -- batches and codes -----------------------------------------------------------------------


@router.post(
    "/campaigns/{campaign_id}/batches",
    status_code=201,
    response_model=BatchOut,
    responses={202: {"model": BatchOut, "description": "Generating in the background."}},
    tags=["codes"],
)
async def create_batch(
    campaign_id: uuid.UUID,
    body: BatchCreate,
    runtime: RuntimeDep,
    principal: CouponsWrite,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """A pattern whose space is under 1,000 times the codes made from it (this batch and
    the tenant's earlier batches of the same pattern) is a 400 ``pattern_space_too_small``:
    a guess must find a code with a probability of 1/1,000 at most. The default (10
    characters of 31) leaves room for 8×10^11 codes."""

    async def operation(session: Any) -> tuple[int, dict[str, Any]]:
        ctx = pass_context(runtime, session, principal)
        batch = await batches.create_batch(ctx, campaign_id, body)
        return (201 if batch.status == "ready" else 202), batch_out(batch).model_dump(mode="json")

    return await run_idempotent(
        runtime,
        principal,
        idempotency_key,
        f"POST /campaigns/{campaign_id}/batches",
        body.model_dump(mode="json"),
        operation,
    )


@router.get("/campaigns/{campaign_id}/batches/{batch_id}", response_model=BatchOut, tags=["codes"])
async def get_batch(
    campaign_id: uuid.UUID, batch_id: uuid.UUID, runtime: RuntimeDep, principal: CouponsRead
) -> BatchOut:
    async with runtime.db.sessions() as session:
        ctx = pass_context(runtime, session, principal)
        return batch_out(await batches.get_batch(ctx, campaign_id, batch_id))


@router.post(
    "/campaigns/{campaign_id}/codes/import",
    status_code=201,
    response_model=BatchOut,
    tags=["codes"],
    openapi_extra=read_body("text/csv", {"type": "string"}),
)
async def import_codes(
    campaign_id: uuid.UUID,
    request: Request,
    runtime: RuntimeDep,
    principal: CouponsWrite,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """CSV with a ``code`` column and optional ``balance`` (gift cards), ``max_uses`` and
    ``expires_at`` (ISO 8601 with a zone). All or nothing: any malformed, duplicate or
    existing code is a 400 ``invalid_import`` listing ``{line, error, message}``."""
    data = await request.body()

    async def operation(session: Any) -> tuple[int, dict[str, Any]]:
        ctx = pass_context(runtime, session, principal)
        batch = await batches.import_codes(ctx, campaign_id, data)
        return 201, batch_out(batch).model_dump(mode="json")

    return await run_idempotent(
        runtime,
        principal,
        idempotency_key,
        f"POST /campaigns/{campaign_id}/codes/import",
        {"sha256": hashlib.sha256(data).hexdigest()},
        operation,
    )


@router.get("/campaigns/{campaign_id}/codes", response_model=Page[CodeOut], tags=["codes"])
async def list_codes(
    campaign_id: uuid.UUID,
    runtime: RuntimeDep,
    principal: CouponsRead,
    batch_id: uuid.UUID | None = None,
    customer_id: uuid.UUID | None = None,
    cursor: Cursor | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Page[CodeOut]:
    async with runtime.db.sessions() as session:
        ctx = pass_context(runtime, session, principal)
        campaign, rows = await service.list_codes(
            ctx,
            campaign_id,
            batch_id=batch_id,
            customer_id=customer_id,
            after=decode_cursor(cursor),
            limit=limit,
        )
    return Page[CodeOut](
        items=[code_out(ctx, campaign, code) for code in rows],
        next_cursor=encode_cursor(rows[-1].id) if len(rows) == limit else None,
    )


@router.get("/campaigns/{campaign_id}/codes/{code_id}", response_model=CodeOut, tags=["codes"])
async def get_code(
    campaign_id: uuid.UUID, code_id: uuid.UUID, runtime: RuntimeDep, principal: CouponsRead
) -> CodeOut:
    async with runtime.db.sessions() as session:
        ctx = pass_context(runtime, session, principal)
        campaign, code = await service.get_code(ctx, campaign_id, code_id)
        return await code_with_pass(ctx, campaign, code)


@router.post(
    "/campaigns/{campaign_id}/codes/{code_id}/void", response_model=CodeOut, tags=["codes"]
)
async def void_code(
    campaign_id: uuid.UUID, code_id: uuid.UUID, runtime: RuntimeDep, principal: CouponsWrite
) -> CodeOut:
    """The code answers ``code_not_found`` from now on and its pass is voided."""
    async with runtime.transaction() as session:
        ctx = pass_context(runtime, session, principal)
        campaign, code = await service.void_code(ctx, campaign_id, code_id)
        return await code_with_pass(ctx, campaign, code)


@router.post(
    "/campaigns/{campaign_id}/publications",
    status_code=201,
    response_model=CodeOut,
    tags=["codes"],
)
async def publish(
    campaign_id: uuid.UUID,
    body: PublicationIn,
    runtime: RuntimeDep,
    principal: CouponsWrite,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Hand an available code of the campaign to a customer (or to nobody in particular,
    e.g. for a flyer); a new code is made when none is left. With the campaign's template
    the code's pass is issued: ``wallet_pass.urls`` has its links."""
    key = f"api:{idempotency_key or uuid7()}"

    async def operation(session: Any) -> tuple[int, dict[str, Any]]:
        ctx = pass_context(runtime, session, principal)
        code = await service.issue_code(
            ctx, campaign_id, customer_id=body.customer_id, idempotency_key=key
        )
        campaign = await service.get_campaign(ctx, campaign_id)
        return 201, (await code_with_pass(ctx, campaign, code)).model_dump(mode="json")

    return await run_idempotent(
        runtime,
        principal,
        idempotency_key,
        f"POST /campaigns/{campaign_id}/publications",
        body.model_dump(mode="json"),
        operation,
    )


# -- validations and redemptions -------------------------------------------------------------


@router.post(
    "/validations",
    response_model=ValidationOut,
    tags=["redemptions"],
)
async def validate(
    body: RedeemIn, request: Request, runtime: RuntimeDep, principal: Validator
) -> ValidationOut:
    """A dry run of ``POST /redemptions``: nothing changes. **A completed check answers 200**
    with ``valid: true`` and the value, or ``valid: false`` and ``error`` carrying the code
    the redemption would fail with (``code_not_found``, ``code_expired``,
    ``usage_limit_reached``, ``code_not_active_yet``, ``conditions_not_met`` with
    ``details.condition``, ``insufficient_balance``). Bad input (malformed code, unknown
    currency, negative amount, unknown customer) is a 4xx like anywhere else.

    Needs ``validations:write`` or ``coupons:read``. Rate-limited like redemptions: a key or
    address with too many ``code_not_found`` gets 429 ``rate_limited`` for any code."""
    guesses = Guesses(runtime, request, principal)
    await guesses.admit()
    async with runtime.db.read_sessions() as session:  # a dry run: no BEGIN, no ROLLBACK
        ctx = pass_context(runtime, session, principal)
        try:
            verdict = await redemptions.validate(ctx, body)
        except Rejection as exc:
            rejection = exc
        else:
            return ValidationOut(
                valid=True,
                code=verdict.code.code,
                campaign=CampaignRef(
                    id=verdict.campaign.id,
                    name=verdict.campaign.name,
                    kind=Kind(verdict.campaign.kind),
                ),
                value=value_out(verdict.value),
                uses_left=verdict.uses_left,
            )
    await guesses.judged(rejection)  # after the session: an alarm writes in its own
    error = error_body(rejection.code, rejection.message, rejection.details)["error"]
    return ValidationOut(valid=False, error=ErrorOut.model_validate(error))


@router.post(
    "/redemptions",
    status_code=201,
    response_model=RedemptionOut,
    tags=["redemptions"],
)
async def redeem(
    body: RedeemIn,
    request: Request,
    runtime: RuntimeDep,
    principal: Redeemer,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Redeem a code. **Requires ``Idempotency-Key``**: a replay returns the first result;
    the same key with another body is a 409. Rejections are 4xx with the codes listed under
    ``POST /validations`` (``code_not_found`` is a 404). Concurrent redemptions never exceed
    a code's uses, a gift card's balance, a customer's or the campaign's limit. Rate-limited
    per API key and per address; too many ``code_not_found`` and any code gets a 429."""
    guesses = Guesses(runtime, request, principal)
    await guesses.admit()
    key = require_key(idempotency_key)

    async def operation(session: Any) -> tuple[int, dict[str, Any]]:
        ctx = pass_context(runtime, session, principal)
        redemption, code = await redemptions.redeem(
            ctx, body, idempotency_key=key, api_key_id=principal.api_key_id, replay=False
        )
        code, rollbacks = await redemptions.describe(ctx, redemption, code)
        return 201, redemption_out(redemption, code, rollbacks).model_dump(mode="json")

    try:
        return await run_idempotent(
            runtime, principal, key, "POST /redemptions", body.model_dump(mode="json"), operation
        )
    except Rejection as exc:
        await guesses.judged(exc)
        raise


@router.get("/redemptions/{redemption_id}", response_model=RedemptionOut, tags=["redemptions"])
async def get_redemption(
    redemption_id: uuid.UUID, runtime: RuntimeDep, principal: RedemptionReader
) -> RedemptionOut:
    async with runtime.db.sessions() as session:
        ctx = pass_context(runtime, session, principal)
        redemption = await redemptions.get_redemption(ctx, redemption_id)
        code, rollbacks = await redemptions.describe(ctx, redemption)
        return redemption_out(redemption, code, rollbacks)


@router.post(
    "/redemptions/{redemption_id}/rollback",
    response_model=RedemptionOut,
    tags=["redemptions"],
)
async def rollback(
    redemption_id: uuid.UUID,
    body: RollbackIn,
    runtime: RuntimeDep,
    principal: Redeemer,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Undo a redemption (its use and limits come back; the pass shows it). Gift cards may
    be rolled back in parts up to the charge. **Requires ``Idempotency-Key``**. A second
    full rollback is a 409 ``already_rolled_back``."""
    key = require_key(idempotency_key)

    async def operation(session: Any) -> tuple[int, dict[str, Any]]:
        ctx = pass_context(runtime, session, principal)
        redemption = await redemptions.rollback(
            ctx, redemption_id, amount=body.amount, reason=body.reason, idempotency_key=key
        )
        code, rollbacks = await redemptions.describe(ctx, redemption)
        return 200, redemption_out(redemption, code, rollbacks).model_dump(mode="json")

    return await run_idempotent(
        runtime,
        principal,
        key,
        f"POST /redemptions/{redemption_id}/rollback",
        body.model_dump(mode="json"),
        operation,
    )
