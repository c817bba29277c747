"""A design in another style: a pass never changes its style on the phone, so the designer
makes a new template in the chosen style from the current design, saying what the new style
had no room for, or why the design does not fit it yet."""

from __future__ import annotations

import uuid
from typing import Final
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import TypeAdapter, ValidationError

from passmint.admin.auth import Editor, form_of
from passmint.admin.designer import style_names
from passmint.admin.render import page, texts_for
from passmint.passes import previews
from passmint.passes.schemas import TemplateName
from passmint.wallet.apple.styles import PassStyle
from passmint.wallet.designs.schemas import DesignError
from passmint.web.deps import RuntimeDep

router = APIRouter(prefix="/admin/designs", include_in_schema=False)
_NAME: Final = TypeAdapter(TemplateName)


@router.post("/{template_id}/copy")
async def copy(
    request: Request, template_id: uuid.UUID, runtime: RuntimeDep, staff: Editor
) -> Response:
    """The new template's designer (with what was left out said there), or a page of what
    stands in the way (422)."""
    t = texts_for(request)
    form = await form_of(request)
    back = f"/admin/designs/{template_id}"
    try:
        style = PassStyle(form.get("style", ""))
        name = _NAME.validate_python(form.get("name", "").strip())
    except (ValueError, ValidationError):
        return page(
            request,
            "error.html",
            status_code=422,
            staff=staff,
            heading=t.gettext("This copy could not be made"),
            message=t.gettext("Choose a style and give the copy a name of 1 to 200 characters."),
            code="invalid_copy",
            back=back,
        )
    try:
        async with runtime.db.sessions() as session:  # read and render before writing
            restyling = await previews.restyle_template(
                runtime.pass_context(session, staff.tenant_id), template_id, style
            )
    except DesignError as exc:
        named = style_names(t)[style]
        return page(
            request,
            "restyle.html",
            status_code=422,
            title=t.gettext("This design does not fit a %(style)s yet", style=named),
            staff=staff,
            problems=exc.problems,
            back=back,
        )
    async with runtime.transaction() as session:
        template, _ = await previews.copy_template(
            runtime.pass_context(session, staff.tenant_id), restyling, name=name
        )
    dropped = restyling.restyled.dropped[:30]
    left = ",".join(quote(p.strip("/"), safe="/") for p in dropped)
    target = f"/admin/designs/{template.id}?done=copied" + (f"&left={left}" if left else "")
    return RedirectResponse(target, status_code=303)
