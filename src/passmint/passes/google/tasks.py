"""The Google Wallet sync job: classes, objects and messages of a batch of passes.

One job handles a batch of one tenant's passes in three phases, so that the REST calls run
concurrently while the database session is used by one coroutine at a time, and so that no
transaction is open while Google answers (the job is ``phased``, see
:mod:`passmint.worker.registry`: on SQLite a transaction held across REST calls would hold
the single write lock and make every other writer wait):

1. plan (database, a read session closed before any REST call): render each pass's class
   and object, skip objects whose body did not change, decide on ``notifyPreference`` and
   the message type from the 24-hour budget;
2. send (network): each class whose template version Google lacks is written first
   (insert, or PATCH on 409, always ``reviewStatus: UNDER_REVIEW``), then the objects
   concurrently (an object already synced is PATCHed, 404 inserting it again; a new one is
   inserted, 409 patching it), then ``addMessage`` (``TEXT_AND_NOTIFY`` within the budget,
   else ``TEXT``; a quota answer from Google resends it as ``TEXT``);
3. record (database, one short write transaction that also completes the job): what was
   synced, the notifications spent (recorded with the passes locked, see :func:`_spend`),
   one ``pushed`` event per pass (platform google), and the last error on the credential. A
   pass that changed while its older body was on the way is synced again (``force``).

Passes that failed with 429, 5xx or a network error go into a follow-up job with
exponential backoff (``Retry-After`` honoured), up to :data:`MAX_GENERATIONS` times.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

import structlog

from passmint.kit.ids import uuid7
from passmint.models import (
    GoogleCredential,
    GoogleObject,
    Pass,
    Template,
    TemplateVersion,
)
from passmint.passes import repository as pass_repository
from passmint.passes.events import EventKind, record_many
from passmint.passes.google import credentials, repository, service
from passmint.passes.google.client import (
    ClientPool,
    GoogleApiError,
    QuotaExceeded,
    Transient,
    WalletClient,
)
from passmint.passes.service import GOOGLE_SYNC_JOB, PassContext
from passmint.wallet.google.savelink import MAX_JWT_LENGTH, jwt_length
from passmint.worker.outbox import enqueue
from passmint.worker.registry import JobContext, job

if TYPE_CHECKING:
    from passmint.passes.host import ServiceHost

log = structlog.get_logger("passmint.google.sync")
RETRY_DELAY: Final = timedelta(seconds=15)
MAX_GENERATIONS: Final = 8


def _pool(runtime: ServiceHost) -> ClientPool:
    settings = runtime.settings
    return runtime.cache(
        "google_clients",
        lambda: ClientPool(settings.google_api_url, concurrency=settings.google_concurrency),
    )


async def close_clients(runtime: ServiceHost) -> None:
    pool = runtime.caches.pop("google_clients", None)
    if isinstance(pool, ClientPool):
        await pool.aclose()


_VOLATILE: Final = ("balanceUpdateTime",)  # set to the render time: not a change by itself


def _hash(body: dict[str, Any]) -> str:
    stable = {k: v for k, v in body.items() if k not in _VOLATILE}
    return hashlib.sha256(
        json.dumps(stable, sort_keys=True, ensure_ascii=False).encode()
    ).hexdigest()


@dataclass
class _Plan:
    pass_id: uuid.UUID
    bodies: service.GoogleBodies
    body_hash: str
    synced: GoogleObject | None
    write_object: bool
    notify_update: bool
    message: dict[str, Any] | None
    snapshot: tuple[Any, ...]
    result: str = "unchanged"
    message_type: str | None = None
    error: GoogleApiError | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def sends(self) -> bool:
        """Whether anything of this pass goes to Google (its object or a message)."""
        return self.write_object or self.message is not None


def _snapshot(pass_: Pass) -> tuple[Any, ...]:
    """What a pass's object body is rendered from (the design of a version never changes;
    of the status only voided counts: an install must not look like a change)."""
    voided = pass_.status == "voided"
    return (pass_.template_version, voided, pass_.serial_number, dict(pass_.data))


def _message_body(message: dict[str, Any], message_type: str) -> dict[str, Any]:
    return {
        "id": str(message.get("id") or f"pm-{uuid7().hex}"),
        "header": str(message["header"]),
        "body": str(message["body"]),
        "messageType": message_type,
    }


async def _plan(
    ctx: PassContext,
    credential: Any,
    pass_ids: list[uuid.UUID],
    message: dict[str, Any] | None,
    errors: list[str],
    *,
    force: bool = False,
) -> tuple[list[_Plan], dict[uuid.UUID, tuple[service.GoogleBodies, int]]]:
    rows = await repository.passes_with_templates(ctx.session, ctx.tenant_id, pass_ids)
    synced = await repository.google_objects(ctx.session, [p.id for p, _ in rows])
    plans: list[_Plan] = []
    classes: dict[uuid.UUID, tuple[service.GoogleBodies, int]] = {}
    versions: dict[tuple[uuid.UUID, int], TemplateVersion | None] = {}
    for pass_, template in rows:
        key = (template.id, pass_.template_version)
        if key not in versions:  # a batch is mostly one template version: fetch it once
            versions[key] = await pass_repository.get_template_version(ctx.session, *key)
        version = versions[key]
        if version is None:
            continue
        try:
            bodies = service.render_bodies(ctx, credential, pass_, template, version)
        except service.GoogleRenderError as exc:
            errors.append(f"pass {pass_.id}: {exc.message}")
            continue
        if template.id not in classes:
            existing = await repository.google_class(ctx.session, template.id)
            if existing is None or existing.synced_version < version.version:
                classes[template.id] = (bodies, version.version)
        previous = synced.get(pass_.id)
        body_hash = _hash(bodies.object_body)
        write_object = force or previous is None or previous.body_hash != body_hash
        notify = False
        budget = 0
        if write_object or message is not None:
            budget = await service.notify_budget_left(ctx, pass_.id)
        if service.wants_update_notice(bodies.vertical, previous, bodies.object_body):
            notify = budget > 0
            budget -= 1 if notify else 0
        plan = _Plan(
            pass_id=pass_.id,
            bodies=bodies,
            body_hash=body_hash,
            synced=previous,
            write_object=write_object,
            notify_update=notify,
            message=message,
            snapshot=_snapshot(pass_),
        )
        if message is not None:
            plan.message_type = "TEXT_AND_NOTIFY" if budget > 0 else "TEXT"
        plans.append(plan)
    return plans, classes


async def _send_object(client: WalletClient, plan: _Plan) -> None:
    resource = f"{plan.bodies.vertical.value}Object"
    body = dict(plan.bodies.object_body)
    try:
        if plan.write_object:
            if plan.synced is None:
                plan.result = await client.upsert(resource, body)
            else:
                if plan.notify_update:
                    body["notifyPreference"] = "NOTIFY_ON_UPDATE"
                plan.result = await client.upsert(resource, body, prefer_patch=True)
        if plan.message is not None and plan.message_type is not None:
            try:
                await client.add_message(
                    resource, plan.bodies.object_id, _message_body(plan.message, plan.message_type)
                )
            except QuotaExceeded:
                plan.message_type = "TEXT"  # Google's own count says no: show it quietly
                await client.add_message(
                    resource, plan.bodies.object_id, _message_body(plan.message, "TEXT")
                )
    except GoogleApiError as exc:
        plan.error = exc


async def _send(
    client: WalletClient,
    plans: list[_Plan],
    classes: dict[uuid.UUID, tuple[service.GoogleBodies, int]],
    concurrency: int,
) -> dict[uuid.UUID, GoogleApiError | None]:
    class_results: dict[uuid.UUID, GoogleApiError | None] = {}
    failed_classes: dict[str, GoogleApiError] = {}
    for template_id, (bodies, _) in classes.items():
        try:
            await client.upsert(f"{bodies.vertical.value}Class", bodies.class_body)
            class_results[template_id] = None
        except GoogleApiError as exc:
            class_results[template_id] = exc
            failed_classes[bodies.class_id] = exc
    gate = asyncio.Semaphore(concurrency)

    async def one(plan: _Plan) -> None:
        error = failed_classes.get(plan.bodies.class_id)
        if error is not None:
            plan.error = error
            return
        async with gate:
            await _send_object(client, plan)

    await asyncio.gather(*(one(p) for p in plans if p.sends))
    return class_results


def _client(runtime: ServiceHost, credential: GoogleCredential) -> WalletClient:
    return _pool(runtime).client(
        (str(credential.id), credential.updated_at.isoformat()),
        credentials.service_account_info(credential, runtime.box),
    )


async def publish_on_issue(
    runtime: ServiceHost,
    ctx: PassContext,
    pass_: Pass,
    template: Template,
    version: TemplateVersion,
) -> None:
    """Insert a new pass's class and object at Google now when its save link can only
    carry the object's id (the full JWT is over 1,800 characters), so the link handed out
    with the pass already works. When Google cannot be reached the pass is issued all the
    same: the sync job inserts it later and the link appears then.

    Unlike the sync job, this still calls Google inside the issuing transaction (holding
    SQLite's write lock for the round trip): the response that carries the link, and the
    idempotency record that stores it, are built inside that transaction by each caller
    (passes, loyalty accounts, coupons). Moving the call after the commit needs an
    after-commit step in ``ServiceHost.transaction`` and the job runner, and those responses
    built after it."""
    credential = await credentials.transaction_credential(ctx.session, ctx.tenant_id)
    if credential is None:
        return
    try:
        bodies = service.render_bodies(ctx, credential, pass_, template, version)
    except service.GoogleRenderError:
        return
    synced_class = await repository.google_class(ctx.session, template.id)
    account = ctx.google_accounts.account(credential, ctx.box)
    full = jwt_length(
        account,
        objects={bodies.vertical: [bodies.object_body]},
        classes=None if synced_class is not None else {bodies.vertical: [bodies.class_body]},
        origins=ctx.google_origins,
    )
    if full <= MAX_JWT_LENGTH:
        return  # the link carries everything; Google inserts it on save
    client = _client(runtime, credential)
    try:
        if synced_class is None or synced_class.synced_version < version.version:
            await client.upsert(f"{bodies.vertical.value}Class", bodies.class_body)
            await _record_class(ctx, template.id, bodies, version.version)
        result = await client.upsert(f"{bodies.vertical.value}Object", bodies.object_body)
    except GoogleApiError as exc:
        log.warning("google insert on issue failed", pass_id=str(pass_.id), error=str(exc))
        return
    await repository.save_objects(
        ctx.session, [_object_row(ctx, pass_.id, bodies, _hash(bodies.object_body))]
    )
    await _schedule_expiry(ctx, [(pass_.id, bodies)])
    await record_many(
        ctx.session,
        [
            {
                "tenant_id": ctx.tenant_id,
                "pass_id": pass_.id,
                "kind": EventKind.PUSHED.value,
                "platform": "google",
                "created_at": ctx.now,
                "data": {"object_id": bodies.object_id, "result": result, "on": "issue"},
            }
        ],
    )


async def _record_class(
    ctx: PassContext, template_id: uuid.UUID, bodies: service.GoogleBodies, version: int
) -> None:
    await repository.save_class(
        ctx.session,
        template_id=template_id,
        tenant_id=ctx.tenant_id,
        class_id=bodies.class_id,
        vertical=bodies.vertical.value,
        version=version,
        now=ctx.now,
    )


def _object_row(
    ctx: PassContext, pass_id: uuid.UUID, bodies: service.GoogleBodies, body_hash: str
) -> dict[str, Any]:
    """A row for :func:`repository.save_objects`: the object body just sent."""
    return {
        "pass_id": pass_id,
        "tenant_id": ctx.tenant_id,
        "object_id": bodies.object_id,
        "class_id": bodies.class_id,
        "vertical": bodies.vertical.value,
        "body_hash": body_hash,
        "notify_state": service.notify_values(bodies.object_body),
        "state": str(bodies.object_body.get("state", "ACTIVE")),
        "synced_at": ctx.now,
    }


def _valid_until(body: dict[str, Any]) -> datetime | None:
    end = body.get("validTimeInterval", {}).get("end", {}).get("date")
    try:
        moment = datetime.fromisoformat(end) if isinstance(end, str) else None
    except ValueError:
        return None
    return moment if moment is not None and moment.tzinfo is not None else None


async def _schedule_expiry(
    ctx: PassContext, written: list[tuple[uuid.UUID, service.GoogleBodies]]
) -> None:
    """Google shows an object EXPIRED only once it is told: sync each active object just
    written again when its validity ends (the render then says EXPIRED)."""
    due: dict[datetime, list[str]] = {}
    for pass_id, bodies in written:
        end = _valid_until(bodies.object_body)
        if end is not None and end > ctx.now and bodies.object_body.get("state") == "ACTIVE":
            due.setdefault(end, []).append(str(pass_id))
    for end, pass_ids in sorted(due.items()):
        await enqueue(
            ctx.session,
            GOOGLE_SYNC_JOB,
            {"tenant_id": str(ctx.tenant_id), "pass_ids": pass_ids},
            now=ctx.now,
            delay=end - ctx.now + timedelta(seconds=1),
        )


@job(GOOGLE_SYNC_JOB, phased=True)
async def sync_passes(ctx: JobContext[ServiceHost], payload: dict[str, Any]) -> None:
    """Plan in a read session, talk to Google with no transaction open (SQLite's single
    write lock and PostgreSQL's row locks are not held across REST calls), then record the
    results in one short write transaction that completes the job."""
    tenant_id = uuid.UUID(payload["tenant_id"])
    pass_ids = [uuid.UUID(i) for i in payload["pass_ids"]]
    message = payload.get("message")
    errors: list[str] = []
    async with ctx.read() as session:
        pass_ctx = ctx.runtime.pass_context(session, tenant_id)
        credential = await credentials.get_credential(session, tenant_id)
        if credential is None:
            return
        plans, classes = await _plan(
            pass_ctx, credential, pass_ids, message, errors, force=bool(payload.get("force"))
        )
    # What was loaded is detached now, its attributes still readable.
    client = _client(ctx.runtime, credential)
    class_results = await _send(client, plans, classes, ctx.runtime.settings.google_concurrency)
    async with ctx.write() as session:
        await _record(
            replace(pass_ctx, session=session),
            credential.id,
            payload,
            plans,
            classes,
            class_results,
            errors,
        )


async def _record(
    ctx: PassContext,
    credential_id: uuid.UUID,
    payload: dict[str, Any],
    plans: list[_Plan],
    classes: dict[uuid.UUID, tuple[service.GoogleBodies, int]],
    class_results: dict[uuid.UUID, GoogleApiError | None],
    errors: list[str],
) -> None:
    """The record phase, in the job's write transaction (``ctx.session``)."""
    session, now, tenant_id = ctx.session, ctx.now, ctx.tenant_id
    for template_id, (bodies, version) in classes.items():
        error = class_results.get(template_id)
        if error is not None:
            if not isinstance(error, Transient):
                errors.append(f"class {bodies.class_id}: {error.message}")
            continue
        await _record_class(ctx, template_id, bodies, version)

    sent = [p for p in plans if p.error is None and p.sends]
    # The passes sent are locked, in primary-key order (PostgreSQL; on SQLite this
    # transaction holds the write lock), while the notifications spent are recorded.
    current = {
        p.id: p
        for p in await pass_repository.passes_for_update(
            session, tenant_id, [p.pass_id for p in sent]
        )
    }
    retry: list[str] = []
    stale: list[str] = []
    written: list[_Plan] = []
    retry_after = 0.0
    events: list[dict[str, Any]] = []
    for plan in plans:
        if isinstance(plan.error, Transient):
            retry.append(str(plan.pass_id))
            retry_after = max(retry_after, plan.error.retry_after or 0.0)
            continue
        if plan.error is not None:
            errors.append(f"object {plan.bodies.object_id}: {plan.error.message}")
            continue
        if plan.write_object:
            written.append(plan)
            row = current.get(plan.pass_id)
            if row is not None and _snapshot(row) != plan.snapshot:
                stale.append(str(plan.pass_id))
        _spend(ctx, plan)
        if plan.sends:
            events.append(
                {
                    "tenant_id": tenant_id,
                    "pass_id": plan.pass_id,
                    "kind": EventKind.PUSHED.value,
                    "platform": "google",
                    "created_at": now,
                    "data": {
                        "object_id": plan.bodies.object_id,
                        "result": plan.result,
                        "notify": plan.notify_update,
                        "message_type": plan.message_type,
                    },
                }
            )
    await repository.save_objects(
        session, [_object_row(ctx, p.pass_id, p.bodies, p.body_hash) for p in written]
    )
    await record_many(session, events)
    await _schedule_expiry(ctx, [(p.pass_id, p.bodies) for p in written])
    if stale:
        # The pass changed while its older body was on the way: that body may have reached
        # Google after the newer one sent by the change's own job, whose hash is then what
        # the next sync compares with. Send the current body again whatever the hash says.
        await enqueue(
            session,
            GOOGLE_SYNC_JOB,
            {"tenant_id": str(tenant_id), "pass_ids": stale, "force": True},
            now=now,
        )
    if errors:
        log.warning("google sync problems", tenant=str(tenant_id), errors=errors[:20])
        await repository.record_credential_error(session, credential_id, errors[0], now)
    if retry:
        generation = int(payload.get("generation", 0))
        if generation < MAX_GENERATIONS:
            delay = max(RETRY_DELAY * (2**generation), timedelta(seconds=retry_after))
            await enqueue(
                session,
                GOOGLE_SYNC_JOB,
                {**payload, "pass_ids": retry, "generation": generation + 1},
                now=now,
                delay=delay,
            )
        else:
            log.error("google sync gave up", tenant=str(tenant_id), passes=retry)
            await repository.record_credential_error(
                session, credential_id, f"Google kept failing for {len(retry)} pass(es)", now
            )


def _spend(ctx: PassContext, plan: _Plan) -> None:
    """Record the notifications this plan sent against the pass's 24-hour budget.

    The budget was read in the plan phase and the notifying writes went out with no
    transaction open, so two sync jobs of one pass running at the same time can both have
    seen the last notification left and both used it: the window is from one job's plan
    to the other's record. Closing it would take a reservation committed before the REST
    calls (a second write transaction per run, which phased jobs do not have). What was
    sent is recorded all the same, with the pass row locked (the caller's
    ``passes_for_update``), so the count never falls behind Google's and later syncs see
    the budget spent. Google enforces the same quota itself (an ``addMessage`` over it is
    resent as ``TEXT``; a ``NOTIFY_ON_UPDATE`` over it notifies nobody), so an overspend
    costs at most a quota answer, never a notification beyond Google's limit."""
    if plan.notify_update:
        service.spend_notification(ctx, plan.pass_id, "update")
    if plan.message_type == "TEXT_AND_NOTIFY":
        service.spend_notification(ctx, plan.pass_id, "message")
