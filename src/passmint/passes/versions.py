"""A template's history: its versions, what two of them differ in, what publishing a new
one reaches (the live passes that re-render and are pushed), and rolling back (a new
version that carries an earlier design)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from passmint.models import Template, TemplateVersion
from passmint.passes import repository, service
from passmint.passes.errors import TemplateNotFound
from passmint.passes.service import PassContext
from passmint.wallet.designs.schemas import TemplateDesign

MAX_VERSIONS_LISTED = 200


@dataclass(frozen=True, slots=True)
class Change:
    """One difference between two designs: the path and the values on each side
    (None where the path is absent)."""

    path: str
    before: Any
    after: Any


async def versions(
    ctx: PassContext, template_id: uuid.UUID
) -> tuple[Template, list[TemplateVersion]]:
    template, _ = await service.get_template(ctx, template_id)
    return template, await repository.list_template_versions(
        ctx.session, template.id, MAX_VERSIONS_LISTED
    )


async def version(ctx: PassContext, template_id: uuid.UUID, number: int) -> TemplateVersion:
    template, _ = await service.get_template(ctx, template_id)
    found = await repository.get_template_version(ctx.session, template.id, number)
    if found is None:
        raise TemplateNotFound(f"template {template_id} has no version {number}")
    return found


async def live_passes(ctx: PassContext, template_id: uuid.UUID) -> int:
    """How many passes a new version of the template re-renders and pushes."""
    template, _ = await service.get_template(ctx, template_id)
    return await repository.count_live_passes(ctx.session, ctx.tenant_id, template.id)


async def roll_back(
    ctx: PassContext, template_id: uuid.UUID, number: int
) -> tuple[Template, TemplateVersion]:
    """A new version with the design of version ``number`` (history is never rewritten)."""
    earlier = await version(ctx, template_id, number)
    design = TemplateDesign.model_validate(earlier.design)
    return await service.update_template(ctx, template_id, name=None, design=design)


def differences(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[Change]:
    """Every leaf that differs between two designs, by JSON pointer, in a stable order."""
    changes: list[Change] = []
    _walk("", before, after, changes)
    return changes


_MISSING: Any = object()


def _walk(path: str, before: Any, after: Any, changes: list[Change]) -> None:
    if isinstance(before, Mapping) and isinstance(after, Mapping):
        for key in sorted(set(before) | set(after), key=str):
            part = str(key).replace("~", "~0").replace("/", "~1")
            _walk(f"{path}/{part}", before.get(key, _MISSING), after.get(key, _MISSING), changes)
        return
    if isinstance(before, list) and isinstance(after, list):
        for index in range(max(len(before), len(after))):
            _walk(
                f"{path}/{index}",
                before[index] if index < len(before) else _MISSING,
                after[index] if index < len(after) else _MISSING,
                changes,
            )
        return
    if before is _MISSING and isinstance(after, (Mapping, list)):
        _walk(path, {} if isinstance(after, Mapping) else [], after, changes)
        return
    if after is _MISSING and isinstance(before, (Mapping, list)):
        _walk(path, before, {} if isinstance(before, Mapping) else [], changes)
        return
    if before != after:
        changes.append(
            Change(
                path or "/",
                None if before is _MISSING else before,
                None if after is _MISSING else after,
            )
        )
