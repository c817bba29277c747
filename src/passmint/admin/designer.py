"""The pass designer: the gallery of starters, the editor with its live preview, saving as
a new version after saying what it will reach, the history with differences and roll
back, and a test pass on the designer's own phone."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from passmint.admin import designform, previewmodel
from passmint.admin.auth import Editor, StaffDep, form_of
from passmint.admin.render import page, render_text, texts_for
from passmint.errors import PassmintError
from passmint.passes import previews, service, testpasses, uploads, versions
from passmint.passes.service import PassContext
from passmint.tenants.scopes import Scope
from passmint.wallet.apple.images import point_size, supported_images
from passmint.wallet.apple.styles import PassStyle
from passmint.wallet.designs.schemas import TemplateDesign
from passmint.web.deps import RuntimeDep

router = APIRouter(prefix="/admin/designs", include_in_schema=False)

REQUIRED_SLOTS: Final = frozenset({"icon"})


@dataclass(frozen=True, slots=True)
class Slot:
    name: str
    label: str
    required: bool
    size_hint: str
    asset: str | None
    upload_error: str | None = None


@dataclass(frozen=True, slots=True)
class ShownProblem:
    control: str
    where: str
    message: str
    severity: str = "error"


def _style_names(t: Any) -> dict[str, str]:
    return {
        "storeCard": t.gettext("Store card (loyalty, gift card)"),
        "coupon": t.gettext("Coupon"),
        "eventTicket": t.gettext("Event ticket"),
        "boardingPass": t.gettext("Boarding pass"),
        "generic": t.gettext("Generic (membership, ID)"),
    }


def _slot_labels(t: Any) -> dict[str, str]:
    return {
        "icon": t.gettext("Icon"),
        "logo": t.gettext("Logo"),
        "strip": t.gettext("Strip"),
        "background": t.gettext("Background"),
        "thumbnail": t.gettext("Thumbnail"),
        "footer": t.gettext("Footer"),
    }


def _slots(
    t: Any, style: PassStyle, design: dict[str, Any], errors: dict[str, str] | None = None
) -> list[Slot]:
    labels = _slot_labels(t)
    images = design.get("images") or {}
    shown = [name for name in designform.IMAGE_SLOTS if name in supported_images(style)]
    slots = []
    for name in shown:
        size = point_size(name, style, gift_card=bool(design.get("gift_card")))
        hint = (
            t.gettext(
                "%(w)s × %(h)s pixels at @3x (%(pw)s × %(ph)s points)",
                w=size[0] * 3,
                h=size[1] * 3,
                pw=size[0],
                ph=size[1],
            )
            if size
            else ""
        )
        slots.append(
            Slot(
                name,
                labels[name],
                name in REQUIRED_SLOTS,
                hint,
                images.get(name),
                (errors or {}).get(name),
            )
        )
    return slots


def _contrast(t: Any, design: dict[str, Any]) -> list[str]:
    colors = design.get("colors") or {}
    background = previewmodel.css_color(colors.get("background"))
    warnings = []
    for part, what in (("foreground", t.gettext("Values")), ("label", t.gettext("Labels"))):
        color = previewmodel.css_color(colors.get(part))
        if background and color:
            ratio = previewmodel.contrast_ratio(background, color)
            if ratio < 4.5:
                warnings.append(
                    t.gettext(
                        "%(what)s on the background have a contrast ratio of %(ratio)s:1; "
                        "WCAG asks for at least 4.5:1 so everyone can read them.",
                        what=what,
                        ratio=t.number(round(ratio, 2)),
                    )
                )
    return warnings


def _shown(
    problems: Sequence[previews.PreviewProblem] | Sequence[designform.FormProblem],
) -> list[ShownProblem]:
    shown: list[ShownProblem] = []
    for problem in problems:
        control = designform.control_name(problem.path)
        severity = str(getattr(problem, "severity", "error"))
        shown.append(ShownProblem(control, problem.path or "/", problem.message, severity))
    return shown


async def _preview(
    request: Request,
    ctx: PassContext,
    design: dict[str, Any],
    samples: dict[str, str],
    language: str | None,
    form_problems: list[designform.FormProblem],
    style: PassStyle,
    template_id: uuid.UUID,
) -> dict[str, Any]:
    """What the preview partial shows, from passmint's own renderers."""
    t = texts_for(request)
    result = await previews.preview(
        ctx,
        style=style,
        design=design,
        sample_data=samples,
        language=language,
        template_id=template_id,
    )
    problems = _shown(form_problems) + _shown(result.problems)
    images = {slot: urlsplit(url).path for slot, url in result.images.items()}
    pass_json = result.localized_pass_json or result.pass_json
    apple = previewmodel.apple(pass_json, images, {}, result.barcode_svg) if pass_json else None
    google = (
        previewmodel.google(
            result.google_class,
            result.google_object,
            result.barcode_svg,
            local_images={url: urlsplit(url).path for url in result.images.values()},
        )
        if result.google_class and result.google_object
        else None
    )
    return {
        "problems": problems,
        "problems_json": json.dumps(
            [{"control": p.control, "message": p.message} for p in problems]
        ),
        "apple": apple,
        "google": google,
        "contrast": _contrast(t, design),
        "preview_lang": language or "",
        "preview_dir": result.direction,
        "valid": result.valid and not form_problems,
        "control_id": designform.control_id,
    }


def _samples(form: dict[str, str]) -> dict[str, str]:
    return {
        name[len("sample.") :]: value
        for name, value in form.items()
        if name.startswith("sample.") and value
    }


async def _editor(
    request: Request,
    ctx: PassContext,
    staff: Any,
    template_id: uuid.UUID,
    *,
    design: dict[str, Any] | None = None,
    form_problems: list[designform.FormProblem] | None = None,
    samples: dict[str, str] | None = None,
    language: str | None = None,
    notice: str | None = None,
    error: str | None = None,
    status_code: int = 200,
    extra_languages: list[str] | None = None,
) -> HTMLResponse:
    t = texts_for(request)
    template, current = await service.get_template(ctx, template_id)
    style = PassStyle(template.style)
    design = design if design is not None else dict(current.design)
    languages = designform.languages_of(design) + [
        lang for lang in extra_languages or [] if lang not in designform.languages_of(design)
    ]
    placeholders = await previews.available_placeholders(
        ctx, template_id=template.id, design=design, sample_data=samples or None
    )
    # The preview starts from each placeholder's sample; the form then carries them.
    samples = {
        **{p.name: str(p.sample) for p in placeholders if p.sample is not None},
        **(samples or {}),
    }
    preview = await _preview(
        request, ctx, design, samples or {}, language, form_problems or [], style, template.id
    )
    errors = designform.flat(
        [
            designform.FormProblem(f"/{p.control.replace('.', '/')}", p.message)
            for p in preview["problems"]
        ]
    )
    transit = (
        str(design.get("transit_type") or "PKTransitTypeAir").removeprefix("PKTransitType").lower()
    )
    return page(
        request,
        "designer.html",
        status_code=status_code,
        title=template.name,
        staff=staff,
        template=template,
        design=design,
        style_names=_style_names(t),
        slots=_slots(t, style, design),
        areas=[
            ("header", t.gettext("Header fields")),
            ("primary", t.gettext("Primary fields")),
            ("secondary", t.gettext("Secondary fields")),
            ("auxiliary", t.gettext("Auxiliary fields")),
            ("back", t.gettext("Back of the pass")),
        ],
        placeholders=placeholders,
        samples=samples or {},
        design_languages=languages,
        translatable=designform.translatable(design),
        transit_short=transit,
        hex=previewmodel.css_color,
        errors=errors,
        notice=notice,
        error=error,
        **preview,
    )


@router.get("", response_class=HTMLResponse)
async def gallery(request: Request, runtime: RuntimeDep, staff: StaffDep) -> HTMLResponse:
    staff.principal.require(Scope.TEMPLATES_READ)
    async with runtime.transaction() as session:
        ctx = runtime.pass_context(session, staff.tenant_id)
        templates = await service.list_templates(ctx, after=None, limit=200)
    t = texts_for(request)
    return page(
        request,
        "designs.html",
        title=t.gettext("Designs"),
        staff=staff,
        templates=templates,
        starters=previews.gallery(),
        style_names=_style_names(t),
        can_edit=staff.can(Scope.TEMPLATES_WRITE),
    )


@router.post("/new")
async def start(request: Request, runtime: RuntimeDep, staff: Editor) -> Response:
    form = await form_of(request)
    t = texts_for(request)
    starter = form.get("starter", "")
    name = (form.get("name") or "").strip()
    async with runtime.transaction() as session:
        ctx = runtime.pass_context(session, staff.tenant_id)
        if not name:
            return page(
                request,
                "designs.html",
                status_code=422,
                title=t.gettext("Designs"),
                staff=staff,
                templates=await service.list_templates(ctx, after=None, limit=200),
                starters=previews.gallery(),
                style_names=_style_names(t),
                can_edit=True,
                error=t.gettext("Give the design a name."),
                chosen=starter,
            )
        template, _ = await previews.create_from_starter(ctx, starter, name=name)
    return RedirectResponse(f"/admin/designs/{template.id}", status_code=303)


@router.get("/{template_id}", response_class=HTMLResponse)
async def edit(
    request: Request, template_id: uuid.UUID, runtime: RuntimeDep, staff: StaffDep
) -> HTMLResponse:
    staff.principal.require(Scope.TEMPLATES_READ)
    notice = {"saved": texts_for(request).gettext("Saved as a new version.")}.get(
        request.query_params.get("done", "")
    )
    async with runtime.transaction() as session:
        ctx = runtime.pass_context(session, staff.tenant_id)
        return await _editor(request, ctx, staff, template_id, notice=notice)


@router.post("/{template_id}/preview", response_class=HTMLResponse)
async def preview(
    request: Request, template_id: uuid.UUID, runtime: RuntimeDep, staff: StaffDep
) -> HTMLResponse:
    staff.principal.require(Scope.TEMPLATES_READ)
    form = await form_of(request)
    design, form_problems = designform.design_from_form(form)
    async with runtime.transaction() as session:
        ctx = runtime.pass_context(session, staff.tenant_id)
        template, _ = await service.get_template(ctx, template_id)
        values = await _preview(
            request,
            ctx,
            design,
            _samples(form),
            form.get("preview_lang") or None,
            form_problems,
            PassStyle(template.style),
            template.id,
        )
    return HTMLResponse(render_text(request, "_preview.html", **values), headers=_partial_headers())


def _partial_headers() -> dict[str, str]:
    from passmint.admin.security import HEADERS

    return dict(HEADERS)


@router.post("/{template_id}/edit", response_class=HTMLResponse)
async def edit_unsaved(
    request: Request, template_id: uuid.UUID, runtime: RuntimeDep, staff: Editor
) -> HTMLResponse:
    """The editor again with what the form holds (adding a language, without JavaScript)."""
    form = await form_of(request)
    design, form_problems = designform.design_from_form(form)
    extra = []
    added = (form.get("add_language") or "").strip()
    if added:
        extra.append(added)
    async with runtime.transaction() as session:
        ctx = runtime.pass_context(session, staff.tenant_id)
        return await _editor(
            request,
            ctx,
            staff,
            template_id,
            design=design,
            form_problems=form_problems,
            samples=_samples(form),
            language=form.get("preview_lang") or None,
            extra_languages=extra,
        )


@router.post("/{template_id}/images/{slot}", response_class=HTMLResponse)
async def upload(
    request: Request, template_id: uuid.UUID, slot: str, runtime: RuntimeDep, staff: Editor
) -> HTMLResponse:
    t = texts_for(request)
    form = await request.form()
    file = form.get("file")
    if slot not in designform.IMAGE_SLOTS:
        return HTMLResponse(
            t.gettext("No such image slot."), status_code=404, headers=_partial_headers()
        )
    error: str | None = None
    asset_id: str | None = None
    if not isinstance(file, UploadFile):
        error = t.gettext("Choose an image file first.")
    else:
        data = await file.read(service.MAX_IMAGE_BYTES + 1)
        try:
            png = await uploads.to_png(data)
            checked = await service.check_image(png)
        except PassmintError as exc:
            error = t.gettext("This image was refused: %(reason)s", reason=exc.message)
        else:
            async with runtime.transaction() as session:
                ctx = runtime.pass_context(session, staff.tenant_id)
                await service.get_template(ctx, template_id)  # 404 for another tenant's
                asset = await service.upload_image(ctx, checked)
                asset_id = str(asset.id)
    async with runtime.transaction() as session:
        ctx = runtime.pass_context(session, staff.tenant_id)
        template, _ = await service.get_template(ctx, template_id)
    design = {"images": {slot: asset_id or (form.get(f"images.{slot}") or None)}}
    slot_view = (
        next(
            s
            for s in _slots(t, PassStyle(template.style), design, {slot: error} if error else None)
            if s.name == slot
        )
        if slot in supported_images(PassStyle(template.style))
        else None
    )
    if slot_view is None:
        return HTMLResponse(
            t.gettext("This style has no such image."), status_code=422, headers=_partial_headers()
        )
    html = render_text(
        request, "_image_slot.html", slot=slot_view, errors={}, control_id=designform.control_id
    )
    if request.headers.get("hx-request") != "true":
        return RedirectResponse(f"/admin/designs/{template_id}", status_code=303)  # type: ignore[return-value]
    headers = _partial_headers()
    if asset_id:
        headers["HX-Trigger"] = "design-changed"
    return HTMLResponse(html, status_code=200 if not error else 422, headers=headers)


@router.post("/{template_id}/save", response_class=HTMLResponse)
async def save(
    request: Request, template_id: uuid.UUID, runtime: RuntimeDep, staff: Editor
) -> HTMLResponse:
    """Check the design; with problems, the editor again with each next to its control
    (422); without, the confirmation: what publishing will re-render and push."""
    t = texts_for(request)
    form = await form_of(request)
    design, form_problems = designform.design_from_form(form)
    async with runtime.transaction() as session:
        ctx = runtime.pass_context(session, staff.tenant_id)
        template, current = await service.get_template(ctx, template_id)
        result = await previews.preview(
            ctx,
            style=PassStyle(template.style),
            design=design,
            sample_data=_samples(form),
            template_id=template.id,
        )
        if form_problems or not result.valid:
            return await _editor(
                request,
                ctx,
                staff,
                template_id,
                design=design,
                form_problems=form_problems,
                samples=_samples(form),
                error=t.gettext("This design has problems: fix them before saving."),
                status_code=422,
            )
        live = await versions.live_passes(ctx, template_id)
        changes = versions.differences(current.design, design)
    return page(
        request,
        "publish.html",
        title=template.name,
        staff=staff,
        template=template,
        live=live,
        changes=changes,
        design_json=json.dumps(design, ensure_ascii=False),
        next_version=template.version + 1,
    )


@router.post("/{template_id}/publish")
async def publish(
    request: Request, template_id: uuid.UUID, runtime: RuntimeDep, staff: Editor
) -> Response:
    t = texts_for(request)
    form = await form_of(request)
    try:
        design = TemplateDesign.model_validate(json.loads(form.get("design") or "{}"))
    except (ValueError, ValidationError):
        return page(
            request,
            "error.html",
            status_code=422,
            staff=staff,
            heading=t.gettext("This design could not be read"),
            message=t.gettext("Open the designer again and save from there."),
            code="invalid_design",
            back=f"/admin/designs/{template_id}",
        )
    async with runtime.transaction() as session:
        ctx = runtime.pass_context(session, staff.tenant_id)
        template, _ = await service.get_template(ctx, template_id)
        compiled = await service.compile_design(
            PassStyle(template.style), design, await service.design_assets(ctx, design)
        )
        await service.update_template(ctx, template_id, name=None, design=design, compiled=compiled)
    return RedirectResponse(f"/admin/designs/{template_id}?done=saved", status_code=303)


@router.get("/{template_id}/versions", response_class=HTMLResponse)
async def history(
    request: Request, template_id: uuid.UUID, runtime: RuntimeDep, staff: StaffDep
) -> HTMLResponse:
    staff.principal.require(Scope.TEMPLATES_READ)
    t = texts_for(request)
    async with runtime.transaction() as session:
        ctx = runtime.pass_context(session, staff.tenant_id)
        template, rows = await versions.versions(ctx, template_id)
        live = await versions.live_passes(ctx, template_id)
    by_number = {row.version: row for row in rows}
    a = _int(request.query_params.get("a"))
    b = _int(request.query_params.get("b"))
    changes = None
    if a in by_number and b in by_number:
        changes = versions.differences(by_number[a].design, by_number[b].design)
    return page(
        request,
        "versions.html",
        title=t.gettext("Versions of %(name)s", name=template.name),
        staff=staff,
        template=template,
        versions=rows,
        a=a,
        b=b,
        changes=changes,
        live=live,
        can_edit=staff.can(Scope.TEMPLATES_WRITE),
    )


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


@router.post("/{template_id}/rollback/{number}")
async def rollback(
    request: Request, template_id: uuid.UUID, number: int, runtime: RuntimeDep, staff: Editor
) -> Response:
    await form_of(request)
    async with runtime.transaction() as session:
        ctx = runtime.pass_context(session, staff.tenant_id)
        await versions.roll_back(ctx, template_id, number)
    return RedirectResponse(f"/admin/designs/{template_id}/versions", status_code=303)


@router.get("/{template_id}/try", response_class=HTMLResponse)
async def try_on_phone(
    request: Request, template_id: uuid.UUID, runtime: RuntimeDep, staff: Editor
) -> HTMLResponse:
    """A test pass of the current version, and a QR code of its link for the phone's camera."""
    t = texts_for(request)
    async with runtime.transaction() as session:
        ctx = runtime.pass_context(session, staff.tenant_id)
        template, _ = await service.get_template(ctx, template_id)
        options = await previews.available_placeholders(ctx, template_id=template.id)
        test_pass, link = await testpasses.test_pass(
            ctx,
            template.id,
            owner=str(staff.user_id),
            sample_data={o.name: o.sample for o in options if o.source != "built_in"},
        )
    return page(
        request,
        "try.html",
        title=t.gettext("Try it on my phone"),
        staff=staff,
        template=template,
        link=link,
        qr_svg=previews.qr_svg(link),
        test_pass=test_pass,
    )
