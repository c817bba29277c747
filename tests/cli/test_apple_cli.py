from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from typer.testing import CliRunner

from passmint.cli import app
from passmint.kit.clock import utcnow
from passmint.kit.zipwriter import ZipEntry, write_zip
from passmint.wallet.apple.bundle import manifest_json
from passmint.wallet.apple.certificates import load_identity_pem
from passmint.wallet.apple.signing import ManifestSigner
from tests.conftest import PassCheck
from tests.fixtures.images import jpeg, png

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "models"
runner = CliRunner()


@pytest.fixture
def certs(tmp_path: Path) -> Path:
    directory = tmp_path / "certs"
    result = runner.invoke(
        app,
        [
            "dev-certs",
            str(directory),
            "--pass-type-id",
            "pass.dev.passmint.demo",
            "--team-id",
            "PASSMINT01",
        ],
    )
    assert result.exit_code == 0, result.output
    return directory


def build_args(model: Path, certs: Path, out: Path, *extra: str) -> list[str]:
    return [
        "apple",
        "build",
        str(model),
        "--cert",
        str(certs / "pass-cert.pem"),
        "--key",
        str(certs / "pass-key.pem"),
        "--wwdr",
        str(certs / "wwdr.pem"),
        "-o",
        str(out),
        *extra,
    ]


def test_dev_certs_writes_the_four_files(certs: Path) -> None:
    assert sorted(p.name for p in certs.iterdir()) == [
        "ca.pem",
        "pass-cert.pem",
        "pass-key.pem",
        "wwdr.pem",
    ]
    assert (certs / "pass-key.pem").stat().st_mode & 0o077 == 0
    again = runner.invoke(app, ["dev-certs", str(certs)])
    assert again.exit_code != 0
    assert "--force" in again.output


def test_dev_certs_rejects_a_bad_pass_type_id(tmp_path: Path) -> None:
    result = runner.invoke(app, ["dev-certs", str(tmp_path), "--pass-type-id", "com.example"])
    assert result.exit_code != 0
    assert "pass." in result.output


@pytest.mark.parametrize("model", sorted(p.name for p in EXAMPLES.glob("*.pass")))
def test_build_then_verify_every_example(
    model: str, certs: Path, tmp_path: Path, check_pass: PassCheck
) -> None:
    out = tmp_path / f"{model}.pkpass"
    result = runner.invoke(app, build_args(EXAMPLES / model, certs, out))
    assert result.exit_code == 0, result.output
    verified = runner.invoke(app, ["apple", "verify", str(out), "--ca", str(certs / "ca.pem")])
    assert verified.exit_code == 0, verified.output
    assert "valid" in verified.output
    # The session's checker also runs openssl cms -verify (against its own PKI, so rebuild
    # against that one is not possible here): verify with this run's root through openssl.
    from tests.fixtures.pki import openssl_cms_verify

    ok, detail = openssl_cms_verify(out.read_bytes(), certs / "ca.pem")
    assert ok, detail


def test_set_overrides_top_level_keys(certs: Path, tmp_path: Path) -> None:
    out = tmp_path / "x.pkpass"
    result = runner.invoke(
        app,
        build_args(
            EXAMPLES / "cafe-loyalty.pass",
            certs,
            out,
            "--set",
            "serialNumber=12345",
            "--set",
            "sharingProhibited:=true",
        ),
    )
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(out) as archive:
        doc = json.loads(archive.read("pass.json"))
    assert doc["serialNumber"] == "12345"
    assert doc["sharingProhibited"] is True


def test_verify_without_ca_fails_for_a_test_pki_pass(certs: Path, tmp_path: Path) -> None:
    out = tmp_path / "x.pkpass"
    assert (
        runner.invoke(app, build_args(EXAMPLES / "gym-membership.pass", certs, out)).exit_code == 0
    )
    result = runner.invoke(app, ["apple", "verify", str(out), "--json"])
    assert result.exit_code == 1
    report = json.loads(result.output)
    assert report["ok"] is False
    assert "untrusted_root" in {p["code"] for p in report["passes"]["x.pkpass"]}


def copy_model(tmp_path: Path, name: str = "cafe-loyalty.pass") -> Path:
    target = tmp_path / name
    shutil.copytree(EXAMPLES / name, target)
    return target


def assert_refused(result_output: str, exit_code: int, out: Path, *needles: str) -> None:
    assert exit_code == 1, result_output
    assert not out.exists(), "no partial file may be written"
    assert not list(out.parent.glob(f".{out.name}.*")), "no temporary file may be left"
    for needle in needles:
        assert needle in result_output, result_output


def test_bad_pass_json_is_refused_naming_every_problem(certs: Path, tmp_path: Path) -> None:
    model = copy_model(tmp_path)
    doc = json.loads((model / "pass.json").read_text())
    doc["backgroundColor"] = "#ff0000"
    doc["storeCard"]["primaryFields"][0]["changeMessage"] = "no placeholder"
    (model / "pass.json").write_text(json.dumps(doc))
    out = tmp_path / "out.pkpass"
    result = runner.invoke(app, build_args(model, certs, out))
    assert_refused(result.output, result.exit_code, out, "$.backgroundColor", "changeMessage")


def test_non_png_image_is_refused(certs: Path, tmp_path: Path) -> None:
    model = copy_model(tmp_path)
    (model / "logo.png").write_bytes(jpeg(480, 150))
    out = tmp_path / "out.pkpass"
    result = runner.invoke(app, build_args(model, certs, out))
    assert_refused(result.output, result.exit_code, out, "logo.png")


def test_too_small_image_is_refused(certs: Path, tmp_path: Path) -> None:
    model = copy_model(tmp_path)
    (model / "strip.png").write_bytes(png(300, 100))
    out = tmp_path / "out.pkpass"
    result = runner.invoke(app, build_args(model, certs, out))
    assert_refused(result.output, result.exit_code, out, "strip.png")


def test_wrong_key_password_is_refused(certs: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.pkpass"
    result = runner.invoke(
        app, build_args(EXAMPLES / "cafe-loyalty.pass", certs, out, "--key-password", "x")
    )
    assert_refused(result.output, result.exit_code, out, "wrong_password")


def test_key_from_another_pki_is_refused(certs: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    assert runner.invoke(app, ["dev-certs", str(other)]).exit_code == 0
    out = tmp_path / "out.pkpass"
    args = build_args(EXAMPLES / "cafe-loyalty.pass", certs, out)
    args[args.index("--key") + 1] = str(other / "pass-key.pem")
    result = runner.invoke(app, args)
    assert_refused(result.output, result.exit_code, out, "key_certificate_mismatch")


def test_certificate_without_pass_type_oid_is_refused(certs: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.pkpass"
    args = build_args(EXAMPLES / "cafe-loyalty.pass", certs, out)
    args[args.index("--cert") + 1] = str(certs / "wwdr.pem")  # a CA, not a Pass Type ID cert
    result = runner.invoke(app, args)
    assert_refused(result.output, result.exit_code, out, "certificate_not_pass_type_id")


def test_pass_for_another_team_is_refused(certs: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.pkpass"
    result = runner.invoke(
        app, build_args(EXAMPLES / "cafe-loyalty.pass", certs, out, "--set", "teamIdentifier=ZZZ")
    )
    assert_refused(result.output, result.exit_code, out, "pass_identity_mismatch")


def test_bundle_command(certs: Path, tmp_path: Path) -> None:
    outs = []
    for model in sorted(EXAMPLES.glob("*.pass")):
        out = tmp_path / f"{model.stem}.pkpass"
        assert runner.invoke(app, build_args(model, certs, out)).exit_code == 0
        outs.append(str(out))
    bundle = tmp_path / "all.pkpasses"
    result = runner.invoke(app, ["apple", "bundle", *outs, "-o", str(bundle)])
    assert result.exit_code == 0, result.output
    verified = runner.invoke(app, ["apple", "verify", str(bundle), "--ca", str(certs / "ca.pem")])
    assert verified.exit_code == 0, verified.output


# -- passTypeIdentifier and teamIdentifier come from the certificate ---------------------------

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_cli_block() -> list[str]:
    """The commands of README.md's "The pass engine CLI" block, continuation lines joined."""
    section = README.read_text("utf-8").split("## The pass engine CLI", 1)[1]
    block = section.split("```sh\n", 1)[1].split("```", 1)[0]
    return [line for line in block.replace("\\\n", " ").splitlines() if line.strip()]


def test_the_readme_cli_block_works_when_pasted(tmp_path: Path) -> None:
    shutil.copytree(EXAMPLES.parent, tmp_path / "examples")
    passmint = Path(sys.executable).with_name("passmint")
    assert passmint.exists(), "the passmint console script is not installed in this venv"
    commands = readme_cli_block()
    assert any("cafe-loyalty.pass" in line for line in commands)
    for line in commands:
        argv = shlex.split(line, comments=True)
        assert argv[0] == "passmint"
        result = subprocess.run(
            [str(passmint), *argv[1:]],
            cwd=tmp_path,
            env=os.environ.copy(),
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )
        assert result.returncode == 0, f"{line}\n{result.stdout}\n{result.stderr}"
    with zipfile.ZipFile(tmp_path / "card.pkpass") as archive:
        doc = json.loads(archive.read("pass.json"))
    assert (doc["passTypeIdentifier"], doc["teamIdentifier"]) == (
        "pass.com.example.loyalty",
        "ABCDE12345",
    )
    assert (doc["serialNumber"], doc["sharingProhibited"]) == ("CARD-42", True)
    assert (tmp_path / "demo-out" / "demo.pkpasses").is_file()


@pytest.fixture
def other_certs(tmp_path: Path) -> Path:
    directory = tmp_path / "other-certs"
    result = runner.invoke(
        app,
        [
            "dev-certs",
            str(directory),
            "--pass-type-id",
            "pass.com.example.loyalty",
            "--team-id",
            "ABCDE12345",
        ],
    )
    assert result.exit_code == 0, result.output
    return directory


def test_model_ids_are_taken_from_the_certificate_with_a_note(
    other_certs: Path, tmp_path: Path
) -> None:
    out = tmp_path / "card.pkpass"
    result = runner.invoke(app, build_args(EXAMPLES / "cafe-loyalty.pass", other_certs, out))
    assert result.exit_code == 0, result.output
    assert (
        "note: passTypeIdentifier 'pass.dev.passmint.demo' of the model replaced by the "
        "certificate's 'pass.com.example.loyalty'"
    ) in result.output
    assert "note: teamIdentifier 'PASSMINT01'" in result.output
    with zipfile.ZipFile(out) as archive:
        doc = json.loads(archive.read("pass.json"))
    assert doc["passTypeIdentifier"] == "pass.com.example.loyalty"
    assert doc["teamIdentifier"] == "ABCDE12345"
    verified = runner.invoke(
        app, ["apple", "verify", str(out), "--ca", str(other_certs / "ca.pem")]
    )
    assert verified.exit_code == 0, verified.output


def test_strict_ids_refuses_a_model_pinned_to_other_ids(other_certs: Path, tmp_path: Path) -> None:
    out = tmp_path / "card.pkpass"
    result = runner.invoke(
        app, build_args(EXAMPLES / "cafe-loyalty.pass", other_certs, out, "--strict-ids")
    )
    assert_refused(result.output, result.exit_code, out, "pass_identity_mismatch", "PASSMINT01")


def test_a_model_without_ids_gets_the_certificates(other_certs: Path, tmp_path: Path) -> None:
    model = copy_model(tmp_path)
    doc = json.loads((model / "pass.json").read_text())
    del doc["passTypeIdentifier"], doc["teamIdentifier"]
    (model / "pass.json").write_text(json.dumps(doc))
    out = tmp_path / "card.pkpass"
    result = runner.invoke(app, build_args(model, other_certs, out, "--strict-ids"))
    assert result.exit_code == 0, result.output
    assert "note: teamIdentifier set to the certificate's 'ABCDE12345'" in result.output
    with zipfile.ZipFile(out) as archive:
        doc = json.loads(archive.read("pass.json"))
    assert doc["passTypeIdentifier"] == "pass.com.example.loyalty"


# -- a changeMessage that is a localization key ------------------------------------------------

TIER_CHANGED = {
    "en": "You are now %@",
    "fr": "Vous êtes maintenant %@",
    "ar": "أنت الآن %@",
}


def localized_change_message_model(tmp_path: Path, translations: dict[str, str]) -> Path:
    """cafe-loyalty with its tier changeMessage replaced by the key TIER_CHANGED."""
    model = copy_model(tmp_path)
    doc = json.loads((model / "pass.json").read_text())
    doc["storeCard"]["headerFields"][0]["changeMessage"] = "TIER_CHANGED"
    (model / "pass.json").write_text(json.dumps(doc))
    for lang, text in translations.items():
        strings = model / f"{lang}.lproj" / "pass.strings"
        strings.write_text(strings.read_text("utf-8") + f'"TIER_CHANGED" = "{text}";\n', "utf-8")
    return model


def test_a_localized_change_message_builds_and_verifies(certs: Path, tmp_path: Path) -> None:
    model = localized_change_message_model(tmp_path, TIER_CHANGED)
    out = tmp_path / "card.pkpass"
    result = runner.invoke(app, build_args(model, certs, out))
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(out) as archive:
        doc = json.loads(archive.read("pass.json"))
    assert doc["storeCard"]["headerFields"][0]["changeMessage"] == "TIER_CHANGED"
    verified = runner.invoke(app, ["apple", "verify", str(out), "--ca", str(certs / "ca.pem")])
    assert verified.exit_code == 0, verified.output


def test_a_translation_without_the_placeholder_is_refused_naming_the_language(
    certs: Path, tmp_path: Path
) -> None:
    model = localized_change_message_model(tmp_path, {**TIER_CHANGED, "fr": "Niveau modifié"})
    out = tmp_path / "card.pkpass"
    result = runner.invoke(app, build_args(model, certs, out))
    assert_refused(
        result.output,
        result.exit_code,
        out,
        "change_message_placeholder",
        "$.storeCard.headerFields[0].changeMessage",
        "fr (fr.lproj/pass.strings: 'Niveau modifié')",
    )
    assert "en.lproj" not in result.output


def test_verify_names_the_language_whose_translation_lacks_the_placeholder(
    certs: Path, tmp_path: Path
) -> None:
    """A pass another tool built and signed, with one bad translation of the key."""
    built = tmp_path / "card.pkpass"
    model = localized_change_message_model(tmp_path, TIER_CHANGED)
    assert runner.invoke(app, build_args(model, certs, built)).exit_code == 0
    with zipfile.ZipFile(built) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    del files["manifest.json"], files["signature"]
    fr = files["fr.lproj/pass.strings"].decode()
    files["fr.lproj/pass.strings"] = fr.replace(
        "Vous êtes maintenant %@", "Niveau modifié"
    ).encode()
    manifest = manifest_json(files)
    identity = load_identity_pem(
        (certs / "pass-cert.pem").read_bytes(),
        (certs / "pass-key.pem").read_bytes(),
        now=utcnow(),
        wwdr_pem=(certs / "wwdr.pem").read_bytes(),
    )
    signature = ManifestSigner(identity).sign(manifest, signing_time=utcnow())
    entries = {**files, "manifest.json": manifest, "signature": signature}
    other = tmp_path / "other-tool.pkpass"
    other.write_bytes(write_zip(ZipEntry.make(n, d) for n, d in entries.items()))

    result = runner.invoke(
        app, ["apple", "verify", str(other), "--ca", str(certs / "ca.pem"), "--json"]
    )
    assert result.exit_code == 1, result.output
    problems = json.loads(result.output)["passes"]["other-tool.pkpass"]
    [problem] = [p for p in problems if p["code"] == "change_message_placeholder"]
    assert problem["path"] == "$.storeCard.headerFields[0].changeMessage"
    assert "fr (fr.lproj/pass.strings: 'Niveau modifié')" in problem["message"]
    assert "en.lproj" not in problem["message"]


# -- the test PKI looks like Apple's ---------------------------------------------------------------


def test_dev_certs_leaf_carries_apples_pass_type_id_fields(certs: Path) -> None:
    leaf = x509.load_pem_x509_certificate((certs / "pass-cert.pem").read_bytes())
    wwdr = x509.load_pem_x509_certificate((certs / "wwdr.pem").read_bytes())
    subject = {a.oid: a.value for a in leaf.subject}
    assert subject[NameOID.USER_ID] == "pass.dev.passmint.demo"
    assert subject[NameOID.COMMON_NAME] == "Pass Type ID: pass.dev.passmint.demo"
    assert subject[NameOID.ORGANIZATIONAL_UNIT_NAME] == "PASSMINT01"
    assert NameOID.ORGANIZATION_NAME in subject
    assert subject[NameOID.COUNTRY_NAME] == "US"
    assert [a.oid for a in leaf.subject][:3] == [
        NameOID.USER_ID,
        NameOID.COMMON_NAME,
        NameOID.ORGANIZATIONAL_UNIT_NAME,
    ]
    ext = leaf.extensions
    eku = ext.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert set(eku) == {
        ExtendedKeyUsageOID.CLIENT_AUTH,
        x509.ObjectIdentifier("1.2.840.113635.100.4.14"),
    }
    usage = ext.get_extension_for_class(x509.KeyUsage)
    assert usage.critical
    assert usage.value.digital_signature
    assert not usage.value.key_cert_sign
    assert not usage.value.key_encipherment
    basic = ext.get_extension_for_class(x509.BasicConstraints)
    assert basic.critical
    assert not basic.value.ca
    marker = ext.get_extension_for_oid(x509.ObjectIdentifier("1.2.840.113635.100.6.1.16"))
    assert isinstance(marker.value, x509.UnrecognizedExtension)
    assert marker.value.value == b"\x0c\x16pass.dev.passmint.demo"  # UTF8String
    ext.get_extension_for_oid(x509.ObjectIdentifier("1.2.840.113635.100.6.3.2"))  # APNs
    policies = ext.get_extension_for_class(x509.CertificatePolicies).value
    assert [p.policy_identifier.dotted_string for p in policies] == ["1.2.840.113635.100.5.1"]
    assert (
        ext.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier
        == wwdr.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    )
    # The WWDR-like intermediate: a path-length-0 CA with Apple's WWDR marker.
    wwdr_basic = wwdr.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert wwdr_basic.ca
    assert wwdr_basic.path_length == 0
    wwdr_marker = wwdr.extensions.get_extension_for_oid(
        x509.ObjectIdentifier("1.2.840.113635.100.6.2.1")
    )
    assert isinstance(wwdr_marker.value, x509.UnrecognizedExtension)
    assert wwdr_marker.value.value == b"\x05\x00"  # NULL, as in Apple's WWDR G4
    leaf.verify_directly_issued_by(wwdr)


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_openssl_accepts_the_dev_leaf_for_tls_client_auth(certs: Path) -> None:
    """APNs authenticates the Pass Type ID certificate as a TLS client."""
    result = subprocess.run(
        [
            "openssl",
            "verify",
            "-CAfile",
            str(certs / "ca.pem"),
            "-untrusted",
            str(certs / "wwdr.pem"),
            "-purpose",
            "sslclient",
            str(certs / "pass-cert.pem"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
