"""The home dashboard: its figures right after passes are issued, added to wallets and taken
out, the last 30 days as an SVG chart with a table, the recent activity, the warnings that
need the owner (and only this business's), what each role sees, and counts that the events
index answers."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import event

from passmint.passes import stats
from passmint.passes.apple import credentials as apple_credentials
from passmint.passes.apple.repository import record_push_error
from passmint.passes.events import record_many
from passmint.runtime import Runtime
from passmint.wallet.apple.devpki import DevPki, generate_dev_pki
from passmint.worker.outbox import enqueue
from tests.admin.conftest import AdminClient, Team, add_user
from tests.admin.wallets import google_callback, issue_passes, pass_json, register, unregister
from tests.service.conftest import put_apple_credentials

pytestmark = pytest.mark.anyio


def another_browser(app_http: httpx.AsyncClient) -> AdminClient:
    return AdminClient(
        httpx.AsyncClient(transport=app_http._transport, base_url=str(app_http.base_url))
    )


def figures(page: httpx.Response) -> dict[str, tuple[int, int]]:
    """Each figure block's main number and the number of its hint."""
    found = {}
    for name, block in re.findall(r'data-figure="(\w+)">(.*?)</div>', page.text, re.S):
        numbers = [int(n.replace(",", "")) for n in re.findall(r"\d[\d,]*", block)]
        found[name] = (numbers[0], numbers[1])
    return found


async def test_the_figures_follow_passes_into_wallets_and_out(
    owner: AdminClient, team: Team, dev_pki: DevPki, runtime: Runtime
) -> None:
    empty = await owner.get("/admin/")
    assert empty.status_code == 200
    assert figures(empty) == {"issued": (0, 0), "apple": (0, 0), "google": (0, 0)}

    first, second = await issue_passes(owner.http, team.api_key, dev_pki, 2)
    assert figures(await owner.get("/admin/"))["issued"] == (2, 0)

    pj = await pass_json(owner.http, first)
    await register(owner.http, pj, "phone-1")
    await register(owner.http, pj, "watch-1")  # the same pass on a second device
    await google_callback(runtime, team.tenant_id, second["id"], saved=True)
    page = await owner.get("/admin/")
    assert figures(page) == {"issued": (2, 0), "apple": (1, 1), "google": (1, 1)}

    await unregister(owner.http, pj, "phone-1")  # still on the watch
    await google_callback(runtime, team.tenant_id, second["id"], saved=False)
    assert figures(await owner.get("/admin/")) == {
        "issued": (2, 0),
        "apple": (1, 1),
        "google": (0, 1),
    }
    await unregister(owner.http, pj, "watch-1")
    voided = await owner.http.post(
        f"/api/v1/passes/{second['id']}/void", headers={"Authorization": f"Bearer {team.api_key}"}
    )
    assert voided.status_code == 200
    assert figures(await owner.get("/admin/")) == {
        "issued": (2, 1),
        "apple": (0, 1),
        "google": (0, 1),
    }


async def test_the_chart_is_drawn_as_svg_with_its_table(
    owner: AdminClient, team: Team, dev_pki: DevPki, runtime: Runtime
) -> None:
    first, second = await issue_passes(owner.http, team.api_key, dev_pki, 2)
    await register(owner.http, await pass_json(owner.http, first), "phone-1")
    await google_callback(runtime, team.tenant_id, second["id"], saved=True)
    page = (await owner.get("/admin/")).text
    svg = page[page.index("<svg") : page.index("</svg>")]
    assert 'role="img" aria-labelledby="chart-caption"' in svg
    assert len(re.findall(r'<rect class="bar-apple"[^>]* height="[1-9]', svg)) == 1
    assert len(re.findall(r'<rect class="bar-google"[^>]* height="[1-9]', svg)) == 1
    assert re.search(r'<text x="[\d.]+" y="[\d.]+" text-anchor="end">1</text>', svg)  # counts
    assert len(re.findall(r'text-anchor="(?:middle|end)">[^<\d]', svg)) == 5  # a date a week
    caption = re.search(r'id="chart-caption">([^<]*)<', page)
    assert caption is not None
    assert "1 to Apple Wallet, 1 to Google Wallet" in caption.group(1)
    table = page[page.index("The figures as a table") :]
    rows = re.findall(r'<tr><th scope="row">[^<]+</th><td>(\d+)</td><td>(\d+)</td></tr>', table)
    assert len(rows) == 30
    assert rows[0] == ("1", "1")  # today first
    assert set(rows[1:]) == {("0", "0")}


async def test_recent_activity_links_its_passes(
    owner: AdminClient, team: Team, dev_pki: DevPki
) -> None:
    (issued,) = await issue_passes(owner.http, team.api_key, dev_pki)
    await pass_json(owner.http, issued)
    page = (await owner.get("/admin/")).text
    activity = page[page.index('id="activity-heading"') :]
    assert f'href="/admin/passes/{issued["id"]}"' in activity
    assert activity.index("Downloaded from its link on iPhone") < activity.index(
        "Issued with version 1 of its design"
    )


async def test_a_quiet_business_needs_nothing(
    owner: AdminClient, team: Team, dev_pki: DevPki
) -> None:
    await issue_passes(owner.http, team.api_key, dev_pki)
    page = await owner.get("/admin/")
    assert "Nothing needs your attention" in page.text
    assert "Needs your attention" not in page.text


async def test_the_warnings_that_need_the_owner(
    owner: AdminClient, team: Team, other_team: Team, runtime: Runtime
) -> None:
    now = runtime.clock()
    short = generate_dev_pki(now=now - timedelta(days=1), valid_for=timedelta(days=30))
    await put_apple_credentials(owner.http, team.api_key, short)
    (issued,) = await issue_passes(owner.http, team.api_key, short)
    pass_id = uuid.UUID(issued["id"])
    async with runtime.transaction() as session:
        credential = await apple_credentials.get_credential(session, team.tenant_id)
        assert credential is not None
        await record_push_error(session, credential.id, "403 InvalidProviderToken", now)
        await record_many(
            session,
            [
                {
                    "tenant_id": team.tenant_id,
                    "pass_id": pass_id,
                    "kind": "pushed",
                    "platform": "ios",
                    "created_at": now - timedelta(minutes=minutes),
                    "data": {"status": status, "reason": reason},
                }
                for minutes, status, reason in (
                    (1, 500, "InternalServerError"),
                    (2, 410, "Unregistered"),  # a device without the pass: no failure
                    (3, 200, None),
                )
            ],
        )
        for tenant, payload in (
            (team, {"tenant_id": str(team.tenant_id), "pass_ids": [str(pass_id)]}),
            (team, {"pass_ids": [str(pass_id)]}),  # a push job names only passes
            (other_team, {"tenant_id": str(other_team.tenant_id)}),  # not ours
        ):
            job = await enqueue(session, f"job.of.{tenant.api_key[:6]}", payload, now=now)
            job.failed_at = now - timedelta(hours=1)
            job.attempts = 12
            job.last_error = "GoogleApiError: 403 the issuer is suspended\n"
        await enqueue(
            session, "apple.push_passes", {"pass_ids": []}, now=now - timedelta(minutes=9)
        )
    page = (await owner.get("/admin/")).text
    attention = page[page.index('id="attention-heading"') : page.index('id="passes-heading"')]
    assert "expires on" in attention
    assert "Pass Type ID pass." in attention
    assert "Apple refused to deliver updates" in attention
    assert "403 InvalidProviderToken" in attention
    assert "1 of the latest 3 updates sent to Apple devices was not delivered" in attention
    assert "500 InternalServerError" in attention
    assert "2 background jobs gave up in the last 7 days" in attention
    assert "the issuer is suspended" in attention
    assert "1 background job waits for more than 5 minutes" in attention
    assert 'href="/admin/settings/credentials"' in attention


async def test_each_role_sees_what_it_may_read(
    owner: AdminClient,
    team: Team,
    dev_pki: DevPki,
    runtime: Runtime,
    app_http: httpx.AsyncClient,
) -> None:
    await issue_passes(owner.http, team.api_key, dev_pki)
    await add_user(runtime, team, "viewer@lumen.example", "viewer")
    await add_user(runtime, team, "till@lumen.example", "cashier")
    viewer = another_browser(app_http)
    await viewer.log_in("viewer@lumen.example")
    seen = await viewer.get("/admin/")
    assert seen.status_code == 200
    assert figures(seen) == {"issued": (1, 0)}
    assert "<svg" not in seen.text
    assert 'id="activity-heading"' not in seen.text
    assert "attention" not in seen.text
    cashier = another_browser(app_http)
    await cashier.log_in("till@lumen.example")
    till = await cashier.get("/admin/")
    assert till.status_code == 200
    assert "Your role has no figures to show here." in till.text
    assert figures(till) == {}


async def test_the_counts_read_the_events_index(
    owner: AdminClient, team: Team, dev_pki: DevPki, runtime: Runtime
) -> None:
    (issued,) = await issue_passes(owner.http, team.api_key, dev_pki)
    await register(owner.http, await pass_json(owner.http, issued), "phone-1")
    statements: list[tuple[str, Any]] = []

    def capture(*args: Any) -> None:
        statement, parameters = args[2], args[3]
        if "FROM events" in statement and "kind <> 'pushed'" in statement:
            statements.append((statement, parameters))

    engine = runtime.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", capture)
    try:
        async with runtime.db.sessions() as session:
            ctx = runtime.pass_context(session, team.tenant_id)
            await stats.use(ctx)
            await stats.installs_per_day(ctx)
            assert await stats.recent_activity(ctx)
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    assert len(statements) == 4
    postgresql = runtime.db.dialect == "postgresql"
    async with runtime.db.engine.connect() as connection:
        if postgresql:  # the tables are tiny: make the planner show which index it can use
            await connection.exec_driver_sql("SET enable_seqscan = off")
        for statement, parameters in statements:
            explain = "EXPLAIN " if postgresql else "EXPLAIN QUERY PLAN "
            plan = await connection.exec_driver_sql(explain + statement, parameters)
            text = "\n".join(str(row) for row in plan.all())
            assert "ix_events_tenant_kind" in text, f"{statement}\n{text}"


async def test_installs_are_counted_per_day_for_30_days(runtime: Runtime, team: Team) -> None:
    now = runtime.clock()
    async with runtime.transaction() as session:
        await record_many(
            session,
            [
                {
                    "tenant_id": team.tenant_id,
                    "pass_id": uuid.uuid4(),
                    "kind": kind,
                    "platform": "ios" if kind == "registered" else "google",
                    "created_at": now - timedelta(days=days),
                }
                for days in range(40)
                for kind in ("registered", "installed", "registered", "pushed")
            ],
        )
    async with runtime.db.sessions() as session:
        days = await stats.installs_per_day(runtime.pass_context(session, team.tenant_id))
    assert [d.day for d in days] == [
        now.date() - timedelta(days=back) for back in range(stats.CHART_DAYS - 1, -1, -1)
    ]
    assert {(d.apple, d.google) for d in days} == {(2, 1)}
