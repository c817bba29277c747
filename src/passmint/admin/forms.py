"""What the settings pages share: the status a refused form answers with, the message of
an input type's validation error (worded as the API words it), files read from a form
with a bound, and the notices a page shows after a redirect."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from pydantic import ValidationError
from starlette.datastructures import UploadFile
from starlette.requests import Request

from passmint.admin.i18n import Texts
from passmint.errors import PassmintError
from passmint.web.errors import validation_error

MAX_FILE_BYTES: Final = 64 * 1024
"""A key, certificate or service-account file: the API's limit on each of these texts."""


@dataclass(frozen=True, slots=True)
class FormProblem:
    """What is wrong with a form: ``field`` names the control (``""``: the whole form)."""

    field: str
    message: str
    status: int = 422


def refused(exc: PassmintError) -> FormProblem:
    """A service's refusal as a form problem: conflicts keep their 409 (and throttling its
    429), anything else the form got wrong is a 422; the field, when the error names it."""
    status = exc.status if exc.status in (409, 429) else 422
    field = exc.details.get("field")
    return FormProblem(field if isinstance(field, str) else "", exc.message, status)


def invalid(exc: ValidationError) -> FormProblem:
    """The first problem of an input type's validation, in the API's words."""
    _status, body = validation_error(exc.errors())
    error = body["error"]
    details = error.get("details") or {}
    field = details.get("field")
    if not isinstance(field, str):
        problems = details.get("problems") or [{}]
        field = str(problems[0].get("path", ""))
    return FormProblem(field, str(error["message"]))


class FileTooLarge(Exception):
    """A file of a form over :data:`MAX_FILE_BYTES`."""


async def read_file(form: Mapping[str, object], name: str) -> bytes | None:
    """The bytes of the file field ``name`` (None: no file chosen); :class:`FileTooLarge`
    past :data:`MAX_FILE_BYTES`."""
    value = form.get(name)
    if not isinstance(value, UploadFile) or not value.filename:
        return None
    data = await value.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise FileTooLarge(name)
    return data or None


def notice(request: Request, messages: Mapping[str, str]) -> str | None:
    """The message of the ``done`` query parameter a page was redirected to with (one of
    ``messages``: never text from the URL itself)."""
    return messages.get(request.query_params.get("done", ""))


def file_too_large(t: Texts, name: str) -> FormProblem:
    return FormProblem(
        name,
        t.gettext(
            "This file is larger than %(size)s KB: it cannot be a key or a certificate.",
            size=MAX_FILE_BYTES // 1024,
        ),
        413,
    )
