"""Texts longer than Google Wallet shows in full, found in a rendered class and object.

The walletobjects v1 reference gives a *recommended maximum length* for the texts a card
shows ("Recommended maximum length is 20 characters to ensure full string is displayed on
smaller screens", the descriptions of ``issuerName``, ``programName``, ``LoyaltyPoints``,
``TextModuleData``, ``Uri`` ...): a longer text is cut with an ellipsis. Google accepts
it, so each is a *warning* (``google_text_too_long``), reported at the design path the
text comes from, and for a translation at its entry in ``localizations``. Pure.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Final

from passmint.wallet.apple.problems import Problem, Severity
from passmint.wallet.designs.schemas import TemplateDesign, design_path

__all__ = ["LIMITS", "check_lengths"]

LIMITS: Final[Mapping[str, int]] = {
    "issuerName": 20,
    "programName": 20,
    "provider": 12,
    "title": 60,
    "LoyaltyPoints.label": 9,
    "LoyaltyPoints.balance": 7,
    "TextModuleData.header": 35,
    "TextModuleData.body": 500,
    "Uri.description": 20,
}
"""Recommended maximum lengths from the discovery document's descriptions."""

CODE: Final = "google_text_too_long"


def _texts(value: object, localized: object) -> Iterator[tuple[str | None, str]]:
    """(language or None for the text itself, text) of a plain text and its translations."""
    if isinstance(value, str):
        yield None, value
    if isinstance(localized, Mapping):
        for entry in localized.get("translatedValues") or ():
            if isinstance(entry, Mapping):
                language, text = entry.get("language"), entry.get("value")
                if isinstance(language, str) and isinstance(text, str):
                    yield language, text


def _check(
    found: list[Problem],
    limit_name: str,
    path: str,
    value: object,
    localized: object = None,
) -> None:
    limit = LIMITS[limit_name]
    source = value if isinstance(value, str) else None
    for language, text in _texts(value, localized):
        if len(text) <= limit:
            continue
        where = path
        if language is not None and source is not None:
            where = design_path("localizations", language, source)
        what = limit_name.rsplit(".", 1)[-1]
        shown = f"{text[:limit]}…"
        found.append(
            Problem(
                where,
                CODE,
                f"Google Wallet shows {limit} characters of a {what} in full; this one has "
                f"{len(text)} ({language or 'default'}: {shown!r})",
                Severity.WARNING,
            )
        )


def check_lengths(
    design: TemplateDesign, class_body: Mapping[str, Any], object_body: Mapping[str, Any]
) -> list[Problem]:
    """Every text of the rendered bodies over its recommended length, at its design path."""
    found: list[Problem] = []
    issuer_path = "organization_name"
    _check(
        found,
        "issuerName",
        issuer_path,
        class_body.get("issuerName"),
        class_body.get("localizedIssuerName"),
    )
    program_path = "logo_text" if design.logo_text else "description"
    _check(
        found,
        "programName",
        program_path,
        class_body.get("programName"),
        class_body.get("localizedProgramName"),
    )
    _check(
        found,
        "provider",
        issuer_path,
        class_body.get("provider"),
        class_body.get("localizedProvider"),
    )
    _check(found, "title", "description", class_body.get("title"), class_body.get("localizedTitle"))
    fields = {
        item.key: design_path("fields", area.value, index)
        for area, index, item in design.fields.all()
    }
    for key, index in (("loyaltyPoints", 0), ("secondaryLoyaltyPoints", 1)):
        points = object_body.get(key)
        if not isinstance(points, Mapping) or index >= len(design.fields.primary):
            continue
        path = design_path("fields", "primary", index)
        _check(
            found,
            "LoyaltyPoints.label",
            f"{path}.label",
            points.get("label"),
            points.get("localizedLabel"),
        )
        balance = points.get("balance")
        if isinstance(balance, Mapping) and isinstance(balance.get("string"), str):
            _check(found, "LoyaltyPoints.balance", f"{path}.value", balance["string"])
    for module in object_body.get("textModulesData") or ():
        if not isinstance(module, Mapping) or module.get("id") not in fields:
            continue
        path = fields[module["id"]]
        _check(
            found,
            "TextModuleData.header",
            f"{path}.label",
            module.get("header"),
            module.get("localizedHeader"),
        )
        _check(
            found,
            "TextModuleData.body",
            f"{path}.value",
            module.get("body"),
            module.get("localizedBody"),
        )
    links = object_body.get("linksModuleData")
    uris = links.get("uris") if isinstance(links, Mapping) else None
    for index, uri in enumerate(uris or ()):
        if isinstance(uri, Mapping) and index < len(design.links):
            _check(
                found,
                "Uri.description",
                design_path("links", index, "label"),
                uri.get("description"),
                uri.get("localizedDescription"),
            )
    return found
