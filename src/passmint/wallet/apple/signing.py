"""The detached CMS signature over manifest.json (spec §2 "signature").

``ManifestSigner`` pre-encodes everything that does not depend on the manifest: the
certificate set (signer + WWDR chain), the signer identifier and the algorithm identifiers.
Signing a pass is then one SHA-256 of the manifest, a few hundred bytes of DER assembly and
one private-key operation by ``cryptography``. The output is RFC 5652 SignedData, DER,
detached (no encapsulated content), with the signed attributes contentType, signingTime and
messageDigest that Wallet requires.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from enum import StrEnum

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from passmint.kit import der
from passmint.wallet.apple.certificates import SigningIdentity

OID_DATA = "1.2.840.113549.1.7.1"
OID_SIGNED_DATA = "1.2.840.113549.1.7.2"
OID_CONTENT_TYPE = "1.2.840.113549.1.9.3"
OID_MESSAGE_DIGEST = "1.2.840.113549.1.9.4"
OID_SIGNING_TIME = "1.2.840.113549.1.9.5"
OID_RSA_ENCRYPTION = "1.2.840.113549.1.1.1"
OID_SHA1_WITH_RSA = "1.2.840.113549.1.1.5"
OID_SHA256_WITH_RSA = "1.2.840.113549.1.1.11"
OID_ECDSA_SHA1 = "1.2.840.10045.4.1"
OID_ECDSA_SHA256 = "1.2.840.10045.4.3.2"


class Digest(StrEnum):
    """Digest of the signed attributes. SHA-256 is the default; SHA-1 for old verifiers."""

    SHA256 = "sha256"
    SHA1 = "sha1"


DIGEST_OIDS = {Digest.SHA256: "2.16.840.1.101.3.4.2.1", Digest.SHA1: "1.3.14.3.2.26"}


class ManifestSigner:
    """Signs manifests for one signing identity. Thread-safe; build once, reuse."""

    def __init__(self, identity: SigningIdentity, *, digest: Digest = Digest.SHA256) -> None:
        self.identity = identity
        self.digest = digest
        self._hash: hashes.HashAlgorithm = (
            hashes.SHA256() if digest is Digest.SHA256 else hashes.SHA1()  # noqa: S303
        )
        key = identity.private_key
        cert = identity.certificate
        digest_alg = der.seq(der.oid(DIGEST_OIDS[digest]))
        if isinstance(key, rsa.RSAPrivateKey):
            signature_alg = der.seq(der.oid(OID_RSA_ENCRYPTION), der.null())
        else:
            ecdsa = OID_ECDSA_SHA256 if digest is Digest.SHA256 else OID_ECDSA_SHA1
            signature_alg = der.seq(der.oid(ecdsa))
        issuer_and_serial = der.seq(cert.issuer.public_bytes(), der.integer(cert.serial_number))
        certs = [cert, *(c for c in identity.chain if c != cert)]
        cert_set = der.tlv(
            0xA0,
            b"".join(c.public_bytes(serialization.Encoding.DER) for c in certs),
        )
        # SignerInfo = version, sid, digestAlgorithm, [0] signedAttrs, signatureAlgorithm,
        # signature. Everything before signedAttrs and between it and the signature is fixed.
        self._signer_info_head = der.integer(1) + issuer_and_serial + digest_alg
        self._signature_alg = signature_alg
        # SignedData minus signerInfos: version, digestAlgorithms, encapContentInfo
        # (detached: eContentType only), certificates.
        self._signed_data_head = (
            der.integer(1) + der.set_of(digest_alg) + der.seq(der.oid(OID_DATA)) + cert_set
        )
        self._content_info_oid = der.oid(OID_SIGNED_DATA)
        self._attr_content_type = der.seq(der.oid(OID_CONTENT_TYPE), der.set_of(der.oid(OID_DATA)))
        self._attr_digest_oid = der.oid(OID_MESSAGE_DIGEST)
        self._attr_time_oid = der.oid(OID_SIGNING_TIME)
        self._last_time: tuple[datetime, bytes] | None = None

    def sign(self, manifest: bytes, *, signing_time: datetime) -> bytes:
        """The DER ``signature`` file for these exact manifest.json bytes."""
        if self.digest is Digest.SHA256:
            message_digest = hashlib.sha256(manifest).digest()
        else:
            message_digest = hashlib.sha1(manifest).digest()  # noqa: S324 - Wallet accepts
        attrs = der.set_of(
            self._attr_content_type,
            self._time_attribute(signing_time),
            der.seq(self._attr_digest_oid, der.set_of(der.octet_string(message_digest))),
        )
        # The signature covers the attributes encoded as a SET OF (tag 0x31); SignerInfo
        # stores the same bytes under the implicit tag [0] (0xA0).
        signature = self._sign_bytes(attrs)
        signer_info = der.seq(
            self._signer_info_head,
            b"\xa0" + attrs[1:],
            self._signature_alg,
            der.octet_string(signature),
        )
        signed_data = der.seq(self._signed_data_head, der.set_of(signer_info))
        return der.seq(self._content_info_oid, der.explicit(0, signed_data))

    def _time_attribute(self, moment: datetime) -> bytes:
        # Passes built in the same second share the encoding: remember the last one.
        second = moment.replace(microsecond=0)
        cached = self._last_time
        if cached is not None and cached[0] == second:
            return cached[1]
        encoded = der.seq(self._attr_time_oid, der.set_of(der.signing_time(second)))
        self._last_time = (second, encoded)
        return encoded

    def _sign_bytes(self, data: bytes) -> bytes:
        key = self.identity.private_key
        if isinstance(key, rsa.RSAPrivateKey):
            return key.sign(data, padding.PKCS1v15(), self._hash)
        return key.sign(data, ec.ECDSA(self._hash))
