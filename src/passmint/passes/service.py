"""Templates and passes: create, version, issue, update, void, render and sign.

Services flush and never commit; jobs go through the outbox (worker.outbox.enqueue).
"""

from __future__ import annotations

import functools
import hashlib
import json
import secrets
import uuid
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from passmint.errors import check_json_object
from passmint.kit import offload
from passmint.kit.crypto import SecretBox, TokenHasher, random_token
from passmint.kit.ids import uuid7
from passmint.kit.jsonobject import PASS_DATA
from passmint.kit.uow import before_commit, transaction_cache
from passmint.kit.useragent import parse_user_agent
from passmint.models import AppleCredential, Asset, Pass, PassBundle, Template, TemplateVersion
from passmint.passes import repository
from passmint.passes.apple.credentials import CredentialCache, require_credential
from passmint.passes.apple.credentials import get_credential as apple_credential
from passmint.passes.errors import (
    ApplePassUnavailable,
    CredentialsMissing,
    ImageNotFound,
    InvalidInput,
    PassNotFound,
    PassVoided,
    StoredDesignInvalid,
    TemplateNotFound,
)
from passmint.passes.events import EventKind, record, record_many
from passmint.passes.google import credentials as google_credentials
from passmint.passes.google.credentials import AccountCache
from passmint.tenants import quotas  # before the tags' hook below: see tenants.quotas
from passmint.tenants.quotas import Quota, QuotaLimits
from passmint.wallet.apple.bundle import PassTemplate
from passmint.wallet.apple.images import check_png
from passmint.wallet.apple.problems import InvalidPass, errors_only
from passmint.wallet.apple.styles import PassStyle
from passmint.wallet.apple.validation import validate_pass_json
from passmint.wallet.designs import usage
from passmint.wallet.designs.placeholders import render_text
from passmint.wallet.designs.render_apple import (
    localization_tables,
    render_files,
    render_pass_json,
    validate_design,
)
from passmint.wallet.designs.schemas import DesignError, TemplateDesign, color_hex, parse_design
from passmint.wallet.designs.survey import PASS_URL
from passmint.wallet.google.render import validate_design_for_google
from passmint.worker.outbox import enqueue

MAX_IMAGE_BYTES = 10 * 1024 * 1024
PUSH_JOB = "apple.push_passes"
RERENDER_JOB = "passes.rerender_template"
RERENDER_BATCH = 500
RERENDER_CHAINS = 8  # segments of a template re-rendered side by side
GOOGLE_SYNC_JOB = "google.sync_passes"
DESIGNS_KEY = "passmint.wallet.designs"
VERSIONS_KEY = "passmint.passes.versions"
MAX_MESSAGE_HEADER = 100
MAX_MESSAGE_BODY = 1000
# The pass.json identity of a pass issued to Google Wallet only (no Apple credentials): it
# is rendered all the same, to check the data and to see what changed, but never signed.
UNASSIGNED_PASS_TYPE = "pass.passmint.unassigned"  # noqa: S105 - an identifier
UNASSIGNED_TEAM = "UNASSIGNED"


@dataclass(frozen=True)
class PassContext:
    """What the pass service needs besides its arguments (built by transport code)."""

    session: AsyncSession
    tenant_id: uuid.UUID
    now: datetime
    box: SecretBox
    hasher: TokenHasher
    credentials: CredentialCache
    web_service_url: str
    public_url: str = "http://localhost:8000"
    google_origins: tuple[str, ...] = ()
    google_accounts: AccountCache = field(default_factory=AccountCache)
    # Inserts a new pass at Google before its save link is handed out, when the link can
    # only reference the object (see passmint.passes.google.tasks.publish_on_issue).
    google_publisher: GooglePublisher | None = None
    # The tenant quotas' defaults (None: no quotas), checked before passes, templates,
    # images and codes are created (passmint.tenants.quotas).
    quotas: QuotaLimits | None = None


GooglePublisher = Callable[[PassContext, Pass, Template, TemplateVersion], Awaitable[None]]


# -- images ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckedImage:
    """An uploaded PNG every pixel of which decoded (:func:`check_image`)."""

    data: bytes
    width: int
    height: int


async def check_image(data: bytes) -> CheckedImage:
    """Decode an upload in full (a truncated file is refused now, not when a template uses
    it), off the event loop (:mod:`kit.offload`). Call it before the write transaction
    opens: on SQLite that transaction holds the database's one write lock."""
    if len(data) > MAX_IMAGE_BYTES:
        raise InvalidInput(f"images are limited to {MAX_IMAGE_BYTES // (1024 * 1024)} MB")
    width, height = await offload.run(check_png, data, path="upload")  # raises ImageError
    return CheckedImage(data, width, height)


async def upload_image(ctx: PassContext, image: CheckedImage | bytes) -> Asset:
    """Store a PNG (checked here unless :func:`check_image` checked it already)."""
    checked = image if isinstance(image, CheckedImage) else await check_image(image)
    data, width, height = checked.data, checked.width, checked.height
    await quotas.take(ctx.session, ctx.tenant_id, ctx.quotas, Quota.IMAGES)
    asset = Asset(
        id=uuid7(),
        tenant_id=ctx.tenant_id,
        sha256=hashlib.sha256(data).hexdigest(),
        content_type="image/png",
        width=width,
        height=height,
        data=data,
        created_at=ctx.now,
    )
    stored = await repository.store_asset(ctx.session, asset)
    if stored.id != asset.id:  # the same image again: no new one to count
        quotas.give_back(ctx.session, ctx.tenant_id, Quota.IMAGES)
    return stored


async def design_assets(ctx: PassContext, design: TemplateDesign) -> dict[str, bytes]:
    """The uploaded images ``design`` refers to, by id (reads only)."""
    wanted: set[str] = set()
    for value in design.images.model_dump(exclude_none=True).values():
        wanted.add(str(value))
    for images in (design.localized_images or {}).values():
        wanted.update(str(v) for v in images.values())
    ids: list[uuid.UUID] = []
    for text in sorted(wanted):
        try:
            ids.append(uuid.UUID(text))
        except ValueError:
            raise ImageNotFound(f"image {text!r} is not an uploaded image id") from None
    found = await repository.assets_by_id(ctx.session, ctx.tenant_id, ids)
    missing = [str(i) for i in ids if i not in found]
    if missing:
        raise ImageNotFound(f"no uploaded image with id {', '.join(missing)}")
    return {str(i): a.data for i, a in found.items()}


async def _store_files(ctx: PassContext, files: dict[str, bytes]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, data in sorted(files.items()):
        asset = await repository.store_asset(
            ctx.session,
            Asset(
                tenant_id=ctx.tenant_id,
                sha256=hashlib.sha256(data).hexdigest(),
                content_type="image/png" if name.endswith(".png") else "text/plain",
                width=None,
                height=None,
                data=data,
                created_at=ctx.now,
            ),
        )
        out[name] = asset.sha256
    return out


# -- templates -------------------------------------------------------------------------------


@dataclass(frozen=True)
class CompiledDesign:
    """A design checked and rendered for a style: its bundle files (:func:`compile_design`)."""

    style: PassStyle
    design: TemplateDesign
    files: dict[str, bytes]


async def compile_design(
    style: PassStyle, design: TemplateDesign, assets: Mapping[str, bytes]
) -> CompiledDesign:
    """Check ``design`` and render its images (``assets``: :func:`design_assets`) off the
    event loop, a few at a time (:mod:`kit.offload`). Needs no session: call it before the
    write transaction that stores the template opens (on SQLite that transaction holds the
    database's one write lock), and hand the result to :func:`create_template` or
    :func:`update_template`."""
    files = await offload.run(_design_files, design, style, assets)
    return CompiledDesign(style, design, files)


async def _compile_design(
    ctx: PassContext, style: PassStyle, design: TemplateDesign, compiled: CompiledDesign | None
) -> dict[str, str]:
    if compiled is None or compiled.design is not design or compiled.style is not style:
        compiled = await compile_design(style, design, await design_assets(ctx, design))
    return await _store_files(ctx, compiled.files)


def _design_files(
    design: TemplateDesign, style: PassStyle, assets: Mapping[str, bytes]
) -> dict[str, bytes]:
    problems = errors_only(
        validate_design(design, style, assets=assets) + validate_design_for_google(design, style)
    )
    if problems:
        raise DesignError(problems)
    return render_files(design, style, assets)


async def create_template(
    ctx: PassContext,
    *,
    name: str,
    style: PassStyle,
    design: TemplateDesign,
    compiled: CompiledDesign | None = None,
) -> tuple[Template, TemplateVersion]:
    """``compiled``: :func:`compile_design` of this style and design, done beforehand."""
    await quotas.take(ctx.session, ctx.tenant_id, ctx.quotas, Quota.TEMPLATES)
    files = await _compile_design(ctx, style, design, compiled)
    template = Template(
        tenant_id=ctx.tenant_id,
        name=name,
        style=style.value,
        version=1,
        created_at=ctx.now,
        updated_at=ctx.now,
    )
    ctx.session.add(template)
    await ctx.session.flush()
    version = TemplateVersion(
        template_id=template.id,
        version=1,
        design=design.model_dump(mode="json", exclude_none=True),
        files=files,
        created_at=ctx.now,
    )
    ctx.session.add(version)
    await ctx.session.flush()
    return template, version


async def get_template(
    ctx: PassContext, template_id: uuid.UUID
) -> tuple[Template, TemplateVersion]:
    template = await repository.get_template(ctx.session, ctx.tenant_id, template_id)
    if template is None:
        raise TemplateNotFound(f"no template {template_id}")
    version = await repository.get_template_version(ctx.session, template.id, template.version)
    assert version is not None
    return template, version


async def update_template(
    ctx: PassContext,
    template_id: uuid.UUID,
    *,
    name: str | None,
    design: TemplateDesign | None,
    compiled: CompiledDesign | None = None,
) -> tuple[Template, TemplateVersion]:
    """``compiled``: :func:`compile_design` of the template's style and this design."""
    template = await repository.get_template(ctx.session, ctx.tenant_id, template_id, lock=True)
    if template is None:
        raise TemplateNotFound(f"no template {template_id}")
    current = await repository.get_template_version(ctx.session, template.id, template.version)
    assert current is not None
    if name is not None:
        template.name = name
    if design is None:
        template.updated_at = ctx.now
        return template, current
    files = await _compile_design(ctx, PassStyle(template.style), design, compiled)
    template.version += 1
    template.updated_at = ctx.now
    version = TemplateVersion(
        template_id=template.id,
        version=template.version,
        design=design.model_dump(mode="json", exclude_none=True),
        files=files,
        created_at=ctx.now,
    )
    ctx.session.add(version)
    await ctx.session.flush()
    await enqueue(
        ctx.session,
        RERENDER_JOB,
        {"tenant_id": str(ctx.tenant_id), "template_id": str(template.id), "step": "plan"},
        now=ctx.now,
    )
    return template, version


# -- rendering -------------------------------------------------------------------------------


class PassFields(Protocol):
    """What rendering reads of a pass: a :class:`Pass` or a re-render batch's row."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def serial_number(self) -> str: ...
    @property
    def pass_type_id(self) -> str | None: ...
    @property
    def data(self) -> dict[str, Any]: ...
    @property
    def status(self) -> str: ...
    @property
    def auth_token_enc(self) -> bytes: ...
    @property
    def download_token(self) -> str: ...


def builtins(ctx: PassContext, pass_: PassFields) -> dict[str, Any]:
    """What every pass's data holds besides its own: its serial number, id and link (where
    a survey's answer buttons lead)."""
    return {
        "serial_number": pass_.serial_number,
        "pass_id": str(pass_.id),
        PASS_URL: pass_link(ctx, pass_),
    }


def pass_link(ctx: PassContext, pass_: PassFields) -> str:
    """The pass's own page (its landing page; the URL is the secret)."""
    return f"{ctx.public_url}/p/{pass_.download_token}"


@dataclass(frozen=True)
class Rendered:
    pass_json: dict[str, Any]
    files: Mapping[str, str]  # bundle name -> asset sha256: the template version's files
    content_hash: str


def _versions(session: AsyncSession) -> dict[tuple[uuid.UUID, int], TemplateVersion]:
    """Template versions the transaction has read, by (template id, version): they never
    change, so a pass issued and then described reads its version once."""
    return transaction_cache(session, VERSIONS_KEY)


def parsed_design(ctx: PassContext, version: TemplateVersion) -> TemplateDesign:
    """A template version's design, parsed once per transaction (a re-render batch renders
    hundreds of passes of one version)."""
    return _compiled(ctx, version).design


@dataclass(frozen=True)
class _Compiled:
    design: TemplateDesign
    files_json: str  # the version's file list as the content hash serializes it

    @functools.cached_property
    def strings(self) -> dict[str, dict[str, str]]:
        """The version's pass.strings tables by bundle path: a change message may be one of
        their keys (its translations then carry the %@)."""
        tables = localization_tables(self.design)
        return {f"{lang}.lproj/pass.strings": table for lang, table in tables.items()}


def _compiled(ctx: PassContext, version: TemplateVersion) -> _Compiled:
    cache: dict[uuid.UUID, _Compiled] = ctx.session.info.setdefault(DESIGNS_KEY, {})
    compiled = cache.get(version.id)
    if compiled is None:
        try:
            design = parse_design(version.design)
        except DesignError as exc:  # stored under older rules: a clear 409, never a 500
            raise StoredDesignInvalid(
                f"template {version.template_id} version {version.version} was saved under "
                "older rules and no longer validates: save its design again",
                details={"problems": [str(p) for p in exc.problems]},
            ) from None
        compiled = cache[version.id] = _Compiled(
            design, json.dumps(version.files, sort_keys=True, ensure_ascii=False)
        )
    return compiled


def render(
    ctx: PassContext,
    pass_: PassFields,
    version: TemplateVersion,
    style: PassStyle,
    credential: AppleCredential | None,
) -> Rendered:
    """The pass's pass.json; a pass without a pass type (Google Wallet only) or rendered
    without ``credential`` gets a placeholder identity."""
    token = ctx.box.decrypt(pass_.auth_token_enc, purpose=f"pass-token:{pass_.id}").decode()
    compiled = _compiled(ctx, version)
    if credential is not None and pass_.pass_type_id is not None:
        identity = (credential.pass_type_id, credential.team_id)
    else:
        identity = (UNASSIGNED_PASS_TYPE, UNASSIGNED_TEAM)
    pass_json = render_pass_json(
        compiled.design,
        style,
        {**pass_.data, **builtins(ctx, pass_)},
        serial_number=pass_.serial_number,
        pass_type_identifier=identity[0],
        team_identifier=identity[1],
        web_service_url=ctx.web_service_url,
        authentication_token=token,
        voided=pass_.status == "voided",
    )
    return Rendered(pass_json, version.files, content_hash(pass_json, compiled.files_json))


def content_hash(pass_json: dict[str, Any], files_json: str) -> str:
    """SHA-256 of ``json.dumps([pass_json, files], sort_keys=True, ensure_ascii=False)``,
    with the files' part serialized once per template version instead of once per pass
    (the same bytes: a list is its items' JSON joined by ", ")."""
    text = json.dumps(pass_json, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(f"[{text}, {files_json}]".encode()).hexdigest()


def _next_modified(previous: datetime | None, now: datetime) -> datetime:
    """HTTP dates have whole seconds: keep a pass's Last-Modified strictly increasing."""
    candidate = now.replace(microsecond=0)
    if previous is not None and candidate <= previous:
        candidate = previous + timedelta(seconds=1)
    return candidate


TAGS_KEY = "passmint.passes.deferred_tags"
TAG_ROWS_KEY = "passmint.passes.deferred_tag_rows"


def _tag_counter(pass_type_id: str | None) -> str | None:
    """The update-tag counter of a pass type; None for a pass no Apple device can hold."""
    return f"apple:{pass_type_id}" if pass_type_id is not None else None


def _defer_tag(session: AsyncSession, pass_: Pass) -> None:
    counter = _tag_counter(pass_.pass_type_id)
    if counter is None:  # Google Wallet only: no device polls for it
        return
    pending: dict[str, list[Pass]] = session.info.setdefault(TAGS_KEY, {})
    pending.setdefault(counter, []).append(pass_)


def _defer_rows(session: AsyncSession, counter: str, rows: list[repository.Rerendered]) -> None:
    """Re-rendered rows are written set-based, with their tag, at commit."""
    pending: dict[str, list[repository.Rerendered]] = session.info.setdefault(TAG_ROWS_KEY, {})
    pending.setdefault(counter, []).extend(rows)


@before_commit
async def assign_update_tags(session: AsyncSession) -> None:
    """Give every pass this transaction changed its update tag: one counter bump per pass
    type, taken by the unit of work just before it commits. The counter row is then locked
    only for the tagged writes and the commit (tags stay in commit order, so a device never
    skips a change) instead of from the first change to the end of the transaction. A
    re-render batch's set-based write of its rows runs under that lock: one statement."""
    pending: dict[str, list[Pass]] = session.info.pop(TAGS_KEY, {})
    rows: dict[str, list[repository.Rerendered]] = session.info.pop(TAG_ROWS_KEY, {})
    if pending or rows:
        await session.flush()  # the rest goes out before the counter's lock is taken
    for counter in sorted(pending.keys() | rows.keys()):  # one lock order for every transaction
        tag = await repository.next_tag(session, counter)
        for pass_ in pending.get(counter, ()):
            pass_.update_tag = tag
        await repository.store_rerendered(session, rows.get(counter, []), tag)


@event.listens_for(Session, "before_commit")
def _tags_assigned(session: Session) -> None:
    if session.info.get(TAGS_KEY) or session.info.get(TAG_ROWS_KEY):
        raise RuntimeError("passes changed without update tags: call assign_update_tags first")


def _apply(
    ctx: PassContext,
    pass_: Pass,
    rendered: Rendered,
    *,
    template_version: int,
) -> bool:
    """Store a new rendering if it changed; bump the version and Last-Modified; the update
    tag follows at commit (:func:`assign_update_tags`)."""
    pass_.template_version = template_version
    if rendered.content_hash == pass_.content_hash:
        return False
    pass_.content_hash = rendered.content_hash
    pass_.version += 1
    _defer_tag(ctx.session, pass_)
    pass_.last_modified = _next_modified(pass_.last_modified, ctx.now)
    return True


async def _validated(ctx: PassContext, rendered: Rendered, version: TemplateVersion) -> None:
    """Render-time check: the data may break a pass.json rule the design alone could not
    (a date that is not a date, a barcode message too long ...). The images and strings
    files are the template version's, checked when the template was saved."""
    strings = _compiled(ctx, version).strings
    problems = errors_only(validate_pass_json(rendered.pass_json, strings=strings))
    if problems:
        raise InvalidPass(problems)


# -- placeholders ----------------------------------------------------------------------------

ProviderSource = Callable[
    ["PassContext", Collection[uuid.UUID]], Awaitable[dict[uuid.UUID, list[usage.Provider]]]
]
_PROVIDER_SOURCES: list[ProviderSource] = []


def provides_pass_data(source: ProviderSource) -> ProviderSource:
    """Register a domain that writes the data of some templates' passes (the loyalty
    programs do): the template's placeholders are checked against what it fills. Domains
    above this one register themselves, so this module imports none of them."""
    _PROVIDER_SOURCES.append(source)
    return source


async def data_providers(
    ctx: PassContext, template_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, list[usage.Provider]]:
    """Who writes the pass data of each of these templates, by template id."""
    out: dict[uuid.UUID, list[usage.Provider]] = {}
    for source in _PROVIDER_SOURCES:
        for template_id, found in (await source(ctx, template_ids)).items():
            out.setdefault(template_id, []).extend(found)
    return out


MESSAGE_KEYS = frozenset({"message", "message_header"})
"""Data keys :func:`send_message` fills: a design may show them before any message."""


def template_placeholders(
    ctx: PassContext, version: TemplateVersion, providers: Sequence[usage.Provider] = ()
) -> tuple[list[usage.DesignPlaceholder], list[usage.DesignWarning]]:
    """A version's placeholders with their sources, and warnings for names no source
    provides (:func:`passmint.wallet.designs.usage.check_design`). ``providers`` write the
    data of the template's passes: the loyalty programs it backs."""
    design = parsed_design(ctx, version)
    return usage.check_design(design, later=MESSAGE_KEYS, providers=providers)


async def data_warnings(
    ctx: PassContext, passes: Sequence[Pass]
) -> dict[uuid.UUID, list[usage.DataWarning]]:
    """Per pass, the placeholders its data leaves empty in the version it is rendered with
    (:func:`passmint.wallet.designs.usage.check_data`). Not errors: the pass is valid."""
    versions = _versions(ctx.session)
    out: dict[uuid.UUID, list[usage.DataWarning]] = {}
    for pass_ in passes:
        key = (pass_.template_id, pass_.template_version)
        version = versions.get(key)
        if version is None:
            version = await repository.get_template_version(ctx.session, *key)
            assert version is not None
            versions[key] = version
        data = {**pass_.data, **builtins(ctx, pass_)}
        out[pass_.id] = usage.check_data(parsed_design(ctx, version), data, later=MESSAGE_KEYS)
    return out


# -- passes ----------------------------------------------------------------------------------


def _check_data(data: object) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise InvalidInput("data must be a JSON object")
    return data


async def _issuing_credential(
    ctx: PassContext, credential: AppleCredential | None
) -> AppleCredential | None:
    """The Apple credential a new pass is issued under (``credential``: the tenant's, read
    with the template); None when the tenant issues to Google Wallet only (the pass gets a
    pass type when Apple credentials arrive). A tenant with neither gets a 409 that names
    both."""
    if credential is not None:
        return credential
    # Storing Apple credentials holds this lock exclusively while it gives every pass
    # without a pass type the new one: held shared until commit, this pass is either
    # among those or, read again now, sees the credential.
    await repository.lock_pass_types(ctx.session, ctx.tenant_id, exclusive=False)
    credential = await apple_credential(ctx.session, ctx.tenant_id)
    if credential is None and not await _issues_on_google(ctx):
        raise CredentialsMissing(
            "this tenant has no wallet credentials: PUT /api/v1/credentials/apple (Apple "
            "Wallet) or PUT /api/v1/credentials/google (Google Wallet), or both, first",
            details={"options": ["/api/v1/credentials/apple", "/api/v1/credentials/google"]},
        )
    return credential


async def issue_pass(
    ctx: PassContext,
    *,
    template_id: uuid.UUID,
    data: dict[str, Any],
    external_id: str | None,
) -> Pass:
    # Key-share lock on the template until commit: a new version waits for this pass, or
    # this pass waits for the version and is rendered with it. Without it a pass issued
    # while the version commits could be rendered with the old one after the version's
    # re-render had passed it by. The tenant's credentials come with it (one statement).
    source = await repository.issue_source(ctx.session, ctx.tenant_id, template_id)
    if source is None:
        raise TemplateNotFound(f"no template {template_id}")
    template, version = source.template, source.version
    _versions(ctx.session)[(template.id, version.version)] = version
    google_credentials.remember(ctx.session, ctx.tenant_id, source.google)
    await quotas.take(ctx.session, ctx.tenant_id, ctx.quotas, Quota.PASSES)
    credential = await _issuing_credential(ctx, source.apple)
    token = random_token(24)
    pass_ = Pass(
        id=uuid7(),
        tenant_id=ctx.tenant_id,
        template_id=template.id,
        template_version=version.version,
        pass_type_id=credential.pass_type_id if credential is not None else None,
        serial_number=secrets.token_hex(16),
        external_id=external_id,
        auth_token_hash=ctx.hasher.hash(token),
        auth_token_enc=b"",
        download_token=random_token(24),
        data=_check_data(data),
        status="issued",
        version=1,
        content_hash="",
        update_tag=0,
        last_modified=ctx.now.replace(microsecond=0),
        created_at=ctx.now,
    )
    pass_.auth_token_enc = ctx.box.encrypt(token.encode(), purpose=f"pass-token:{pass_.id}")
    rendered = render(ctx, pass_, version, PassStyle(template.style), credential)
    await _validated(ctx, rendered, version)
    pass_.content_hash = rendered.content_hash
    ctx.session.add(pass_)
    await record(  # events have no foreign keys: one flush writes the pass and its event
        ctx.session,
        tenant_id=ctx.tenant_id,
        kind=EventKind.ISSUED,
        now=ctx.now,
        pass_id=pass_.id,
        data={"template_version": version.version},
    )
    await ctx.session.flush()
    if ctx.google_publisher is not None:  # before the tag: no shared lock held meanwhile
        await ctx.google_publisher(ctx, pass_, template, version)
    _defer_tag(ctx.session, pass_)
    await sync_google(ctx, [pass_.id])
    return pass_


async def list_templates(
    ctx: PassContext, after: uuid.UUID | None, limit: int
) -> list[tuple[Template, TemplateVersion]]:
    return await repository.list_templates(ctx.session, ctx.tenant_id, after, limit)


async def list_passes(
    ctx: PassContext,
    *,
    template_id: uuid.UUID | None,
    external_id: str | None,
    after: uuid.UUID | None,
    limit: int,
) -> list[Pass]:
    return await repository.list_passes(
        ctx.session,
        ctx.tenant_id,
        template_id=template_id,
        external_id=external_id,
        after=after,
        limit=limit,
    )


async def pass_by_download_token(session: AsyncSession, token: str) -> Pass:
    """The pass behind a public download link (the token is the secret)."""
    pass_ = await repository.pass_by_download_token(session, token)
    if pass_ is None:
        raise PassNotFound("no such pass")
    return pass_


async def public_image(session: AsyncSession, asset_id: uuid.UUID) -> Asset:
    asset = await repository.public_asset(session, asset_id)
    if asset is None:
        raise ImageNotFound("no such image")
    return asset


def offers_apple(pass_: Pass) -> bool:
    """Whether the pass is an Apple pass (.pkpass): not while its tenant issues to Google
    Wallet only."""
    return pass_.pass_type_id is not None


@dataclass(frozen=True)
class LandingInfo:
    pass_: Pass
    organization: str
    description: str
    background: str | None
    foreground: str | None
    apple: bool  # offers the .pkpass (see offers_apple)


async def landing_info(ctx: PassContext, pass_: Pass) -> LandingInfo:
    """What the pass's landing page shows: who issues it, its colours, whether it is an
    Apple pass."""
    version = await repository.get_template_version(
        ctx.session, pass_.template_id, pass_.template_version
    )
    assert version is not None
    design = parsed_design(ctx, version)
    data = {**pass_.data, **builtins(ctx, pass_)}
    return LandingInfo(
        pass_=pass_,
        organization=render_text(design.organization_name, data),
        description=render_text(design.description, data),
        background=color_hex(design.colors.background) if design.colors.background else None,
        foreground=color_hex(design.colors.foreground) if design.colors.foreground else None,
        apple=offers_apple(pass_),
    )


async def get_pass(ctx: PassContext, pass_id: uuid.UUID, *, lock: bool = False) -> Pass:
    if lock:
        pass_ = await repository.get_pass(ctx.session, ctx.tenant_id, pass_id, lock=True)
    else:  # a pass this transaction issued or read is described without a statement
        pass_ = await repository.pass_by_id(ctx.session, ctx.tenant_id, pass_id)
    if pass_ is None:
        raise PassNotFound(f"no pass {pass_id}")
    return pass_


async def _credential_of(ctx: PassContext, pass_type_id: str | None) -> AppleCredential | None:
    """The Apple credential a pass of this pass type is signed with (None: Google only)."""
    if pass_type_id is None:
        return None
    return await require_credential(ctx.session, ctx.tenant_id)


async def refresh_pass(
    ctx: PassContext, pass_: Pass, *, reason: str, message: dict[str, str] | None = None
) -> bool:
    """Re-render against the template's newest version; push if the pass changed. A
    ``message`` ({header, body}) also goes to Google Wallet's addMessage."""
    template, version = await get_template(ctx, pass_.template_id)
    credential = await _credential_of(ctx, pass_.pass_type_id)
    rendered = render(ctx, pass_, version, PassStyle(template.style), credential)
    if rendered.content_hash != pass_.content_hash:
        await _validated(ctx, rendered, version)
    changed = _apply(ctx, pass_, rendered, template_version=version.version)
    if changed:
        data: dict[str, Any] = {"version": pass_.version, "reason": reason}
        if message is not None:
            data["header"] = message["header"]
        await record(
            ctx.session,
            tenant_id=ctx.tenant_id,
            kind=EventKind.UPDATED,
            now=ctx.now,
            pass_id=pass_.id,
            data=data,
        )
        if offers_apple(pass_):  # else no Apple device holds it
            await push_later(ctx, [pass_.id])
    if changed or message is not None:
        await sync_google(ctx, [pass_.id], message=message)
    return changed


async def push_later(ctx: PassContext, pass_ids: list[uuid.UUID]) -> None:
    """Push every device of these passes after commit (:mod:`passmint.passes.apple.push`)."""
    if pass_ids:
        await enqueue(ctx.session, PUSH_JOB, {"pass_ids": [str(i) for i in pass_ids]},
                      now=ctx.now)  # fmt: skip


async def _issues_on_google(ctx: PassContext) -> bool:
    """Whether the tenant has a Google issuer, asked once per transaction."""
    return await google_credentials.transaction_credential(ctx.session, ctx.tenant_id) is not None


async def sync_google(
    ctx: PassContext, pass_ids: list[uuid.UUID], *, message: dict[str, str] | None = None
) -> bool:
    """Send passes (and a message) to Google Wallet after commit, if the tenant issues there."""
    if not pass_ids or not await _issues_on_google(ctx):
        return False
    payload: dict[str, Any] = {
        "tenant_id": str(ctx.tenant_id),
        "pass_ids": [str(i) for i in pass_ids],
    }
    if message is not None:  # one id for every attempt: a retry cannot post it twice
        payload["message"] = {**message, "id": f"pm-{uuid7().hex}"}
    await enqueue(ctx.session, GOOGLE_SYNC_JOB, payload, now=ctx.now)
    return True


async def send_message(ctx: PassContext, pass_id: uuid.UUID, header: str, body: str) -> Pass:
    """A lock-screen message: Google's addMessage (notifying within the 24 h budget), and
    on Apple the pass's ``message`` data changes (a design field ``{{ message }}`` with a
    change message shows it on the lock screen)."""
    header, body = header.strip(), body.strip()
    if not header or not body:
        raise InvalidInput("a message needs a header and a body")
    if len(header) > MAX_MESSAGE_HEADER or len(body) > MAX_MESSAGE_BODY:
        raise InvalidInput(
            f"message header is limited to {MAX_MESSAGE_HEADER} characters and the body "
            f"to {MAX_MESSAGE_BODY}"
        )
    pass_ = await get_pass(ctx, pass_id, lock=True)
    if pass_.status == "voided":
        raise PassVoided("a voided pass takes no messages")
    pass_.data = {**pass_.data, "message": body, "message_header": header}
    changed = await refresh_pass(
        ctx, pass_, reason="message", message={"header": header, "body": body}
    )
    # Recorded whether or not the Apple pass changed (its design may show no message): the
    # pass's history says what was sent, and whether Apple devices got a new version.
    await record(
        ctx.session,
        tenant_id=ctx.tenant_id,
        kind=EventKind.MESSAGED,
        now=ctx.now,
        pass_id=pass_.id,
        data={"header": header, "body": body, "pass_changed": changed},
    )
    return pass_


async def update_pass(ctx: PassContext, pass_id: uuid.UUID, patch: dict[str, Any]) -> Pass:
    pass_ = await get_pass(ctx, pass_id, lock=True)
    if pass_.status == "voided":
        raise PassVoided("a voided pass cannot change")
    merged = dict(pass_.data)
    for key, value in _check_data(patch).items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    check_json_object(merged, PASS_DATA, "data")  # patches must not grow it past the limits
    pass_.data = merged
    await refresh_pass(ctx, pass_, reason="data")
    return pass_


async def void_pass(ctx: PassContext, pass_id: uuid.UUID) -> Pass:
    pass_ = await get_pass(ctx, pass_id, lock=True)
    if pass_.status == "voided":
        return pass_
    pass_.status = "voided"
    pass_.voided_at = ctx.now
    await refresh_pass(ctx, pass_, reason="voided")
    await record(
        ctx.session, tenant_id=ctx.tenant_id, kind=EventKind.VOIDED, now=ctx.now, pass_id=pass_.id
    )
    return pass_


async def signed_bundle(ctx: PassContext, pass_: Pass) -> bytes:
    """The signed .pkpass at the pass's current version, from the cache or built now."""
    if not offers_apple(pass_):
        raise ApplePassUnavailable(
            "this pass is in Google Wallet only: its issuer has no Apple Wallet credentials"
        )
    cached = await repository.cached_bundle(ctx.session, pass_.id, pass_.version)
    if cached is not None:
        return cached
    template = await repository.get_template(ctx.session, ctx.tenant_id, pass_.template_id)
    version = await repository.get_template_version(
        ctx.session, pass_.template_id, pass_.template_version
    )
    assert template is not None
    assert version is not None
    credential = await require_credential(ctx.session, ctx.tenant_id)
    rendered = render(ctx, pass_, version, PassStyle(template.style), credential)
    files = await repository.assets_by_sha(
        ctx.session, ctx.tenant_id, list(rendered.files.values())
    )
    bundle = PassTemplate(
        rendered.pass_json, {n: files[s] for n, s in rendered.files.items()}
    ).build(ctx.credentials.signer(credential, ctx.box, ctx.now), signing_time=ctx.now)
    await repository.store_bundle(
        ctx.session,
        PassBundle(pass_id=pass_.id, version=pass_.version, data=bundle, created_at=ctx.now),
    )
    return bundle


async def download(ctx: PassContext, pass_: Pass, *, user_agent: str | None, via: str) -> bytes:
    """The signed pass for a customer or a device, recorded in the event log."""
    data = await signed_bundle(ctx, pass_)
    client = parse_user_agent(user_agent)
    await record(
        ctx.session,
        tenant_id=pass_.tenant_id,
        kind=EventKind.DOWNLOADED,
        now=ctx.now,
        pass_id=pass_.id,
        platform=client.platform,
        device_model=client.device_model,
        data={"via": via, "version": pass_.version, "os_version": client.os_version},
    )
    return data


Range = tuple[uuid.UUID | None, uuid.UUID | None]  # (after, upto]; None: unbounded


async def plan_rerender(ctx: PassContext, template_id: uuid.UUID) -> list[Range]:
    """Split a template's passes into up to ``RERENDER_CHAINS`` segments. Each is re-rendered
    by a chain of batch jobs (a batch commits, then enqueues its push job and the chain's
    next batch), so worker processes render side by side while the pushes of committed
    batches go out between them, rather than after every batch of the template. The last
    segment is open-ended: it also takes passes issued meanwhile."""
    bounds = await repository.segment_bounds(
        ctx.session, ctx.tenant_id, template_id, RERENDER_CHAINS, RERENDER_BATCH
    )
    starts: list[uuid.UUID | None] = [None, *bounds]
    ends: list[uuid.UUID | None] = [*bounds, None]
    return list(zip(starts, ends, strict=True))


async def rerender_template_batch(
    ctx: PassContext,
    template_id: uuid.UUID,
    after: uuid.UUID | None,
    upto: uuid.UUID | None = None,
) -> uuid.UUID | None:
    """Re-render one batch of a template's passes in ``(after, upto]`` against its newest
    version; returns where the range goes on (None when it is done).

    Rows are read without ORM objects and written set-based at commit with their update
    tag (:func:`assign_update_tags`): one statement for the batch instead of two per pass.
    """
    # Rows first, then the template: a batch that holds a pass's lock reads a template at
    # least as new as the one of any batch that wrote the pass before it, so a batch of an
    # older version that was slow to start never renders a pass back to that version.
    rows = await repository.passes_to_rerender(
        ctx.session, ctx.tenant_id, template_id, after=after, upto=upto, limit=RERENDER_BATCH
    )
    template, version = await get_template(ctx, template_id)
    # Only Apple passes need the credential; a tenant's passes all have its pass type or,
    # issued to Google Wallet only, none (they all get it when Apple credentials arrive).
    apple = next((row.pass_type_id for row in rows if row.pass_type_id is not None), None)
    credential = await _credential_of(ctx, apple)
    style = PassStyle(template.style)
    changed: dict[str | None, list[repository.Rerendered]] = {}
    followers: list[uuid.UUID] = []  # unchanged, but now of the newest version
    events: list[dict[str, Any]] = []
    for row in rows:
        if row.template_version > version.version:  # never back (a guard; see above)
            continue
        rendered = render(ctx, row, version, style, credential)
        if rendered.content_hash == row.content_hash:
            if row.template_version < version.version:
                followers.append(row.id)
            continue
        new = repository.Rerendered(
            id=row.id,
            content_hash=rendered.content_hash,
            version=row.version + 1,
            last_modified=_next_modified(row.last_modified, ctx.now),
            template_version=version.version,
        )
        changed.setdefault(_tag_counter(row.pass_type_id), []).append(new)
        events.append(
            {
                "tenant_id": ctx.tenant_id,
                "pass_id": row.id,
                "kind": EventKind.UPDATED.value,
                "created_at": ctx.now,
                "data": {"version": new.version, "reason": "template",
                         "template_version": version.version},
            }
        )  # fmt: skip
    for counter, renderings in changed.items():
        if counter is None:  # Google Wallet only: no update tag, no device to push
            await repository.store_rerendered(ctx.session, renderings, None)
        else:
            _defer_rows(ctx.session, counter, renderings)
    await repository.set_template_version(ctx.session, followers, version.version)
    await record_many(ctx.session, events)
    await push_later(ctx, [r.id for tag, renderings in changed.items() if tag for r in renderings])
    await sync_google(ctx, [row.id for row in rows])  # the class changed for them all
    more = len(rows) == RERENDER_BATCH and rows[-1].id != upto
    return rows[-1].id if more else None
