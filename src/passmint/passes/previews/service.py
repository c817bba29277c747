"""The pass designer's services: a live preview of a design, the placeholders a design can
use with sample values, and a design started from one of the gallery's starters.

:func:`preview` renders with the renderers that build real passes
(:func:`passmint.wallet.designs.preview.render_preview`), for one tenant: the images a
design names must be the tenant's uploads (their stored sizes are checked against their
slots, their bytes are not read), the loyalty programs backing ``template_id`` count as
filling their placeholders, and the pass is rendered with this server's web service and
image URLs. No credentials are needed. Reads only: a preview changes nothing.
"""

from __future__ import annotations

import copy
import uuid
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Final

from passmint.errors import PassmintError
from passmint.models import Template, TemplateVersion
from passmint.passes import repository as pass_repository
from passmint.passes import service
from passmint.passes.errors import TemplateNotFound
from passmint.passes.previews import repository
from passmint.passes.service import MESSAGE_KEYS, CheckedImage, PassContext
from passmint.wallet.apple.images import png_size
from passmint.wallet.apple.styles import PassStyle
from passmint.wallet.designs import placeholders, usage
from passmint.wallet.designs.barcodes import draw
from passmint.wallet.designs.gallery import ProgramKind, gallery, starter
from passmint.wallet.designs.preview import Preview, PreviewAsset, pointer, render_preview
from passmint.wallet.designs.render_apple import make_sample_data
from passmint.wallet.designs.restyle import Restyled, restyle
from passmint.wallet.designs.salvage import salvage
from passmint.wallet.designs.schemas import parse_design

__all__ = [
    "PlaceholderOption",
    "Restyling",
    "StartedDesign",
    "StarterNotFound",
    "available_placeholders",
    "copy_template",
    "create_from_starter",
    "gallery",
    "preview",
    "qr_svg",
    "restyle_template",
    "start_from_starter",
]

MAX_IMAGES: Final = 120
"""Distinct image ids of one design looked up (6 slots in 20 languages); more are unknown."""

GENERIC_SAMPLES: Final[Mapping[str, str | int]] = {
    "points": 1250,
    "stamps": 6,
    "pending": 0,
    "currency_name": "points",
    "card_number": "412345678903",
    "referral_code": "ADA-7Q2M",
    "tier": "Silver",
    "tier_key": "silver",
    "next_tier": "Gold",
    "points_to_next_tier": 750,
    "next_reward": "Free coffee",
    "points_to_next_reward": 250,
    "name": "Ada Lovelace",
    "message": "Your reward is waiting at the counter",
    "message_header": "Good news",
}
"""Sample values of names programs and messages fill, where a program gives none."""


class StarterNotFound(PassmintError):
    """No starter design has this slug (see the gallery)."""

    code: ClassVar[str] = "starter_not_found"
    status: ClassVar[int] = 404


# -- previews -------------------------------------------------------------------------------


def _image_ids(design: Mapping[str, Any]) -> list[uuid.UUID]:
    """The uploaded-image ids the design names (its JSON may be malformed: anything that is
    not an id is left to the preview to report)."""
    values: list[object] = []
    images = design.get("images")
    if isinstance(images, Mapping):
        values += images.values()
    localized = design.get("localized_images")
    if isinstance(localized, Mapping):
        for table in localized.values():
            if isinstance(table, Mapping):
                values += table.values()
    ids: dict[uuid.UUID, None] = {}
    for value in values:
        if isinstance(value, str) and len(value) <= 64:
            try:
                ids[uuid.UUID(value)] = None
            except ValueError:
                continue
    return list(ids)[:MAX_IMAGES]


class _Sizes:
    """Pixel sizes of uploaded images by (tenant, asset id), kept by this process: an upload
    never changes and is never deleted, so what was found stays true (what was not found is
    asked again: it may have been uploaded since). A designer previews the same images again
    and again; this spares each preview a query."""

    def __init__(self, limit: int = 8192) -> None:
        self.limit = limit
        self.known: OrderedDict[tuple[uuid.UUID, uuid.UUID], tuple[int | None, int | None]] = (
            OrderedDict()
        )

    async def get(
        self, ctx: PassContext, ids: list[uuid.UUID]
    ) -> dict[uuid.UUID, tuple[int | None, int | None]]:
        found: dict[uuid.UUID, tuple[int | None, int | None]] = {}
        for asset_id in ids:
            size = self.known.get((ctx.tenant_id, asset_id))
            if size is not None:
                found[asset_id] = size
        wanted = [asset_id for asset_id in ids if asset_id not in found]
        if wanted:
            fresh = await repository.image_sizes(ctx.session, ctx.tenant_id, wanted)
            for asset_id, size in fresh.items():
                self.known[(ctx.tenant_id, asset_id)] = size
                found[asset_id] = size
            while len(self.known) > self.limit:
                self.known.popitem(last=False)
        return found


_SIZES = _Sizes()


async def _providers(ctx: PassContext, template_id: uuid.UUID | None) -> list[usage.Provider]:
    if template_id is None:
        return []
    # 404 when it is not the tenant's (the template row only: its version is not needed)
    if await pass_repository.get_template(ctx.session, ctx.tenant_id, template_id) is None:
        raise TemplateNotFound(f"no template {template_id}")
    return (await service.data_providers(ctx, [template_id])).get(template_id, [])


async def preview(
    ctx: PassContext,
    *,
    style: PassStyle,
    design: Mapping[str, Any],
    sample_data: Mapping[str, Any] | None = None,
    language: str | None = None,
    template_id: uuid.UUID | None = None,
) -> Preview:
    """The preview of ``design`` (its JSON, valid or not) as ``style``, with ``sample_data``
    over generated values, in ``language`` (one of the design's, None: its own texts).
    ``template_id`` (optional): the template being edited, whose loyalty programs fill
    placeholders; raises TemplateNotFound when the tenant has no such template. Problems
    are the answer, never an exception."""
    providers = await _providers(ctx, template_id)
    sizes = await _SIZES.get(ctx, _image_ids(design))
    https = ctx.public_url.startswith("https://")
    assets: dict[str, PreviewAsset] = {}
    for asset_id, (width, height) in sizes.items():
        url = f"{ctx.public_url}/i/{asset_id}.png"
        assets[str(asset_id)] = PreviewAsset(url, url if https else None, width, height)
    return render_preview(
        design,
        style,
        now=ctx.now,
        sample_data=sample_data,
        language=language,
        assets=assets,
        providers=providers,
        later=MESSAGE_KEYS,
        web_service_url=ctx.web_service_url,
        google_callback_url=f"{ctx.public_url}/google/callbacks",
    )


# -- placeholders ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PlaceholderOption:
    """A placeholder a design can use: ``token`` is what to insert (``{{ points }}``),
    ``sample`` a plausible value, ``source`` who fills it on real passes, ``provided_by``
    the programs that do, ``used_at`` the design's JSON Pointers that use it already."""

    name: str
    token: str
    sample: str | int | float | bool | None
    source: usage.Source
    provided_by: tuple[str, ...] = ()
    used_at: tuple[str, ...] = ()


_ORDER: Final = {
    usage.Source.PROGRAM: 0,
    usage.Source.DATA: 1,
    usage.Source.BUILT_IN: 2,
    usage.Source.MESSAGE: 3,
}


def _sample(name: str, *tables: Mapping[str, Any]) -> str | int | float | bool | None:
    for table in tables:
        value = placeholders.lookup(table, name)
        if isinstance(value, str | int | float | bool):
            return value
    fallback = placeholders.lookup(placeholders.sample_data([("{{ " + name + " }}", "text")]), name)
    return fallback if isinstance(fallback, str | int | float) else None


async def available_placeholders(
    ctx: PassContext,
    *,
    template_id: uuid.UUID | None = None,
    design: Mapping[str, Any] | None = None,
    sample_data: Mapping[str, Any] | None = None,
) -> list[PlaceholderOption]:
    """What a design can put in ``{{ }}``, each with a sample value: the names the loyalty
    programs backing ``template_id`` fill (``points``, ``tier``, ``next_reward`` ...),
    the names ``design`` already uses and those of ``sample_data`` (each pass's data must
    bring them), the built-ins (``serial_number``, ``pass_id``) and what a message sets
    (``message``, ``message_header``). Programs first, then data, built-ins and messages;
    raises TemplateNotFound for a template the tenant lacks."""
    sample = dict(sample_data or {})
    uses: dict[str, tuple[str, ...]] = {}
    generated: dict[str, Any] = {}
    if design is not None:
        parsed = salvage(design).design
        if parsed is not None:
            uses = {u.name: tuple(pointer(p) for p in u.paths) for u in usage.uses(parsed)}
            generated = make_sample_data(parsed)
    found: dict[str, PlaceholderOption] = {}

    def offer(name: str, source: usage.Source, value: Any, by: tuple[str, ...] = ()) -> None:
        if name not in found:
            token = "{{ " + name + " }}"
            used = uses.get(name, ())
            found[name] = PlaceholderOption(name, token, value, source, by, used)

    providers = await _providers(ctx, template_id)
    for name in sorted({n for p in providers for n in p.names}):
        by = tuple(p.label for p in providers if name in p.names)
        samples = [p.samples for p in providers if name in p.names]
        offer(name, usage.Source.PROGRAM, _sample(name, sample, *samples, GENERIC_SAMPLES), by)
    data_names = [
        n for n in usage.data_names(sample) if placeholders.value_state(sample, n) == "plain"
    ]
    for name in [*uses, *data_names]:
        if name in placeholders.BUILTIN_NAMES or name in MESSAGE_KEYS:
            continue
        offer(name, usage.Source.DATA, _sample(name, sample, GENERIC_SAMPLES, generated))
    builtins = {"serial_number": placeholders.SAMPLE_SERIAL, "pass_id": "pass_sample"}
    for name, value in builtins.items():
        offer(name, usage.Source.BUILT_IN, _sample(name, sample, {name: value}))
    for name in sorted(MESSAGE_KEYS):
        offer(name, usage.Source.MESSAGE, _sample(name, sample, GENERIC_SAMPLES))
    return sorted(found.values(), key=lambda option: _ORDER[option.source])


# -- the gallery ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StartedDesign:
    """A design begun from a starter, its images uploaded as the tenant's: ``design`` is
    ready for ``parse_design`` and ``create_template`` (with ``style`` and ``name``)."""

    slug: str
    name: str
    style: PassStyle
    program_kind: ProgramKind
    design: dict[str, Any]
    sample_data: dict[str, Any]


async def start_from_starter(ctx: PassContext, slug: str) -> StartedDesign:
    """Upload the starter's images as the tenant's (the same image again is the stored
    one) and return its design naming them. Raises StarterNotFound; the image quota
    applies. Call it in a transaction: it writes."""
    try:
        chosen = starter(slug)
    except KeyError:
        raise StarterNotFound(f"no starter design {slug!r}") from None
    ids: dict[str, str] = {}
    for key, data in chosen.images().items():
        width, height = png_size(data)  # drawn here: nothing to decode
        asset = await service.upload_image(ctx, CheckedImage(data, width, height))
        ids[key] = str(asset.id)
    return StartedDesign(
        slug=chosen.slug,
        name=chosen.name,
        style=chosen.style,
        program_kind=chosen.program_kind,
        design=chosen.design_with(ids),
        sample_data=copy.deepcopy(dict(chosen.sample_data)),
    )


async def create_from_starter(
    ctx: PassContext, slug: str, *, name: str | None = None
) -> tuple[Template, TemplateVersion]:
    """A new template (its first version) from a starter: :func:`start_from_starter`, then
    the design checked, its images rendered and the template created under ``name`` (the
    starter's name when None). Raises StarterNotFound; the template and image quotas
    apply. Call it in a transaction: it writes."""
    started = await start_from_starter(ctx, slug)
    design = parse_design(started.design)
    compiled = await service.compile_design(
        started.style, design, await service.design_assets(ctx, design)
    )
    return await service.create_template(
        ctx, name=name or started.name, style=started.style, design=design, compiled=compiled
    )


@dataclass(frozen=True, slots=True)
class Restyling:
    """A template's current design made ready for another style: checked and its images
    rendered, so that only storing it is left (:func:`copy_template`)."""

    style: PassStyle
    compiled: service.CompiledDesign
    restyled: Restyled


async def restyle_template(ctx: PassContext, template_id: uuid.UUID, style: PassStyle) -> Restyling:
    """The current design of ``template_id`` for ``style`` (a style cannot change under
    issued passes: it becomes a template of its own). What the style has no room for is
    left out, what it needs filled in (:func:`~passmint.wallet.designs.restyle.restyle`).
    Reads only, and renders off the event loop: call it before the write transaction.
    Raises TemplateNotFound, and DesignError when the design breaks a rule of the new
    style (a boarding pass's primary fields ...)."""
    _, version = await service.get_template(ctx, template_id)
    restyled = restyle(version.design, style)
    design = parse_design(restyled.design)
    compiled = await service.compile_design(style, design, await service.design_assets(ctx, design))
    return Restyling(style, compiled, restyled)


async def copy_template(
    ctx: PassContext, restyling: Restyling, *, name: str
) -> tuple[Template, TemplateVersion]:
    """A new template named ``name`` holding ``restyling`` (:func:`restyle_template`); the
    template quota applies. Writes: call it in a transaction."""
    return await service.create_template(
        ctx,
        name=name,
        style=restyling.style,
        design=restyling.compiled.design,
        compiled=restyling.compiled,
    )


def qr_svg(text: str) -> str:
    """A QR code of ``text`` (a link for a phone's camera) as an SVG element (UTF-8)."""
    return draw("qr", text, encoding="utf-8").svg
