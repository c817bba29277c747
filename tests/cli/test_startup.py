"""Every ``passmint`` command imports the CLI first: it stays free of the web framework, which
only ``serve`` needs (importing FastAPI cost half a second per command)."""

from __future__ import annotations

import subprocess
import sys


def test_the_cli_imports_no_web_framework() -> None:
    probe = "import sys, passmint.cli.app; print(sorted({m.split('.')[0] for m in sys.modules}))"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    loaded = done.stdout
    assert "'sqlalchemy'" in loaded, loaded  # the probe saw the CLI's own imports
    assert "'fastapi'" not in loaded, loaded
