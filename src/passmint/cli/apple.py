"""``passmint apple …``: build, verify and bundle Apple Wallet passes from the shell."""

from __future__ import annotations

import json
from collections.abc import Collection
from pathlib import Path
from typing import Annotated, Any

import typer

from passmint.cli.common import fail_on_errors, warn, write_private_file
from passmint.errors import PassmintError
from passmint.kit.clock import utcnow
from passmint.wallet.apple.bundle import PassTemplate, build_pkpasses
from passmint.wallet.apple.certificates import (
    SigningIdentity,
    load_certificates,
    load_identity_p12,
    load_identity_pem,
)
from passmint.wallet.apple.images import prepare_images
from passmint.wallet.apple.problems import Severity
from passmint.wallet.apple.reader import VerifyReport, verify_pkpass, verify_pkpasses
from passmint.wallet.apple.signing import Digest, ManifestSigner
from passmint.wallet.apple.styles import style_of

app = typer.Typer(help="Apple Wallet passes: build, verify, bundle.", no_args_is_help=True)

MODEL_FILES = (".png", ".strings")
SKIPPED = (".DS_Store", "Thumbs.db")


class ModelDirError(PassmintError):
    code = "invalid_model_dir"


def read_model_dir(directory: Path) -> tuple[dict[str, Any], dict[str, bytes]]:
    """pass.json and the bundle files of a ``.pass`` model folder (Apple's sample layout)."""
    if not directory.is_dir():
        raise ModelDirError(f"{directory} is not a directory")
    pass_file = directory / "pass.json"
    if not pass_file.is_file():
        raise ModelDirError(f"{directory} has no pass.json")
    try:
        pass_json = json.loads(pass_file.read_text("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelDirError(f"{pass_file} is not valid JSON: {exc}") from None
    if not isinstance(pass_json, dict):
        raise ModelDirError(f"{pass_file} must hold a JSON object")
    files: dict[str, bytes] = {}
    for path in sorted(directory.rglob("*")):
        rel = path.relative_to(directory).as_posix()
        if path.is_dir() or rel == "pass.json" or path.name in SKIPPED:
            continue
        if rel.startswith("__MACOSX/") or path.name.startswith("."):
            continue
        if rel in ("manifest.json", "signature"):
            warn(f"{rel} in the model folder is ignored: passmint writes its own")
            continue
        if rel == "personalization.json" or path.suffix.lower() in MODEL_FILES:
            files[rel] = path.read_bytes()
        else:
            warn(f"{rel} is not part of a pass bundle and is skipped")
    return pass_json, files


def parse_overrides(pairs: list[str]) -> dict[str, Any]:
    """``KEY=text`` sets a string; ``KEY:=json`` sets any JSON value."""
    out: dict[str, Any] = {}
    for pair in pairs:
        if ":=" in pair and pair.index(":=") < pair.index("=") + 1:
            key, raw = pair.split(":=", 1)
            try:
                out[key] = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise typer.BadParameter(
                    f"{pair!r}: not JSON ({exc})", param_hint="--set"
                ) from None
        elif "=" in pair:
            key, value = pair.split("=", 1)
            out[key] = value
        else:
            raise typer.BadParameter(f"{pair!r}: use KEY=VALUE or KEY:=JSON", param_hint="--set")
        if not key or "." in key:
            raise typer.BadParameter(f"{pair!r}: top-level keys only", param_hint="--set")
    return out


def load_identity(
    cert: Path, key: Path | None, password: str | None, wwdr: Path | None
) -> SigningIdentity:
    cert_data = cert.read_bytes()
    wwdr_data = wwdr.read_bytes() if wwdr else None
    secret = password.encode() if password is not None else None
    if cert.suffix.lower() in (".p12", ".pfx"):
        return load_identity_p12(cert_data, secret, now=utcnow(), wwdr_pem=wwdr_data)
    if key is None:
        raise typer.BadParameter("a PEM certificate needs --key", param_hint="--key")
    return load_identity_pem(
        cert_data, key.read_bytes(), now=utcnow(), password=secret, wwdr_pem=wwdr_data
    )


@app.command("build")
@fail_on_errors
def build(
    model_dir: Annotated[Path, typer.Argument(help="A .pass folder: pass.json and images.")],
    cert: Annotated[Path, typer.Option(help="Pass Type ID certificate (PEM, or .p12).")],
    output: Annotated[Path, typer.Option("-o", "--output", help="The .pkpass to write.")],
    key: Annotated[Path | None, typer.Option(help="Private key (PEM).")] = None,
    key_password: Annotated[
        str | None, typer.Option("--key-password", help="Password of the key or .p12.")
    ] = None,
    wwdr: Annotated[
        Path | None, typer.Option(help="WWDR intermediate (default: Apple's WWDR G4).")
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override a top-level key: KEY=text or KEY:=json."),
    ] = None,
    digest: Annotated[Digest, typer.Option(help="Signature digest.")] = Digest.SHA256,
    gift_card: Annotated[
        bool, typer.Option("--gift-card", help="Size the strip for a gift card (375×144 pt).")
    ] = False,
    strict_ids: Annotated[
        bool,
        typer.Option(
            "--strict-ids",
            help="Refuse a model whose passTypeIdentifier or teamIdentifier differs from the "
            "certificate's, instead of replacing them.",
        ),
    ] = False,
) -> None:
    """Build and sign a .pkpass from a model folder. Nothing is written unless it is valid.

    passTypeIdentifier and teamIdentifier come from the certificate (its
    pass type id and its team, the OU): the model's values are replaced,
    with a note on stderr. --strict-ids refuses a mismatch instead; ids
    given with --set must match the certificate.
    """
    identity = load_identity(cert, key, key_password, wwdr)
    for notice in identity.expiry_notices(utcnow()):
        warn(str(notice))
    data = build_model_dir(
        model_dir,
        ManifestSigner(identity, digest=digest),
        overrides=parse_overrides(set_ or []),
        gift_card=gift_card,
        strict_ids=strict_ids,
    )
    write_private_file(output, data)
    typer.echo(f"wrote {output} ({len(data)} bytes)")


def build_model_dir(
    model_dir: Path,
    signer: ManifestSigner,
    *,
    overrides: dict[str, Any] | None = None,
    gift_card: bool = False,
    strict_ids: bool = False,
) -> bytes:
    """A signed .pkpass from a ``.pass`` folder, with top-level keys overridden.

    passTypeIdentifier and teamIdentifier come from the certificate (see :func:`take_ids`).
    """
    pass_json, files = read_model_dir(model_dir)
    overrides = overrides or {}
    pass_json.update(overrides)
    take_ids(pass_json, signer.identity, explicit=overrides.keys(), strict=strict_ids)
    style = style_of(pass_json)
    if style is not None:
        nfc = isinstance(pass_json.get("nfc"), dict)
        files = prepare_images(files, style, gift_card=gift_card, nfc=nfc)
    return PassTemplate(pass_json, files).build(signer, signing_time=utcnow())


def take_ids(
    pass_json: dict[str, Any],
    identity: SigningIdentity,
    *,
    explicit: Collection[str] = (),
    strict: bool = False,
) -> None:
    """Put the certificate's pass type id and team into ``pass_json``, noting each change.

    The certificate is the source of truth: Wallet accepts a pass only when both ids match
    it, so a model's ids are placeholders (passkit-generator overrides them the same way).
    A mismatch is refused (``pass_identity_mismatch``) when ``strict`` (Apple's signpass
    behaviour) or when the key is in ``explicit`` (given on the command line).
    """
    for key, wanted in (
        ("passTypeIdentifier", identity.pass_type_id),
        ("teamIdentifier", identity.team_id),
    ):
        current = pass_json.get(key)
        if current == wanted or (key in pass_json and (strict or key in explicit)):
            continue
        pass_json[key] = wanted
        if current is None:
            note(f"{key} set to the certificate's {wanted!r}")
        else:
            note(f"{key} {current!r} of the model replaced by the certificate's {wanted!r}")
    identity.check_pass_identity(
        pass_json.get("passTypeIdentifier"), pass_json.get("teamIdentifier")
    )


def note(message: str) -> None:
    """Something the build did for the user that they should know about (stderr)."""
    typer.echo(f"note: {message}", err=True)


def _print_report(name: str, report: VerifyReport) -> None:
    for problem in report.problems:
        label = "error" if problem.severity is Severity.ERROR else "warning"
        typer.echo(f"{name}: {label}: {problem}")


@app.command("verify")
def verify(
    file: Annotated[Path, typer.Argument(help="A .pkpass or .pkpasses file.")],
    ca: Annotated[
        list[Path] | None,
        typer.Option(help="Trusted root(s) instead of Apple Root CA (e.g. a dev-certs ca.pem)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the problems as JSON.")] = False,
) -> None:
    """Check a pass against Apple's rules; exit 0 only when it has no error."""
    try:
        data = file.read_bytes()
        roots = [c for path in ca or [] for c in load_certificates(path.read_bytes(), what="CA")]
    except (OSError, PassmintError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    now = utcnow()
    if file.suffix.lower() == ".pkpasses":
        reports = verify_pkpasses(data, now=now, roots=roots or None)
    else:
        reports = {file.name: verify_pkpass(data, now=now, roots=roots or None)}
    ok = all(r.ok for r in reports.values())
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "ok": ok,
                    "passes": {
                        name: [
                            {
                                "path": p.path,
                                "code": p.code,
                                "message": p.message,
                                "severity": p.severity.value,
                            }
                            for p in report.problems
                        ]
                        for name, report in reports.items()
                    },
                },
                indent=2,
            )
        )
    else:
        for name, report in reports.items():
            _print_report(name, report)
        count = sum(len(r.errors) for r in reports.values())
        typer.echo(f"{file}: {'valid' if ok else f'{count} error(s)'}")
    raise typer.Exit(0 if ok else 1)


@app.command("bundle")
@fail_on_errors
def bundle(
    passes: Annotated[list[Path], typer.Argument(help="Up to 10 .pkpass files.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="The .pkpasses to write.")],
) -> None:
    """Bundle up to 10 passes into one .pkpasses file."""
    data = build_pkpasses([p.read_bytes() for p in passes], [p.name for p in passes])
    write_private_file(output, data)
    typer.echo(f"wrote {output} ({len(passes)} passes)")
