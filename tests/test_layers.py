"""Services and repositories flush, never commit: one transaction per request or job is
opened and committed by transport code (ARCHITECTURE §8.1)."""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
import tomllib
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


ROOT = SRC.parents[1]


def _lint_imports(src: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            str(Path(sys.executable).parent / "lint-imports"),
            "--config",
            str(ROOT / "pyproject.toml"),
        ],
        capture_output=True,
        text=True,
        cwd=src.parent,
        env={**os.environ, "PYTHONPATH": str(src)},
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("module", "line", "reported"),
    [
        # a job reaching up to the composition root (the cycle this contract removed)
        ("worker/runner.py", "from passmint.runtime import Runtime", "passmint.runtime"),
        # a pure engine reaching into the service side
        ("wallet/apple/model.py", "from passmint.passes import service", "passmint.passes"),
        # a service importing its endpoints
        ("passes/service.py", "from passmint.passes import endpoints", "passmint.passes.endpoints"),
    ],
)
def test_an_upward_import_breaks_the_contracts(
    tmp_path: Path, module: str, line: str, reported: str
) -> None:
    src = tmp_path / "src"
    shutil.copytree(SRC, src / "passmint", ignore=shutil.ignore_patterns("__pycache__"))
    target = src / "passmint" / module
    target.write_text(target.read_text() + f"\n{line}  # noqa\n")
    done = _lint_imports(src)
    assert done.returncode == 1, done.stdout
    assert reported in done.stdout


def test_every_package_has_its_layer() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    [layers] = [
        c
        for c in config["tool"]["importlinter"]["contracts"]
        if c.get("containers") == ["passmint"]
    ]
    assert layers["exhaustive"] is True
    named = {name.strip() for layer in layers["layers"] for name in re.split(r"[:|]", layer)}
    packages = {p.stem for p in SRC.iterdir() if p.suffix == ".py" or (p / "__init__.py").exists()}
    assert packages - {"__init__"} == named
