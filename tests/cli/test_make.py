"""The Makefile's first steps on a new machine: an unsupported Python is refused before
anything is installed, a `.venv` left broken is rebuilt, and the README, pyproject.toml and
the Makefile agree on which Pythons are supported."""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")


def _fake_python(path: Path, version: str) -> Path:
    """An interpreter that claims ``version`` and fails the Makefile's check as that
    version would."""
    major, minor = (int(part) for part in version.split(".")[:2])
    path.write_text(
        "#!/bin/sh\n"
        f'if [ "$1" = "--version" ]; then echo "Python {version}"; exit 0; fi\n'
        f"exec python3 -c 'import sys; sys.version_info = ({major}, {minor}, 0); "
        'exec(sys.argv[1])\' "$2"\n'
    )
    path.chmod(0o755)
    return path


def _make(work: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "-C", str(work), *args], capture_output=True, text=True, timeout=60, check=False
    )


def test_an_old_python_is_refused_with_what_to_do(tmp_path: Path) -> None:
    for name in ("Makefile", "pyproject.toml", "requirements.lock"):
        shutil.copy(ROOT / name, tmp_path / name)
    old = _fake_python(tmp_path / "python3.10", "3.10.14")
    done = _make(tmp_path, f"PYTHON={old}", "demo")
    assert done.returncode != 0
    assert "passmint needs Python 3.11 to 3.13" in done.stdout
    assert "is Python 3.10.14" in done.stdout
    assert "make PYTHON=python3.12 demo" in done.stdout
    assert not (tmp_path / ".venv").exists()  # nothing half-installed to trip over later


def test_a_broken_venv_is_rebuilt(tmp_path: Path) -> None:
    shutil.copy(ROOT / "Makefile", tmp_path / "Makefile")
    broken = tmp_path / ".venv" / "bin"
    broken.mkdir(parents=True)
    _fake_python(broken / "python", "3.10.14")  # what an install with 3.10 left behind
    done = _make(tmp_path, "check-python")
    assert done.returncode == 0, done.stderr
    assert ".venv is broken or uses another Python: rebuilding it" in done.stdout
    assert not (tmp_path / ".venv").exists()
    again = _make(tmp_path, "check-python")  # a sound (or absent) .venv is left alone
    assert "rebuilding" not in again.stdout


def test_readme_pyproject_and_makefile_name_the_same_pythons() -> None:
    spec = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert spec == ">=3.11,<3.14"
    makefile = (ROOT / "Makefile").read_text()
    assert "PY_MIN := 3.11" in makefile
    assert "PY_MAX := 3.13" in makefile
    assert "(3, 11) <= sys.version_info[:2] <= (3, 13)" in makefile
    readme = (ROOT / "README.md").read_text()
    assert re.search(r"Python 3\.11 to 3\.13", readme)
    assert "3.11+" not in readme
