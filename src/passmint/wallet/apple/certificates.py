"""Pass Type ID certificates: loading, identity, chain and expiry.

Loading is the expensive part of signing (``cryptography`` validates an RSA key on load,
about 36 ms), so it happens once per credential and the result is reused for every pass.
Everything here is pure: the current time is passed in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from importlib import resources

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, pkcs12
from cryptography.x509.oid import NameOID

from passmint.errors import PassmintError
from passmint.kit import der

PASS_TYPE_ID_OID = x509.ObjectIdentifier("1.2.840.113635.100.6.1.16")
PASS_SIGNING_EKU_OID = x509.ObjectIdentifier("1.2.840.113635.100.4.14")
"""The extended key usage "Apple Passbook signing" of every Pass Type ID certificate."""
APNS_PRODUCTION_OID = x509.ObjectIdentifier("1.2.840.113635.100.6.3.2")
"""Marker of a certificate that may authenticate to APNs production (Pass Type IDs do)."""
WWDR_MARKER_OID = x509.ObjectIdentifier("1.2.840.113635.100.6.2.1")
"""Apple's marker extension on its WWDR intermediates."""
WWDR_COMMON_NAME = "Apple Worldwide Developer Relations Certification Authority"
WWDR_G4_SERIAL = 0x13DC77955271E53DC632E8CCFFE521F3CCC5CED2
EXPIRY_WARNING = timedelta(days=90)

SigningKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


class CertificateError(PassmintError):
    """A certificate or key cannot be used to sign passes."""

    code = "invalid_certificate"
    status = 400


class NotPassTypeCertificate(CertificateError):
    """The certificate carries no Pass Type ID (OID 1.2.840.113635.100.6.1.16)."""

    code = "certificate_not_pass_type_id"


class PassSigningUsageMissing(CertificateError):
    """The certificate's extended key usage lacks Apple's Pass Type ID purpose.

    Wallet checks passes with Apple's Passbook trust policy, which requires the EKU
    1.2.840.113635.100.4.14 on the signer (a certificate without any EKU fails too), so a
    pass signed with such a certificate is refused on the phone.
    """

    code = "certificate_pass_eku_missing"


class CertificateExpired(CertificateError):
    """The certificate is outside its validity period."""

    code = "certificate_expired"


class KeyMismatch(CertificateError):
    """The private key does not belong to the certificate."""

    code = "key_certificate_mismatch"


class WrongPassword(CertificateError):
    """The key or .p12 could not be decrypted with the password given (or lack of one)."""

    code = "wrong_password"


class InvalidKey(CertificateError):
    code = "invalid_key"


class PassIdentityMismatch(CertificateError):
    """pass.json names a pass type or team the certificate is not for."""

    code = "pass_identity_mismatch"


@cache
def apple_wwdr_g4() -> x509.Certificate:
    """Apple's public WWDR G4 intermediate (serial 13DC…CED2, valid until 2030-12-10)."""
    return _bundled("AppleWWDRCAG4.pem")


@cache
def apple_root_ca() -> x509.Certificate:
    """Apple Root CA (2006–2035): the anchor that WWDR G4 chains to."""
    return _bundled("AppleRootCA.pem")


def _bundled(name: str) -> x509.Certificate:
    data = resources.files("passmint.wallet.apple").joinpath("certs", name).read_bytes()
    return x509.load_pem_x509_certificate(data)


def load_certificates(data: bytes, *, what: str = "certificate") -> list[x509.Certificate]:
    """Certificates from PEM (one or many) or a single DER certificate."""
    try:
        if b"-----BEGIN" in data:
            certs = x509.load_pem_x509_certificates(data)
        else:
            certs = [x509.load_der_x509_certificate(data)]
    except ValueError as exc:
        raise CertificateError(f"the {what} is not a PEM or DER X.509 certificate: {exc}") from None
    if not certs:
        raise CertificateError(f"the {what} file holds no certificate")
    return certs


def load_private_key(data: bytes, password: bytes | None = None) -> SigningKey:
    """A PEM or DER private key (PKCS#1, PKCS#8, SEC1), optionally encrypted."""
    loader = (
        serialization.load_pem_private_key
        if b"-----BEGIN" in data
        else serialization.load_der_private_key
    )
    try:
        key = loader(data, password=password)
    except TypeError:
        if password is None:
            raise WrongPassword("the private key is encrypted: give its password") from None
        raise WrongPassword("the private key is not encrypted: give no password") from None
    except ValueError as exc:
        if password is not None:
            # The key is encrypted (else TypeError). A wrong password usually fails the
            # padding check, but about one in 256 decrypts to bytes that pass it and fail
            # to parse: either way, the password did not give back the key.
            raise WrongPassword("the password does not decrypt the private key") from None
        raise InvalidKey(f"the private key cannot be read: {exc}") from None
    except Exception as exc:  # cryptography raises UnsupportedAlgorithm for exotic formats
        raise InvalidKey(f"the private key cannot be read: {exc}") from None
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise InvalidKey(f"a {type(key).__name__} cannot sign passes: use RSA or EC")
    return key


def pass_type_id_of(cert: x509.Certificate) -> str | None:
    """The pass type id from Apple's extension, else from the CN ``Pass Type ID: <id>``."""
    try:
        ext = cert.extensions.get_extension_for_oid(PASS_TYPE_ID_OID)
    except x509.ExtensionNotFound:
        ext = None
    if ext is not None:
        raw = ext.value.value if isinstance(ext.value, x509.UnrecognizedExtension) else b""
        try:
            node = der.parse(raw)
            if node.tag in (0x0C, 0x13, 0x16):  # UTF8String, PrintableString, IA5String
                return node.content.decode("utf-8")
        except (der.DerError, UnicodeDecodeError):
            pass
        text = raw.decode("utf-8", "replace").strip()
        return text or None
    return None


def has_pass_signing_usage(cert: x509.Certificate) -> bool:
    """Whether the extended key usage includes Apple's Pass Type ID purpose (4.14)."""
    try:
        usage = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except (x509.ExtensionNotFound, ValueError):  # ValueError: a malformed extension
        return False
    return PASS_SIGNING_EKU_OID in usage


def common_name_pass_type_id(cert: x509.Certificate) -> str | None:
    for attr in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME):
        value = str(attr.value)
        for prefix in ("Pass Type ID with NFC: ", "Pass Type ID: "):
            if value.startswith(prefix):
                return value[len(prefix) :].strip()
    return None


def team_id_of(cert: x509.Certificate) -> str | None:
    units = cert.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)
    return str(units[0].value) if units else None


def _public_bytes(key: object) -> bytes:
    assert isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey)
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


@dataclass(frozen=True)
class ExpiryNotice:
    subject: str
    not_after: datetime
    expired: bool

    def __str__(self) -> str:
        state = "expired on" if self.expired else "expires on"
        return f"certificate {self.subject!r} {state} {self.not_after:%Y-%m-%d}"


@dataclass(frozen=True)
class SigningIdentity:
    """A Pass Type ID certificate, its key and the chain to include in every signature.

    Build one per credential and reuse it: all parsing and key validation happen here.
    """

    certificate: x509.Certificate
    private_key: SigningKey
    chain: tuple[x509.Certificate, ...]
    pass_type_id: str
    team_id: str
    extra_certificates: tuple[x509.Certificate, ...] = field(default=())

    @classmethod
    def create(
        cls,
        certificate: x509.Certificate,
        private_key: SigningKey,
        *,
        now: datetime,
        wwdr: Sequence[x509.Certificate] | None = None,
    ) -> SigningIdentity:
        """Check the pair and the certificate, and attach the WWDR chain.

        ``wwdr`` overrides the bundled Apple WWDR G4 (for a future generation, or a test PKI).
        """
        pass_type_id = pass_type_id_of(certificate)
        if pass_type_id is None:
            raise NotPassTypeCertificate(
                f"certificate {certificate.subject.rfc4514_string()!r} is not a Pass Type ID "
                f"certificate: it lacks the extension {PASS_TYPE_ID_OID.dotted_string}"
            )
        if not has_pass_signing_usage(certificate):
            raise PassSigningUsageMissing(
                f"the certificate for {pass_type_id} lacks the extended key usage "
                f"{PASS_SIGNING_EKU_OID.dotted_string} that Apple's Pass Type ID certificates "
                "carry and Wallet requires (a test PKI from an older passmint dev-certs lacks "
                "it: generate a new one)"
            )
        team_id = team_id_of(certificate)
        if not team_id:
            raise CertificateError(
                "the certificate has no OU (team identifier) in its subject; "
                "Apple's Pass Type ID certificates always carry one"
            )
        if _public_bytes(private_key.public_key()) != _public_bytes(certificate.public_key()):
            raise KeyMismatch(f"the private key does not match the certificate for {pass_type_id}")
        if now > certificate.not_valid_after_utc:
            raise CertificateExpired(
                f"the certificate for {pass_type_id} expired on "
                f"{certificate.not_valid_after_utc:%Y-%m-%d}: renew it in Apple's developer portal"
            )
        if now < certificate.not_valid_before_utc:
            raise CertificateExpired(
                f"the certificate for {pass_type_id} is not valid before "
                f"{certificate.not_valid_before_utc:%Y-%m-%d %H:%M} UTC"
            )
        chain = tuple(wwdr) if wwdr else (apple_wwdr_g4(),)
        issuer = next((c for c in chain if c.subject == certificate.issuer), None)
        if issuer is not None:
            try:
                certificate.verify_directly_issued_by(issuer)
            except (ValueError, TypeError, InvalidSignature):
                raise CertificateError(
                    "the certificate names the WWDR intermediate as issuer, but its signature "
                    "does not verify with it"
                ) from None
        return cls(certificate, private_key, chain, pass_type_id, team_id)

    def expiry_notices(
        self, now: datetime, within: timedelta = EXPIRY_WARNING
    ) -> list[ExpiryNotice]:
        """Certificates in the chain that expire within ``within`` (90 days by default)."""
        return expiry_notices((self.certificate, *self.chain), now, within)

    def check_pass_identity(self, pass_type_identifier: object, team_identifier: object) -> None:
        """Refuse a pass.json whose ids differ from the certificate's (spec check 5)."""
        wrong = []
        if pass_type_identifier != self.pass_type_id:
            wrong.append(
                f"passTypeIdentifier {pass_type_identifier!r} but the certificate is for "
                f"{self.pass_type_id!r}"
            )
        if team_identifier != self.team_id:
            wrong.append(
                f"teamIdentifier {team_identifier!r} but the certificate's team (OU) is "
                f"{self.team_id!r}"
            )
        if wrong:
            raise PassIdentityMismatch("; ".join(wrong))


def expiry_notices(
    certs: Sequence[x509.Certificate], now: datetime, within: timedelta = EXPIRY_WARNING
) -> list[ExpiryNotice]:
    out = []
    for cert in certs:
        if cert.not_valid_after_utc - now <= within:
            out.append(
                ExpiryNotice(
                    cert.subject.rfc4514_string(),
                    cert.not_valid_after_utc,
                    expired=cert.not_valid_after_utc < now,
                )
            )
    return out


def load_identity_pem(
    certificate_pem: bytes,
    key_pem: bytes,
    *,
    now: datetime,
    password: bytes | None = None,
    wwdr_pem: bytes | None = None,
) -> SigningIdentity:
    """The signing identity from a PEM certificate and a PEM key (optionally encrypted).

    ``certificate_pem`` may hold a chain in any order: the leaf is the certificate of the
    key, the others are taken as its chain when no ``wwdr_pem`` is given.
    """
    certs = load_certificates(certificate_pem)
    key = load_private_key(key_pem, password)
    public = key.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    leaf = next(
        (
            c
            for c in certs
            if c.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
            == public
        ),
        certs[0],  # none matches: SigningIdentity.create names the mismatch
    )
    rest = [c for c in certs if c is not leaf]
    wwdr = load_certificates(wwdr_pem, what="WWDR certificate") if wwdr_pem else None
    if wwdr is None and rest:
        wwdr = rest
    return SigningIdentity.create(leaf, key, now=now, wwdr=wwdr)


def load_identity_p12(
    data: bytes, password: bytes | None, *, now: datetime, wwdr_pem: bytes | None = None
) -> SigningIdentity:
    """The signing identity from a PKCS#12 file, including Keychain exports (RC2-40)."""
    try:
        key, cert, extra = pkcs12.load_key_and_certificates(data, password)
    except ValueError as exc:
        text = str(exc).lower()
        if "password" in text or "mac" in text or "decrypt" in text:
            raise WrongPassword("the password does not open the .p12 file") from None
        raise CertificateError(f"the .p12 file cannot be read: {exc}") from None
    except Exception as exc:  # UnsupportedAlgorithm for ciphers OpenSSL refuses
        raise CertificateError(f"the .p12 file cannot be read: {exc}") from None
    if cert is None:
        raise CertificateError("the .p12 file holds no certificate")
    if key is None:
        raise InvalidKey("the .p12 file holds no private key")
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise InvalidKey(f"a {type(key).__name__} cannot sign passes: use RSA or EC")
    wwdr = load_certificates(wwdr_pem, what="WWDR certificate") if wwdr_pem else None
    if wwdr is None:
        found = [c for c in extra if c.subject == cert.issuer]
        wwdr = found or None
    return SigningIdentity.create(cert, key, now=now, wwdr=wwdr)
