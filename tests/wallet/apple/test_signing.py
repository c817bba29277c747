from __future__ import annotations

import subprocess
from datetime import datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from passmint.kit import der
from passmint.wallet.apple import signing
from passmint.wallet.apple.certificates import SigningIdentity
from passmint.wallet.apple.devpki import DevPki
from passmint.wallet.apple.signing import Digest, ManifestSigner

MANIFEST = b'{"icon.png":"0123456789abcdef0123456789abcdef01234567","pass.json":"aa"}'


def openssl_verify(signature: bytes, content: bytes, ca: Path, tmp: Path) -> str:
    (tmp / "sig").write_bytes(signature)
    (tmp / "m").write_bytes(content)
    result = subprocess.run(
        [
            "openssl",
            "cms",
            "-verify",
            "-binary",
            "-inform",
            "DER",
            "-in",
            str(tmp / "sig"),
            "-content",
            str(tmp / "m"),
            "-CAfile",
            str(ca),
            "-purpose",
            "any",
            "-out",
            "/dev/null",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stderr


@pytest.mark.parametrize("digest", list(Digest))
def test_openssl_verifies_the_detached_signature(
    identity: SigningIdentity,
    pki_paths: dict[str, Path],
    tmp_path: Path,
    digest: Digest,
    now: datetime,
) -> None:
    sig = ManifestSigner(identity, digest=digest).sign(MANIFEST, signing_time=now)
    assert "Verification successful" in openssl_verify(sig, MANIFEST, pki_paths["ca.pem"], tmp_path)
    assert "failure" in openssl_verify(sig, MANIFEST + b" ", pki_paths["ca.pem"], tmp_path)


def test_structure_is_detached_signed_data_with_required_attributes(
    signer: ManifestSigner, dev_pki: DevPki, now: datetime
) -> None:
    sig = signer.sign(MANIFEST, signing_time=now)
    content_info = der.parse(sig).children()
    assert content_info[0].as_oid() == signing.OID_SIGNED_DATA
    signed_data = content_info[1].children()[0].children()
    encap = signed_data[2].children()
    assert [n.as_oid() for n in encap] == [signing.OID_DATA]  # no eContent: detached
    certs = signed_data[3].children()
    assert len(certs) == 2  # signer + WWDR intermediate
    signer_info = signed_data[4].children()[0].children()
    attrs = {a.children()[0].as_oid(): a.children()[1] for a in signer_info[3].children()}
    assert set(attrs) == {
        signing.OID_CONTENT_TYPE,
        signing.OID_MESSAGE_DIGEST,
        signing.OID_SIGNING_TIME,
    }
    assert attrs[signing.OID_SIGNING_TIME].children()[0].as_time() == now.replace(microsecond=0)


def test_ec_keys_sign_too(dev_pki: DevPki, now: datetime, tmp_path: Path) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    key = ec.generate_private_key(ec.SECP256R1())
    builder = (
        x509.CertificateBuilder()
        .subject_name(dev_pki.pass_cert.subject)
        .issuer_name(dev_pki.wwdr.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(dev_pki.pass_cert.not_valid_before_utc)
        .not_valid_after(dev_pki.pass_cert.not_valid_after_utc)
    )
    for ext in dev_pki.pass_cert.extensions:
        if not isinstance(ext.value, x509.AuthorityKeyIdentifier):
            builder = builder.add_extension(ext.value, ext.critical)
    cert = builder.sign(dev_pki.wwdr_key, hashes.SHA256())
    identity = SigningIdentity.create(cert, key, now=now, wwdr=[dev_pki.wwdr])
    sig = ManifestSigner(identity).sign(MANIFEST, signing_time=now)
    (tmp_path / "ca.pem").write_bytes(dev_pki.files()["ca.pem"])
    assert "Verification successful" in openssl_verify(sig, MANIFEST, tmp_path / "ca.pem", tmp_path)


def test_each_signature_differs_only_in_the_per_pass_parts(
    signer: ManifestSigner, now: datetime
) -> None:
    a = signer.sign(MANIFEST, signing_time=now)
    b = signer.sign(MANIFEST.replace(b"aa", b"bb"), signing_time=now)
    assert a != b
    assert len(a) == len(b)
