"""The designer's images: a slot per image the style shows, with the size it needs, for the
design and for each of its languages (``localized_images``: the phone set to that language
shows it instead), and the upload of one slot's image (converted to PNG, checked, stored as
the tenant's asset; a refused file leaves the slot as it was)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import TypeAdapter, ValidationError
from starlette.datastructures import UploadFile

from passmint.admin import designform, security
from passmint.admin.auth import Editor
from passmint.admin.render import render_text, texts_for
from passmint.errors import PassmintError
from passmint.passes import service, uploads
from passmint.wallet.apple.images import point_size, supported_images
from passmint.wallet.apple.styles import PassStyle
from passmint.wallet.designs.schemas import LanguageTag
from passmint.web.deps import RuntimeDep

router = APIRouter(prefix="/admin/designs", include_in_schema=False)

REQUIRED_SLOTS: Final = frozenset({"icon"})
_LANGUAGE: Final = TypeAdapter(LanguageTag)


@dataclass(frozen=True, slots=True)
class Slot:
    """One image control: ``control`` is its name in the design form (``images.logo``,
    ``localized_images.ar.logo``), ``key`` what its element ids are made of."""

    name: str
    label: str
    required: bool
    size_hint: str
    asset: str | None
    upload_error: str | None = None
    language: str | None = None

    @property
    def control(self) -> str:
        if self.language is None:
            return f"images.{self.name}"
        return f"localized_images.{self.language}.{self.name}"

    @property
    def key(self) -> str:
        if self.language is None:
            return self.name
        return re.sub(r"[^A-Za-z0-9_-]", "-", f"{self.language}-{self.name}")


def _labels(t: Any) -> dict[str, str]:
    return {
        "icon": t.gettext("Icon"),
        "logo": t.gettext("Logo"),
        "strip": t.gettext("Strip"),
        "background": t.gettext("Background"),
        "thumbnail": t.gettext("Thumbnail"),
        "footer": t.gettext("Footer"),
    }


def slots(
    t: Any,
    style: PassStyle,
    design: Mapping[str, Any],
    *,
    language: str | None = None,
    errors: Mapping[str, str] | None = None,
) -> list[Slot]:
    """The style's image slots with the design's images (``language``: its images for that
    language), each with the size it needs at @3x."""
    labels = _labels(t)
    if language is None:
        images = design.get("images") or {}
    else:
        images = (design.get("localized_images") or {}).get(language) or {}
    found = []
    for name in designform.IMAGE_SLOTS:
        if name not in supported_images(style):
            continue
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
        found.append(
            Slot(
                name,
                labels[name],
                language is None and name in REQUIRED_SLOTS,
                hint,
                images.get(name),
                (errors or {}).get(name),
                language,
            )
        )
    return found


def localized_slots(
    t: Any, style: PassStyle, design: Mapping[str, Any], languages: list[str]
) -> dict[str, list[Slot]]:
    """Each language's slots (only the images it replaces are set)."""
    return {lang: slots(t, style, design, language=lang) for lang in languages}


@router.post("/{template_id}/images/{slot}", response_class=HTMLResponse)
async def upload(
    request: Request, template_id: uuid.UUID, slot: str, runtime: RuntimeDep, staff: Editor
) -> Response:
    """An image for one slot (of the design, or of a language when the form names one):
    refused with its reason (422, nothing stored) or stored as the tenant's asset, the
    slot's controls coming back with its id."""
    t = texts_for(request)
    async with runtime.db.sessions() as session:
        template, _ = await service.get_template(
            runtime.pass_context(session, staff.tenant_id), template_id
        )
    style = PassStyle(template.style)

    def refused(message: str) -> HTMLResponse:
        return HTMLResponse(message, status_code=404, headers=dict(security.HEADERS))

    if slot not in designform.IMAGE_SLOTS or slot not in supported_images(style):
        return refused(t.gettext("This style has no such image."))
    form = await request.form()
    language: str | None = None
    raw_language = form.get("lang")
    if isinstance(raw_language, str) and raw_language:
        try:
            language = _LANGUAGE.validate_python(raw_language)
        except ValidationError:
            return refused(t.gettext("This design has no such language."))
    control = Slot(slot, "", False, "", None, None, language).control
    file = form.get("file")
    error: str | None = None
    current = form.get(control)  # the slot's image now (the form includes it)
    asset_id = current if isinstance(current, str) and current else None
    if not isinstance(file, UploadFile):
        error = t.gettext("Choose an image file first.")
    else:
        try:
            checked = await service.check_image(
                await uploads.to_png(await file.read(service.MAX_IMAGE_BYTES + 1))
            )
        except PassmintError as exc:
            error = t.gettext("This image was refused: %(reason)s", reason=exc.message)
        else:
            async with runtime.transaction() as session:
                asset = await service.upload_image(
                    runtime.pass_context(session, staff.tenant_id), checked
                )
            asset_id = str(asset.id)
    if request.headers.get("hx-request") != "true":
        return RedirectResponse(f"/admin/designs/{template_id}", status_code=303)
    # a refused upload keeps the slot's image
    design: dict[str, Any] = (
        {"images": {slot: asset_id}}
        if language is None
        else {"localized_images": {language: {slot: asset_id}}}
    )
    (slot_view,) = [
        s
        for s in slots(t, style, design, language=language, errors={slot: error} if error else None)
        if s.name == slot
    ]
    html = render_text(
        request, "_image_slot.html", slot=slot_view, errors={}, control_id=designform.control_id
    )
    headers = dict(security.HEADERS)
    if not error:
        headers["HX-Trigger"] = "design-changed"
    return HTMLResponse(html, status_code=422 if error else 200, headers=headers)
