"""Test passes: the designer's "try it on my phone". One test pass per person and template,
carrying the template's current version and sample data; asking again refreshes the same
pass (so a phone that added it receives the newer design), it is not a new one each time."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from passmint.models import Pass
from passmint.passes import service
from passmint.passes.service import PassContext

PREFIX = "designer-test"


def external_id(owner: str, template_id: uuid.UUID) -> str:
    return f"{PREFIX}:{owner}:{template_id}"


async def find(ctx: PassContext, template_id: uuid.UUID, *, owner: str) -> tuple[Pass, str] | None:
    """The person's live test pass of the template and its link, if there is one."""
    found = await service.list_passes(
        ctx,
        template_id=template_id,
        external_id=external_id(owner, template_id),
        after=None,
        limit=1,
    )
    if not found or found[0].status == "voided":
        return None
    return found[0], service.pass_link(ctx, found[0])


async def test_pass(
    ctx: PassContext, template_id: uuid.UUID, *, owner: str, sample_data: Mapping[str, Any]
) -> tuple[Pass, str]:
    """The person's test pass of the template (issued or refreshed) and its link."""
    await service.get_template(ctx, template_id)  # 404 for another tenant's template
    data = {k: v for k, v in sample_data.items() if v is not None}
    found = await find(ctx, template_id, owner=owner)
    if found is not None:
        pass_ = await service.update_pass(ctx, found[0].id, data)
    else:
        key = external_id(owner, template_id)
        pass_ = await service.issue_pass(ctx, template_id=template_id, data=data, external_id=key)
    return pass_, service.pass_link(ctx, pass_)
