from __future__ import annotations

import io
import json
import zipfile
from datetime import datetime, timedelta

import pytest

from passmint.kit.zipwriter import ZipEntry, write_zip
from passmint.wallet.apple.bundle import PassTemplate
from passmint.wallet.apple.certificates import SigningIdentity
from passmint.wallet.apple.devpki import DevPki, generate_dev_pki
from passmint.wallet.apple.reader import VerifyReport, verify_pkpass, verify_pkpasses
from passmint.wallet.apple.signing import ManifestSigner
from tests.wallet.apple.builders import icon_files, store_card


@pytest.fixture(scope="module")
def good(signer: ManifestSigner, now: datetime) -> bytes:
    return PassTemplate(store_card(), icon_files()).build(signer, signing_time=now)


def unzip(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {n: archive.read(n) for n in archive.namelist()}


def rezip(files: dict[str, bytes]) -> bytes:
    return write_zip(ZipEntry.make(n, d) for n, d in files.items())


def codes(report: VerifyReport) -> set[str]:
    return {p.code for p in report.errors}


def check(data: bytes, dev_pki: DevPki, now: datetime) -> VerifyReport:
    return verify_pkpass(data, now=now, roots=[dev_pki.root])


def test_good_pass_is_valid(good: bytes, dev_pki: DevPki, now: datetime) -> None:
    report = check(good, dev_pki, now)
    assert report.ok, report.problems
    assert report.signing_time is not None
    assert report.pass_json is not None
    assert report.pass_json["serialNumber"] == "SN-1"


def test_without_the_test_root_it_must_chain_to_apple(good: bytes, now: datetime) -> None:
    report = verify_pkpass(good, now=now)
    assert {"wwdr_not_g4", "untrusted_root"} <= codes(report)


def test_not_a_zip(dev_pki: DevPki, now: datetime) -> None:
    assert codes(check(b"PK\x03\x04 garbage", dev_pki, now)) == {"not_a_zip"}


def test_tampered_file_fails_its_manifest_hash(good: bytes, dev_pki: DevPki, now: datetime) -> None:
    files = unzip(good)
    files["icon.png"] = files["icon.png"] + b"\x00"
    report = check(rezip(files), dev_pki, now)
    assert any(p.code == "manifest_hash_mismatch" and p.path == "icon.png" for p in report.errors)


def test_file_missing_from_manifest_and_manifest_entry_missing_from_zip(
    good: bytes, dev_pki: DevPki, now: datetime
) -> None:
    files = unzip(good)
    files["logo.png"] = files["icon.png"]
    del files["icon@3x.png"]
    report = check(rezip(files), dev_pki, now)
    assert {"manifest_missing_entry", "manifest_extra_entry"} <= codes(report)


def test_tampered_manifest_breaks_the_signature(
    good: bytes, dev_pki: DevPki, now: datetime
) -> None:
    files = unzip(good)
    manifest = json.loads(files["manifest.json"])
    files["pass.json"] = files["pass.json"].replace(b"Ada", b"Eve")
    manifest["pass.json"] = __import__("hashlib").sha1(files["pass.json"]).hexdigest()
    files["manifest.json"] = json.dumps(manifest).encode()
    assert "manifest_digest_mismatch" in codes(check(rezip(files), dev_pki, now))


def test_junk_and_missing_required_files(good: bytes, dev_pki: DevPki, now: datetime) -> None:
    files = unzip(good)
    files["__MACOSX/._icon.png"] = b"x"
    files[".DS_Store"] = b"x"
    del files["signature"]
    report = check(rezip(files), dev_pki, now)
    assert {"junk_file", "missing_file"} <= codes(report)


def test_garbage_signature(good: bytes, dev_pki: DevPki, now: datetime) -> None:
    files = unzip(good)
    files["signature"] = b"\x30\x03\x02\x01\x01"
    assert "invalid_signature_format" in codes(check(rezip(files), dev_pki, now))


def test_signature_by_another_pki_is_untrusted(
    good: bytes, identity: SigningIdentity, now: datetime
) -> None:
    other = generate_dev_pki(now=now)
    report = verify_pkpass(good, now=now, roots=[other.root])
    assert "untrusted_root" in codes(report)


def test_signature_without_wwdr_in_the_set(dev_pki: DevPki, now: datetime) -> None:
    lonely = SigningIdentity(
        dev_pki.pass_cert, dev_pki.pass_key, (), "pass.dev.passmint.demo", "PASSMINT01"
    )
    data = PassTemplate(store_card(), icon_files()).build(ManifestSigner(lonely), signing_time=now)
    assert "wwdr_missing" in codes(check(data, dev_pki, now))


def test_ids_must_match_the_certificate(good: bytes, dev_pki: DevPki, now: datetime) -> None:
    files = unzip(good)
    doc = json.loads(files["pass.json"])
    doc["passTypeIdentifier"] = "pass.someone.else"
    doc["teamIdentifier"] = "OTHERTEAM1"
    files["pass.json"] = json.dumps(doc).encode()
    manifest = json.loads(files["manifest.json"])
    manifest["pass.json"] = __import__("hashlib").sha1(files["pass.json"]).hexdigest()
    files["manifest.json"] = json.dumps(manifest).encode()
    report = check(rezip(files), dev_pki, now)
    assert {"pass_type_id_mismatch", "team_id_mismatch"} <= codes(report)


def test_signed_outside_certificate_validity(dev_pki: DevPki, now: datetime) -> None:
    identity = SigningIdentity.create(
        dev_pki.pass_cert, dev_pki.pass_key, now=now, wwdr=[dev_pki.wwdr]
    )
    data = PassTemplate(store_card(), icon_files()).build(
        ManifestSigner(identity), signing_time=now - timedelta(days=30)
    )
    assert "certificate_not_valid_at_signing_time" in codes(check(data, dev_pki, now))


def test_pass_json_rules_and_images_are_checked(
    good: bytes, dev_pki: DevPki, now: datetime
) -> None:
    files = unzip(good)
    doc = json.loads(files["pass.json"])
    doc["backgroundColor"] = "blue"
    files["pass.json"] = json.dumps(doc).encode()
    files["strip.png"] = b"not a png"
    import hashlib

    manifest = {
        n: hashlib.sha1(d).hexdigest()
        for n, d in files.items()
        if n not in ("manifest.json", "signature")
    }
    files["manifest.json"] = json.dumps(manifest).encode()
    report = check(rezip(files), dev_pki, now)
    paths = {p.path for p in report.errors}
    assert "$.backgroundColor" in paths
    assert "strip.png" in paths
    assert "manifest_digest_mismatch" in codes(report)


def test_pkpasses_with_eleven_passes_is_refused(
    good: bytes, dev_pki: DevPki, now: datetime
) -> None:
    bundle = write_zip(ZipEntry.make(f"p{i}.pkpass", good, compress=False) for i in range(11))
    reports = verify_pkpasses(bundle, now=now, roots=[dev_pki.root])
    assert "too_many_passes" in codes(reports["(bundle)"])


def test_signer_without_the_pass_type_id_usage_is_an_error(dev_pki: DevPki, now: datetime) -> None:
    """Apple's Passbook trust policy requires EKU 1.2.840.113635.100.4.14: Wallet refuses."""
    from tests.wallet.apple.test_certificates import leaf_with_usage

    leaf = leaf_with_usage(dev_pki, None)
    # Built directly: SigningIdentity.create refuses such a certificate, another tool may not.
    lenient = SigningIdentity(
        leaf, dev_pki.pass_key, (dev_pki.wwdr,), "pass.dev.passmint.demo", "PASSMINT01"
    )
    data = PassTemplate(store_card(), icon_files()).build(ManifestSigner(lenient), signing_time=now)
    report = check(data, dev_pki, now)
    assert codes(report) == {"certificate_pass_eku_missing"}
    [problem] = report.errors
    assert problem.path == "signature"
    assert "1.2.840.113635.100.4.14" in problem.message


def test_a_localized_change_message_is_checked_in_every_language(
    signer: ManifestSigner, dev_pki: DevPki, now: datetime
) -> None:
    doc = store_card()
    doc["storeCard"]["primaryFields"][0]["changeMessage"] = "POINTS_CHANGED"
    files = {
        **icon_files(),
        "en.lproj/pass.strings": b'"POINTS_CHANGED" = "You now have %@ points";\n',
        "de.lproj/pass.strings": b'"POINTS_CHANGED" = "Neuer Punktestand: %@";\n',
    }
    good = PassTemplate(doc, files).build(signer, signing_time=now)
    assert check(good, dev_pki, now).ok
    tampered = unzip(good)
    tampered["de.lproj/pass.strings"] = '"POINTS_CHANGED" = "Punkte geändert";\n'.encode()
    report = check(rezip(tampered), dev_pki, now)
    [problem] = [p for p in report.errors if p.code == "change_message_placeholder"]
    assert problem.path == "$.storeCard.primaryFields[0].changeMessage"
    assert "de (de.lproj/pass.strings: 'Punkte geändert')" in problem.message
