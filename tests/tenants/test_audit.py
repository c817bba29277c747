"""The audit log: every write by an API key or a staff user is recorded in its own
transaction (who, what, which object, before/after, address, request id), append-only,
listed and filtered through GET /api/v1/audit-events and the service."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from passmint.kit.ids import uuid7
from passmint.models import ApiKey, AuditEvent, Customer
from passmint.runtime import Runtime
from passmint.tenants import audit, members, sessions
from passmint.tenants import service as tenants
from passmint.tenants.scopes import Scope
from tests.tenants.conftest import PASSWORD, Team, add_user, auth, ctx_for

pytestmark = pytest.mark.anyio


async def events(http: httpx.AsyncClient, key: str, **params: Any) -> list[dict[str, Any]]:
    response = await http.get("/api/v1/audit-events", headers=auth(key), params=params)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_an_api_write_is_recorded_with_who_what_and_where(
    client: httpx.AsyncClient, team: Team
) -> None:
    created = await client.post(
        "/api/v1/api-keys",
        headers={**auth(team.api_key), "X-Request-ID": "req-audit-1"},
        json={"name": "Till 3", "scopes": ["redemptions:write"]},
    )
    assert created.status_code == 201, created.text
    [event] = await events(client, team.api_key, action="api_key.created")
    assert event["actor"] == {
        "type": "api_key",
        "id": event["actor"]["id"],
        "label": "Café Lumen key",
    }
    uuid.UUID(event["actor"]["id"])
    assert event["object_type"] == "api_key"
    assert event["object_id"] == created.json()["id"]
    after = event["summary"]["after"]
    assert after["name"] == "Till 3"
    assert after["scopes"] == ["redemptions:write"]
    assert after["secret_hash"] == "[redacted]"
    assert created.json()["api_key"].split("_", 2)[2] not in str(event)
    assert event["operation"] == "POST /api/v1/api-keys"
    assert event["ip"] == "127.0.0.1"
    assert event["request_id"] == "req-audit-1"
    assert "before" not in event["summary"]


async def test_changes_show_the_columns_before_and_after(
    client: httpx.AsyncClient, team: Team
) -> None:
    body = {"external_id": "c-1", "name": "Ada", "email": "ada@example.org"}
    first = await client.post("/api/v1/customers", headers=auth(team.api_key), json=body)
    assert first.status_code == 200, first.text
    again = await client.post(
        "/api/v1/customers", headers=auth(team.api_key), json={**body, "name": "Ada Lovelace"}
    )
    assert again.status_code == 200, again.text
    [updated] = await events(client, team.api_key, action="customer.updated")
    assert updated["object_id"] == first.json()["id"]
    assert updated["summary"]["before"]["name"] == "Ada"
    assert updated["summary"]["after"]["name"] == "Ada Lovelace"
    assert "email" not in updated["summary"]["after"]  # only what changed
    listed = await events(
        client, team.api_key, object_type="customer", object_id=updated["object_id"]
    )
    assert [e["action"] for e in listed] == ["customer.updated", "customer.created"]


async def test_a_core_statement_is_recorded_with_the_object_of_the_path(
    client: httpx.AsyncClient, team: Team
) -> None:
    made = await client.post("/api/v1/api-keys", headers=auth(team.api_key), json={"name": "Old"})
    key_id = made.json()["id"]
    revoked = await client.delete(f"/api/v1/api-keys/{key_id}", headers=auth(team.api_key))
    assert revoked.status_code == 204
    [event] = await events(client, team.api_key, action="api_key.updated")
    assert event["object_id"] == key_id
    assert event["operation"] == "DELETE /api/v1/api-keys/{key_id}"
    assert event["summary"] == {"statements": {"api_key.updated": 1}}
    # a failed write records nothing
    again = await client.delete(f"/api/v1/api-keys/{key_id}", headers=auth(team.api_key))
    assert again.status_code == 404
    assert len(await events(client, team.api_key, action="api_key.updated")) == 1


async def test_reads_and_refused_writes_record_nothing(
    client: httpx.AsyncClient, team: Team
) -> None:
    for _ in range(2):
        assert (await client.get("/api/v1/api-keys", headers=auth(team.api_key))).status_code == 200
    bad = await client.post("/api/v1/api-keys", headers=auth(team.api_key), json={"name": ""})
    assert bad.status_code == 422
    assert await events(client, team.api_key) == []
    # the actor does not outlive the request
    assert audit.current_actor() is None


async def test_filters_and_pages(client: httpx.AsyncClient, team: Team, runtime: Runtime) -> None:
    for name in ("a", "b", "c", "d", "e"):
        made = await client.post(
            "/api/v1/api-keys", headers=auth(team.api_key), json={"name": name}
        )
        assert made.status_code == 201
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2, "action": "api_key.created"}
        if cursor:
            params["cursor"] = cursor
        page = (
            await client.get("/api/v1/audit-events", headers=auth(team.api_key), params=params)
        ).json()
        seen += [e["summary"]["after"]["name"] for e in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == ["e", "d", "c", "b", "a"]  # newest first
    everything = await events(client, team.api_key)
    actor_id = everything[0]["actor"]["id"]
    assert len(await events(client, team.api_key, actor=actor_id)) == 5
    assert len(await events(client, team.api_key, actor="Café Lumen key")) == 5
    assert await events(client, team.api_key, actor="someone else") == []
    assert len(await events(client, team.api_key, object_type="api_key")) == 5
    middle = everything[2]["created_at"]
    assert len(await events(client, team.api_key, since=middle)) >= 3
    assert await events(client, team.api_key, until="2000-01-01T00:00:00Z") == []
    assert len(await events(client, team.api_key, since="2000-01-01T00:00:00Z")) == 5
    bad = await client.get(
        "/api/v1/audit-events", headers=auth(team.api_key), params={"cursor": "!!"}
    )
    assert bad.status_code == 400
    naive = await client.get(
        "/api/v1/audit-events", headers=auth(team.api_key), params={"since": "2026-01-01T00:00:00"}
    )
    assert naive.status_code == 422
    # the service the admin app lists them with
    async with runtime.db.sessions() as session:
        rows = await audit.list_events(
            session, team.tenant_id, audit.AuditQuery(action="api_key.created"), limit=2
        )
        more = await audit.list_events(
            session, team.tenant_id, audit.AuditQuery(action="api_key.created"), before=rows[-1].id
        )
    assert [r.summary["after"]["name"] for r in rows + more] == ["e", "d", "c", "b", "a"]


async def test_the_log_needs_audit_read_and_shows_only_its_tenant(
    client: httpx.AsyncClient, team: Team, other_team: Team, runtime: Runtime
) -> None:
    await client.post("/api/v1/api-keys", headers=auth(team.api_key), json={"name": "A's"})
    assert await events(client, other_team.api_key) == []
    async with runtime.transaction() as session:
        reader = await tenants.create_api_key(
            session, team.tenant_id, name="reader", now=runtime.clock(), scopes=[Scope.PASSES_READ]
        )
    refused = await client.get("/api/v1/audit-events", headers=auth(reader.secret))
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "insufficient_scope"
    assert "audit:read" in refused.json()["error"]["message"]
    assert (await client.get("/api/v1/audit-events")).status_code == 401


async def test_staff_writes_through_services_are_recorded_as_the_user(
    runtime: Runtime, team: Team
) -> None:
    mia = await add_user(runtime, team, "mia@lumen.example", "marketer")
    async with runtime.transaction() as session:
        login = await sessions.log_in(
            ctx_for(runtime, session), team.owner_email, PASSWORD, ip="203.0.113.7"
        )
    assert login.staff is not None
    actor = audit.AuditActor.of(
        login.staff.principal,
        ip="203.0.113.7",
        request_id="r-9",
        operation="POST /admin/users/{user_id}/role",
    )
    with audit.acting(actor):
        async with runtime.transaction() as session:
            await members.change_role(
                ctx_for(runtime, session), login.staff.principal, mia, "viewer"
            )
    assert audit.current_actor() is None  # the block ended
    async with runtime.db.sessions() as session:
        rows = await audit.list_events(session, team.tenant_id)
    by_action = {r.action: r for r in rows}
    changed = by_action["membership.updated"]
    assert (changed.actor_type, changed.actor_id, changed.actor_label) == (
        "user",
        str(team.owner_id),
        "owner@lumen.example",
    )
    assert changed.summary == {"before": {"role": "marketer"}, "after": {"role": "viewer"}}
    assert changed.object_id == f"{mia}:{team.tenant_id}"
    assert (changed.ip, changed.request_id) == ("203.0.113.7", "r-9")
    logged_in = by_action["user.logged_in"]
    assert (logged_in.actor_label, logged_in.ip) == ("owner@lumen.example", "203.0.113.7")
    # staff sessions are bookkeeping: not in the log
    assert not [r for r in rows if r.object_type == "user_session"]


async def test_a_rollback_drops_its_events_a_savepoint_rollback_its_own(
    runtime: Runtime, team: Team
) -> None:
    actor = audit.AuditActor.system(team.tenant_id, "test")

    async def failing() -> None:
        async with runtime.transaction() as session:
            await tenants.create_api_key(session, team.tenant_id, name="lost", now=runtime.clock())
            raise RuntimeError("rolled back")

    with audit.acting(actor):
        with pytest.raises(RuntimeError):
            await failing()
        async with runtime.transaction() as session:
            nested = await session.begin_nested()
            await tenants.create_api_key(
                session, team.tenant_id, name="undone", now=runtime.clock()
            )
            await nested.rollback()
            await tenants.create_api_key(session, team.tenant_id, name="kept", now=runtime.clock())
    async with runtime.db.sessions() as session:
        rows = await audit.list_events(
            session, team.tenant_id, audit.AuditQuery(action="api_key.created")
        )
    assert [r.summary["after"]["name"] for r in rows] == ["kept"]


async def test_an_object_changed_in_several_flushes_keeps_one_event_dated_by_the_clock(
    runtime: Runtime, team: Team
) -> None:
    """A row created then changed in one transaction is one ``created`` event with its
    final columns; one changed twice is one ``updated`` from the first value to the last.
    The actor's clock (the runtime's, in a request) dates the events, and a note's ``at``."""
    at = datetime(2031, 5, 6, 7, 8, 9, tzinfo=UTC)
    actor = audit.AuditActor.system(team.tenant_id, "clocked", clock=lambda: at)
    with audit.acting(actor):
        async with runtime.transaction() as session:
            made = await tenants.create_api_key(
                session, team.tenant_id, name="first", now=runtime.clock()
            )
            row = made.key
            row.name = "second"
            await session.flush()
            row.name = "third"
        async with runtime.transaction() as session:
            found = await session.get(ApiKey, made.key.id)
            assert found is not None
            found.name = "fourth"
            await session.flush()
            found.name = "fifth"
            found.scopes = ["passes:read"]
            audit.note(session, action="api_key.checked", object_type="api_key", at=at)
    async with runtime.db.sessions() as session:
        rows = await audit.list_events(session, team.tenant_id)
    assert sorted(r.action for r in rows) == [
        "api_key.checked",
        "api_key.created",
        "api_key.updated",
    ]
    by_action = {r.action: r for r in rows}
    assert by_action["api_key.created"].summary["after"]["name"] == "third"
    assert by_action["api_key.updated"].summary["before"]["name"] == "third"
    assert by_action["api_key.updated"].summary["after"] == {
        "name": "fifth",
        "scopes": ["passes:read"],
    }
    assert {r.created_at for r in rows} == {at}


async def test_without_an_actor_nothing_is_recorded(runtime: Runtime, team: Team) -> None:
    async with runtime.transaction() as session:  # a job, a device, a customer's page
        await tenants.create_api_key(session, team.tenant_id, name="quiet", now=runtime.clock())
    async with runtime.db.sessions() as session:
        assert [r.action for r in await audit.list_events(session, team.tenant_id)] == []


async def test_summaries_are_bounded_and_many_changes_are_counted(
    runtime: Runtime, team: Team
) -> None:
    actor = audit.AuditActor.system(team.tenant_id, "bulk")
    with audit.acting(actor):
        async with runtime.transaction() as session:
            for n in range(audit.MAX_EVENTS + 7):
                await tenants.create_api_key(
                    session, team.tenant_id, name=f"k{n}", now=runtime.clock()
                )
        async with runtime.transaction() as session:
            session.add(
                Customer(
                    id=uuid7(),
                    tenant_id=team.tenant_id,
                    name="x" * 250,
                    attributes={f"field{n}": "y" * 50 for n in range(40)},
                    created_at=runtime.clock(),
                    updated_at=runtime.clock(),
                )
            )
    async with runtime.db.sessions() as session:
        rows = await audit.list_events(session, team.tenant_id, limit=500)
    created = [r for r in rows if r.action == "api_key.created"]
    assert len(created) == audit.MAX_EVENTS + 1  # 50 events, then one counting the rest
    counted = [r for r in created if "more" in r.summary]
    assert [r.summary for r in counted] == [{"more": 7}]
    customers = [r for r in rows if r.object_type == "customer"]
    for row in rows:
        assert len(str(row.summary)) < audit.MAX_SUMMARY + 500
    assert len(customers) == 1
    for customer in customers:
        after = customer.summary["after"]
        assert after["attributes"].endswith("…")
        assert len(after["name"]) == audit.MAX_VALUE
        assert after["name"].endswith("…")


async def test_audit_rows_are_append_only_on_postgresql(runtime: Runtime, team: Team) -> None:
    with audit.acting(audit.AuditActor.system(team.tenant_id)):
        async with runtime.transaction() as session:
            await tenants.create_api_key(session, team.tenant_id, name="k", now=runtime.clock())
    if runtime.db.dialect != "postgresql":
        pytest.skip("the trigger is PostgreSQL's")
    for statement in ("UPDATE audit_events SET action = 'forged'", "DELETE FROM audit_events"):
        async with runtime.db.sessions() as session:
            with pytest.raises(DBAPIError, match="append-only"):
                await session.execute(text(statement))
    async with runtime.db.sessions() as session:
        assert (await session.execute(select(AuditEvent.action))).scalars().all() == [
            "api_key.created"
        ]


def test_secrets_are_redacted_by_column() -> None:
    from passmint.models import AppleCredential, Pass, User

    secret = [
        ApiKey.__table__.c.secret_hash,
        Pass.__table__.c.auth_token_hash,
        Pass.__table__.c.auth_token_enc,
        Pass.__table__.c.download_token,
        AppleCredential.__table__.c.private_key_enc,
        User.__table__.c.password_hash,
        User.__table__.c.totp_secret_enc,
        User.__table__.c.recovery_code_hashes,
    ]
    shown = [ApiKey.__table__.c.prefix, ApiKey.__table__.c.name, User.__table__.c.email]
    assert all(audit._secret(column) for column in secret)
    assert not any(audit._secret(column) for column in shown)


async def test_an_activities_key_posts_activities_and_nothing_else(
    client: httpx.AsyncClient, team: Team, runtime: Runtime
) -> None:
    """The cashier's scope: activities:write opens POST /activities (here a 404: no such
    card), not the rest of loyalty:write."""
    async with runtime.transaction() as session:
        till = await tenants.create_api_key(
            session, team.tenant_id, name="till", now=runtime.clock(),
            scopes=[Scope.ACTIVITIES_WRITE],
        )  # fmt: skip
    activity = {"card_number": "NOPE-1234", "kind": "visit", "external_id": "v-1"}
    posted = await client.post("/api/v1/activities", headers=auth(till.secret), json=activity)
    assert posted.status_code == 404, posted.text
    refused = await client.post(
        "/api/v1/customers", headers=auth(till.secret), json={"name": "Ada"}
    )
    assert refused.status_code == 403
    assert "loyalty:write" in refused.json()["error"]["message"]


async def test_the_endpoint_is_documented(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    operation = document["paths"]["/api/v1/audit-events"]["get"]
    names = {p["name"] for p in operation["parameters"]}
    assert {
        "actor",
        "action",
        "object_type",
        "object_id",
        "since",
        "until",
        "cursor",
        "limit",
    } <= names
    for status in ("200", "400", "401", "403", "422", "429"):
        assert status in operation["responses"], status
    assert "insufficient_scope" in operation["responses"]["403"]["description"]
    assert operation["security"]
