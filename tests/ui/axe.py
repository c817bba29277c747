"""Accessibility scans with axe-core (the copy ``axe-playwright-python`` ships): a page
passes when axe finds no violation of impact serious or critical."""

from __future__ import annotations

from typing import Any, Final

from axe_playwright_python.sync_playwright import Axe  # type: ignore[import-untyped]
from playwright.sync_api import Page

BLOCKING: Final = frozenset({"serious", "critical"})
MAX_ELEMENTS: Final = 20  # elements listed per violation


def violations(
    page: Page,
    *,
    disable_rules: tuple[str, ...] = (),
    only_rules: tuple[str, ...] = (),
    impacts: frozenset[str] = BLOCKING,
) -> list[dict[str, Any]]:
    """axe's violations of ``impacts`` (serious and critical) on ``page`` as it is now;
    ``disable_rules`` are rule ids not run (each use says why), ``only_rules`` the only ones
    run."""
    options: dict[str, Any] = {"resultTypes": ["violations"]}
    if only_rules:
        options["runOnly"] = {"type": "rule", "values": list(only_rules)}
    if disable_rules:
        options["rules"] = {rule: {"enabled": False} for rule in disable_rules}
    found: list[dict[str, Any]] = Axe().run(page, options=options).response["violations"]
    return [v for v in found if v.get("impact") in impacts]


def describe(found: list[dict[str, Any]]) -> str:
    """One line per violation (rule id, impact, help and its link), one per element (its
    selector and what axe says to fix)."""
    lines: list[str] = []
    for violation in found:
        lines.append(
            f"{violation['id']} ({violation['impact']}): {violation['help']}"
            f" <{violation['helpUrl']}>"
        )
        nodes = violation["nodes"]
        for node in nodes[:MAX_ELEMENTS]:
            target = " ".join(str(t) for t in node["target"])
            summary = " ".join(str(node.get("failureSummary", "")).split())
            lines.append(f"  - {target}: {summary}")
        if len(nodes) > MAX_ELEMENTS:
            lines.append(f"  - and {len(nodes) - MAX_ELEMENTS} more elements")
    return "\n".join(lines)


def assert_accessible(
    page: Page, *, disable_rules: tuple[str, ...] = (), only_rules: tuple[str, ...] = ()
) -> None:
    """Fails listing every serious or critical violation axe finds on ``page``."""
    found = violations(page, disable_rules=disable_rules, only_rules=only_rules)
    assert not found, f"axe on {page.url}:\n{describe(found)}"
