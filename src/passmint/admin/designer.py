"""The pass designer: the gallery of starters, the editor with its live preview, saving as
a new version after saying what it will reach, the history with differences and roll
back, and a test pass on the designer's own phone."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Final
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import TypeAdapter, ValidationError

from passmint.admin import designform, designimages, previewmodel, security
from passmint.admin.auth import Editor, Staff, form_of, requiring
from passmint.admin.render import page, render_text, texts_for
from passmint.kit import jsondepth
from passmint.models import Template, TemplateVersion
from passmint.passes import previews, service, surveys, testpasses, versions
from passmint.passes.schemas import TemplateName
from passmint.passes.service import PassContext
from passmint.tenants.scopes import Scope
from passmint.wallet.apple.styles import PassStyle
from passmint.wallet.designs.schemas import TemplateDesign
from passmint.web.deps import RuntimeDep

router = APIRouter(prefix="/admin/designs", include_in_schema=False)
Reader = Annotated[Staff, Depends(requiring(Scope.TEMPLATES_READ))]

_NAME: Final = TypeAdapter(TemplateName)
_LEFT_OUT: Final = re.compile(r"[A-Za-z0-9_/-]{1,80}")


@dataclass(frozen=True, slots=True)
class ShownProblem:
    control: str
    where: str
    message: str
    severity: str = "error"


def style_names(t: Any) -> dict[str, str]:
    return {
        "storeCard": t.gettext("Store card (loyalty, gift card)"),
        "coupon": t.gettext("Coupon"),
        "eventTicket": t.gettext("Event ticket"),
        "boardingPass": t.gettext("Boarding pass"),
        "generic": t.gettext("Generic (membership, ID)"),
    }


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


def _shown(problems: Sequence[designform.Problem]) -> list[ShownProblem]:
    return [
        ShownProblem(
            designform.control_name(problem.path),
            problem.path or "/",
            problem.message,
            str(getattr(problem, "severity", "error")),
        )
        for problem in problems
    ]


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
    apple = previewmodel.apple(pass_json, images, result.barcode_svg) if pass_json else None
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
        "errors": designform.flat([*form_problems, *result.problems]),
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


def _stored(design: dict[str, Any]) -> dict[str, Any]:
    """A valid design as a new version stores it."""
    return TemplateDesign.model_validate(design).model_dump(mode="json", exclude_none=True)


def _samples(form: dict[str, str]) -> dict[str, str]:
    return {
        name[len("sample.") :]: value
        for name, value in form.items()
        if name.startswith("sample.") and value
    }


async def _editor(
    request: Request,
    ctx: PassContext,
    staff: Staff,
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
    errors = preview.pop("errors")
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
        style_names=style_names(t),
        can_edit=staff.can(Scope.TEMPLATES_WRITE),
        survey_results=await surveys.results(ctx, template.id),
        slots=designimages.slots(t, style, design),
        localized_slots=designimages.localized_slots(t, style, design, languages),
        detectors=[
            ("phone_number", t.gettext("Phone numbers")),
            ("link", t.gettext("Web addresses")),
            ("address", t.gettext("Postal addresses")),
            ("calendar_event", t.gettext("Dates and times")),
        ],
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


async def _template(runtime: RuntimeDep, staff: Staff, template_id: uuid.UUID) -> Template:
    """The tenant's template (404 for another's), read without a write transaction."""
    async with runtime.db.sessions() as session:
        template, _ = await service.get_template(
            runtime.pass_context(session, staff.tenant_id), template_id
        )
    return template


def _designs_page(
    request: Request,
    staff: Staff,
    templates: list[tuple[Template, TemplateVersion]],
    *,
    error: str | None = None,
    chosen: str | None = None,
) -> HTMLResponse:
    t = texts_for(request)
    return page(
        request,
        "designs.html",
        status_code=422 if error else 200,
        title=t.gettext("Designs"),
        staff=staff,
        templates=templates,
        starters=previews.gallery(),
        style_names=style_names(t),
        can_edit=staff.can(Scope.TEMPLATES_WRITE),
        error=error,
        chosen=chosen,
    )


@router.get("", response_class=HTMLResponse)
async def gallery(request: Request, runtime: RuntimeDep, staff: Reader) -> HTMLResponse:
    async with runtime.db.sessions() as session:
        ctx = runtime.pass_context(session, staff.tenant_id)
        templates = await service.list_templates(ctx, after=None, limit=200)
    return _designs_page(request, staff, templates)


@router.post("/new")
async def start(request: Request, runtime: RuntimeDep, staff: Editor) -> Response:
    """A new template from a starter of the gallery, named as the form says (the name
    checked like the API's: 1 to 200 characters, no control characters)."""
    form = await form_of(request)
    starter = form.get("starter", "")
    try:
        name = _NAME.validate_python(form.get("name", "").strip())
    except ValidationError:
        async with runtime.db.sessions() as session:
            ctx = runtime.pass_context(session, staff.tenant_id)
            templates = await service.list_templates(ctx, after=None, limit=200)
        t = texts_for(request)
        return _designs_page(
            request,
            staff,
            templates,
            error=t.gettext("Give the design a name of 1 to 200 characters."),
            chosen=starter,
        )
    async with runtime.transaction() as session:
        ctx = runtime.pass_context(session, staff.tenant_id)
        template, _ = await previews.create_from_starter(ctx, starter, name=name)
    return RedirectResponse(f"/admin/designs/{template.id}", status_code=303)


@router.get("/{template_id}", response_class=HTMLResponse)
async def edit(
    request: Request, template_id: uuid.UUID, runtime: RuntimeDep, staff: Reader
) -> HTMLResponse:
    t = texts_for(request)
    done = request.query_params.get("done", "")
    notice = {
        "saved": t.gettext("Saved as a new version."),
        "copied": t.gettext("This is the copy in its new style."),
    }.get(done)
    left = [
        part
        for part in request.query_params.get("left", "").split(",")[:30]
        if _LEFT_OUT.fullmatch(part)
    ]
    if done == "copied" and left:
        notice = t.gettext(
            "This is the copy in its new style. Left out, as this style has no room for "
            "them: %(parts)s.",
            parts=", ".join(left),
        )
    async with runtime.db.sessions() as session:
        ctx = runtime.pass_context(session, staff.tenant_id)
        return await _editor(request, ctx, staff, template_id, notice=notice)


@router.post("/{template_id}/preview", response_class=HTMLResponse)
async def preview(
    request: Request, template_id: uuid.UUID, runtime: RuntimeDep, staff: Reader
) -> HTMLResponse:
    """The preview partial of what the form holds (read only: no write transaction, so
    previews never queue behind writes on SQLite)."""
    form = await form_of(request)
    design, form_problems = designform.design_from_form(form)
    async with runtime.db.sessions() as session:
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
    values.pop("errors")
    html = render_text(request, "_preview.html", oob=True, **values)
    return HTMLResponse(html, headers=dict(security.HEADERS))


@router.post("/{template_id}/edit", response_class=HTMLResponse)
async def edit_unsaved(
    request: Request, template_id: uuid.UUID, runtime: RuntimeDep, staff: Editor
) -> HTMLResponse:
    """The editor again with what the form holds (adding a language, without JavaScript)."""
    form = await form_of(request)
    design, form_problems = designform.design_from_form(form)
    added = (form.get("add_language") or "").strip()
    async with runtime.db.sessions() as session:
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
            extra_languages=[added] if added else [],
        )


@router.post("/{template_id}/save", response_class=HTMLResponse)
async def save(
    request: Request, template_id: uuid.UUID, runtime: RuntimeDep, staff: Editor
) -> HTMLResponse:
    """Check the design; with problems, the editor again with each next to its control
    (422); without, the confirmation: what publishing will re-render and push."""
    t = texts_for(request)
    form = await form_of(request)
    design, form_problems = designform.design_from_form(form)
    async with runtime.db.sessions() as session:
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
    return page(
        request,
        "publish.html",
        title=template.name,
        staff=staff,
        template=template,
        live=live,
        # as it will be stored (defaults filled in), so only real changes are listed
        changes=versions.differences(current.design, _stored(design)),
        design_json=json.dumps(design, ensure_ascii=False),
        next_version=template.version + 1,
    )


@router.post("/{template_id}/publish")
async def publish(
    request: Request, template_id: uuid.UUID, runtime: RuntimeDep, staff: Editor
) -> Response:
    """A new version with the confirmed design: checked again (the form could be forged)
    and its images rendered before the write transaction opens."""
    t = texts_for(request)
    form = await form_of(request)
    try:
        design = TemplateDesign.model_validate(jsondepth.loads(form.get("design") or "{}"))
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
    async with runtime.db.sessions() as session:
        ctx = runtime.pass_context(session, staff.tenant_id)
        template, _ = await service.get_template(ctx, template_id)
        assets = await service.design_assets(ctx, design)
    compiled = await service.compile_design(PassStyle(template.style), design, assets)
    async with runtime.transaction() as session:
        ctx = runtime.pass_context(session, staff.tenant_id)
        await service.update_template(ctx, template_id, name=None, design=design, compiled=compiled)
    return RedirectResponse(f"/admin/designs/{template_id}?done=saved", status_code=303)


@router.get("/{template_id}/versions", response_class=HTMLResponse)
async def history(
    request: Request, template_id: uuid.UUID, runtime: RuntimeDep, staff: Reader
) -> HTMLResponse:
    t = texts_for(request)
    async with runtime.db.sessions() as session:
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
    template_id: uuid.UUID, number: int, runtime: RuntimeDep, staff: Editor
) -> Response:
    async with runtime.transaction() as session:
        ctx = runtime.pass_context(session, staff.tenant_id)
        await versions.roll_back(ctx, template_id, number)
    return RedirectResponse(f"/admin/designs/{template_id}/versions", status_code=303)


@router.get("/{template_id}/try", response_class=HTMLResponse)
async def try_page(
    request: Request, template_id: uuid.UUID, runtime: RuntimeDep, staff: Editor
) -> HTMLResponse:
    """The person's test pass of this design, with a QR code of its link for the phone's
    camera; a button makes (or refreshes) it: a GET never writes."""
    t = texts_for(request)
    async with runtime.db.sessions() as session:
        ctx = runtime.pass_context(session, staff.tenant_id)
        template, _ = await service.get_template(ctx, template_id)
        found = await testpasses.find(ctx, template.id, owner=str(staff.user_id))
    link = found[1] if found else None
    return page(
        request,
        "try.html",
        title=t.gettext("Try it on my phone"),
        staff=staff,
        template=template,
        link=link,
        qr_svg=previews.qr_svg(link) if link else None,
        test_pass=found[0] if found else None,
    )


@router.post("/{template_id}/try")
async def try_on_phone(template_id: uuid.UUID, runtime: RuntimeDep, staff: Editor) -> Response:
    """Issue or refresh the person's test pass of the current version, with sample data."""
    async with runtime.transaction() as session:
        ctx = runtime.pass_context(session, staff.tenant_id)
        options = await previews.available_placeholders(ctx, template_id=template_id)
        await testpasses.test_pass(
            ctx,
            template_id,
            owner=str(staff.user_id),
            sample_data={o.name: o.sample for o in options if o.source != "built_in"},
        )
    return RedirectResponse(f"/admin/designs/{template_id}/try", status_code=303)
