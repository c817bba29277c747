"""Looking over campaigns: each with its counts of codes and redemptions, a campaign's
batches, and its redemptions with the code, the customer and who made each one. A service
module for the admin app's screens (read-only; writes go through ``coupons.service``,
``coupons.batches`` and ``coupons.redemptions``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from passmint.coupons import overview_repository as repository
from passmint.coupons.errors import RedemptionNotFound
from passmint.coupons.redemptions import get_redemption
from passmint.coupons.service import get_campaign, list_campaigns
from passmint.models import Campaign, CodeBatch, Customer, Redemption
from passmint.passes.service import PassContext

MAX_BATCHES = 100
MAX_PAGE = 200


@dataclass(frozen=True)
class CampaignFigures:
    """A campaign with how many codes it holds and how many redemptions it counts
    (``redemptions``: committed, rolled back in part included; ``rolled_back``: whole)."""

    campaign: Campaign
    codes: int
    redemptions: int
    rolled_back: int


@dataclass(frozen=True)
class RedemptionLine:
    """A redemption as a row: its code, its customer, and who made it (``by_type``
    ``user``, ``api_key`` or ``system``; None when nothing recorded it)."""

    redemption: Redemption
    code: str
    customer: Customer | None
    by_type: str | None
    by_label: str | None


async def _figures(ctx: PassContext, campaigns: list[Campaign]) -> list[CampaignFigures]:
    ids = [c.id for c in campaigns]
    codes = await repository.code_counts(ctx.session, ctx.tenant_id, ids)
    redemptions = await repository.redemption_counts(ctx.session, ctx.tenant_id, ids)
    return [
        CampaignFigures(
            campaign=c,
            codes=codes.get(c.id, 0),
            redemptions=redemptions.get(c.id, {}).get("committed", 0),
            rolled_back=redemptions.get(c.id, {}).get("rolled_back", 0),
        )
        for c in campaigns
    ]


async def campaigns_with_figures(
    ctx: PassContext, *, after: uuid.UUID | None, limit: int
) -> list[CampaignFigures]:
    """The tenant's campaigns in creation order (``after``: the last id of the previous
    page), each with its figures."""
    rows = await list_campaigns(ctx, after, max(1, min(limit, MAX_PAGE)))
    return await _figures(ctx, rows)


async def campaign_figures(ctx: PassContext, campaign_id: uuid.UUID) -> CampaignFigures:
    """One campaign of the tenant with its figures (``campaign_not_found`` otherwise)."""
    return (await _figures(ctx, [await get_campaign(ctx, campaign_id)]))[0]


async def campaign_batches(ctx: PassContext, campaign: Campaign) -> list[CodeBatch]:
    """The latest batches of a campaign of the tenant (as :func:`campaign_figures` or
    ``get_campaign`` found it), newest first."""
    return await repository.batches_of(ctx.session, ctx.tenant_id, campaign.id, MAX_BATCHES)


async def campaign_redemptions(
    ctx: PassContext, campaign: Campaign, *, before: uuid.UUID | None, limit: int
) -> list[RedemptionLine]:
    """The redemptions of a campaign of the tenant (as ``get_campaign`` found it), newest
    first (``before``: the last id of the previous page). Who made one is the audit log's
    actor of its creation, else the API key the redemption names."""
    rows = await repository.redemptions_of(
        ctx.session, ctx.tenant_id, campaign.id, before=before, limit=max(1, min(limit, MAX_PAGE))
    )
    recorded = await repository.creators(
        ctx.session, ctx.tenant_id, "redemption", [str(r.id) for r, _, _ in rows]
    )
    keys = await repository.api_key_names(
        ctx.session,
        ctx.tenant_id,
        sorted({r.api_key_id for r, _, _ in rows if r.api_key_id is not None}),
    )
    lines = []
    for redemption, code, customer in rows:
        by_type, by_label = recorded.get(str(redemption.id), (None, None))
        if by_type is None and redemption.api_key_id is not None:
            by_type = "api_key"
            by_label = keys.get(redemption.api_key_id, str(redemption.api_key_id))
        lines.append(RedemptionLine(redemption, code, customer, by_type, by_label))
    return lines


async def redemption_of_campaign(
    ctx: PassContext, campaign_id: uuid.UUID, redemption_id: uuid.UUID
) -> Redemption:
    """The redemption, if it is one of this campaign's (``redemption_not_found``
    otherwise, as for another tenant's)."""
    campaign = await get_campaign(ctx, campaign_id)
    redemption = await get_redemption(ctx, redemption_id)
    if redemption.campaign_id != campaign.id:
        raise RedemptionNotFound(f"no redemption {redemption_id} in this campaign")
    return redemption
