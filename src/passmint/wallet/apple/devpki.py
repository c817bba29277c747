"""A throwaway test PKI shaped like Apple's: root → WWDR-like intermediate → Pass Type ID.

For development and tests only: passes signed with it verify against its own root
(``passmint apple verify --ca ca.pem``, ``openssl cms -verify -CAfile ca.pem``), never on
a phone.

The leaf carries what a verifier checks on Apple's Pass Type ID certificates (as issued by
WWDR G4): subject ``UID=<pass type id>, CN=Pass Type ID: <id>, OU=<team id>, O, C``; basic
constraints CA:FALSE and key usage digitalSignature (both critical); the extended key usage
clientAuth (APNs) plus 1.2.840.113635.100.4.14 (Pass Type ID signing, required by Apple's
Passbook trust policy); the marker 1.2.840.113635.100.6.1.16 holding the pass type id; the
APNs production marker 1.2.840.113635.100.6.3.2; Apple's certificate policy
1.2.840.113635.100.5.1; key identifiers. The intermediate, like WWDR G4, is a path-length-0
CA with Apple's WWDR marker 1.2.840.113635.100.6.2.1. Left out: the OCSP, CA-issuer and CRL
addresses, which would point at servers that do not exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from passmint.kit import der
from passmint.wallet.apple.certificates import (
    APNS_PRODUCTION_OID,
    PASS_SIGNING_EKU_OID,
    PASS_TYPE_ID_OID,
    WWDR_COMMON_NAME,
    WWDR_MARKER_OID,
)

DEFAULT_PASS_TYPE_ID = "pass.dev.passmint.demo"  # noqa: S105 - an identifier
DEFAULT_TEAM_ID = "PASSMINT01"
APPLE_CERTIFICATE_POLICY_OID = x509.ObjectIdentifier("1.2.840.113635.100.5.1")
_DER_NULL = der.tlv(0x05, b"")


@dataclass(frozen=True)
class DevPki:
    root: x509.Certificate
    root_key: rsa.RSAPrivateKey
    wwdr: x509.Certificate
    wwdr_key: rsa.RSAPrivateKey
    pass_cert: x509.Certificate
    pass_key: rsa.RSAPrivateKey

    def files(self) -> dict[str, bytes]:
        """The PEM files ``passmint dev-certs`` writes, by name."""
        pem = serialization.Encoding.PEM
        return {
            "ca.pem": self.root.public_bytes(pem),
            "wwdr.pem": self.wwdr.public_bytes(pem),
            "pass-cert.pem": self.pass_cert.public_bytes(pem),
            "pass-key.pem": _key_pem(self.pass_key),
        }


def _key_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _name(*pairs: tuple[x509.ObjectIdentifier, str]) -> x509.Name:
    return x509.Name([x509.NameAttribute(oid, value) for oid, value in pairs])


def _ca(
    subject: x509.Name,
    issuer: x509.Name,
    key: rsa.RSAPrivateKey,
    signer: rsa.RSAPrivateKey,
    not_before: datetime,
    not_after: datetime,
    path_length: int | None,
    *extra: x509.ExtensionType,
) -> x509.Certificate:
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if signer is not key:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()),
            critical=False,
        )
    for extension in extra:
        builder = builder.add_extension(extension, critical=False)
    return builder.sign(signer, hashes.SHA256())


def generate_dev_pki(
    *,
    now: datetime,
    pass_type_id: str = DEFAULT_PASS_TYPE_ID,
    team_id: str = DEFAULT_TEAM_ID,
    valid_for: timedelta = timedelta(days=365),
    pass_valid_from: datetime | None = None,
    key_size: int = 2048,
) -> DevPki:
    """A root, a WWDR-like intermediate and a Pass Type ID leaf shaped like Apple's."""
    start = now - timedelta(hours=1)
    root_key = rsa.generate_private_key(public_exponent=65537, key_size=key_size)
    wwdr_key = rsa.generate_private_key(public_exponent=65537, key_size=key_size)
    pass_key = rsa.generate_private_key(public_exponent=65537, key_size=key_size)
    root_name = _name(
        (NameOID.COUNTRY_NAME, "US"),
        (NameOID.ORGANIZATION_NAME, "passmint test PKI"),
        (NameOID.ORGANIZATIONAL_UNIT_NAME, "passmint Certification Authority"),
        (NameOID.COMMON_NAME, "passmint Test Root CA"),
    )
    wwdr_name = _name(
        (NameOID.COMMON_NAME, WWDR_COMMON_NAME),
        (NameOID.ORGANIZATIONAL_UNIT_NAME, "G4"),
        (NameOID.ORGANIZATION_NAME, "passmint test PKI"),
        (NameOID.COUNTRY_NAME, "US"),
    )
    root = _ca(root_name, root_name, root_key, root_key, start, start + 3 * valid_for, None)
    wwdr = _ca(
        wwdr_name,
        root_name,
        wwdr_key,
        root_key,
        start,
        start + 2 * valid_for,
        0,
        x509.UnrecognizedExtension(WWDR_MARKER_OID, _DER_NULL),
    )
    leaf_start = pass_valid_from or start
    pass_cert = (
        x509.CertificateBuilder()
        .subject_name(
            _name(
                (NameOID.USER_ID, pass_type_id),
                (NameOID.COMMON_NAME, f"Pass Type ID: {pass_type_id}"),
                (NameOID.ORGANIZATIONAL_UNIT_NAME, team_id),
                (NameOID.ORGANIZATION_NAME, "passmint development"),
                (NameOID.COUNTRY_NAME, "US"),
            )
        )
        .issuer_name(wwdr_name)
        .public_key(pass_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(leaf_start)
        .not_valid_after(leaf_start + valid_for)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH, PASS_SIGNING_EKU_OID]),
            critical=False,
        )
        .add_extension(
            x509.CertificatePolicies(
                [
                    x509.PolicyInformation(
                        APPLE_CERTIFICATE_POLICY_OID,
                        [x509.UserNotice(None, "passmint test PKI: for development only")],
                    )
                ]
            ),
            critical=False,
        )
        .add_extension(
            x509.UnrecognizedExtension(PASS_TYPE_ID_OID, der.tlv(0x0C, pass_type_id.encode())),
            critical=False,
        )
        .add_extension(x509.UnrecognizedExtension(APNS_PRODUCTION_OID, _DER_NULL), critical=False)
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(pass_key.public_key()), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(wwdr_key.public_key()),
            critical=False,
        )
        .sign(wwdr_key, hashes.SHA256())
    )
    return DevPki(root, root_key, wwdr, wwdr_key, pass_cert, pass_key)
