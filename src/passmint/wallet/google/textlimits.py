"""Texts longer than Google Wallet shows in full, found in a rendered class and object.

The walletobjects v1 reference gives a *recommended maximum length* for the texts a card
shows ("Recommended maximum length is 20 characters to ensure full string is displayed on
smaller screens", the descriptions of ``issuerName``, ``programName``, ``LoyaltyPoints``,
``TextModuleData``, ``Uri`` ...): a longer text is cut with an ellipsis. Google accepts
it, so each is a *warning* (``google_text_too_long``), reported at the design path the
text comes from, and for a translation at its entry in ``localizations``. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, TypeGuard

from passmint.wallet.apple.problems import Problem, Severity
from passmint.wallet.designs.schemas import FieldList, TemplateDesign, design_path

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
_AREAS: Final = tuple(area.value for area in FieldList)


def _check(
    found: list[Problem],
    limit_name: str,
    path: str,
    value: object,
    localized: object = None,
    leaf: str = "",
) -> None:
    """Report the text ``value`` (at ``path``, then ``.leaf`` when given) and each of its
    translations (at their ``localizations`` entry) over the limit. Most texts are within
    it: they cost a length, and no path is written for them."""
    limit = LIMITS[limit_name]
    source = value if isinstance(value, str) else None
    if source is not None and len(source) > limit:
        _report(found, limit_name, limit, f"{path}.{leaf}" if leaf else path, None, source)
    if localized is None or not _is_mapping(localized):
        return
    for entry in localized.get("translatedValues") or ():
        if not _is_mapping(entry):
            continue
        text = entry.get("value")
        if type(text) is str and len(text) <= limit:
            continue  # the usual translation: short enough
        language = entry.get("language")
        if isinstance(language, str) and isinstance(text, str) and len(text) > limit:
            if source is not None:
                where = design_path("localizations", language, source)
            else:
                where = f"{path}.{leaf}" if leaf else path
            _report(found, limit_name, limit, where, language, text)


def _is_mapping(value: object) -> TypeGuard[Mapping[str, Any]]:
    """``isinstance(value, Mapping)``, quick for the dicts the renderers write."""
    return type(value) is dict or isinstance(value, Mapping)


def _report(
    found: list[Problem],
    limit_name: str,
    limit: int,
    where: str,
    language: str | None,
    text: str,
) -> None:
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
    # key → (area, index): the path is written only for a text that is too long.
    fields = {
        item.key: (area, index)
        for area in _AREAS
        for index, item in enumerate(getattr(design.fields, area))
    }
    for key, index in (("loyaltyPoints", 0), ("secondaryLoyaltyPoints", 1)):
        points = object_body.get(key)
        if points is None or not _is_mapping(points) or index >= len(design.fields.primary):
            continue
        path = f"fields.primary[{index}]"
        _check(
            found,
            "LoyaltyPoints.label",
            path,
            points.get("label"),
            points.get("localizedLabel"),
            "label",
        )
        balance = points.get("balance")
        if _is_mapping(balance) and isinstance(balance.get("string"), str):
            _check(found, "LoyaltyPoints.balance", path, balance["string"], None, "value")
    modules = object_body.get("textModulesData")
    if modules:
        # key → (area, index): the path is written only for a text that is too long.
        fields = {
            item.key: (area, index)
            for area in _AREAS
            for index, item in enumerate(getattr(design.fields, area))
        }
        for module in modules:
            if not _is_mapping(module) or module.get("id") not in fields:
                continue
            area, index = fields[module["id"]]
            path = f"fields.{area}[{index}]"
            _check(
                found,
                "TextModuleData.header",
                path,
                module.get("header"),
                module.get("localizedHeader"),
                "label",
            )
            _check(
                found,
                "TextModuleData.body",
                path,
                module.get("body"),
                module.get("localizedBody"),
                "value",
            )
    links = object_body.get("linksModuleData")
    uris = links.get("uris") if links is not None and _is_mapping(links) else None
    for index, uri in enumerate(uris or ()):
        if _is_mapping(uri) and index < len(design.links):
            _check(
                found,
                "Uri.description",
                f"links[{index}].label",
                uri.get("description"),
                uri.get("localizedDescription"),
            )
    return found
