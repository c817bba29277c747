from __future__ import annotations

import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from passmint.wallet.apple import certificates as certs
from passmint.wallet.apple.devpki import DevPki, generate_dev_pki


def pem_key(key: rsa.RSAPrivateKey, password: bytes | None = None) -> bytes:
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )


def test_bundled_wwdr_is_apples_g4_and_chains_to_apple_root() -> None:
    g4 = certs.apple_wwdr_g4()
    assert g4.serial_number == certs.WWDR_G4_SERIAL
    assert g4.not_valid_after_utc == datetime(2030, 12, 10, tzinfo=UTC)
    ou = g4.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)[0].value
    assert ou == "G4"
    g4.verify_directly_issued_by(certs.apple_root_ca())


def test_pem_identity_reads_pass_type_and_team(dev_pki: DevPki, now: datetime) -> None:
    files = dev_pki.files()
    identity = certs.load_identity_pem(
        files["pass-cert.pem"], files["pass-key.pem"], now=now, wwdr_pem=files["wwdr.pem"]
    )
    assert identity.pass_type_id == "pass.dev.passmint.demo"
    assert identity.team_id == "PASSMINT01"
    assert identity.chain == (dev_pki.wwdr,)
    assert certs.common_name_pass_type_id(dev_pki.pass_cert) == "pass.dev.passmint.demo"


def test_default_chain_is_the_bundled_g4(dev_pki: DevPki, now: datetime) -> None:
    identity = certs.SigningIdentity.create(dev_pki.pass_cert, dev_pki.pass_key, now=now)
    assert identity.chain == (certs.apple_wwdr_g4(),)


def test_encrypted_pem_key_needs_the_right_password(dev_pki: DevPki, now: datetime) -> None:
    cert = dev_pki.files()["pass-cert.pem"]
    locked = pem_key(dev_pki.pass_key, b"s3cret")
    identity = certs.load_identity_pem(cert, locked, now=now, password=b"s3cret")
    assert identity.pass_type_id == "pass.dev.passmint.demo"
    with pytest.raises(certs.WrongPassword):
        certs.load_identity_pem(cert, locked, now=now, password=b"wrong")
    with pytest.raises(certs.WrongPassword, match="encrypted"):
        certs.load_identity_pem(cert, locked, now=now)


def test_p12_with_modern_encryption(dev_pki: DevPki, now: datetime) -> None:
    blob = pkcs12.serialize_key_and_certificates(
        b"pass",
        dev_pki.pass_key,
        dev_pki.pass_cert,
        [dev_pki.wwdr],
        serialization.BestAvailableEncryption(b"pw"),
    )
    identity = certs.load_identity_p12(blob, b"pw", now=now)
    assert identity.team_id == "PASSMINT01"
    assert identity.chain == (dev_pki.wwdr,)
    with pytest.raises(certs.WrongPassword):
        certs.load_identity_p12(blob, b"nope", now=now)


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_keychain_style_p12_with_rc2_40(dev_pki: DevPki, now: datetime, tmp_path: Path) -> None:
    files = dev_pki.files()
    (tmp_path / "c.pem").write_bytes(files["pass-cert.pem"])
    (tmp_path / "k.pem").write_bytes(files["pass-key.pem"])
    subprocess.run(
        [
            "openssl",
            "pkcs12",
            "-export",
            "-legacy",
            "-certpbe",
            "PBE-SHA1-RC2-40",
            "-keypbe",
            "PBE-SHA1-3DES",
            "-in",
            str(tmp_path / "c.pem"),
            "-inkey",
            str(tmp_path / "k.pem"),
            "-out",
            str(tmp_path / "k.p12"),
            "-passout",
            "pass:keychain",
        ],
        check=True,
        capture_output=True,
    )
    info = subprocess.run(
        [
            "openssl",
            "pkcs12",
            "-legacy",
            "-info",
            "-noout",
            "-in",
            str(tmp_path / "k.p12"),
            "-passin",
            "pass:keychain",
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    assert "pbeWithSHA1And40BitRC2-CBC" in info.stdout + info.stderr
    identity = certs.load_identity_p12((tmp_path / "k.p12").read_bytes(), b"keychain", now=now)
    assert identity.pass_type_id == "pass.dev.passmint.demo"
    with pytest.raises(certs.WrongPassword):
        certs.load_identity_p12((tmp_path / "k.p12").read_bytes(), b"other", now=now)


def test_key_that_does_not_match_is_refused(dev_pki: DevPki, now: datetime) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(certs.KeyMismatch, match="does not match"):
        certs.load_identity_pem(dev_pki.files()["pass-cert.pem"], pem_key(other), now=now)


def test_certificate_without_the_pass_type_oid_is_refused(now: datetime) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "just a TLS cert")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    with pytest.raises(certs.NotPassTypeCertificate, match=r"1\.2\.840\.113635\.100\.6\.1\.16"):
        certs.SigningIdentity.create(cert, key, now=now)


def test_expired_certificate_is_refused(now: datetime) -> None:
    old = generate_dev_pki(now=now - timedelta(days=800), valid_for=timedelta(days=30))
    with pytest.raises(certs.CertificateExpired, match="expired on"):
        certs.SigningIdentity.create(old.pass_cert, old.pass_key, now=now, wwdr=[old.wwdr])


def test_not_yet_valid_certificate_is_refused(now: datetime) -> None:
    future = generate_dev_pki(now=now, pass_valid_from=now + timedelta(days=2))
    with pytest.raises(certs.CertificateExpired, match="not valid before"):
        certs.SigningIdentity.create(future.pass_cert, future.pass_key, now=now)


def test_expiry_warning_within_90_days(now: datetime) -> None:
    pki = generate_dev_pki(now=now, valid_for=timedelta(days=60))
    identity = certs.SigningIdentity.create(pki.pass_cert, pki.pass_key, now=now, wwdr=[pki.wwdr])
    notices = identity.expiry_notices(now)
    assert notices[0].subject.startswith("C=US,O=passmint development")
    assert not notices[0].expired
    assert identity.expiry_notices(now - timedelta(days=100)) == []


def test_bundled_g4_warns_90_days_before_it_expires(dev_pki: DevPki) -> None:
    later = datetime(2030, 9, 20, tzinfo=UTC)
    identity = certs.SigningIdentity.create(
        dev_pki.pass_cert, dev_pki.pass_key, now=dev_pki.pass_cert.not_valid_before_utc
    )
    notices = identity.expiry_notices(later)
    assert any("Apple Worldwide Developer Relations" in n.subject for n in notices)


def test_pass_identity_mismatch_names_both_ids(identity: certs.SigningIdentity) -> None:
    with pytest.raises(certs.PassIdentityMismatch) as info:
        identity.check_pass_identity("pass.other.id", "OTHERTEAM")
    assert "pass.other.id" in str(info.value)
    assert "OTHERTEAM" in str(info.value)
    identity.check_pass_identity("pass.dev.passmint.demo", "PASSMINT01")


def test_garbage_inputs_give_clear_errors(now: datetime) -> None:
    with pytest.raises(certs.CertificateError, match="not a PEM or DER"):
        certs.load_certificates(b"hello")
    # A PEM frame around garbage (assembled, so no key-shaped literal sits in the repo).
    frame = b"-----%s PRIVATE KEY-----"
    garbage = frame % b"BEGIN" + b"\nAAAA\n" + frame % b"END" + b"\n"
    with pytest.raises(certs.InvalidKey):
        certs.load_private_key(garbage)
    with pytest.raises(certs.CertificateError):
        certs.load_identity_p12(b"not a p12", b"pw", now=now)


def leaf_with_usage(pki: DevPki, usage: x509.ExtendedKeyUsage | None) -> x509.Certificate:
    """The dev leaf re-issued with another extended key usage (None: without the extension)."""
    builder = (
        x509.CertificateBuilder()
        .subject_name(pki.pass_cert.subject)
        .issuer_name(pki.pass_cert.issuer)
        .public_key(pki.pass_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(pki.pass_cert.not_valid_before_utc)
        .not_valid_after(pki.pass_cert.not_valid_after_utc)
    )
    for ext in pki.pass_cert.extensions:
        if isinstance(ext.value, x509.ExtendedKeyUsage):
            if usage is None:
                continue
            builder = builder.add_extension(usage, ext.critical)
        else:
            builder = builder.add_extension(ext.value, ext.critical)
    return builder.sign(pki.wwdr_key, hashes.SHA256())


def test_dev_leaf_has_the_pass_type_id_extended_key_usage(dev_pki: DevPki) -> None:
    usage = dev_pki.pass_cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert certs.PASS_SIGNING_EKU_OID in usage.value
    assert not usage.critical  # as on Apple's certificates
    assert certs.has_pass_signing_usage(dev_pki.pass_cert)


@pytest.mark.parametrize(
    "usage",
    [None, x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH])],
    ids=["no-eku", "client-auth-only"],
)
def test_certificate_without_the_pass_type_id_usage_is_refused(
    dev_pki: DevPki, now: datetime, usage: x509.ExtendedKeyUsage | None
) -> None:
    leaf = leaf_with_usage(dev_pki, usage)
    assert not certs.has_pass_signing_usage(leaf)
    with pytest.raises(certs.PassSigningUsageMissing, match=r"1\.2\.840\.113635\.100\.4\.14"):
        certs.SigningIdentity.create(leaf, dev_pki.pass_key, now=now, wwdr=[dev_pki.wwdr])
