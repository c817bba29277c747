"""SQL for templates, assets and passes."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    DateTime,
    Integer,
    String,
    Table,
    Uuid,
    and_,
    bindparam,
    func,
    select,
    text,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from passmint.kit.ids import uuid7
from passmint.kit.sql import in_ids, insert_for, is_postgresql, per_dialect
from passmint.models import (
    AppleCredential,
    Asset,
    Counter,
    GoogleCredential,
    Pass,
    PassBundle,
    Template,
    TemplateVersion,
)


async def get_template(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    template_id: uuid.UUID,
    *,
    lock: bool = False,
) -> Template | None:
    """``lock``: FOR UPDATE (a new version; issuing a pass holds FOR KEY SHARE instead,
    :func:`issue_source`)."""
    query = select(Template).where(Template.id == template_id, Template.tenant_id == tenant_id)
    if lock:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


@dataclass(frozen=True, slots=True)
class IssueSource:
    """What issuing a pass reads: the template (key-share locked), its current version and
    the tenant's wallet credentials (None where it has none)."""

    template: Template
    version: TemplateVersion
    apple: AppleCredential | None
    google: GoogleCredential | None


# Built once: one statement instead of four (template, version, Apple and Google
# credentials). FOR KEY SHARE OF templates: a new version waits for the issuing transaction,
# readers do not; the outer-joined rows are not locked.
_ISSUE_SOURCE = (
    select(Template, TemplateVersion, AppleCredential, GoogleCredential)
    .outerjoin(
        TemplateVersion,
        and_(
            TemplateVersion.template_id == Template.id,
            TemplateVersion.version == Template.version,
        ),
    )
    .outerjoin(AppleCredential, AppleCredential.tenant_id == Template.tenant_id)
    .outerjoin(GoogleCredential, GoogleCredential.tenant_id == Template.tenant_id)
    .where(Template.id == bindparam("template_id"), Template.tenant_id == bindparam("tenant_id"))
    .with_for_update(read=True, key_share=True, of=Template)
)
_ISSUE_SOURCE_AGAIN = _ISSUE_SOURCE.execution_options(populate_existing=True)


async def issue_source(
    session: AsyncSession, tenant_id: uuid.UUID, template_id: uuid.UUID
) -> IssueSource | None:
    """The template a pass is issued from, its current version and the tenant's credentials,
    in one statement; None for another tenant's or an unknown template.

    A statement that waited for the template's lock while a new version committed gets the
    template's new row but cannot see the new version (PostgreSQL re-checks the locked row
    only, under the statement's snapshot): it is asked once more, holding the lock now,
    with a snapshot that sees the version. So is one that found no template (as the
    re-check may drop the row)."""
    params = {"template_id": template_id, "tenant_id": tenant_id}
    row = (await session.execute(_ISSUE_SOURCE, params)).one_or_none()
    if row is None or row[1] is None or row[1].version != row[0].version:
        row = (await session.execute(_ISSUE_SOURCE_AGAIN, params)).one_or_none()
    if row is None:
        return None
    template, version, apple, google = row
    assert version is not None  # the lock is held: no new version can have come since
    return IssueSource(template, version, apple, google)


async def get_template_version(
    session: AsyncSession, template_id: uuid.UUID, version: int
) -> TemplateVersion | None:
    query = select(TemplateVersion).where(
        TemplateVersion.template_id == template_id, TemplateVersion.version == version
    )
    return (await session.execute(query)).scalar_one_or_none()


async def list_templates(
    session: AsyncSession, tenant_id: uuid.UUID, after: uuid.UUID | None, limit: int
) -> list[tuple[Template, TemplateVersion]]:
    """A page of templates, each with its current version (one query)."""
    query = (
        select(Template, TemplateVersion)
        .join(
            TemplateVersion,
            (TemplateVersion.template_id == Template.id)
            & (TemplateVersion.version == Template.version),
        )
        .where(Template.tenant_id == tenant_id)
    )
    if after is not None:
        query = query.where(Template.id > after)
    rows = await session.execute(query.order_by(Template.id).limit(limit))
    return [(row[0], row[1]) for row in rows.all()]


async def assets_by_id(
    session: AsyncSession, tenant_id: uuid.UUID, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Asset]:
    if not ids:
        return {}
    rows = await session.execute(
        select(Asset).where(Asset.tenant_id == tenant_id, Asset.id.in_(ids))
    )
    return {a.id: a for a in rows.scalars()}


async def assets_by_sha(
    session: AsyncSession, tenant_id: uuid.UUID, shas: Sequence[str]
) -> dict[str, bytes]:
    if not shas:
        return {}
    rows = await session.execute(
        select(Asset.sha256, Asset.data).where(Asset.tenant_id == tenant_id, Asset.sha256.in_(shas))
    )
    return {str(sha): bytes(data) for sha, data in rows.all()}


async def public_asset(session: AsyncSession, asset_id: uuid.UUID) -> Asset | None:
    """An uploaded image by id alone (template images are public: Google fetches them)."""
    query = select(Asset).where(Asset.id == asset_id, Asset.content_type == "image/png")
    return (await session.execute(query)).scalar_one_or_none()


async def store_asset(session: AsyncSession, asset: Asset) -> Asset:
    """The tenant's asset with these bytes: ``asset``'s row, or the one stored before.
    Requests storing the same bytes at once (two template saves sharing an image) meet on
    the unique key, where a check-then-insert would let the second fail."""
    same = select(Asset).where(Asset.tenant_id == asset.tenant_id, Asset.sha256 == asset.sha256)
    existing = (await session.execute(same)).scalar_one_or_none()
    if existing is not None:
        return existing
    values = {column.key: getattr(asset, column.key) for column in Asset.__table__.columns}
    values["id"] = asset.id or uuid7()
    insert = insert_for(session, Asset).values(**values)
    await session.execute(insert.on_conflict_do_nothing(index_elements=["tenant_id", "sha256"]))
    return (await session.execute(same)).scalar_one()


def _pass_type_lock_key(tenant_id: uuid.UUID) -> int:
    digest = hashlib.sha256(b"passmint:pass-type:" + tenant_id.bytes).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


async def lock_pass_types(session: AsyncSession, tenant_id: uuid.UUID, *, exclusive: bool) -> None:
    """A transaction-scoped lock on which pass type the tenant's new passes get: shared by
    a pass issued without one (Google Wallet only), exclusive while Apple credentials are
    stored and assigned to such passes. PostgreSQL only: SQLite's write transactions
    already run one at a time."""
    if not is_postgresql(session):
        return
    key = _pass_type_lock_key(tenant_id)
    lock = func.pg_advisory_xact_lock(key) if exclusive else func.pg_advisory_xact_lock_shared(key)
    await session.execute(select(lock))


async def assign_pass_type(session: AsyncSession, tenant_id: uuid.UUID, pass_type_id: str) -> int:
    """Give the tenant's passes that have no Apple pass type yet (issued to Google Wallet
    only) this one; returns how many. Their update tag stays (a device that registers asks
    for all its serials) and so does their content hash, rendered with a placeholder
    identity: their next re-render moves their version once, even with nothing else new."""
    result = await session.execute(
        update(Pass)
        .where(Pass.tenant_id == tenant_id, Pass.pass_type_id.is_(None))
        .values(pass_type_id=pass_type_id)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def get_pass(
    session: AsyncSession, tenant_id: uuid.UUID, pass_id: uuid.UUID, *, lock: bool = False
) -> Pass | None:
    query = select(Pass).where(Pass.id == pass_id, Pass.tenant_id == tenant_id)
    if lock:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def pass_by_id(
    session: AsyncSession, tenant_id: uuid.UUID, pass_id: uuid.UUID
) -> Pass | None:
    """By primary key, from the session's identity map when it holds the pass already."""
    pass_ = await session.get(Pass, pass_id)
    return pass_ if pass_ is not None and pass_.tenant_id == tenant_id else None


async def passes_for_update(
    session: AsyncSession, tenant_id: uuid.UUID, ids: list[uuid.UUID]
) -> list[Pass]:
    """The passes, row-locked in primary-key order (so concurrent batches never deadlock)."""
    if not ids:
        return []
    query = (
        select(Pass)
        .where(Pass.tenant_id == tenant_id, in_ids(session, Pass.id, ids))
        .order_by(Pass.id)
        .with_for_update()
    )
    return list((await session.execute(query)).scalars())


async def pass_by_serial(
    session: AsyncSession, tenant_id: uuid.UUID, serial_number: str
) -> Pass | None:
    query = select(Pass).where(Pass.tenant_id == tenant_id, Pass.serial_number == serial_number)
    return (await session.execute(query.limit(1))).scalar_one_or_none()


async def pass_by_download_token(session: AsyncSession, token: str) -> Pass | None:
    return (
        await session.execute(select(Pass).where(Pass.download_token == token))
    ).scalar_one_or_none()


async def list_passes(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    template_id: uuid.UUID | None,
    external_id: str | None,
    after: uuid.UUID | None,
    limit: int,
) -> list[Pass]:
    query = select(Pass).where(Pass.tenant_id == tenant_id)
    if template_id is not None:
        query = query.where(Pass.template_id == template_id)
    if external_id is not None:
        query = query.where(Pass.external_id == external_id)
    if after is not None:
        query = query.where(Pass.id > after)
    return list((await session.execute(query.order_by(Pass.id).limit(limit))).scalars())


def _live_passes_of(tenant_id: uuid.UUID, template_id: uuid.UUID) -> ColumnElement[bool]:
    return and_(
        Pass.tenant_id == tenant_id, Pass.template_id == template_id, Pass.status != "voided"
    )


async def segment_bounds(
    session: AsyncSession, tenant_id: uuid.UUID, template_id: uuid.UUID, parts: int, least: int
) -> list[uuid.UUID]:
    """Ids that split a template's live passes, in id order, into at most ``parts``
    segments of at least ``least`` passes: each bound is the last id of its segment (the
    last segment, up to the end, has none). Counted and numbered in the database, so a
    template of millions of passes is never read into memory."""
    where = _live_passes_of(tenant_id, template_id)
    total = int(await session.scalar(select(func.count()).select_from(Pass).where(where)) or 0)
    size = max(least, -(-total // parts))
    if total <= size:
        return []
    numbered = (
        select(Pass.id, func.row_number().over(order_by=Pass.id).label("n")).where(where)
    ).subquery()
    query = (
        select(numbered.c.id)
        .where(numbered.c.n % size == 0, numbered.c.n < total)
        .order_by(numbered.c.id)
    )
    return list((await session.execute(query)).scalars())


@dataclass(frozen=True, slots=True)
class RenderRow:
    """What re-rendering a pass reads of it (no ORM object: a batch reads hundreds)."""

    id: uuid.UUID
    serial_number: str
    pass_type_id: str | None
    data: dict[str, Any]
    status: str
    auth_token_enc: bytes
    content_hash: str
    version: int
    template_version: int
    last_modified: datetime
    download_token: str


_RENDER_COLUMNS = tuple(getattr(Pass, f.name) for f in fields(RenderRow))


async def passes_to_rerender(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    template_id: uuid.UUID,
    *,
    after: uuid.UUID | None,
    upto: uuid.UUID | None,
    limit: int,
) -> list[RenderRow]:
    """A template's live passes in ``(after, upto]``, id order, row-locked (in key order, so
    concurrent batches never deadlock), at most ``limit``."""
    query = select(*_RENDER_COLUMNS).where(_live_passes_of(tenant_id, template_id))
    if after is not None:
        query = query.where(Pass.id > after)
    if upto is not None:
        query = query.where(Pass.id <= upto)
    # FOR NO KEY UPDATE: keys do not change, so inserts that refer to these passes
    # (registrations, cached bundles) are not held up by the batch.
    query = query.order_by(Pass.id).limit(limit).with_for_update(key_share=True)
    return [RenderRow(*row) for row in (await session.execute(query)).all()]


# One statement for a whole batch on PostgreSQL (an executemany runs one per row).
_RENDERED_PG = text(
    "UPDATE passes AS p SET content_hash = v.content_hash, version = v.version,"
    " last_modified = v.last_modified, template_version = v.template_version,"
    " update_tag = COALESCE(CAST(:tag AS bigint), p.update_tag)"
    " FROM unnest(CAST(:ids AS uuid[]), CAST(:hashes AS varchar[]), CAST(:versions AS int[]),"
    " CAST(:modified AS timestamptz[]), CAST(:template_versions AS int[]))"
    " AS v(id, content_hash, version, last_modified, template_version)"
    " WHERE p.id = v.id AND p.template_version <= v.template_version"
).bindparams(
    bindparam("ids", type_=ARRAY(Uuid())),
    bindparam("hashes", type_=ARRAY(String())),
    bindparam("versions", type_=ARRAY(Integer())),
    bindparam("modified", type_=ARRAY(DateTime(timezone=True))),
    bindparam("template_versions", type_=ARRAY(Integer())),
)


@dataclass(frozen=True, slots=True)
class Rerendered:
    """A pass's new rendering, written by :func:`store_rerendered`."""

    id: uuid.UUID
    content_hash: str
    version: int
    last_modified: datetime
    template_version: int


async def store_rerendered(
    session: AsyncSession, rows: Sequence[Rerendered], tag: int | None
) -> None:
    """Write new renderings with their update tag, set-based (``None``: passes no Apple
    device can hold, which keep theirs)."""
    if not rows:
        return
    if any(r.last_modified.tzinfo is None for r in rows):
        raise ValueError("naive datetimes are not stored: pass an aware UTC datetime")
    if is_postgresql(session):
        await session.execute(
            _RENDERED_PG,
            {
                "tag": tag,
                "ids": [r.id for r in rows],
                "hashes": [r.content_hash for r in rows],
                "versions": [r.version for r in rows],
                "modified": [r.last_modified for r in rows],
                "template_versions": [r.template_version for r in rows],
            },
        )
        return
    tagged = {} if tag is None else {"update_tag": tag}
    await session.execute(  # ORM bulk UPDATE by primary key: one executemany
        update(Pass),
        [
            {
                "id": r.id,
                "content_hash": r.content_hash,
                "version": r.version,
                "last_modified": r.last_modified,
                "template_version": r.template_version,
                **tagged,
            }
            for r in rows
        ],
    )


async def set_template_version(
    session: AsyncSession, ids: Sequence[uuid.UUID], template_version: int
) -> None:
    """Passes whose rendering did not change still follow the newest template version."""
    if ids:
        await session.execute(
            update(Pass)
            .where(in_ids(session, Pass.id, ids), Pass.template_version < template_version)
            .values(template_version=template_version)
            .execution_options(synchronize_session=False)
        )


_COUNTERS = cast(Table, Counter.__table__)


def _bump(dialect_insert: Any) -> Any:
    statement = dialect_insert(_COUNTERS).values(name=bindparam("name"), value=1)
    return statement.on_conflict_do_update(
        index_elements=[_COUNTERS.c.name], set_={"value": _COUNTERS.c.value + 1}
    ).returning(_COUNTERS.c.value)


_BUMP = per_dialect(_bump)  # every pass issued or changed bumps a counter


async def next_tag(session: AsyncSession, name: str) -> int:
    """Bump and return a counter, in one statement (an upsert). The row stays locked until
    commit (see models.Counter)."""
    result = await session.execute(_BUMP(session), {"name": name})
    return int(result.scalar_one())


async def cached_bundle(session: AsyncSession, pass_id: uuid.UUID, version: int) -> bytes | None:
    row = await session.get(PassBundle, pass_id)
    return row.data if row is not None and row.version == version else None


async def store_bundle(session: AsyncSession, bundle: PassBundle) -> None:
    values: dict[str, Any] = {
        "pass_id": bundle.pass_id,
        "version": bundle.version,
        "data": bundle.data,
        "created_at": bundle.created_at,
    }
    statement = insert_for(session, PassBundle).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=["pass_id"],
        set_={
            "version": values["version"],
            "data": values["data"],
            "created_at": values["created_at"],
        },
        where=PassBundle.version < values["version"],
    )
    await session.execute(statement)


async def count_live_passes(
    session: AsyncSession, tenant_id: uuid.UUID, template_id: uuid.UUID
) -> int:
    """How many passes of a template are not voided (a new version re-renders them)."""
    query = select(func.count()).select_from(Pass).where(_live_passes_of(tenant_id, template_id))
    return int(await session.scalar(query) or 0)


async def list_template_versions(
    session: AsyncSession, template_id: uuid.UUID, limit: int
) -> list[TemplateVersion]:
    """A template's versions, newest first."""
    query = (
        select(TemplateVersion)
        .where(TemplateVersion.template_id == template_id)
        .order_by(TemplateVersion.version.desc())
        .limit(limit)
    )
    return list((await session.execute(query)).scalars())
