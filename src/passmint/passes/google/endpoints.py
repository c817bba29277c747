"""HTTP of Google Wallet: the issuer credentials (``/api/v1/credentials/google``) and the
save/delete callbacks Google posts to ``/google/callbacks`` (spec §4)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Annotated, Any, Final

import httpx
import structlog
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StrictInt

from passmint.errors import PassmintError
from passmint.kit import jsondepth, lengths
from passmint.kit.jsonobject import JsonLimits
from passmint.kit.text import Line, PemText
from passmint.passes.google import credentials as google_credentials
from passmint.passes.google import service as google_service
from passmint.passes.host import ServiceHost
from passmint.wallet.google.callbacks import (
    CallbackRejected,
    InvalidRootKeys,
    RootKeys,
    verify_callback,
)
from passmint.web import ratelimit
from passmint.web.deps import CredentialsRead, CredentialsWrite, RuntimeDep
from passmint.web.docs import read_body

log = structlog.get_logger("passmint.google.callbacks")
_CALLBACK_SCHEMA: Final[dict[str, Any]] = {
    "type": "object",
    "description": "Google's ECv2SigningOnly envelope.",
    "required": ["protocolVersion", "signature", "signedMessage"],
    "properties": {
        "protocolVersion": {"type": "string"},
        "signature": {"type": "string"},
        "intermediateSigningKey": {"type": "object"},
        "signedMessage": {"type": "string"},
    },
}
router = APIRouter()
MAX_CALLBACK_BYTES: Final = 64 * 1024
KEYS_MARGIN_MS: Final = 60 * 60 * 1000  # refetch an hour before the earliest key expires
KEYS_MAX_AGE_MS: Final = 24 * 60 * 60 * 1000
KEYS_MIN_INTERVAL_MS: Final = 5 * 60 * 1000  # between fetches, whatever their outcome


SERVICE_ACCOUNT: Final = JsonLimits(
    max_keys=50, max_depth=3, max_key_length=64, max_bytes=64 * 1024
)
ServiceAccountJson = Annotated[dict[str, Any], SERVICE_ACCOUNT]


class GoogleCredentialsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    issuer_id: Annotated[Line, Field(max_length=lengths.GOOGLE_ISSUER_ID)] | StrictInt = Field(
        description="The numeric issuer id (Google Pay & Wallet Console)."
    )
    service_account: ServiceAccountJson | Annotated[PemText, Field(max_length=64 * 1024)] = Field(
        description=(
            "The service-account key JSON (object, or its text) the issuer authorised. "
            f"{SERVICE_ACCOUNT.summary}"
        )
    )


class GoogleKeysUnavailable(PassmintError):
    code = "google_keys_unavailable"
    status = 503


class UnknownIssuer(PassmintError):
    code = "unknown_issuer"
    status = 400


@router.put("/api/v1/credentials/google", tags=["credentials"])
async def put_google_credentials(
    body: GoogleCredentialsIn, runtime: RuntimeDep, principal: CredentialsWrite
) -> dict[str, Any]:
    """Store the issuer id and the service-account key (encrypted); 400 names a bad field.

    ``warnings`` says what stands between these credentials and passes in Google Wallet
    (``public_url_not_https``: Google fetches the passes' images from the public URL)."""
    async with runtime.transaction() as session:
        credential = await google_credentials.put_credentials(
            session,
            runtime.box,
            principal.tenant_id,
            now=runtime.clock(),
            issuer_id=body.issuer_id,
            service_account=body.service_account,
        )
        described = google_credentials.describe(credential)
    return {**described, "warnings": _deployment_warnings(runtime)}


def _deployment_warnings(runtime: ServiceHost) -> list[dict[str, str]]:
    public_url = runtime.settings.public_url
    if public_url.startswith("https://"):
        return []
    return [
        {
            "code": "public_url_not_https",
            "message": f"PASSMINT_PUBLIC_URL is {public_url}: Google Wallet fetches the "
            "passes' images over https, so passes whose design has images stay out of Google "
            "Wallet until it is an https URL that reaches this server",
        }
    ]


@router.get("/api/v1/credentials/google", tags=["credentials"])
async def get_google_credentials(runtime: RuntimeDep, principal: CredentialsRead) -> dict[str, Any]:
    """The issuer, the service account's email and key id, the last sync error; no key."""
    async with runtime.db.sessions() as session:
        credential = await google_credentials.require_credential(session, principal.tenant_id)
        return google_credentials.describe(credential)


class RootKeyCache:
    """Google's root signing keys, fetched from ``PASSMINT_GOOGLE_ROOT_KEYS_URL`` and kept
    until an hour before the earliest key expires (at most a day). Fetches depend only on
    the clock, never on what a request contains: at most one per :data:`KEYS_MIN_INTERVAL_MS`
    whatever the outcome (a failure or an empty document included), and while a refetch is
    not due or fails, the keys held are used as long as they have not expired."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._keys: RootKeys | None = None
        self._until_ms = 0
        self._next_fetch_ms = 0
        self._lock = asyncio.Lock()

    def _usable(self, now_ms: int) -> RootKeys | None:
        if self._keys is None or not self._keys.keys:
            return None
        if self._keys.expires_at_ms is not None and self._keys.expires_at_ms <= now_ms:
            return None
        return self._keys

    async def get(self, now_ms: int) -> RootKeys:
        async with self._lock:
            if now_ms >= self._until_ms and now_ms >= self._next_fetch_ms:
                self._next_fetch_ms = now_ms + KEYS_MIN_INTERVAL_MS
                await self._fetch(now_ms)
            keys = self._usable(now_ms)
            if keys is None:
                raise GoogleKeysUnavailable(
                    "Google's root signing keys could not be fetched; retry later"
                )
            return keys

    async def _fetch(self, now_ms: int) -> None:
        try:
            async with httpx.AsyncClient(timeout=10.0) as client:
                response = await client.get(self.url)
            response.raise_for_status()
            keys = RootKeys.parse(response.json(), now_ms=now_ms)
        except (httpx.HTTPError, ValueError, InvalidRootKeys) as exc:
            log.warning("google root keys unavailable", url=self.url, error=str(exc))
            return
        if not keys.keys:
            log.warning("google root keys document has no unexpired key", url=self.url)
            return
        assert keys.expires_at_ms is not None
        self._keys = keys
        self._until_ms = min(keys.expires_at_ms - KEYS_MARGIN_MS, now_ms + KEYS_MAX_AGE_MS)


def _root_keys(runtime: ServiceHost) -> RootKeyCache:
    url = runtime.settings.google_root_keys_url
    return runtime.cache("google_root_keys", lambda: RootKeyCache(url))


def _claimed_issuer(body: bytes) -> str:
    """The issuer a callback claims to be for (checked by the signature afterwards)."""
    try:
        envelope = jsondepth.loads(body)
        message = jsondepth.loads(envelope["signedMessage"]) if isinstance(envelope, dict) else None
    except (ValueError, KeyError, TypeError):
        raise CallbackRejected("malformed", "the body is not a signed callback") from None
    class_id = message.get("classId") if isinstance(message, Mapping) else None
    if not isinstance(class_id, str) or "." not in class_id:
        raise CallbackRejected("malformed", "signedMessage needs a classId '<issuer>.<id>'")
    return class_id.split(".", 1)[0]


@router.post(
    "/google/callbacks",
    tags=["public"],
    response_class=JSONResponse,
    dependencies=[Depends(ratelimit.per_ip("callbacks"))],  # per address
    openapi_extra=read_body("application/json", _CALLBACK_SCHEMA),
)
async def google_callback(request: Request, runtime: RuntimeDep) -> JSONResponse:
    """Save and delete callbacks, verified as ECv2SigningOnly; a replayed nonce is answered
    200 and changes nothing."""
    body = await request.body()
    if len(body) > MAX_CALLBACK_BYTES:
        raise CallbackRejected("malformed", "the callback body is too large")
    issuer_id = _claimed_issuer(body)
    async with runtime.db.sessions() as session:
        found = await google_credentials.credentials_by_issuer(session, issuer_id)
    if not found:
        raise UnknownIssuer(f"no tenant issues passes as Google issuer {issuer_id}")
    now = runtime.clock()
    now_ms = int(now.timestamp() * 1000)
    root_keys = await _root_keys(runtime).get(now_ms)
    event = verify_callback(
        body,
        root_keys=root_keys,
        issuer_id=issuer_id,
        now_ms=now_ms,
        sender_id=runtime.settings.google_sender_id,
    )
    async with runtime.transaction() as session:
        credentials = await google_credentials.credentials_by_issuer(session, issuer_id)
        applied = await google_service.apply_callback(session, credentials, event, now)
    log.info(
        "google callback",
        event_type=event.event_type,
        object_id=event.object_id,
        duplicate=not applied,
    )
    return JSONResponse({"status": "ok" if applied else "duplicate"})
