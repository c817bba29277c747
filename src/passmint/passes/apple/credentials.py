"""Apple credentials per tenant: store encrypted, describe without secrets, load once.

The Pass Type ID key is kept as PKCS#8 PEM encrypted under the master key (purpose bound
to the tenant), the .p8 APNs key likewise. ``CredentialCache`` parses a credential once per
process and version (key loading validates the key and costs ~36 ms).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from passmint.errors import PassmintError
from passmint.kit import lengths
from passmint.kit.crypto import SecretBox
from passmint.models import AppleCredential, Pass
from passmint.passes import repository as pass_repository
from passmint.passes.errors import CredentialsMissing
from passmint.wallet.apple.certificates import (
    CertificateError,
    SigningIdentity,
    apple_wwdr_g4,
    expiry_notices,
    load_certificates,
    load_identity_p12,
    load_identity_pem,
    load_private_key,
)
from passmint.wallet.apple.signing import ManifestSigner


class InvalidApnsKey(PassmintError):
    code = "invalid_apns_key"
    status = 400


class IntermediateMissing(CertificateError):
    """The certificate's issuer is neither Apple's WWDR G4 (which passmint ships) nor in the
    upload. Every pass signed without that intermediate fails verification (Wallet needs
    the chain in the signature), so the upload is refused; ``details.issuer`` names it."""

    code = "wwdr_intermediate_missing"


class PassTypeChange(PassmintError):
    """Passes already exist under another pass type id; they could no longer be updated."""

    code = "pass_type_id_change"
    status = 409


@dataclass(frozen=True)
class ApnsKeyInput:
    key_pem: bytes
    key_id: str
    team_id: str


def _purpose(kind: str, tenant_id: uuid.UUID) -> str:
    return f"apple:{kind}:{tenant_id}"


def _check_apns_key(apns: ApnsKeyInput) -> None:
    try:
        key = serialization.load_pem_private_key(apns.key_pem, password=None)
    except (ValueError, TypeError) as exc:
        raise InvalidApnsKey(f"apns.key_p8 is not a PEM private key: {exc}") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise InvalidApnsKey("apns.key_p8 must be an EC P-256 key (Apple's .p8 auth key)")
    if not (apns.key_id.isalnum() and len(apns.key_id) == 10):
        raise InvalidApnsKey("apns.key_id must be the 10-character key identifier")
    if not (apns.team_id.isalnum() and len(apns.team_id) == 10):
        raise InvalidApnsKey("apns.team_id must be the 10-character team identifier")


async def get_credential(session: AsyncSession, tenant_id: uuid.UUID) -> AppleCredential | None:
    query = select(AppleCredential).where(AppleCredential.tenant_id == tenant_id)
    return (await session.execute(query)).scalar_one_or_none()


async def require_credential(session: AsyncSession, tenant_id: uuid.UUID) -> AppleCredential:
    credential = await get_credential(session, tenant_id)
    if credential is None:
        raise CredentialsMissing(
            "this tenant has no Apple credentials: PUT /api/v1/credentials/apple first"
        )
    return credential


async def put_credentials(
    session: AsyncSession,
    box: SecretBox,
    tenant_id: uuid.UUID,
    *,
    now: datetime,
    certificate: bytes,
    private_key: bytes | None,
    password: str | None,
    p12: bool,
    wwdr: bytes | None,
    apns_key: ApnsKeyInput | None,
) -> AppleCredential:
    secret = password.encode() if password is not None else None
    identity: SigningIdentity
    if p12:
        identity = load_identity_p12(certificate, secret, now=now, wwdr_pem=wwdr)
    else:
        if private_key is None:
            raise InvalidApnsKey("private_key is required with a PEM certificate")
        identity = load_identity_pem(
            certificate, private_key, now=now, password=secret, wwdr_pem=wwdr
        )
    if wwdr is not None:
        load_certificates(wwdr, what="WWDR certificate")
    if (
        len(identity.pass_type_id) > lengths.PASS_TYPE_ID
        or len(identity.team_id) > lengths.APPLE_TEAM_ID
    ):
        raise CertificateError(
            "the certificate's pass type id or team id is longer than Apple's identifiers "
            f"({lengths.PASS_TYPE_ID} and {lengths.APPLE_TEAM_ID} characters at most)"
        )
    _check_chain(identity)
    if apns_key is not None:
        _check_apns_key(apns_key)
    # Held until commit: a pass issued meanwhile to Google Wallet only either commits
    # before the passes below get this pass type, or waits and is issued under it.
    await pass_repository.lock_pass_types(session, tenant_id, exclusive=True)
    other = (
        await session.execute(
            select(Pass.id)
            .where(Pass.tenant_id == tenant_id, Pass.pass_type_id != identity.pass_type_id)
            .limit(1)
        )
    ).first()
    if other is not None:
        raise PassTypeChange(
            f"passes were issued under another pass type id; a certificate for "
            f"{identity.pass_type_id} could not update them"
        )
    key_pem = identity.private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    bundled = identity.chain == (apple_wwdr_g4(),)
    chain_pem = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in identity.chain)
    credential = await get_credential(session, tenant_id)
    if credential is None:
        credential = AppleCredential(tenant_id=tenant_id)
        session.add(credential)
    credential.pass_type_id = identity.pass_type_id
    credential.team_id = identity.team_id
    credential.certificate_pem = identity.certificate.public_bytes(serialization.Encoding.PEM)
    credential.private_key_enc = box.encrypt(key_pem, purpose=_purpose("key", tenant_id))
    # The chain the signatures carry: the one uploaded (``wwdr``, after the certificate in
    # a PEM, or in the .p12), else None for the bundled WWDR G4.
    credential.wwdr_pem = None if bundled else chain_pem
    credential.not_after = identity.certificate.not_valid_after_utc
    credential.apns_auth = "token" if apns_key is not None else "certificate"
    credential.apns_key_enc = (
        box.encrypt(apns_key.key_pem, purpose=_purpose("apns", tenant_id)) if apns_key else None
    )
    credential.apns_key_id = apns_key.key_id if apns_key else None
    credential.apns_team_id = apns_key.team_id if apns_key else None
    credential.last_push_error = None
    credential.last_push_error_at = None
    credential.updated_at = now
    await session.flush()
    # Passes issued while the tenant had Google Wallet only become Apple passes now.
    await pass_repository.assign_pass_type(session, tenant_id, identity.pass_type_id)
    return credential


def _check_chain(identity: SigningIdentity) -> None:
    """Refuse a certificate whose issuer is not in the chain the passes would carry."""
    issuer = identity.certificate.issuer
    if any(c.subject == issuer for c in identity.chain):
        return  # SigningIdentity.create verified the certificate's signature with it
    name = issuer.rfc4514_string()
    raise IntermediateMissing(
        f"the certificate for {identity.pass_type_id} is issued by {name!r}, which is not "
        "Apple's WWDR G4 intermediate that passmint ships, and the upload does not carry "
        "it: send that intermediate certificate (PEM) as `wwdr`, or after the certificate "
        "in `certificate`, or inside the .p12; without it no pass would verify",
        details={"issuer": name},
    )


def describe(credential: AppleCredential, now: datetime) -> dict[str, Any]:
    """What GET shows: ids and dates, never key material."""
    certs = load_certificates(credential.certificate_pem)
    if credential.wwdr_pem:
        certs += load_certificates(credential.wwdr_pem)
    return {
        "pass_type_id": credential.pass_type_id,
        "team_id": credential.team_id,
        "certificate_expires_at": credential.not_after,
        "chain": [
            {"subject": c.subject.rfc4514_string(), "expires_at": c.not_valid_after_utc}
            for c in certs[1:]
        ]
        or [{"subject": "Apple WWDR G4 (bundled)", "expires_at": None}],
        "expiry_warnings": [str(n) for n in expiry_notices(certs, now)],
        "apns": {
            "auth": credential.apns_auth,
            "key_id": credential.apns_key_id,
            "team_id": credential.apns_team_id,
            "last_error": credential.last_push_error,
            "last_error_at": credential.last_push_error_at,
        },
        "updated_at": credential.updated_at,
    }


class CredentialCache:
    """Parsed credentials per process, keyed by (credential id, updated_at)."""

    def __init__(self) -> None:
        self._signers: dict[tuple[uuid.UUID, datetime], ManifestSigner] = {}

    def signer(self, credential: AppleCredential, box: SecretBox, now: datetime) -> ManifestSigner:
        key = (credential.id, credential.updated_at)
        signer = self._signers.get(key)
        if signer is None:
            identity = self.identity(credential, box, now)
            signer = ManifestSigner(identity)
            self._signers = {k: v for k, v in self._signers.items() if k[0] != credential.id}
            self._signers[key] = signer
        return signer

    @staticmethod
    def identity(credential: AppleCredential, box: SecretBox, now: datetime) -> SigningIdentity:
        key_pem = box.decrypt(
            credential.private_key_enc, purpose=_purpose("key", credential.tenant_id)
        )
        cert = load_certificates(credential.certificate_pem)[0]
        chain = load_certificates(credential.wwdr_pem) if credential.wwdr_pem else None
        # An expired certificate raises here: Wallet would reject what it signs anyway, and
        # describe() warns 90 days ahead.
        return SigningIdentity.create(cert, load_private_key(key_pem), now=now, wwdr=chain)

    @staticmethod
    def apns_key(credential: AppleCredential, box: SecretBox) -> bytes | None:
        if credential.apns_key_enc is None:
            return None
        return box.decrypt(credential.apns_key_enc, purpose=_purpose("apns", credential.tenant_id))

    @staticmethod
    def private_key_pem(credential: AppleCredential, box: SecretBox) -> bytes:
        return box.decrypt(
            credential.private_key_enc, purpose=_purpose("key", credential.tenant_id)
        )
