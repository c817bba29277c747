"""The home dashboard (``/admin/``): passes issued and their use in each wallet, the last 30
days as a chart drawn on the server (SVG bars, with the same figures as a table), the latest
activity, and what needs the owner: certificates about to expire, push and Google errors,
jobs that gave up, a job queue backing up. Each part shows to the roles that may read it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Final

from babel.dates import format_skeleton
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from passmint.admin import eventtexts
from passmint.admin.auth import StaffDep
from passmint.admin.i18n import Texts
from passmint.admin.render import page, texts_for
from passmint.passes import stats
from passmint.tenants.scopes import Scope
from passmint.web.deps import RuntimeDep

router = APIRouter(prefix="/admin", include_in_schema=False)

# The chart's drawing area, in SVG user units (the SVG scales to its box).
WIDTH: Final = 720
HEIGHT: Final = 260
LEFT: Final = 64  # room for the counts on the vertical axis
RIGHT: Final = 8
TOP: Final = 14
BOTTOM: Final = 36  # room for the dates under the bars


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    css: str  # bar-apple | bar-google
    title: str


@dataclass(frozen=True, slots=True)
class Tick:
    position: float
    label: str
    anchor: str = "middle"  # SVG text-anchor


@dataclass(frozen=True, slots=True)
class Chart:
    width: int
    height: int
    left: int
    right: int  # x of the plot's right edge
    baseline: float  # y of zero
    bars: list[Bar]
    counts: list[Tick]  # y positions of the counts on the vertical axis
    dates: list[Tick]  # x positions (middle of a day) of the dates under the bars
    summary: str  # what the chart shows, for its accessible name


@dataclass(frozen=True, slots=True)
class Notice:
    kind: str  # alert class: warn | error
    text: str
    link: str | None = None
    link_text: str | None = None


def _scale_top(value: int) -> int:
    """The top of the vertical axis: 1, 2 or 5 times a power of ten, at least ``value``."""
    magnitude = 1
    while True:
        for step in (1, 2, 5):
            if step * magnitude >= value:
                return step * magnitude
        magnitude *= 10


def _short_date(t: Texts, day: date) -> str:
    return format_skeleton("MMMd", day, locale=t.locale)


def chart(t: Texts, days: list[stats.DayCount]) -> Chart:
    plot_width = WIDTH - LEFT - RIGHT
    plot_height = HEIGHT - TOP - BOTTOM
    peak = max([d.apple for d in days] + [d.google for d in days] + [0])
    top = _scale_top(max(peak, 1))
    slot = plot_width / max(len(days), 1)
    bar_width = slot * 0.38
    baseline = TOP + plot_height
    bars = []
    for index, day in enumerate(days):
        start = LEFT + index * slot + slot * 0.1
        for offset, value, css, name in (
            (0.0, day.apple, "bar-apple", t.gettext("Apple Wallet")),
            (bar_width + slot * 0.04, day.google, "bar-google", t.gettext("Google Wallet")),
        ):
            height = plot_height * value / top
            bars.append(
                Bar(
                    x=round(start + offset, 2),
                    y=round(baseline - height, 2),
                    width=round(bar_width, 2),
                    height=round(height, 2),
                    css=css,
                    title=t.gettext(
                        "%(day)s, %(wallet)s: %(count)s",
                        day=_short_date(t, day.day),
                        wallet=name,
                        count=t.number(value),
                    ),
                )
            )
    counts = [
        Tick(round(baseline - plot_height * value / top, 2), t.number(value))
        for value in sorted({0, top // 2, top} if top >= 2 else {0, top})
    ]
    dates = [  # a date each week back from today's, which ends at the plot's edge
        Tick(round(LEFT + index * slot + slot / 2, 2), _short_date(t, day.day))
        if index < len(days) - 1
        else Tick(WIDTH - RIGHT, _short_date(t, day.day), "end")
        for index, day in enumerate(days)
        if (len(days) - 1 - index) % 7 == 0
    ]
    summary = t.gettext(
        "Additions to Apple Wallet and Google Wallet per day from %(first)s to %(last)s: "
        "%(apple)s to Apple Wallet, %(google)s to Google Wallet.",
        first=_short_date(t, days[0].day) if days else "",
        last=_short_date(t, days[-1].day) if days else "",
        apple=t.number(sum(d.apple for d in days)),
        google=t.number(sum(d.google for d in days)),
    )
    return Chart(WIDTH, HEIGHT, LEFT, WIDTH - RIGHT, baseline, bars, counts, dates, summary)


def notices(t: Texts, found: list[stats.Attention]) -> list[Notice]:
    """The dashboard's words for what needs attention."""
    settings = "/admin/settings/credentials"
    fix = t.gettext("Open the credentials")
    out = []
    for item in found:
        when = t.format_datetime(item.at) if item.at else ""
        if item.code == "certificate_expired":
            text = t.gettext(
                "The certificate %(subject)s expired on %(date)s: passes can no longer be "
                "signed or updated. Upload a renewed certificate.",
                subject=item.detail,
                date=t.format_date(item.at),
            )
            out.append(Notice("error", text, settings, fix))
        elif item.code == "certificate_expiring":
            text = t.gettext(
                "The certificate %(subject)s expires on %(date)s. Upload a renewed one "
                "before then, or passes can no longer be signed or updated.",
                subject=item.detail,
                date=t.format_date(item.at),
            )
            out.append(Notice("warn", text, settings, fix))
        elif item.code == "apple_push_error":
            text = t.gettext(
                "Apple refused to deliver updates (%(when)s): %(error)s",
                when=when,
                error=item.detail,
            )
            out.append(Notice("error", text, settings, fix))
        elif item.code == "push_failures":
            text = t.ngettext(
                "%(num)s of the latest %(total)s updates sent to Apple devices was not "
                "delivered (the newest at %(when)s: %(error)s).",
                "%(num)s of the latest %(total)s updates sent to Apple devices were not "
                "delivered (the newest at %(when)s: %(error)s).",
                item.count,
                total=t.number(item.total),
                when=when,
                error=item.detail,
            )
            out.append(Notice("warn", text))
        elif item.code == "google_error":
            text = t.gettext(
                "Google Wallet refused an update (%(when)s): %(error)s",
                when=when,
                error=item.detail,
            )
            out.append(Notice("error", text, settings, fix))
        elif item.code == "jobs_failed":
            text = t.ngettext(
                "%(num)s background job gave up in the last 7 days (the newest at %(when)s: "
                "%(error)s).",
                "%(num)s background jobs gave up in the last 7 days (the newest at %(when)s: "
                "%(error)s).",
                item.count,
                when=when,
                error=item.detail,
            )
            out.append(Notice("error", text))
        elif item.code == "queue_backlog" and item.count >= item.total:
            # Literal texts in each call, so that `make messages` extracts them.
            text = t.ngettext(
                "%(num)s or more background jobs wait for more than 5 minutes (the oldest "
                "since %(when)s): updates reach phones late.",
                "%(num)s or more background jobs wait for more than 5 minutes (the oldest "
                "since %(when)s): updates reach phones late.",
                item.count,
                when=when,
            )
            out.append(Notice("warn", text))
        elif item.code == "queue_backlog":
            text = t.ngettext(
                "%(num)s background job waits for more than 5 minutes (since %(when)s): "
                "updates reach phones late.",
                "%(num)s background jobs wait for more than 5 minutes (the oldest since "
                "%(when)s): updates reach phones late.",
                item.count,
                when=when,
            )
            out.append(Notice("warn", text))
    return out


@router.get("/", response_class=HTMLResponse)
async def home(request: Request, runtime: RuntimeDep, staff: StaffDep) -> HTMLResponse:
    t = texts_for(request)
    issued = use = days = activity = found = None
    async with runtime.db.sessions() as session:  # reads only
        ctx = runtime.pass_context(session, staff.tenant_id)
        if staff.can(Scope.PASSES_READ):
            issued = await stats.issued(ctx)
        if staff.can(Scope.EVENTS_READ):
            use = await stats.use(ctx)
            days = await stats.installs_per_day(ctx)
            activity = await stats.recent_activity(ctx)
        if staff.can(Scope.CREDENTIALS_READ):
            found = await stats.attention(ctx)
    return page(
        request,
        "dashboard.html",
        title=t.gettext("Home"),
        staff=staff,
        issued=issued,
        use=use,
        days=days,
        chart=chart(t, days) if days is not None else None,
        activity=[
            (a, eventtexts.describe(t, a.event), eventtexts.wallet(t, a.event))
            for a in activity or []
        ],
        can_read_events=activity is not None,
        notices=notices(t, found) if found is not None else None,
    )
