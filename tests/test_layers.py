"""Services and repositories flush, never commit: one transaction per request or job is
opened and committed by transport code (ARCHITECTURE §8.1)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "passmint"
RULE_MODULES = sorted(
    p for p in SRC.rglob("*.py") if p.name in {"service.py", "repository.py", "credentials.py"}
)


@pytest.mark.parametrize("path", RULE_MODULES, ids=lambda p: str(p.relative_to(SRC)))
def test_no_commit_in_services_or_repositories(path: Path) -> None:
    tree = ast.parse(path.read_text())
    commits = [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in {"commit", "begin"}
    ]
    assert commits == [], f"{path.name} commits or opens a transaction at lines {commits}"


def test_the_rule_modules_exist() -> None:
    assert len(RULE_MODULES) >= 6
