"""Golden files: every style's example model renders to the same pass.json and files.

Regenerate after an intended change with ``PASSMINT_UPDATE_GOLDEN=1 make test``.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from datetime import datetime
from pathlib import Path

import pytest

from passmint.cli.apple import read_model_dir
from passmint.wallet.apple.bundle import PassTemplate
from passmint.wallet.apple.images import prepare_images
from passmint.wallet.apple.signing import ManifestSigner
from passmint.wallet.apple.styles import PassStyle, style_of
from tests.conftest import PassCheck

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = ROOT / "examples" / "models"
GOLDEN = ROOT / "tests" / "golden"
MODELS = sorted(p.name for p in EXAMPLES.glob("*.pass"))


def test_examples_cover_every_style() -> None:
    styles = {style_of(read_model_dir(EXAMPLES / m)[0]) for m in MODELS}
    assert styles == set(PassStyle)


@pytest.mark.parametrize("model", MODELS)
def test_model_matches_golden(
    model: str, signer: ManifestSigner, now: datetime, check_pass: PassCheck
) -> None:
    pass_json, files = read_model_dir(EXAMPLES / model)
    style = style_of(pass_json)
    assert style is not None
    template = PassTemplate(pass_json, prepare_images(files, style))
    data = template.build(signer, signing_time=now)
    check_pass(data)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        content = {n: archive.read(n) for n in archive.namelist()}
    actual = {
        "pass.json": json.loads(content["pass.json"]),
        "files": {
            name: hashlib.sha256(body).hexdigest()
            for name, body in sorted(content.items())
            if name not in ("signature",)
        },
    }
    golden = GOLDEN / f"{model}.json"
    if os.environ.get("PASSMINT_UPDATE_GOLDEN") == "1":
        golden.write_text(json.dumps(actual, indent=2, ensure_ascii=False) + "\n")
    assert golden.exists(), f"{golden} is missing: run with PASSMINT_UPDATE_GOLDEN=1"
    expected = json.loads(golden.read_text())
    assert actual == expected
