"""The home dashboard's figures: passes issued, their use in each wallet, installs per day,
the latest activity, and what needs the owner's attention.

What the figures mean (the dashboard says the same):

- *issued*: every pass of the tenant (a pass is one card; its landing page offers it to
  Apple Wallet and, with a Google issuer, to Google Wallet); *voided* among them.
- *installed* in Apple Wallet: passes a device registered for updates at least once (a
  ``registered`` event: Wallet registers a pass as it is added); in Google Wallet: passes
  Google reported saved at least once (an ``installed`` event from its callback).
- *active* in Apple Wallet: passes not voided and registered on at least one device now
  (a device unregisters a pass removed from it; APNs' "unregistered" answers drop dead
  devices); in Google Wallet: passes not voided whose saves outnumber their removals
  (``installed`` minus ``uninstalled`` events).
- the chart: ``registered`` and ``installed`` events per day (UTC), the last 30 days.

Everything is counted by the database (stats_repository), never by loading rows.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Final

from passmint.models import Event, OutboxJob
from passmint.passes import stats_repository as repository
from passmint.passes.apple import credentials as apple_credentials
from passmint.passes.apple.apns import PushResult
from passmint.passes.events import EventKind
from passmint.passes.google import credentials as google_credentials
from passmint.passes.service import PassContext
from passmint.wallet.apple.certificates import EXPIRY_WARNING

CHART_DAYS: Final = 30
RECENT: Final = timedelta(days=7)
"""How long a push or sync error, or a job that gave up, stays on the dashboard."""
QUEUE_LAG: Final = timedelta(minutes=5)
"""A job due for longer than this means the queue is backing up."""
QUEUE_CAP: Final = 10_000  # waiting jobs counted at most
PUSH_SAMPLE: Final = 500  # the latest Apple push results looked at
PUSH_WINDOW: Final = 5_000  # ... among the tenant's latest events of any kind
JOBS_SAMPLE: Final = 50  # the latest failed jobs looked at
ACTIVITY: Final = (
    EventKind.ISSUED,
    EventKind.DOWNLOADED,
    EventKind.REGISTERED,
    EventKind.UNREGISTERED,
    EventKind.UPDATED,
    EventKind.MESSAGED,
    EventKind.VOIDED,
    EventKind.INSTALLED,
    EventKind.UNINSTALLED,
)
"""What recent activity lists: everything but pushes (one per device, shown per pass)."""


@dataclass(frozen=True, slots=True)
class Issued:
    total: int
    voided: int


@dataclass(frozen=True, slots=True)
class WalletUse:
    installed: int
    active: int


@dataclass(frozen=True, slots=True)
class Use:
    apple: WalletUse
    google: WalletUse


@dataclass(frozen=True, slots=True)
class DayCount:
    day: date
    apple: int
    google: int


@dataclass(frozen=True, slots=True)
class Activity:
    event: Event
    serial_number: str | None


@dataclass(frozen=True, slots=True)
class Attention:
    """Something the owner should look at. ``code`` says what (the page words it):
    ``certificate_expiring`` / ``certificate_expired`` (``detail``: whose, ``at``: when),
    ``apple_push_error`` and ``google_error`` (the credential's last error and its time),
    ``push_failures`` (``count`` of the latest ``total`` Apple pushes were not delivered;
    ``detail``: the newest failure), ``jobs_failed`` (``count`` jobs gave up; ``detail``:
    the newest's job and error), ``queue_backlog`` (``count`` jobs wait longer than
    :data:`QUEUE_LAG`, ``at``: since when the oldest waits)."""

    code: str
    at: datetime | None = None
    count: int = 0
    total: int = 0
    detail: str = ""


async def issued(ctx: PassContext) -> Issued:
    by_status = await repository.passes_by_status(ctx.session, ctx.tenant_id)
    return Issued(total=sum(by_status.values()), voided=by_status.get("voided", 0))


async def use(ctx: PassContext) -> Use:
    ever = await repository.passes_with_events(
        ctx.session, ctx.tenant_id, [EventKind.REGISTERED.value, EventKind.INSTALLED.value]
    )
    return Use(
        apple=WalletUse(
            installed=ever.get(EventKind.REGISTERED.value, 0),
            active=await repository.passes_on_apple_devices(ctx.session, ctx.tenant_id),
        ),
        google=WalletUse(
            installed=ever.get(EventKind.INSTALLED.value, 0),
            active=await repository.passes_net_positive(
                ctx.session,
                ctx.tenant_id,
                EventKind.INSTALLED.value,
                EventKind.UNINSTALLED.value,
            ),
        ),
    )


async def installs_per_day(ctx: PassContext, days: int = CHART_DAYS) -> list[DayCount]:
    """Additions to Apple Wallet (``registered``: one per device) and to Google Wallet
    (``installed``) per UTC day, the last ``days`` days up to today, oldest first (a day
    without any: 0)."""
    today = ctx.now.date()
    first = today - timedelta(days=days - 1)
    since = datetime(first.year, first.month, first.day, tzinfo=ctx.now.tzinfo)
    rows = await repository.events_per_day(
        ctx.session,
        ctx.tenant_id,
        [EventKind.REGISTERED.value, EventKind.INSTALLED.value],
        since,
    )
    counts: dict[tuple[str, str], int] = {(day, kind): n for day, kind, n in rows}
    out = []
    for offset in range(days):
        day = first + timedelta(days=offset)
        key = day.isoformat()
        out.append(
            DayCount(
                day=day,
                apple=counts.get((key, EventKind.REGISTERED.value), 0),
                google=counts.get((key, EventKind.INSTALLED.value), 0),
            )
        )
    return out


async def recent_activity(ctx: PassContext, limit: int = 15) -> list[Activity]:
    rows = await repository.latest_events(
        ctx.session, ctx.tenant_id, [k.value for k in ACTIVITY], limit
    )
    return [Activity(event, serial) for event, serial in rows]


async def attention(ctx: PassContext) -> list[Attention]:
    """What needs the owner, most urgent first."""
    found: list[Attention] = []
    found += await _apple(ctx)
    found += await _push_failures(ctx)
    found += await _google(ctx)
    found += await _failed_jobs(ctx)
    found += await _queue(ctx)
    return found


def _recent(ctx: PassContext, at: datetime | None) -> bool:
    return at is not None and ctx.now - at <= RECENT


async def _apple(ctx: PassContext) -> list[Attention]:
    credential = await apple_credentials.get_credential(ctx.session, ctx.tenant_id)
    if credential is None:
        return []
    described = apple_credentials.describe(credential, ctx.now)
    found = []
    certificates: list[tuple[str, datetime | None]] = [
        (f"Pass Type ID {described['pass_type_id']}", described["certificate_expires_at"]),
        *((c["subject"], c["expires_at"]) for c in described["chain"]),
    ]
    for subject, expires in certificates:
        if expires is not None and expires - ctx.now <= EXPIRY_WARNING:
            code = "certificate_expired" if expires <= ctx.now else "certificate_expiring"
            found.append(Attention(code, at=expires, detail=subject))
    apns = described["apns"]
    if apns["last_error"] and _recent(ctx, apns["last_error_at"]):
        found.append(
            Attention("apple_push_error", at=apns["last_error_at"], detail=apns["last_error"])
        )
    return found


def apple_push(data: dict[str, Any]) -> PushResult:
    """The result an Apple ``pushed`` event stored, to read with APNs' own rules
    (``ok``, ``unregistered``)."""
    status, reason = data.get("status"), data.get("reason")
    return PushResult(
        token="",
        status=status if isinstance(status, int) else None,
        reason=str(reason) if reason else None,
    )


def _push_failed(data: dict[str, Any]) -> bool:
    result = apple_push(data)
    return not (result.ok or result.unregistered)  # a device that removed the pass: no failure


async def _push_failures(ctx: PassContext) -> list[Attention]:
    pushes = await repository.latest_pushes(
        ctx.session, ctx.tenant_id, "ios", ctx.now - RECENT, PUSH_SAMPLE, PUSH_WINDOW
    )
    failed = [(at, data) for at, data in pushes if _push_failed(data)]
    if not failed:
        return []
    at, data = failed[0]
    detail = " ".join(str(part) for part in (data.get("status"), data.get("reason")) if part)
    return [Attention("push_failures", at=at, count=len(failed), total=len(pushes), detail=detail)]


async def _google(ctx: PassContext) -> list[Attention]:
    credential = await google_credentials.get_credential(ctx.session, ctx.tenant_id)
    if credential is None:
        return []
    described = google_credentials.describe(credential)
    if described["last_error"] and _recent(ctx, described["last_error_at"]):
        return [
            Attention("google_error", at=described["last_error_at"], detail=described["last_error"])
        ]
    return []


_PASS_IDS_CHECKED = 5  # of a job's pass ids, to tell whose job it is


async def _failed_jobs(ctx: PassContext) -> list[Attention]:
    """The tenant's jobs that gave up lately: those naming the tenant, and those of its
    passes (a push job names only passes)."""
    jobs = await repository.failed_jobs(ctx.session, ctx.now - RECENT, JOBS_SAMPLE)
    candidates: dict[uuid.UUID, list[uuid.UUID]] = {}
    for job in jobs:
        candidates[job.id] = _pass_ids(job)[:_PASS_IDS_CHECKED]
    ours = await repository.passes_of_tenant(
        ctx.session, ctx.tenant_id, [i for ids in candidates.values() for i in ids]
    )
    tenant = str(ctx.tenant_id)
    mine = [
        job
        for job in jobs
        if job.payload.get("tenant_id") == tenant or any(i in ours for i in candidates[job.id])
    ]
    if not mine:
        return []
    newest = mine[0]
    error = (newest.last_error or "").strip().splitlines()
    detail = f"{newest.name}: {error[0][:300]}" if error else newest.name
    return [Attention("jobs_failed", at=newest.failed_at, count=len(mine), detail=detail)]


def _pass_ids(job: OutboxJob) -> list[uuid.UUID]:
    ids = job.payload.get("pass_ids")
    if not isinstance(ids, list):
        return []
    out = []
    for value in ids:
        try:
            out.append(uuid.UUID(str(value)))
        except ValueError:
            continue
    return out


async def _queue(ctx: PassContext) -> list[Attention]:
    count, oldest = await repository.waiting_jobs(ctx.session, ctx.now - QUEUE_LAG, QUEUE_CAP)
    if not count:
        return []
    return [Attention("queue_backlog", at=oldest, count=count, total=QUEUE_CAP)]
