"""The Google Wallet REST client (``specs/google-wallet.md`` §3): insert, get, patch and
addMessage on ``<vertical>Class``/``<vertical>Object``, with OAuth from google-auth.

Access tokens come from google-auth's service-account credentials (scope
``wallet_object.issuer``), fetched at the key's ``token_uri`` over a small
:class:`google.auth.transport.Request` adapter on httpx, in a thread (google-auth is
synchronous), cached until shortly before they expire and refreshed once on a 401.

Errors are sorted by what the caller should do: :class:`NotFound` (404),
:class:`AlreadyExists` (409), :class:`QuotaExceeded` (a notification over Google's
budget), :class:`Transient` (429, 5xx, network: retry later, honouring ``Retry-After``)
and :class:`Rejected` (any other 4xx: the body or the credentials are wrong).
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Mapping
from typing import Any, Final

import httpx
from google.auth import exceptions as google_exceptions
from google.auth import transport
from google.oauth2 import service_account

from passmint.kit import metrics

SCOPE: Final = "https://www.googleapis.com/auth/wallet_object.issuer"
TIMEOUT: Final = httpx.Timeout(15.0, connect=5.0)


class GoogleApiError(Exception):
    def __init__(self, status: int, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(f"{status}: {message}" if status else message)
        self.status = status
        self.message = message
        self.retry_after = retry_after


class NotFound(GoogleApiError):
    pass


class AlreadyExists(GoogleApiError):
    pass


class QuotaExceeded(GoogleApiError):
    pass


class Transient(GoogleApiError):
    pass


class Rejected(GoogleApiError):
    pass


class _Response(transport.Response):
    def __init__(self, response: httpx.Response) -> None:
        self._response = response

    @property
    def status(self) -> int:
        return self._response.status_code

    @property
    def headers(self) -> Mapping[str, str]:
        return dict(self._response.headers)

    @property
    def data(self) -> bytes:
        return self._response.content


class _HttpxRequest(transport.Request):
    """google-auth's transport interface over a synchronous httpx client."""

    def __init__(self, client: httpx.Client) -> None:
        self._client = client

    def __call__(
        self,
        url: str,
        method: str = "GET",
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> transport.Response:
        try:
            response = self._client.request(
                method, url, content=body, headers=headers, timeout=timeout or 15.0
            )
        except httpx.HTTPError as exc:
            raise google_exceptions.TransportError(str(exc)) from exc  # type: ignore[no-untyped-call]
        return _Response(response)


class TokenSource:
    """Bearer tokens of one service account, refreshed by google-auth."""

    def __init__(self, info: Mapping[str, Any], *, verify: bool | str = True) -> None:
        self._credentials = service_account.Credentials.from_service_account_info(  # type: ignore[no-untyped-call]
            dict(info), scopes=[SCOPE]
        )
        self._http = httpx.Client(timeout=TIMEOUT, verify=verify)
        self._request = _HttpxRequest(self._http)
        self._lock = threading.Lock()
        self._async_lock = asyncio.Lock()

    def _refresh(self, force: bool) -> str:
        with self._lock:
            if force or not self._credentials.valid:
                self._credentials.refresh(self._request)
            token = self._credentials.token
            assert isinstance(token, str)
            return token

    async def token(self, *, force: bool = False) -> str:
        if not force and self._credentials.valid:
            token = self._credentials.token
            assert isinstance(token, str)
            return token
        async with self._async_lock:
            try:
                return await asyncio.to_thread(self._refresh, force)
            except google_exceptions.TransportError as exc:
                raise Transient(0, f"OAuth token endpoint unreachable: {exc}") from None
            except google_exceptions.RefreshError as exc:
                retryable = bool(getattr(exc, "retryable", False))
                kind = Transient if retryable else Rejected
                raise kind(0, f"OAuth token refused: {exc}") from None

    def close(self) -> None:
        self._http.close()


def _message(response: httpx.Response) -> str:
    try:
        error = response.json().get("error", {})
    except ValueError:
        return response.text[:300] or response.reason_phrase
    if isinstance(error, Mapping):
        return str(error.get("message") or error.get("status") or response.reason_phrase)[:500]
    return str(error)[:500]


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def _is_quota(response: httpx.Response, message: str) -> bool:
    text = (message + " " + response.text[:1000]).lower()
    return "quota" in text or "rate limit" in text


_RESULTS: Final[dict[type[GoogleApiError], str]] = {
    NotFound: "not_found",
    AlreadyExists: "conflict",
    QuotaExceeded: "quota",
    Transient: "transient",
    Rejected: "rejected",
}
"""The result label of the Google calls metric, by error."""


class WalletClient:
    """One issuer's REST client over a shared httpx client (HTTP/1.1 keep-alive pool)."""

    def __init__(self, base_url: str, http: httpx.AsyncClient, tokens: TokenSource) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = http
        self._tokens = tokens

    async def _call(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        try:
            answer = await self._send(method, path, body)
        except GoogleApiError as exc:
            metrics.GOOGLE_CALLS.labels(method, _RESULTS.get(type(exc), "transient")).inc()
            raise
        metrics.GOOGLE_CALLS.labels(method, "ok").inc()
        return answer

    async def _send(self, method: str, path: str, body: Any) -> dict[str, Any]:
        url = f"{self.base_url}/{path}"
        content = None if body is None else json.dumps(body, ensure_ascii=False).encode()
        force = False
        for _ in range(2):
            headers = {"Authorization": f"Bearer {await self._tokens.token(force=force)}"}
            if content is not None:
                headers["Content-Type"] = "application/json; charset=utf-8"
            try:
                response = await self._http.request(method, url, content=content, headers=headers)
            except httpx.HTTPError as exc:
                raise Transient(0, f"{method} {path}: {type(exc).__name__} {exc}") from None
            if response.status_code == 401 and not force:
                force = True  # the token was revoked or expired early: get a new one, once
                continue
            break
        status = response.status_code
        if 200 <= status < 300:
            if not response.content:
                return {}
            try:
                data = response.json()
            except ValueError:
                raise Transient(status, f"{method} {path}: the answer is not JSON") from None
            return data if isinstance(data, dict) else {}
        message = f"{method} {path}: {_message(response)}"
        if status == 404:
            raise NotFound(status, message)
        if status == 409:
            raise AlreadyExists(status, message)
        if status == 429 or status >= 500:
            if status == 429 and path.endswith("/addMessage") and _is_quota(response, message):
                raise QuotaExceeded(status, message)
            raise Transient(status, message, retry_after=_retry_after(response))
        if status == 403 and _is_quota(response, message):
            raise QuotaExceeded(status, message)
        raise Rejected(status, message)

    async def insert(self, resource: str, body: Mapping[str, Any]) -> dict[str, Any]:
        return await self._call("POST", resource, body)

    async def get(self, resource: str, resource_id: str) -> dict[str, Any]:
        return await self._call("GET", f"{resource}/{resource_id}")

    async def patch(
        self, resource: str, resource_id: str, body: Mapping[str, Any]
    ) -> dict[str, Any]:
        return await self._call("PATCH", f"{resource}/{resource_id}", body)

    async def add_message(
        self, resource: str, resource_id: str, message: Mapping[str, Any]
    ) -> dict[str, Any]:
        return await self._call(
            "POST", f"{resource}/{resource_id}/addMessage", {"message": message}
        )

    async def upsert(
        self, resource: str, body: Mapping[str, Any], *, prefer_patch: bool = False
    ) -> str:
        """Write a resource whether or not Google has it: insert, on 409 PATCH the same
        body; or (``prefer_patch``, for what was synced before) PATCH, on 404 insert.
        Returns "inserted" or "patched"."""
        resource_id = str(body["id"])
        if prefer_patch:
            try:
                await self.patch(resource, resource_id, body)
                return "patched"
            except NotFound:
                pass
        try:
            await self.insert(resource, body)
            return "inserted"
        except AlreadyExists:
            pass
        await self.patch(resource, resource_id, body)
        return "patched"


class ClientPool:
    """Per-process clients, one per credential version, over one shared connection pool."""

    def __init__(self, base_url: str, *, verify: bool | str = True, concurrency: int = 16) -> None:
        self.base_url = base_url
        self._verify = verify
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        self._http = httpx.AsyncClient(timeout=TIMEOUT, limits=limits, verify=verify)
        self._clients: dict[tuple[str, str], tuple[TokenSource, WalletClient]] = {}

    def client(self, key: tuple[str, str], info: Mapping[str, Any]) -> WalletClient:
        entry = self._clients.get(key)
        if entry is None:
            for old_key in [k for k in self._clients if k[0] == key[0]]:
                self._clients.pop(old_key)[0].close()
            tokens = TokenSource(info, verify=self._verify)
            entry = (tokens, WalletClient(self.base_url, self._http, tokens))
            self._clients[key] = entry
        return entry[1]

    async def aclose(self) -> None:
        for tokens, _ in self._clients.values():
            tokens.close()
        self._clients.clear()
        await self._http.aclose()
