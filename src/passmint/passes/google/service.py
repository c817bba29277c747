"""Google Wallet for passmint's passes: ids, bodies, save links, the notification budget and
callbacks. No HTTP here: the REST calls are made by the sync job (``google.tasks``).

* One class per template (``<issuer>.pm-<template id>``), carrying the template's newest
  version; one object per pass (``<issuer>.pm-<serial number>``).
* Images are the template's uploaded sources at ``{PASSMINT_PUBLIC_URL}/i/<id>.png``; Google
  fetches them, so the public URL must be https for Google to render a pass.
* The save link carries the class and the object in full when that fits in 1,800
  characters (Google inserts what is missing), else only the object's id; such a link is
  handed out only once the sync job has inserted the object.
* Budget: at most 3 notifying writes per pass in any rolling 24 hours, counting both
  ``TEXT_AND_NOTIFY`` messages and ``NOTIFY_ON_UPDATE`` patches (balance or tier
  changes); beyond that messages go as ``TEXT`` and patches notify nobody.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from passmint.errors import PassmintError
from passmint.models import GoogleCredential, GoogleObject, Pass, Template, TemplateVersion
from passmint.passes import repository as pass_repository
from passmint.passes.events import EventKind, record
from passmint.passes.google import credentials, repository
from passmint.passes.service import PassContext, parsed_design, pass_link
from passmint.wallet.apple.problems import errors_only
from passmint.wallet.apple.styles import PassStyle
from passmint.wallet.designs.schemas import DesignError, TemplateDesign
from passmint.wallet.designs.survey import PASS_URL
from passmint.wallet.google.callbacks import CallbackEvent
from passmint.wallet.google.render import render_class, render_object
from passmint.wallet.google.savelink import SaveLinkTooLong, save_link
from passmint.wallet.google.verticals import Vertical, vertical_for

log = structlog.get_logger("passmint.google")
NOTIFY_BUDGET: Final = 3
NONCE_RETENTION: Final = timedelta(days=7)  # far beyond any callback's expTimeMillis
NOTIFY_WINDOW: Final = timedelta(hours=24)
_NOTIFY_FIELDS: Final = ("loyaltyPoints", "secondaryLoyaltyPoints", "balance", "rewardsTier")
_NO_NOTIFY_PREFERENCE: Final = {Vertical.GENERIC}


class GoogleRenderError(PassmintError):
    """The pass cannot be shown in Google Wallet as configured."""

    code = "google_render_failed"
    status = 409


def class_id(issuer_id: str, template_id: uuid.UUID) -> str:
    return f"{issuer_id}.pm-{template_id.hex}"


def object_id(issuer_id: str, serial_number: str) -> str:
    return f"{issuer_id}.pm-{serial_number}"


def serial_of(issuer_id: str, object_id_: str) -> str | None:
    prefix = f"{issuer_id}.pm-"
    return object_id_[len(prefix) :] if object_id_.startswith(prefix) else None


def image_urls(ctx: PassContext, design: TemplateDesign) -> dict[str, str]:
    """The design's images as the public URLs Google fetches (https only)."""
    if not ctx.public_url.startswith("https://"):
        return {}
    return {name.value: f"{ctx.public_url}/i/{asset}.png" for name, asset in design.images.items()}


@dataclass(frozen=True)
class GoogleBodies:
    vertical: Vertical
    class_id: str
    object_id: str
    class_body: dict[str, Any]
    object_body: dict[str, Any]


def render_bodies(
    ctx: PassContext,
    credential: GoogleCredential,
    pass_: Pass,
    template: Template,
    version: TemplateVersion,
) -> GoogleBodies:
    """The class (of the template's version) and the object of one pass."""
    style = PassStyle(template.style)
    design = parsed_design(ctx, version)
    urls = image_urls(ctx, design)
    issuer = credential.issuer_id
    cid = class_id(issuer, template.id)
    oid = object_id(issuer, pass_.serial_number)
    try:
        class_body = render_class(design, style, issuer_id=issuer, class_id=cid, image_urls=urls)
        class_body["callbackOptions"] = {"url": f"{ctx.public_url}/google/callbacks"}
        object_body = render_object(
            design,
            style,
            {**pass_.data, "pass_id": str(pass_.id), PASS_URL: pass_link(ctx, pass_)},
            issuer_id=issuer,
            class_id=cid,
            object_id=oid,
            serial_number=pass_.serial_number,
            image_urls=urls,
            voided=pass_.status == "voided",
            now=ctx.now,
        )
    except DesignError as exc:
        problems = errors_only(exc.problems)
        hint = (
            ""
            if urls or not design.images
            else f" (Google fetches images over https; PASSMINT_PUBLIC_URL is {ctx.public_url})"
        )
        raise GoogleRenderError(
            "; ".join(f"{p.path}: {p.message}" for p in problems) + hint,
            details={"problems": [{"path": p.path, "code": p.code} for p in problems]},
        ) from None
    except ValueError as exc:
        raise GoogleRenderError(str(exc)) from None
    vertical = vertical_for(style, transit_type=design.transit_type, gift_card=design.gift_card)
    return GoogleBodies(vertical, cid, oid, class_body, object_body)


def notify_values(body: dict[str, Any]) -> dict[str, Any]:
    """The values whose change may notify the holder (balance, points, tier)."""
    out: dict[str, Any] = {}
    for name in _NOTIFY_FIELDS:
        value = body.get(name)
        if isinstance(value, dict) and "balance" in value:
            out[name] = value["balance"]
        elif value is not None:
            out[name] = value
    return out


async def notify_budget_left(ctx: PassContext, pass_id: uuid.UUID) -> int:
    used = await repository.notifications_since(ctx.session, pass_id, ctx.now - NOTIFY_WINDOW)
    return max(0, NOTIFY_BUDGET - used)


def spend_notification(ctx: PassContext, pass_id: uuid.UUID, kind: str) -> None:
    repository.add_notification(ctx.session, pass_id, kind, ctx.now)


def wants_update_notice(
    vertical: Vertical, synced: GoogleObject | None, body: dict[str, Any]
) -> bool:
    """A balance or tier change of an object the holder already has."""
    if vertical in _NO_NOTIFY_PREFERENCE or synced is None:
        return False
    return notify_values(body) != synced.notify_state


async def save_urls(ctx: PassContext, passes: Sequence[Pass]) -> dict[uuid.UUID, str | None]:
    """``urls.google`` of each pass, or None (the tenant has no issuer, Google cannot show
    the pass as configured, or the link could only reference an object the sync job has not
    inserted yet).

    A pass already at Google gets a link naming its object (a JWT never updates an object,
    the sync job keeps it current), so nothing is rendered for it. A pass not there yet is
    rendered and its link carries the object (and the class, until that is synced)."""
    out: dict[uuid.UUID, str | None] = {p.id: None for p in passes}
    credential = await credentials.transaction_credential(ctx.session, ctx.tenant_id)
    if credential is None or not passes:
        return out
    account = ctx.google_accounts.account(credential, ctx.box)
    synced_objects = await repository.google_objects(ctx.session, [p.id for p in passes])
    templates: dict[uuid.UUID, Template | None] = {}
    versions: dict[tuple[uuid.UUID, int], TemplateVersion | None] = {}
    synced_classes: dict[uuid.UUID, bool] = {}
    for pass_ in passes:
        synced = synced_objects.get(pass_.id)
        if synced is not None:
            reference = {"id": synced.object_id, "classId": synced.class_id}
            link = save_link(
                account,
                vertical=Vertical(synced.vertical),
                object_body=reference,
                origins=ctx.google_origins,
                issued_at=ctx.now,
            )
            out[pass_.id] = link.url
            continue
        tid = pass_.template_id
        if tid not in templates:
            templates[tid] = await pass_repository.get_template(ctx.session, ctx.tenant_id, tid)
            synced_classes[tid] = await repository.google_class(ctx.session, tid) is not None
        key = (tid, pass_.template_version)
        if key not in versions:
            versions[key] = await pass_repository.get_template_version(ctx.session, *key)
        template, version = templates[tid], versions[key]
        if template is None or version is None:
            continue
        try:
            bodies = render_bodies(ctx, credential, pass_, template, version)
            link = save_link(
                account,
                vertical=bodies.vertical,
                object_body=bodies.object_body,
                class_body=None if synced_classes[tid] else bodies.class_body,
                origins=ctx.google_origins,
                issued_at=ctx.now,
            )
        except (GoogleRenderError, SaveLinkTooLong):
            continue
        if link.mode == "full":  # else: not at Google yet, the sync job inserts it first
            out[pass_.id] = link.url
    return out


async def apply_callback(
    session: AsyncSession,
    candidates: Sequence[GoogleCredential],
    event: CallbackEvent,
    now: datetime,
) -> bool:
    """Record a verified save/del as installed/uninstalled (platform google) for the tenant
    whose pass it is; a save marks an issued pass installed. False for a replayed nonce,
    which changes nothing; an object passmint did not make is acknowledged, not recorded."""
    if not candidates or not await repository.claim_nonce(session, event.nonce, now):
        return False
    await repository.prune_nonces(session, now - NONCE_RETENTION)
    synced = await repository.object_by_id(session, event.object_id)
    found: tuple[GoogleCredential, Pass] | None = None
    for credential in candidates:
        if synced is not None and synced.tenant_id == credential.tenant_id:
            pass_ = await pass_repository.get_pass(session, credential.tenant_id, synced.pass_id)
        else:
            serial = serial_of(credential.issuer_id, event.object_id)
            pass_ = (
                await pass_repository.pass_by_serial(session, credential.tenant_id, serial)
                if serial is not None
                else None
            )
        if pass_ is not None:
            found = (credential, pass_)
            break
    if found is None:
        log.info("google callback for an unknown object", object_id=event.object_id)
        return True
    owner, pass_ = found
    saved = event.event_type == "save"
    if synced is not None:
        synced.installed = saved
    if saved and pass_.status == "issued":
        pass_.status = "installed"
    await record(
        session,
        tenant_id=owner.tenant_id,
        kind=EventKind.INSTALLED if saved else EventKind.UNINSTALLED,
        now=now,
        pass_id=pass_.id,
        platform="google",
        data={
            "class_id": event.class_id,
            "object_id": event.object_id,
            "count": event.count,
            "nonce": event.nonce,
        },
    )
    return True
