"""The audit log: every write by a staff user or an API key, recorded in the transaction
that makes it, without the services doing anything.

How it is automatic:

1. The caller is bound as the *actor*: transport code wraps the request in
   :func:`acting` (``web.deps`` does for every API key, the admin app for every staff
   request), with the runtime's clock that dates the events. Without an actor nothing is
   recorded (jobs, devices, customers' pages): the listeners return at once.
2. An ``after_flush`` listener summarises every ORM object the flush inserted, changed or
   deleted (``api_key.created`` with the columns after; ``template.updated`` with the
   changed columns before and after; ``membership.deleted`` with the columns before):
   secrets redacted, values cut, the summary bounded. An object changed again in a later
   flush of the same transaction keeps its one event (created with its final columns, or
   updated from the first value to the last). Bookkeeping tables (the outbox, bundles,
   counters, sessions, this log …) are left out.
3. A ``do_orm_execute`` listener notes the Core statements (``update(…)``, upserts) the ORM
   does not track; they become one event naming the request's operation and the object in
   its path (``DELETE /api/v1/api-keys/{key_id}``: ``api_key.updated`` of that key).
4. A ``before_commit`` listener flushes and inserts the pending events as
   ``audit_events`` rows (one multi-row INSERT), in the same transaction: a rollback
   drops them with the change,
   a savepoint's rollback drops the events collected inside it.

Services may add an event of their own with :func:`note` (a login, an accepted
invitation). Nothing updates or deletes audit rows; on PostgreSQL a trigger refuses it.
"""

from __future__ import annotations

import json
import math
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from typing import Any, Final

from sqlalchemy import LargeBinary, event, insert, inspect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapper, ORMExecuteState, Session, SessionTransaction, UOWTransaction

from passmint.kit import lengths
from passmint.kit.clock import Clock, utcnow
from passmint.kit.ids import uuid7
from passmint.kit.sql import table_of
from passmint.models import AuditEvent
from passmint.tenants import repository
from passmint.tenants.service import Principal

_PENDING: Final = "passmint.audit.pending"
_OBJECTS: Final = "passmint.audit.objects"
_STATEMENTS: Final = "passmint.audit.statements"
_OVERFLOW: Final = "passmint.audit.overflow"
_COUNT: Final = "passmint.audit.count"

IGNORED: Final = frozenset(
    {
        "audit_events",
        "outbox_jobs",
        "idempotency_records",
        "tenant_quotas",
        "pass_bundles",
        "counters",
        "events",
        "staff_sessions",
        "password_resets",
        "google_callback_nonces",
        "google_notifications",
    }
)
"""Tables whose rows are bookkeeping, not something a person changed."""

MAX_EVENTS: Final = 50
"""Object events per transaction; beyond, one event per action counts the rest."""
MAX_FIELDS: Final = 30
MAX_VALUE: Final = 120
MAX_SUMMARY: Final = 6000
"""Characters of a summary's JSON; a longer one keeps only the names of its fields."""

REDACTED: Final = "[redacted]"
_SECRET_NAME: Final = re.compile(
    r"password|secret|token|_hash$|hashes|_enc$|private|totp|recovery|nonce|csrf"
)

ACTOR_TYPES: Final = ("user", "api_key", "system")


@dataclass(frozen=True)
class AuditActor:
    """Who makes the changes, and from where: a staff user, an API key or the system."""

    tenant_id: uuid.UUID
    type: str
    id: str | None
    label: str
    ip: str | None = None
    request_id: str | None = None
    operation: str | None = None
    """``METHOD /route/{template}`` of the request."""
    path_object: str | None = None
    """The last id in the request's path: the object a Core statement changed."""
    clock: Clock = field(default=utcnow, compare=False, repr=False)
    """What dates the events (the runtime's clock)."""

    @classmethod
    def of(
        cls,
        principal: Principal,
        *,
        ip: str | None = None,
        request_id: str | None = None,
        operation: str | None = None,
        path_object: str | None = None,
        clock: Clock = utcnow,
    ) -> AuditActor:
        return cls(
            tenant_id=principal.tenant_id,
            type=principal.actor_type,
            id=principal.actor_id,
            label=principal.label or principal.actor_id,
            ip=ip,
            request_id=request_id,
            operation=operation,
            path_object=path_object,
            clock=clock,
        )

    @classmethod
    def system(
        cls, tenant_id: uuid.UUID, label: str = "passmint", *, clock: Clock = utcnow
    ) -> AuditActor:
        return cls(tenant_id=tenant_id, type="system", id=None, label=label, clock=clock)


_CURRENT: ContextVar[AuditActor | None] = ContextVar("passmint_audit_actor", default=None)


@contextmanager
def acting(actor: AuditActor) -> Iterator[None]:
    """Record the writes of every transaction inside the block as ``actor``'s."""
    token = _CURRENT.set(actor)
    try:
        yield
    finally:
        try:
            _CURRENT.reset(token)
        except ValueError:  # left in another context than it was entered in
            _CURRENT.set(None)


def current_actor() -> AuditActor | None:
    """The actor :func:`acting` bound here, if any."""
    return _CURRENT.get()


@dataclass
class _Entry:
    actor: AuditActor
    tenant_id: uuid.UUID
    action: str
    object_type: str
    object_id: str | None
    summary: dict[str, Any]
    at: datetime
    transaction: SessionTransaction | None = field(default=None, repr=False)


def note(
    session: AsyncSession | Session,
    *,
    action: str,
    object_type: str,
    object_id: str | uuid.UUID | None = None,
    summary: dict[str, Any] | None = None,
    tenant_id: uuid.UUID | None = None,
    actor: AuditActor | None = None,
    at: datetime | None = None,
) -> None:
    """An event of the service's own (``user.logged_in``), written with the transaction.
    The actor is ``actor``, else the bound one, else the system of ``tenant_id``; ``at``
    (the service's now) dates it, else the actor's clock."""
    sync = session.sync_session if isinstance(session, AsyncSession) else session
    who = actor or current_actor()
    if who is None:
        if tenant_id is None:
            raise ValueError("a note without an actor needs the tenant")
        who = AuditActor.system(tenant_id)
    entry = _Entry(
        actor=who,
        tenant_id=tenant_id or who.tenant_id,
        action=action[:100],
        object_type=object_type[:64],
        object_id=None if object_id is None else str(object_id)[:200],
        summary=_bounded({k: _value(v) for k, v in (summary or {}).items()}),
        at=at or who.clock(),
        transaction=_transaction(sync),
    )
    sync.info.setdefault(_PENDING, []).append(entry)


# -- summaries -------------------------------------------------------------------------------


@cache
def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _cut(text: str) -> str:
    return text if len(text) <= MAX_VALUE else text[: MAX_VALUE - 1] + "…"


def _value(value: Any) -> Any:
    """A column value as bounded JSON."""
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, str):
        return _cut(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return f"<{len(value)} bytes>"
    text = json.dumps(value, default=str, ensure_ascii=False, sort_keys=True)
    return value if len(text) <= MAX_VALUE else _cut(text)


def _secret(column: Any) -> bool:
    return bool(_SECRET_NAME.search(column.key)) or isinstance(column.type, LargeBinary)


@cache
def _columns(mapper: Mapper[Any]) -> tuple[tuple[str, bool], ...]:
    """The mapped columns' attribute names, each with whether it holds a secret."""
    return tuple((prop.key, _secret(prop.columns[0])) for prop in mapper.column_attrs)


def _bounded(side: dict[str, Any]) -> dict[str, Any]:
    if len(side) > MAX_FIELDS:
        kept = dict(list(side.items())[:MAX_FIELDS])
        kept["…"] = f"{len(side) - MAX_FIELDS} more fields"
        return kept
    return side


def _summary(obj: Any, verb: str) -> dict[str, Any]:
    """``before`` and ``after``: the changed columns of an update (empty: nothing changed),
    the columns of a new or deleted row."""
    state = inspect(obj)
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    for key, secret in _columns(state.mapper):
        if verb == "updated":
            if key not in state.committed_state:  # what a change of the flush touched
                continue
            history = state.attrs[key].history
            if not history.has_changes():
                continue
            old = history.deleted[0] if history.deleted else None
            new = history.added[0] if history.added else None
            before[key] = REDACTED if secret else _value(old)
            after[key] = REDACTED if secret else _value(new)
        elif key in state.dict:
            value = REDACTED if secret and state.dict[key] is not None else state.dict[key]
            (after if verb == "created" else before)[key] = _value(value)
    return _sides(before, after)


def _sides(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    if before:
        summary["before"] = _bounded(before)
    if after:
        summary["after"] = _bounded(after)
    text = json.dumps(summary, default=str, ensure_ascii=False)
    if len(text) > MAX_SUMMARY:
        summary = {"fields": sorted({*before, *after})[:MAX_FIELDS], "truncated": True}
    return summary


def _updated_again(earlier: dict[str, Any], later: dict[str, Any]) -> dict[str, Any]:
    """Two updates of one object as one: each column from its first value to its last."""
    if "fields" in earlier or "fields" in later:
        names = {*earlier.get("fields", ()), *later.get("fields", ())}
        names |= {*earlier.get("after", {}), *later.get("after", {})}
        return {"fields": sorted(names)[:MAX_FIELDS], "truncated": True}
    before = {**later.get("before", {}), **earlier.get("before", {})}
    after = {**earlier.get("after", {}), **later.get("after", {})}
    return _sides(before, after)


def _identity(obj: Any) -> str | None:
    """The primary key's values (known after the flush: the listener runs after it)."""
    state = inspect(obj)
    mapper = state.mapper
    parts = [state.dict.get(mapper.get_property_by_column(c).key) for c in mapper.primary_key]
    if any(part is None for part in parts):
        return None
    return ":".join(str(part) for part in parts)[:200]


def _tenant_of(obj: Any, table: str, actor: AuditActor) -> uuid.UUID:
    state = inspect(obj)
    if table == "tenants" and isinstance(state.dict.get("id"), uuid.UUID):
        found: uuid.UUID = state.dict["id"]
        return found
    owner = state.dict.get("tenant_id")
    return owner if isinstance(owner, uuid.UUID) else actor.tenant_id


def _transaction(session: Session) -> SessionTransaction | None:
    return session.get_nested_transaction() or session.get_transaction()


# -- the listeners ---------------------------------------------------------------------------


@event.listens_for(Session, "after_flush")
def _collect(session: Session, _flush: UOWTransaction) -> None:
    actor = current_actor()
    if actor is None:
        return
    pending: list[_Entry] = session.info.setdefault(_PENDING, [])
    overflow: _Overflow = session.info.setdefault(_OVERFLOW, {})
    objects: dict[tuple[str, str], _Entry] = session.info.setdefault(_OBJECTS, {})
    transaction = _transaction(session)
    now = actor.clock()
    for verb, changed in (
        ("created", session.new),
        ("updated", session.dirty),
        ("deleted", session.deleted),
    ):
        for obj in changed:
            table = getattr(obj, "__tablename__", None)
            if table is None or table in IGNORED:
                continue
            summary = _summary(obj, verb)
            if verb == "updated" and not summary:
                continue  # loaded and set to the value it had
            object_type = _snake(type(obj).__name__)
            object_id = _identity(obj)
            earlier = objects.get((object_type, object_id or ""))
            if (
                verb == "updated"
                and object_id is not None
                and earlier is not None
                and earlier.transaction is transaction
            ):
                if earlier.action.endswith(".created"):
                    earlier.summary = _summary(obj, "created")  # its columns now
                else:
                    earlier.summary = _updated_again(earlier.summary, summary)
                continue
            action = f"{object_type}.{verb}"
            tenant_id = _tenant_of(obj, table, actor)
            counted = session.info.get(_COUNT, 0)
            if counted >= MAX_EVENTS:
                key = (tenant_id, action, object_type)
                first, count = overflow.get(key, (actor, 0))
                overflow[key] = (first, count + 1)
                continue
            session.info[_COUNT] = counted + 1
            entry = _Entry(
                actor=actor,
                tenant_id=tenant_id,
                action=action,
                object_type=object_type,
                object_id=object_id,
                summary=summary,
                at=now,
                transaction=transaction,
            )
            pending.append(entry)
            if object_id is not None and verb != "deleted":
                objects[(object_type, object_id)] = entry


_Overflow = dict[tuple[uuid.UUID, str, str], tuple[AuditActor, int]]
"""(tenant, action, object type): the actor and how many events went over the cap."""

_VERBS: Final = (("is_insert", "created"), ("is_update", "updated"), ("is_delete", "deleted"))


@event.listens_for(Session, "do_orm_execute")
def _statement(state: ORMExecuteState) -> None:
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    actor = current_actor()
    if actor is None:
        return
    table = getattr(getattr(state.statement, "table", None), "name", None)
    if not isinstance(table, str) or table in IGNORED:
        return
    mapper = state.bind_mapper
    object_type = _snake(mapper.class_.__name__) if mapper is not None else table
    verb = next(name for flag, name in _VERBS if getattr(state, flag))
    seen: dict[str, Any] = state.session.info.setdefault(_STATEMENTS, {})
    counts: dict[str, int] = seen.setdefault("counts", {})
    action = f"{object_type}.{verb}"
    counts[action] = counts.get(action, 0) + 1
    seen.setdefault("actor", actor)
    seen.setdefault("transaction", _transaction(state.session))


@event.listens_for(Session, "after_soft_rollback")
def _rolled_back(session: Session, previous: SessionTransaction) -> None:
    """Drop what the rolled-back (sub)transaction collected."""

    def inside(transaction: SessionTransaction | None) -> bool:
        while transaction is not None:
            if transaction is previous:
                return True
            transaction = transaction.parent
        return False

    pending: list[_Entry] | None = session.info.get(_PENDING)
    if pending:
        session.info[_PENDING] = [e for e in pending if not inside(e.transaction)]
    objects: dict[tuple[str, str], _Entry] | None = session.info.get(_OBJECTS)
    if objects:
        session.info[_OBJECTS] = {k: e for k, e in objects.items() if not inside(e.transaction)}
    seen = session.info.get(_STATEMENTS)
    if seen and inside(seen.get("transaction")):
        session.info.pop(_STATEMENTS, None)
    if previous.parent is None:
        for key in _STATE:
            session.info.pop(key, None)


_STATE: Final = (_PENDING, _OBJECTS, _STATEMENTS, _OVERFLOW, _COUNT)


@event.listens_for(Session, "before_commit")
def _write(session: Session) -> None:
    if current_actor() is not None and (session.new or session.dirty or session.deleted):
        session.flush()  # so the changes still unflushed are collected now
    pending: list[_Entry] = session.info.get(_PENDING, [])
    seen: dict[str, Any] | None = session.info.get(_STATEMENTS)
    overflow: _Overflow = session.info.get(_OVERFLOW, {})
    for key in _STATE:
        session.info.pop(key, None)
    if not (pending or seen or overflow):
        return
    rows = [
        _row(e.actor, e.tenant_id, e.action, e.object_type, e.object_id, e.summary, e.at)
        for e in pending
    ]
    if seen:
        actor: AuditActor = seen["actor"]
        counts: dict[str, int] = seen["counts"]
        first = next(iter(counts))
        rows.append(
            _row(
                actor,
                actor.tenant_id,
                first,
                first.split(".", 1)[0],
                actor.path_object,
                {"statements": dict(list(counts.items())[:MAX_FIELDS])},
                actor.clock(),
            )
        )
    for (tenant_id, action, object_type), (actor, count) in overflow.items():
        rows.append(
            _row(actor, tenant_id, action, object_type, None, {"more": count}, actor.clock())
        )
    session.connection().execute(_INSERT_EVENTS, rows)


_INSERT_EVENTS: Final = insert(table_of(AuditEvent))
"""Built once; Core, not the ORM's bulk insert (the rows are plain values)."""


def _row(
    actor: AuditActor,
    tenant_id: uuid.UUID,
    action: str,
    object_type: str,
    object_id: str | None,
    summary: dict[str, Any],
    at: datetime,
) -> dict[str, Any]:
    return {
        "id": uuid7(),
        "tenant_id": tenant_id,
        "created_at": at,
        "actor_type": actor.type,
        "actor_id": actor.id,
        "actor_label": actor.label[: lengths.EMAIL],
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "summary": summary,
        "operation": actor.operation[: lengths.OPERATION] if actor.operation else None,
        "ip": actor.ip[: lengths.IP_ADDRESS] if actor.ip else None,
        "request_id": actor.request_id[: lengths.REQUEST_ID] if actor.request_id else None,
    }


# -- reading ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditQuery:
    """What to list: each given filter narrows the list (``actor``: an id, an email or a
    key's name; ``since`` inclusive, ``until`` exclusive)."""

    actor: str | None = None
    action: str | None = None
    object_type: str | None = None
    object_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


async def list_events(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    query: AuditQuery = AuditQuery(),
    *,
    before: uuid.UUID | None = None,
    limit: int = 50,
) -> list[AuditEvent]:
    """The tenant's audit events, newest first; ``before``: the id of the last one of the
    previous page."""
    return await repository.list_audit_events(
        session,
        tenant_id,
        actor=query.actor,
        action=query.action,
        object_type=query.object_type,
        object_id=query.object_id,
        since=query.since,
        until=query.until,
        before=before,
        limit=max(1, min(limit, 500)),
    )
