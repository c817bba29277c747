"""Google Wallet issuer credentials per tenant: checked, stored encrypted, described.

``PUT /api/v1/credentials/google`` takes ``{issuer_id, service_account}``: the issuer id
of the Google Pay & Wallet Console and the service-account key JSON whose account the
issuer has authorised. The key JSON is encrypted at rest (kit.crypto, AES-GCM bound to
the tenant); GET shows the ids and the last error, never the key.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import datetime
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from passmint.errors import PassmintError
from passmint.kit import jsondepth, lengths
from passmint.kit.crypto import SecretBox
from passmint.kit.uow import transaction_cache
from passmint.models import GoogleCredential
from passmint.wallet.google.savelink import (
    InvalidServiceAccount,
    ServiceAccount,
    parse_service_account,
)

_ISSUER_ID: Final = re.compile(r"[0-9]{1,19}", re.ASCII)
_KNOWN: Final = "passmint.google.credentials"


class InvalidGoogleCredentials(PassmintError):
    code = "invalid_google_credentials"
    status = 400


class GoogleCredentialsMissing(PassmintError):
    code = "google_credentials_missing"
    status = 409


def _purpose(tenant_id: uuid.UUID) -> str:
    return f"google:service-account:{tenant_id}"


def check_issuer_id(value: object) -> str:
    text = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
    if not isinstance(text, str) or not _ISSUER_ID.fullmatch(text):
        raise InvalidGoogleCredentials(
            "issuer_id must be the numeric issuer id of the Google Pay & Wallet Console",
            details={"field": "issuer_id"},
        )
    return text


def check_service_account(value: object) -> ServiceAccount:
    if isinstance(value, str):
        try:
            value = jsondepth.loads(value)
        except ValueError:
            raise InvalidGoogleCredentials(
                "service_account is not JSON: send the key file's JSON object",
                details={"field": "service_account"},
            ) from None
    try:
        account = parse_service_account(value)
    except InvalidServiceAccount as exc:
        name = f"service_account.{exc.details.get('field', '')}".rstrip(".")
        raise InvalidGoogleCredentials(
            f"{name}: {exc.details.get('problem', exc.message)}", details={"field": name}
        ) from None
    for field, limit in _STORED_LENGTHS.items():
        if len(getattr(account, field)) > limit:
            raise InvalidGoogleCredentials(
                f"service_account.{field}: longer than {limit} characters",
                details={"field": f"service_account.{field}"},
            )
    return account


_STORED_LENGTHS: Final = {
    "client_email": lengths.GOOGLE_CLIENT_EMAIL,
    "private_key_id": lengths.GOOGLE_PRIVATE_KEY_ID,
    "token_uri": lengths.GOOGLE_TOKEN_URI,
}
"""The service account's texts kept in columns of these lengths."""


async def get_credential(session: AsyncSession, tenant_id: uuid.UUID) -> GoogleCredential | None:
    query = select(GoogleCredential).where(GoogleCredential.tenant_id == tenant_id)
    return (await session.execute(query)).scalar_one_or_none()


def remember(
    session: AsyncSession, tenant_id: uuid.UUID, credential: GoogleCredential | None
) -> None:
    """What the transaction read of the tenant's credential (None: it has none), for
    :func:`transaction_credential`."""
    transaction_cache(session, _KNOWN)[tenant_id] = credential


async def transaction_credential(
    session: AsyncSession, tenant_id: uuid.UUID
) -> GoogleCredential | None:
    """The tenant's credential, read at most once per transaction: issuing a pass asks
    three times (the insert on issue, the sync job, the save link)."""
    known: dict[uuid.UUID, GoogleCredential | None] = transaction_cache(session, _KNOWN)
    if tenant_id not in known:
        known[tenant_id] = await get_credential(session, tenant_id)
    return known[tenant_id]


async def require_credential(session: AsyncSession, tenant_id: uuid.UUID) -> GoogleCredential:
    credential = await get_credential(session, tenant_id)
    if credential is None:
        raise GoogleCredentialsMissing(
            "this tenant has no Google Wallet issuer: PUT /api/v1/credentials/google first"
        )
    return credential


async def credentials_by_issuer(session: AsyncSession, issuer_id: str) -> list[GoogleCredential]:
    query = select(GoogleCredential).where(GoogleCredential.issuer_id == issuer_id)
    return list((await session.execute(query)).scalars())


async def put_credentials(
    session: AsyncSession,
    box: SecretBox,
    tenant_id: uuid.UUID,
    *,
    now: datetime,
    issuer_id: object,
    service_account: object,
) -> GoogleCredential:
    issuer = check_issuer_id(issuer_id)
    account = check_service_account(service_account)
    raw = service_account if isinstance(service_account, str) else json.dumps(service_account)
    credential = await get_credential(session, tenant_id)
    if credential is None:
        credential = GoogleCredential(tenant_id=tenant_id)
        session.add(credential)
    credential.issuer_id = issuer
    credential.client_email = account.client_email
    credential.private_key_id = account.private_key_id
    credential.token_uri = account.token_uri
    credential.service_account_enc = box.encrypt(raw.encode(), purpose=_purpose(tenant_id))
    credential.last_error = None
    credential.last_error_at = None
    credential.updated_at = now
    await session.flush()
    remember(session, tenant_id, credential)
    return credential


def service_account_info(credential: GoogleCredential, box: SecretBox) -> dict[str, Any]:
    """The decrypted key JSON (for google-auth and save-link signing; never shown)."""
    raw = box.decrypt(credential.service_account_enc, purpose=_purpose(credential.tenant_id))
    info = json.loads(raw)
    assert isinstance(info, dict)
    return info


def describe(credential: GoogleCredential) -> dict[str, Any]:
    return {
        "issuer_id": credential.issuer_id,
        "client_email": credential.client_email,
        "private_key_id": credential.private_key_id,
        "token_uri": credential.token_uri,
        "last_error": credential.last_error,
        "last_error_at": credential.last_error_at,
        "updated_at": credential.updated_at,
    }


class AccountCache:
    """Parsed service accounts per process, keyed by (credential id, updated_at)."""

    def __init__(self) -> None:
        self._accounts: dict[tuple[uuid.UUID, datetime], ServiceAccount] = {}

    def account(self, credential: GoogleCredential, box: SecretBox) -> ServiceAccount:
        key = (credential.id, credential.updated_at)
        account = self._accounts.get(key)
        if account is None:
            account = parse_service_account(service_account_info(credential, box))
            self._accounts = {k: v for k, v in self._accounts.items() if k[0] != credential.id}
            self._accounts[key] = account
        return account
