"""``passmint demo``: the whole Apple pass engine end to end on this machine.

It writes a throwaway PKI, builds a signed pass of every style from ``examples/models``,
verifies each with passmint's verifier (and with ``openssl cms -verify`` when openssl is
installed), and bundles them into one ``.pkpasses``.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import zipfile
from io import BytesIO
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from passmint.cli.apple import build_model_dir
from passmint.cli.common import fail_on_errors, write_private_file
from passmint.kit.clock import utcnow
from passmint.wallet.apple.bundle import build_pkpasses
from passmint.wallet.apple.certificates import load_identity_pem
from passmint.wallet.apple.devpki import generate_dev_pki
from passmint.wallet.apple.reader import verify_pkpass
from passmint.wallet.apple.signing import ManifestSigner


def openssl_verify(pkpass: bytes, ca_pem: Path) -> tuple[bool, str]:
    """Verify a pass's detached signature with the openssl CLI against ``ca_pem``."""
    if shutil.which("openssl") is None:
        return False, "openssl not installed"
    with zipfile.ZipFile(BytesIO(pkpass)) as archive, tempfile.TemporaryDirectory() as tmp:
        manifest, signature = Path(tmp, "manifest.json"), Path(tmp, "signature")
        manifest.write_bytes(archive.read("manifest.json"))
        signature.write_bytes(archive.read("signature"))
        result = subprocess.run(
            [
                "openssl",
                "cms",
                "-verify",
                "-binary",
                "-inform",
                "DER",
                "-in",
                str(signature),
                "-content",
                str(manifest),
                "-CAfile",
                str(ca_pem),
                "-purpose",
                "any",
                "-out",
                "/dev/null",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
    lines = (result.stderr or result.stdout).strip().splitlines()
    return result.returncode == 0, lines[-1] if lines else f"exit status {result.returncode}"


@fail_on_errors
def demo(
    out: Annotated[Path, typer.Option(help="Output folder.")] = Path("demo-out"),
    models: Annotated[Path, typer.Option(help="Folder of .pass models.")] = Path("examples/models"),
) -> None:
    """Build, sign and verify a pass of every style with a throwaway PKI."""
    console = Console()
    pki = generate_dev_pki(now=utcnow())
    certs = out / "certs"
    for name, data in pki.files().items():
        write_private_file(certs / name, data, private=name.endswith("key.pem"))
    files = pki.files()
    identity = load_identity_pem(
        files["pass-cert.pem"], files["pass-key.pem"], now=utcnow(), wwdr_pem=files["wwdr.pem"]
    )
    signer = ManifestSigner(identity)
    table = Table(title=f"passmint demo: signed with the test PKI in {certs}")
    for column in ("model", "bytes", "passmint verify", "openssl cms -verify"):
        table.add_column(column)
    built: list[tuple[str, bytes]] = []
    failures = 0
    model_dirs = sorted(p for p in models.glob("*.pass") if p.is_dir())
    if not model_dirs:
        raise typer.BadParameter(f"no *.pass folders in {models}", param_hint="--models")
    for model_dir in model_dirs:
        data = build_model_dir(model_dir, signer)
        target = out / f"{model_dir.stem}.pkpass"
        write_private_file(target, data)
        report = verify_pkpass(data, now=utcnow(), roots=[pki.root])
        ssl_ok, ssl_detail = openssl_verify(data, certs / "ca.pem")
        failures += (not report.ok) + (not ssl_ok)
        verdict = "valid" if report.ok else "; ".join(str(p) for p in report.errors)
        table.add_row(target.name, str(len(data)), verdict, "ok" if ssl_ok else ssl_detail)
        built.append((target.name, data))
    bundle = build_pkpasses([d for _, d in built[:10]], [n for n, _ in built[:10]])
    write_private_file(out / "demo.pkpasses", bundle)
    console.print(table)
    console.print(f"bundle of all of them: {out / 'demo.pkpasses'}")
    console.print(f"check one: passmint apple verify {out / built[0][0]} --ca {certs / 'ca.pem'}")
    if failures:
        raise typer.Exit(1)
