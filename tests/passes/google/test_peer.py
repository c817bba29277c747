"""The Google Wallet test peer (tests/fixtures/google_server.py) speaks the protocols the
REST client and google-auth expect: OAuth JWT-bearer grants, walletobjects v1 REST with
Google's error shapes and rules (spec §1, §3), and the callback root keys (§4)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import google.auth.transport.requests
import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from google.auth import exceptions as google_exceptions
from google.oauth2 import service_account

from passmint.wallet.google.callbacks import RootKeys, verify_callback
from tests.fixtures.google_server import (
    GOOGLE_TOKEN_URI,
    JWT_BEARER,
    RESOURCES,
    SCOPE,
    FakeGoogleWallet,
    running,
)
from tests.passes.google import discovery

ISSUER = "3388000000012345678"
EMAIL = "peer-tests@passmint-test.iam.gserviceaccount.com"
KEY_ID = "0123456789abcdef0123456789abcdef01234567"
CLASS_ID = f"{ISSUER}.gold"
OBJECT_ID = f"{ISSUER}.member-1"


class Clock:
    """Real time plus an offset tests can move."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


def loyalty_class(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": CLASS_ID,
        "issuerName": "Passmint Café",
        "programName": "Gold",
        "programLogo": {"sourceUri": {"uri": "https://passmint.example/logo.png"}},
        "reviewStatus": "UNDER_REVIEW",
    }
    body.update(overrides)
    return body


def loyalty_object(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"id": OBJECT_ID, "classId": CLASS_ID, "state": "ACTIVE"}
    body.update(overrides)
    return body


def message(message_type: str = "TEXT", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"header": "Hello", "body": "Welcome", "messageType": message_type}
    body.update(overrides)
    return {"message": body}


def error_of(response: httpx.Response, status: int, status_name: str) -> dict[str, Any]:
    """The ``error`` of a Google API error response, after checking its shape."""
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == status
    assert error["status"] == status_name
    assert isinstance(error["message"], str)
    assert error["message"]
    assert error["errors"]
    assert all(e["domain"] == "global" for e in error["errors"])
    return error


@pytest.fixture(scope="module")
def clock() -> Clock:
    return Clock()


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def server(clock: Clock, key: rsa.RSAPrivateKey) -> Iterator[FakeGoogleWallet]:
    with running(discovery(), issuer_id=ISSUER, clock=clock) as wallet:
        wallet.add_service_account(EMAIL, key.public_key(), key_id=KEY_ID)
        yield wallet


@pytest.fixture
def wallet(server: FakeGoogleWallet, clock: Clock) -> Iterator[FakeGoogleWallet]:
    server.reset()
    server.auto_approve = False
    clock.offset = 0.0
    yield server
    assert server.internal_errors == []


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    """One client for the module (making one costs more than most of these tests)."""
    with httpx.Client() as client:
        yield client


@pytest.fixture(scope="module")
def rest(server: FakeGoogleWallet) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url + "/") as client:
        yield client


@pytest.fixture
def api(wallet: FakeGoogleWallet, rest: httpx.Client) -> httpx.Client:
    """A client on the REST base with a valid bearer token."""
    rest.headers["Authorization"] = f"Bearer {wallet.issue_token(EMAIL)}"
    return rest


@pytest.fixture
def with_class(api: httpx.Client) -> dict[str, Any]:
    response = api.post("loyaltyClass", json=loyalty_class())
    assert response.status_code == 200, response.text
    return dict(response.json())


@pytest.fixture
def with_object(api: httpx.Client, with_class: dict[str, Any]) -> dict[str, Any]:
    response = api.post("loyaltyObject", json=loyalty_object())
    assert response.status_code == 200, response.text
    return dict(response.json())


# --- OAuth -----------------------------------------------------------------------------


def _assertion(key: rsa.RSAPrivateKey | str, *, algorithm: str = "RS256", **claims: Any) -> str:
    now = int(time.time())
    payload: dict[str, Any] = {
        "iss": EMAIL,
        "aud": GOOGLE_TOKEN_URI,
        "scope": SCOPE,
        "iat": now,
        "exp": now + 3600,
    }
    payload.update(claims)
    payload = {k: v for k, v in payload.items() if v is not None}
    return jwt.encode(payload, key, algorithm=algorithm, headers={"kid": KEY_ID})


def _grant(
    http: httpx.Client, wallet: FakeGoogleWallet, assertion: str, **form: str
) -> httpx.Response:
    data = {"grant_type": JWT_BEARER, "assertion": assertion, **form}
    return http.post(wallet.token_url, data=data)


def test_google_auth_service_account_gets_a_token_that_the_api_accepts(
    wallet: FakeGoogleWallet, http: httpx.Client
) -> None:
    info = wallet.new_service_account("other@passmint-test.iam.gserviceaccount.com")
    assert info["token_uri"] == wallet.token_url
    credentials = service_account.Credentials.from_service_account_info(  # type: ignore[no-untyped-call]
        info, scopes=[SCOPE]
    )
    credentials.refresh(google.auth.transport.requests.Request())
    assert isinstance(credentials.token, str)
    assert credentials.token.startswith("ya29.")
    assert wallet.token_grants == 1

    # What google-auth sent: a form-encoded JWT-bearer grant whose audience is Google's
    # token URL, not the token_uri it posted to.
    (grant,) = wallet.requests
    assert grant.path == "/token"
    assert grant.headers["content-type"] == "application/x-www-form-urlencoded"
    assert "cred-type/sa" in grant.headers["x-goog-api-client"]
    assert grant.body["grant_type"] == JWT_BEARER
    assert jwt.get_unverified_header(grant.body["assertion"])["kid"] == info["private_key_id"]
    claims = jwt.decode(grant.body["assertion"], options={"verify_signature": False})
    assert claims["aud"] == GOOGLE_TOKEN_URI
    assert claims["scope"] == SCOPE
    assert claims["exp"] - claims["iat"] == 3600
    assert grant.response["expires_in"] == 3600
    assert grant.response["token_type"] == "Bearer"

    response = http.get(
        f"{wallet.base_url}/loyaltyObject/{OBJECT_ID}",
        headers={"Authorization": f"Bearer {credentials.token}"},
    )
    error_of(response, 404, "NOT_FOUND")
    assert wallet.requests[-1].client_email == "other@passmint-test.iam.gserviceaccount.com"


def test_google_auth_with_an_unknown_account_is_refused(
    wallet: FakeGoogleWallet, key: rsa.RSAPrivateKey
) -> None:
    info = wallet.new_service_account("gone@passmint-test.iam.gserviceaccount.com", private_key=key)
    info["client_email"] = "unknown@passmint-test.iam.gserviceaccount.com"
    credentials = service_account.Credentials.from_service_account_info(  # type: ignore[no-untyped-call]
        info, scopes=[SCOPE]
    )
    with pytest.raises(google_exceptions.RefreshError, match="invalid_grant") as caught:
        credentials.refresh(google.auth.transport.requests.Request())
    assert caught.value.retryable is False
    assert wallet.token_grants == 0


def test_google_auth_retries_a_transient_token_endpoint_failure(
    wallet: FakeGoogleWallet, key: rsa.RSAPrivateKey
) -> None:
    # google-auth itself retries 500/503/504/408/429 (three attempts, ~1 s then ~2 s).
    info = wallet.new_service_account(private_key=key)
    credentials = service_account.Credentials.from_service_account_info(  # type: ignore[no-untyped-call]
        info, scopes=[SCOPE]
    )
    wallet.fail(503, path_contains="/token")
    credentials.refresh(google.auth.transport.requests.Request())
    assert [r.status for r in wallet.requests] == [503, 200]
    assert wallet.requests[0].response == {
        "error": "temporarily_unavailable",
        "error_description": "temporarily_unavailable",
    }
    assert wallet.token_grants == 1


def test_handmade_assertion_gets_a_token(
    wallet: FakeGoogleWallet, key: rsa.RSAPrivateKey, http: httpx.Client
) -> None:
    response = _grant(http, wallet, _assertion(key, aud=wallet.token_url))
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"access_token", "expires_in", "token_type"}
    assert body["expires_in"] == 3600
    api = http.get(
        f"{wallet.base_url}/loyaltyClass/{CLASS_ID}",
        headers={"Authorization": f"Bearer {body['access_token']}"},
    )
    assert api.status_code == 404
    assert wallet.token_grants == 1


@pytest.mark.parametrize(
    ("case", "error"),
    [
        ({"iss": "nobody@passmint-test.iam.gserviceaccount.com"}, "invalid_grant"),
        ({"key": "other"}, "invalid_grant"),
        ({"aud": "https://oauth2.example/token"}, "invalid_grant"),
        ({"aud": None}, "invalid_grant"),
        ({"scope": None}, "invalid_scope"),
        ({"scope": "https://www.googleapis.com/auth/cloud-platform"}, "invalid_scope"),
        ({"iat": int(time.time()) - 7200, "exp": int(time.time()) - 3600}, "invalid_grant"),
        ({"exp": int(time.time()) + 7200}, "invalid_grant"),
        ({"iat": int(time.time()) + 3600, "exp": int(time.time()) + 7000}, "invalid_grant"),
        ({"iat": None}, "invalid_grant"),
        ({"exp": "soon"}, "invalid_grant"),
        ({"algorithm": "HS256", "key": "k" * 32}, "invalid_grant"),
        ({"raw": "not-a-jwt"}, "invalid_grant"),
    ],
    ids=[
        "unknown-iss",
        "wrong-key",
        "wrong-aud",
        "no-aud",
        "no-scope",
        "other-scope",
        "expired",
        "too-long-lived",
        "future-iat",
        "no-iat",
        "bad-exp",
        "hs256",
        "garbage",
    ],
)
def test_bad_assertions_are_refused(
    wallet: FakeGoogleWallet,
    key: rsa.RSAPrivateKey,
    case: dict[str, Any],
    error: str,
    http: httpx.Client,
) -> None:
    case = dict(case)
    raw = case.pop("raw", None)
    signing_key = case.pop("key", key)
    if signing_key == "other":
        signing_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    algorithm = case.pop("algorithm", "RS256")
    assertion = raw or _assertion(signing_key, algorithm=algorithm, **case)
    response = _grant(http, wallet, assertion)
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == error
    assert body["error_description"]
    assert wallet.token_grants == 0


def test_wrong_key_id_is_refused(
    wallet: FakeGoogleWallet, key: rsa.RSAPrivateKey, http: httpx.Client
) -> None:
    now = int(time.time())
    claims = {"iss": EMAIL, "aud": GOOGLE_TOKEN_URI, "scope": SCOPE, "iat": now, "exp": now + 60}
    assertion = jwt.encode(claims, key, algorithm="RS256", headers={"kid": "other"})
    assert _grant(http, wallet, assertion).json()["error"] == "invalid_grant"


def test_token_endpoint_checks_the_grant_type_and_encoding(
    wallet: FakeGoogleWallet, key: rsa.RSAPrivateKey, http: httpx.Client
) -> None:
    assertion = _assertion(key)
    response = _grant(http, wallet, assertion, grant_type="client_credentials")
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"
    response = http.post(wallet.token_url, json={"grant_type": JWT_BEARER, "assertion": assertion})
    assert response.json()["error"] == "invalid_request"
    response = http.post(wallet.token_url, data={"grant_type": JWT_BEARER})
    assert response.json()["error"] == "invalid_request"
    assert http.get(wallet.token_url).status_code == 405
    assert wallet.token_grants == 0


# --- authentication ----------------------------------------------------------------


def test_rest_calls_need_a_bearer_token(
    wallet: FakeGoogleWallet, clock: Clock, http: httpx.Client
) -> None:
    url = f"{wallet.base_url}/loyaltyClass/{CLASS_ID}"
    response = http.get(url)
    error = error_of(response, 401, "UNAUTHENTICATED")
    assert "missing required authentication credential" in error["message"]
    assert response.headers["www-authenticate"].startswith("Bearer ")
    for header in ("Bearer ya29.forged", "Basic dXNlcjpwYXNz", "Bearer"):
        error_of(http.get(url, headers={"Authorization": header}), 401, "UNAUTHENTICATED")

    token = wallet.issue_token(EMAIL)
    headers = {"Authorization": f"Bearer {token}"}
    assert http.get(url, headers=headers).status_code == 404
    clock.offset = 3601.0
    error = error_of(http.get(url, headers=headers), 401, "UNAUTHENTICATED")
    assert "invalid authentication credentials" in error["message"]

    clock.offset = 0.0
    assert http.get(url, headers=headers).status_code == 404
    wallet.revoke_tokens()
    assert http.get(url, headers=headers).status_code == 401


# --- insert and get ----------------------------------------------------------------


def test_insert_and_get_a_class_and_an_object(wallet: FakeGoogleWallet, api: httpx.Client) -> None:
    response = api.post("loyaltyClass", json=loyalty_class())
    assert response.status_code == 200
    assert response.json() == loyalty_class()
    response = api.post("loyaltyObject", json=loyalty_object())
    assert response.status_code == 200
    assert response.json() == {**loyalty_object(), "classReference": loyalty_class()}

    assert api.get(f"loyaltyClass/{CLASS_ID}").json() == loyalty_class()
    got = api.get(f"loyaltyObject/{OBJECT_ID}").json()
    assert got["classReference"] == loyalty_class()
    assert wallet.get("loyaltyObject", OBJECT_ID) == loyalty_object()
    assert wallet.get("loyaltyObject", f"{ISSUER}.nobody") is None
    assert wallet.resources == {
        ("loyaltyClass", CLASS_ID): loyalty_class(),
        ("loyaltyObject", OBJECT_ID): loyalty_object(),
    }


def test_insert_ignores_platform_and_ephemeral_fields(
    wallet: FakeGoogleWallet, api: httpx.Client, with_class: dict[str, Any]
) -> None:
    body = loyalty_object(
        hasUsers=True, notifyPreference="NOTIFY_ON_UPDATE", classReference=loyalty_class()
    )
    assert api.post("loyaltyObject", json=body).status_code == 200
    assert wallet.get("loyaltyObject", OBJECT_ID) == loyalty_object()
    wallet.set_has_users("loyaltyObject", OBJECT_ID)
    assert api.get(f"loyaltyObject/{OBJECT_ID}").json()["hasUsers"] is True


def test_duplicate_insert_is_a_409(api: httpx.Client, with_object: dict[str, Any]) -> None:
    error = error_of(api.post("loyaltyClass", json=loyalty_class()), 409, "ALREADY_EXISTS")
    assert CLASS_ID in error["message"]
    error_of(api.post("loyaltyObject", json=loyalty_object()), 409, "ALREADY_EXISTS")


def test_missing_resources_are_404(api: httpx.Client) -> None:
    for resource in RESOURCES:
        error = error_of(api.get(f"{resource}/{ISSUER}.missing"), 404, "NOT_FOUND")
        assert f"{ISSUER}.missing" in error["message"]
    error_of(api.get(f"walletThing/{ISSUER}.x"), 404, "NOT_FOUND")
    error_of(api.delete(f"loyaltyClass/{CLASS_ID}"), 404, "NOT_FOUND")


def test_object_needs_an_existing_class_of_its_vertical(
    wallet: FakeGoogleWallet, api: httpx.Client
) -> None:
    error = error_of(api.post("loyaltyObject", json=loyalty_object()), 404, "NOT_FOUND")
    assert CLASS_ID in error["message"]
    offer_class = {
        "id": CLASS_ID,
        "issuerName": "Passmint",
        "provider": "Passmint",
        "title": "10% off",
        "redemptionChannel": "INSTORE",
        "reviewStatus": "UNDER_REVIEW",
    }
    assert api.post("offerClass", json=offer_class).status_code == 200
    error_of(api.post("loyaltyObject", json=loyalty_object()), 404, "NOT_FOUND")
    assert wallet.resources.keys() == {("offerClass", CLASS_ID)}


def test_draft_class_cannot_have_objects_and_never_returns_to_draft(
    api: httpx.Client,
) -> None:
    assert api.post("loyaltyClass", json=loyalty_class(reviewStatus="DRAFT")).status_code == 200
    error = error_of(api.post("loyaltyObject", json=loyalty_object()), 400, "FAILED_PRECONDITION")
    assert "DRAFT" in error["message"]
    patch = {"reviewStatus": "DRAFT", "programName": "Gold+"}
    assert api.patch(f"loyaltyClass/{CLASS_ID}", json=patch).status_code == 200
    patch = {"reviewStatus": "UNDER_REVIEW"}
    assert api.patch(f"loyaltyClass/{CLASS_ID}", json=patch).status_code == 200
    assert api.post("loyaltyObject", json=loyalty_object()).status_code == 200
    error_of(
        api.patch(f"loyaltyClass/{CLASS_ID}", json={"reviewStatus": "DRAFT"}),
        400,
        "INVALID_ARGUMENT",
    )


@pytest.mark.parametrize("status", ["APPROVED", "REJECTED", "underReview", None])
def test_class_insert_must_be_under_review_or_draft(api: httpx.Client, status: str | None) -> None:
    error_of(
        api.post("loyaltyClass", json=loyalty_class(reviewStatus=status)), 400, "INVALID_ARGUMENT"
    )


def test_schema_invalid_bodies_are_400_with_paths(
    api: httpx.Client, with_class: dict[str, Any]
) -> None:
    body = {"id": OBJECT_ID, "state": "ACTIVATED", "foo": 1, "barcode": {"type": "QR"}}
    error = error_of(api.post("loyaltyObject", json=body), 400, "INVALID_ARGUMENT")
    assert error["message"].startswith("Invalid LoyaltyObject: ")
    locations = sorted(e["location"] for e in error["errors"])
    assert locations == ["$.barcode.type", "$.classId", "$.foo", "$.state"]
    assert "'ACTIVATED' is not one of" in error["message"]
    # deprecated fields are refused too (spec check 8)
    error = error_of(
        api.post("loyaltyObject", json=loyalty_object(kind="walletobjects#loyaltyObject")),
        400,
        "INVALID_ARGUMENT",
    )
    assert [e["location"] for e in error["errors"]] == ["$.kind"]


@pytest.mark.parametrize(
    "content",
    [b"{", b"[]", b'"x"', b"", b"[" * 100_000],
    ids=["open", "array", "string", "empty", "deep"],
)
def test_non_object_json_is_400(api: httpx.Client, content: bytes) -> None:
    response = api.post(
        "loyaltyClass", content=content, headers={"Content-Type": "application/json"}
    )
    error = error_of(response, 400, "INVALID_ARGUMENT")
    assert "Invalid JSON payload" in error["message"]


def test_ids_are_checked(api: httpx.Client) -> None:
    for bad in ("gold", f"{ISSUER}.gold cup", f"{ISSUER}.", f"x{ISSUER}.gold", f"{ISSUER}.gold/1"):
        response = api.post("loyaltyClass", json=loyalty_class(id=bad))
        error = error_of(response, 400, "INVALID_ARGUMENT")
        assert "Invalid resource ID" in error["message"]
    response = api.post("loyaltyClass", json=loyalty_class(id="1234.gold"))
    error_of(response, 403, "PERMISSION_DENIED")
    error_of(api.get("loyaltyClass/1234.gold"), 403, "PERMISSION_DENIED")


def test_messages_on_insert_are_capped_at_ten(api: httpx.Client) -> None:
    messages = [{"header": f"h{i}", "body": "b"} for i in range(11)]
    response = api.post("loyaltyClass", json=loyalty_class(messages=messages))
    error_of(response, 400, "INVALID_ARGUMENT")
    response = api.post("loyaltyClass", json=loyalty_class(messages=messages[:10]))
    assert response.status_code == 200


def test_list_pages_through_classes_and_objects(api: httpx.Client) -> None:
    for suffix in ("a", "b", "c"):
        body = loyalty_class(id=f"{ISSUER}.{suffix}")
        assert api.post("loyaltyClass", json=body).status_code == 200
    page = api.get("loyaltyClass", params={"issuerId": ISSUER, "maxResults": 2}).json()
    assert [r["id"] for r in page["resources"]] == [f"{ISSUER}.a", f"{ISSUER}.b"]
    assert page["pagination"] == {"resultsPerPage": 2, "nextPageToken": "2"}
    token = page["pagination"]["nextPageToken"]
    page = api.get("loyaltyClass", params={"issuerId": ISSUER, "maxResults": 2, "token": token})
    assert [r["id"] for r in page.json()["resources"]] == [f"{ISSUER}.c"]
    assert page.json()["pagination"] == {"resultsPerPage": 1}

    body = loyalty_object(classId=f"{ISSUER}.b")
    assert api.post("loyaltyObject", json=body).status_code == 200
    objects = api.get("loyaltyObject", params={"classId": f"{ISSUER}.b"}).json()["resources"]
    assert [(o["id"], o["classReference"]["id"]) for o in objects] == [(OBJECT_ID, f"{ISSUER}.b")]
    assert api.get("loyaltyObject", params={"classId": f"{ISSUER}.a"}).json()["resources"] == []
    error_of(api.get("loyaltyObject"), 400, "INVALID_ARGUMENT")
    error_of(api.get("loyaltyObject", params={"classId": f"{ISSUER}.z"}), 404, "NOT_FOUND")


def test_generic_vertical_has_no_review_status_nor_class_reference(
    api: httpx.Client,
) -> None:
    assert api.post("genericClass", json={"id": CLASS_ID}).status_code == 200
    body: dict[str, Any] = {"id": OBJECT_ID, "classId": CLASS_ID}
    error = error_of(api.post("genericObject", json=body), 400, "INVALID_ARGUMENT")
    assert sorted(e["location"] for e in error["errors"]) == ["$.cardTitle", "$.header"]
    body["cardTitle"] = {"defaultValue": {"language": "en", "value": "Passmint"}}
    body["header"] = {"defaultValue": {"language": "en", "value": "Ada"}}
    response = api.post("genericObject", json=body)
    assert response.json() == body
    assert api.patch(f"genericClass/{CLASS_ID}", json={}).status_code == 200


# --- patch and update --------------------------------------------------------------


def test_patch_merges_top_level_fields(
    wallet: FakeGoogleWallet, api: httpx.Client, with_object: dict[str, Any]
) -> None:
    modules = [{"id": "a", "header": "A", "body": "1"}, {"id": "b", "header": "B", "body": "2"}]
    patch: dict[str, Any] = {
        "textModulesData": modules,
        "accountId": "42",
        "barcode": {"type": "QR_CODE"},
    }
    assert api.patch(f"loyaltyObject/{OBJECT_ID}", json=patch).status_code == 200
    patch = {
        "textModulesData": modules[1:],
        "barcode": {"type": "QR_CODE", "value": "x"},
        "accountId": None,
    }
    response = api.patch(f"loyaltyObject/{OBJECT_ID}", json=patch)
    assert response.status_code == 200
    expected = loyalty_object(
        textModulesData=modules[1:], barcode={"type": "QR_CODE", "value": "x"}
    )
    assert wallet.get("loyaltyObject", OBJECT_ID) == expected
    assert response.json() == {**expected, "classReference": loyalty_class()}


def test_patch_validates_partially_and_checks_ids(
    api: httpx.Client, with_object: dict[str, Any]
) -> None:
    url = f"loyaltyObject/{OBJECT_ID}"
    assert api.patch(url, json={"state": "INACTIVE"}).status_code == 200
    error = error_of(api.patch(url, json={"state": "GONE"}), 400, "INVALID_ARGUMENT")
    assert [e["location"] for e in error["errors"]] == ["$.state"]
    error_of(api.patch(url, json={"id": f"{ISSUER}.other"}), 400, "INVALID_ARGUMENT")
    error_of(api.patch(url, json={"classId": f"{ISSUER}.other"}), 404, "NOT_FOUND")
    error_of(api.patch(f"loyaltyObject/{ISSUER}.nobody", json={}), 404, "NOT_FOUND")
    error_of(api.put(f"loyaltyObject/{ISSUER}.nobody", json=loyalty_object()), 404, "NOT_FOUND")


def test_class_patch_must_carry_a_writable_review_status(
    wallet: FakeGoogleWallet, api: httpx.Client, with_class: dict[str, Any]
) -> None:
    url = f"loyaltyClass/{CLASS_ID}"
    error = error_of(api.patch(url, json={"programName": "Gold+"}), 400, "INVALID_ARGUMENT")
    assert "reviewStatus" in error["message"]
    wallet.set_review_status("loyaltyClass", CLASS_ID, "APPROVED")
    patch = {"programName": "Gold+", "reviewStatus": "APPROVED"}
    error_of(api.patch(url, json=patch), 400, "INVALID_ARGUMENT")
    patch["reviewStatus"] = "UNDER_REVIEW"
    assert api.patch(url, json=patch).json()["programName"] == "Gold+"
    error_of(api.put(url, json=loyalty_class(reviewStatus="APPROVED")), 400, "INVALID_ARGUMENT")


def test_auto_approve_stores_under_review_classes_as_approved(
    wallet: FakeGoogleWallet, api: httpx.Client
) -> None:
    wallet.auto_approve = True
    assert api.post("loyaltyClass", json=loyalty_class()).json()["reviewStatus"] == "APPROVED"
    error_of(
        api.patch(f"loyaltyClass/{CLASS_ID}", json={"programName": "x"}), 400, "INVALID_ARGUMENT"
    )


def test_notify_preference_is_logged_not_stored(
    wallet: FakeGoogleWallet, api: httpx.Client, with_object: dict[str, Any]
) -> None:
    url = f"loyaltyObject/{OBJECT_ID}"
    patch = {"loyaltyPoints": {"balance": {"int": 5}}, "notifyPreference": "NOTIFY_ON_UPDATE"}
    response = api.patch(url, json=patch)
    assert "notifyPreference" not in response.json()
    assert "notifyPreference" not in (wallet.get("loyaltyObject", OBJECT_ID) or {})
    assert api.patch(url, json={"state": "ACTIVE"}).status_code == 200
    body = loyalty_object(notifyPreference="NOTIFY_ON_UPDATE")
    assert api.put(url, json=body).status_code == 200
    assert wallet.notify_count(OBJECT_ID) == 2
    assert [n.kind for n in wallet.notifications(OBJECT_ID)] == ["NOTIFY_ON_UPDATE"] * 2


def test_put_replaces_with_full_validation(
    wallet: FakeGoogleWallet, api: httpx.Client, with_object: dict[str, Any]
) -> None:
    url = f"loyaltyObject/{OBJECT_ID}"
    assert api.patch(url, json={"accountId": "42"}).status_code == 200
    wallet.set_has_users("loyaltyObject", OBJECT_ID)
    response = api.put(url, json=loyalty_object(state="COMPLETED"))
    assert response.status_code == 200
    assert wallet.get("loyaltyObject", OBJECT_ID) == loyalty_object(state="COMPLETED")
    assert response.json()["hasUsers"] is True  # platform fields survive
    error = error_of(api.put(url, json={"id": OBJECT_ID}), 400, "INVALID_ARGUMENT")
    assert sorted(e["location"] for e in error["errors"]) == ["$.classId", "$.state"]


# --- addMessage and the notification quota ---------------------------------------


def test_add_message_appends_and_answers_the_resource(
    wallet: FakeGoogleWallet, api: httpx.Client, with_object: dict[str, Any]
) -> None:
    response = api.post(f"loyaltyObject/{OBJECT_ID}/addMessage", json=message(id="m1"))
    assert response.status_code == 200
    resource = response.json()["resource"]
    assert resource["messages"] == [message(id="m1")["message"]]
    assert resource["classReference"]["id"] == CLASS_ID
    assert discovery().validate("LoyaltyObjectAddMessageResponse", response.json()) == []

    for i in range(2, 13):
        api.post(f"loyaltyObject/{OBJECT_ID}/addMessage", json=message(id=f"m{i}"))
    kept = wallet.messages("loyaltyObject", OBJECT_ID)
    assert [m["id"] for m in kept] == [f"m{i}" for i in range(3, 13)]

    response = api.post(f"loyaltyClass/{CLASS_ID}/addMessage", json=message(id="c1"))
    assert response.json()["resource"]["messages"][0]["id"] == "c1"
    assert wallet.messages("loyaltyClass", CLASS_ID)[0]["id"] == "c1"


def test_add_message_checks_its_body(api: httpx.Client, with_object: dict[str, Any]) -> None:
    url = f"loyaltyObject/{OBJECT_ID}/addMessage"
    error = error_of(api.post(url, json=message("SHOUT")), 400, "INVALID_ARGUMENT")
    assert "SHOUT" in error["message"]
    error_of(api.post(url, json=message("text")), 400, "INVALID_ARGUMENT")  # legacy alias
    error_of(api.post(url, json={"header": "h"}), 400, "INVALID_ARGUMENT")
    error_of(api.post(url, json=message(extra=1)), 400, "INVALID_ARGUMENT")
    error_of(
        api.post(f"loyaltyObject/{ISSUER}.nobody/addMessage", json=message()), 404, "NOT_FOUND"
    )
    error_of(api.get(url), 404, "NOT_FOUND")


def test_text_and_notify_quota_is_three_per_rolling_day(
    wallet: FakeGoogleWallet, api: httpx.Client, clock: Clock, with_object: dict[str, Any]
) -> None:
    def advance_to(offset: float) -> None:
        clock.offset = offset
        api.headers["Authorization"] = f"Bearer {wallet.issue_token(EMAIL)}"

    url = f"loyaltyObject/{OBJECT_ID}/addMessage"
    for hour in range(3):
        advance_to(hour * 3600)
        assert api.post(url, json=message("TEXT_AND_NOTIFY")).status_code == 200
    error = error_of(api.post(url, json=message("TEXT_AND_NOTIFY")), 403, "PERMISSION_DENIED")
    assert "Quota exceeded" in error["message"]
    assert error["errors"][0]["reason"] == "quotaExceeded"
    assert wallet.quota_rejections == 1
    assert api.post(url, json=message("TEXT")).status_code == 200
    assert len(wallet.messages("loyaltyObject", OBJECT_ID)) == 4

    advance_to(24 * 3600 + 1)  # the first push left the window
    assert api.post(url, json=message("TEXT_AND_NOTIFY")).status_code == 200
    error_of(api.post(url, json=message("TEXT_AND_NOTIFY")), 403, "PERMISSION_DENIED")
    assert wallet.quota_rejections == 2
    assert len(wallet.notifications(OBJECT_ID)) == 4


def test_update_notifications_share_the_quota(
    wallet: FakeGoogleWallet, api: httpx.Client, with_object: dict[str, Any]
) -> None:
    url = f"loyaltyObject/{OBJECT_ID}"
    for points in range(4):
        patch = {
            "loyaltyPoints": {"balance": {"int": points}},
            "notifyPreference": "NOTIFY_ON_UPDATE",
        }
        assert api.patch(url, json=patch).status_code == 200  # over the quota: silent
    assert wallet.notify_count(OBJECT_ID) == 4
    assert [n.delivered for n in wallet.notifications(OBJECT_ID)] == [True, True, True, False]
    assert wallet.get("loyaltyObject", OBJECT_ID) == loyalty_object(
        loyaltyPoints={"balance": {"int": 3}}
    )
    error_of(
        api.post(f"{url}/addMessage", json=message("TEXT_AND_NOTIFY")), 403, "PERMISSION_DENIED"
    )


# --- failure injection, root keys, bookkeeping ----------------------------------


def test_failures_can_be_injected(
    wallet: FakeGoogleWallet, api: httpx.Client, http: httpx.Client
) -> None:
    wallet.fail(503, times=2, retry_after=3)
    url = f"loyaltyClass/{CLASS_ID}"
    for _ in range(2):
        response = api.get(url)
        error_of(response, 503, "UNAVAILABLE")
        assert response.headers["retry-after"] == "3"
    assert api.get(url).status_code == 404

    wallet.fail(429, path_contains="/addMessage", message="Too many requests, slow down.")
    wallet.fail(500, method="PATCH")
    assert api.get(url).status_code == 404
    error_of(api.patch(url, json={}), 500, "INTERNAL")
    response = api.post(f"{url}/addMessage", json=message())
    error = error_of(response, 429, "RESOURCE_EXHAUSTED")
    assert error["message"] == "Too many requests, slow down."
    assert "retry-after" not in response.headers
    assert api.post(f"{url}/addMessage", json=message()).status_code == 404

    # failures come before authentication, and only REST calls match by default
    wallet.fail(502)
    error_of(http.get(f"{wallet.base_url}/{url}"), 502, "UNAVAILABLE")
    wallet.fail(503)
    assert http.get(wallet.root_keys_url).status_code == 200
    assert api.get(url).status_code == 503


def test_token_endpoint_failures_use_the_oauth_shape(
    wallet: FakeGoogleWallet, key: rsa.RSAPrivateKey, http: httpx.Client
) -> None:
    wallet.fail(429, path_contains="/token", retry_after=1.5)
    response = _grant(http, wallet, _assertion(key))
    assert response.status_code == 429
    assert response.headers["retry-after"] == "1.5"
    assert response.json()["error"] == "rate_limit_exceeded"
    assert _grant(http, wallet, _assertion(key)).status_code == 200
    assert wallet.token_grants == 1


def test_root_keys_are_served_and_counted(wallet: FakeGoogleWallet, http: httpx.Client) -> None:
    response = http.get(wallet.root_keys_url)
    assert response.status_code == 200
    assert response.json() == wallet.signer.root_keys_document()
    signer = wallet.signer
    keys = RootKeys.parse(response.json(), now_ms=signer.now_ms)
    event = verify_callback(
        signer.body(signer.message(eventType="del")),
        root_keys=keys,
        issuer_id=ISSUER,
        now_ms=signer.now_ms,
    )
    assert (event.object_id, event.event_type) == (f"{ISSUER}.obj-1", "del")
    http.get(wallet.root_keys_url)
    assert wallet.root_key_fetches == 2
    assert http.post(wallet.root_keys_url).status_code == 405
    assert wallet.root_key_fetches == 2


def test_requests_are_recorded(wallet: FakeGoogleWallet, api: httpx.Client) -> None:
    api.post("loyaltyClass", json=loyalty_class())
    api.get(f"loyaltyClass/{CLASS_ID}", params={"fields": "id"})
    first, second = wallet.wait_for(2)
    assert (first.method, first.path, first.status) == (
        "POST",
        "/walletobjects/v1/loyaltyClass",
        200,
    )
    assert first.body == loyalty_class()
    assert first.response == loyalty_class()
    assert first.client_email == EMAIL
    assert first.headers["authorization"].startswith("Bearer ya29.")
    assert (second.method, second.query, second.body) == ("GET", "fields=id", None)
    assert json.loads(json.dumps(second.response)) == loyalty_class()
    with pytest.raises(TimeoutError):
        wallet.wait_for(3, timeout=0.01)


def test_test_helpers_refuse_unknown_resources(wallet: FakeGoogleWallet) -> None:
    with pytest.raises(ValueError, match="unknown resource"):
        wallet.store("walletThing", {"id": "x"})
    with pytest.raises(KeyError):
        wallet.set_review_status("loyaltyClass", CLASS_ID, "APPROVED")
    wallet.store("loyaltyClass", loyalty_class(reviewStatus="APPROVED"))
    assert wallet.resources == {("loyaltyClass", CLASS_ID): loyalty_class(reviewStatus="APPROVED")}


def test_server_stops_and_restarts_on_its_port(http: httpx.Client) -> None:
    wallet = FakeGoogleWallet(discovery())
    with pytest.raises(RuntimeError, match="start the server first"):
        wallet.new_service_account()
    with wallet:
        port = wallet.port
        assert wallet.base_url == f"http://127.0.0.1:{port}/walletobjects/v1"
        assert wallet.token_url == f"http://127.0.0.1:{port}/token"
        with pytest.raises(RuntimeError, match="already running"):
            wallet.start()
        assert http.get(wallet.root_keys_url).status_code == 200
    with pytest.raises(httpx.ConnectError):
        http.get(wallet.root_keys_url)
    with wallet:
        assert wallet.port == port
        assert http.get(wallet.root_keys_url).status_code == 200
    assert wallet.root_key_fetches == 2
