from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from passmint.errors import PassmintError
from passmint.wallet.google.savelink import (
    MAX_JWT_LENGTH,
    SAVE_URL_PREFIX,
    InvalidServiceAccount,
    SaveLinkTooLong,
    ServiceAccount,
    jwt_length,
    parse_service_account,
    save_jwt,
    save_link,
)
from passmint.wallet.google.verticals import Vertical
from tests.wallet.google.test_render import CASES, ISSUER, klass, obj

ISSUED_AT = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
ORIGINS = ["https://passmint.example"]
EMAIL = "wallet@passmint-test.iam.gserviceaccount.com"
KEY_ID = "0123456789abcdef0123456789abcdef01234567"
SEGMENT = re.compile(r"^[A-Za-z0-9_-]+$")
PAYLOAD_KEYS = {f"{v.value}{kind}" for v in Vertical for kind in ("Classes", "Objects")}


def pem(key: RSAPrivateKey | ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


@pytest.fixture(scope="module")
def rsa_key() -> RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def key_json(rsa_key: RSAPrivateKey) -> dict[str, Any]:
    """A throwaway service-account key file, shaped like Google's."""
    return {
        "type": "service_account",
        "project_id": "passmint-test",
        "private_key_id": KEY_ID,
        "private_key": pem(rsa_key),
        "client_email": EMAIL,
        "client_id": "100000000000000000001",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": "https://oauth2.googleapis.com/token",
    }


@pytest.fixture
def account(key_json: dict[str, Any]) -> ServiceAccount:
    return parse_service_account(key_json)


def decode(token: str, key: RSAPrivateKey) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and claims of a save JWT, checking its shape and signature (checks 1-2)."""
    segments = token.split(".")
    assert len(segments) == 3
    assert all(SEGMENT.match(segment) for segment in segments)  # unpadded base64url
    header = jwt.get_unverified_header(token)
    claims = jwt.decode(
        token,
        key.public_key(),
        algorithms=["RS256"],
        audience="google",
        issuer=EMAIL,
        options={"verify_iat": False, "require": ["iss", "aud", "iat"]},
    )
    return header, claims


def test_service_account_keeps_what_signing_needs(
    account: ServiceAccount, key_json: dict[str, Any]
) -> None:
    assert account.client_email == EMAIL
    assert account.private_key_id == KEY_ID
    assert account.token_uri == "https://oauth2.googleapis.com/token"
    assert isinstance(account.private_key, RSAPrivateKey)
    body = key_json["private_key"].splitlines()[1]
    for text in (repr(account), str(account)):
        assert "PRIVATE KEY" not in text
        assert body not in text
        assert "private_key=" not in text


@pytest.mark.parametrize("name", sorted(CASES))
def test_save_jwt_header_claims_and_payload(
    name: str, account: ServiceAccount, rsa_key: RSAPrivateKey
) -> None:
    vertical = CASES[name][3]
    class_body, object_body = klass(name), obj(name)
    token = save_jwt(
        account,
        objects={vertical: [object_body]},
        classes={vertical: [class_body]},
        origins=ORIGINS,
        issued_at=ISSUED_AT,
    )
    header, claims = decode(token, rsa_key)
    assert header == {"alg": "RS256", "typ": "JWT", "kid": KEY_ID}
    assert claims["iss"] == EMAIL
    assert claims["aud"] == "google"
    assert claims["typ"] == "savetowallet"
    assert claims["iat"] == int(ISSUED_AT.timestamp())
    assert isinstance(claims["iat"], int)
    assert claims["origins"] == ORIGINS
    assert claims["payload"] == {
        vertical.jwt_classes_key: [class_body],
        vertical.jwt_objects_key: [object_body],
    }
    assert set(claims["payload"]) <= PAYLOAD_KEYS


def test_save_jwt_several_verticals_and_no_classes(
    account: ServiceAccount, rsa_key: RSAPrivateKey
) -> None:
    token = save_jwt(
        account,
        objects={Vertical.LOYALTY: [obj("cafe")], Vertical.OFFER: [obj("coupon")]},
        classes=None,
        origins=[],
        issued_at=ISSUED_AT,
    )
    _, claims = decode(token, rsa_key)
    assert claims["origins"] == []
    assert claims["payload"] == {
        "loyaltyObjects": [obj("cafe")],
        "offerObjects": [obj("coupon")],
    }


def test_save_jwt_needs_an_object_and_an_aware_time(account: ServiceAccount) -> None:
    with pytest.raises(ValueError, match="at least one object"):
        save_jwt(account, objects={Vertical.LOYALTY: []}, classes=None, issued_at=ISSUED_AT)
    with pytest.raises(ValueError, match="timezone-aware"):
        save_jwt(
            account,
            objects={Vertical.LOYALTY: [obj("cafe")]},
            classes=None,
            issued_at=datetime(2026, 11, 1, 12, 0),  # noqa: DTZ001
        )


def test_small_pass_gets_a_full_link(account: ServiceAccount, rsa_key: RSAPrivateKey) -> None:
    object_body = {"id": f"{ISSUER}.pass_01", "classId": f"{ISSUER}.tpl_gym.v1", "state": "ACTIVE"}
    class_body = {"id": f"{ISSUER}.tpl_gym.v1"}
    link = save_link(
        account,
        vertical=Vertical.GENERIC,
        object_body=object_body,
        class_body=class_body,
        origins=ORIGINS,
        issued_at=ISSUED_AT,
    )
    assert link.mode == "full"
    assert link.url.startswith(SAVE_URL_PREFIX)
    assert link.url == SAVE_URL_PREFIX + link.jwt
    assert len(link.jwt) <= MAX_JWT_LENGTH
    _, claims = decode(link.jwt, rsa_key)
    assert claims["payload"] == {"genericClasses": [class_body], "genericObjects": [object_body]}


def test_big_pass_falls_back_to_a_reference(
    account: ServiceAccount, rsa_key: RSAPrivateKey
) -> None:
    object_body = obj("cafe")
    object_body["textModulesData"] = [
        {"id": f"note_{i}", "header": "Note", "body": "x" * 80} for i in range(20)
    ]
    full = save_jwt(
        account,
        objects={Vertical.LOYALTY: [object_body]},
        classes={Vertical.LOYALTY: [klass("cafe")]},
        origins=ORIGINS,
        issued_at=ISSUED_AT,
    )
    assert len(full) > MAX_JWT_LENGTH
    link = save_link(
        account,
        vertical=Vertical.LOYALTY,
        object_body=object_body,
        class_body=klass("cafe"),
        origins=ORIGINS,
        issued_at=ISSUED_AT,
    )
    assert link.mode == "reference"
    assert len(link.url) <= len(SAVE_URL_PREFIX) + MAX_JWT_LENGTH
    _, claims = decode(link.jwt, rsa_key)
    assert claims["payload"] == {
        "loyaltyObjects": [{"id": object_body["id"], "classId": object_body["classId"]}]
    }
    assert claims["origins"] == ORIGINS


def test_max_length_is_the_switch(account: ServiceAccount, rsa_key: RSAPrivateKey) -> None:
    object_body = obj("gym")
    common: dict[str, Any] = {
        "vertical": Vertical.GENERIC,
        "object_body": object_body,
        "class_body": None,
        "origins": ORIGINS,
        "issued_at": ISSUED_AT,
    }
    length = len(save_link(account, **common, max_length=10_000).jwt)
    assert save_link(account, **common, max_length=length).mode == "full"
    link = save_link(account, **common, max_length=length - 1)
    assert link.mode == "reference"
    _, claims = decode(link.jwt, rsa_key)
    assert claims["payload"] == {
        "genericObjects": [{"id": object_body["id"], "classId": object_body["classId"]}]
    }


def test_reference_too_long_is_an_error(account: ServiceAccount) -> None:
    origins = [f"https://shop{i}.passmint.example" for i in range(60)]
    with pytest.raises(SaveLinkTooLong) as caught:
        save_link(
            account,
            vertical=Vertical.LOYALTY,
            object_body=obj("cafe"),
            class_body=None,
            origins=origins,
            issued_at=ISSUED_AT,
        )
    assert caught.value.code == "save_link_too_long"
    assert caught.value.details["max_length"] == MAX_JWT_LENGTH


def encrypted_pem(key: RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"secret"),
    ).decode()


def truncated_pem(key: RSAPrivateKey) -> str:
    lines = pem(key).splitlines()
    return "\n".join(lines[:5] + lines[-1:])


BAD: list[tuple[str, Any, str]] = [
    ("type", "authorized_user", "type"),
    ("type", None, "type"),
    ("client_email", None, "client_email"),
    ("client_email", "", "client_email"),
    ("client_email", "not-an-address", "client_email"),
    ("private_key_id", None, "private_key_id"),
    ("private_key_id", 42, "private_key_id"),
    ("private_key", None, "private_key"),
    (
        "private_key",
        # A PEM frame around garbage, assembled so no key-shaped literal sits in the repo.
        "-----" + "BEGIN PRIVATE KEY-----\nnope\n-----" + "END PRIVATE KEY-----\n",
        "private_key",
    ),
    ("private_key", "truncated", "private_key"),
    ("private_key", "encrypted", "private_key"),
    ("private_key", "ec", "private_key"),
    ("token_uri", None, "token_uri"),
    ("token_uri", "http://oauth2.googleapis.com/token", "token_uri"),
    ("token_uri", "oauth2.googleapis.com/token", "token_uri"),
]


@pytest.mark.parametrize(("key", "value", "field"), BAD)
def test_bad_service_accounts_name_the_field(
    key: str, value: Any, field: str, key_json: dict[str, Any], rsa_key: RSAPrivateKey
) -> None:
    data = dict(key_json)
    if value is None:
        del data[key]
    elif value == "truncated":
        data[key] = truncated_pem(rsa_key)
    elif value == "encrypted":
        data[key] = encrypted_pem(rsa_key)
    elif value == "ec":
        data[key] = pem(ec.generate_private_key(ec.SECP256R1()))
    else:
        data[key] = value
    with pytest.raises(InvalidServiceAccount) as caught:
        parse_service_account(data)
    error = caught.value
    assert isinstance(error, PassmintError)
    assert error.code == "invalid_service_account"
    assert error.status == 400
    assert error.details["field"] == field
    assert field in error.message
    assert error.__cause__ is None
    texts = [str(error), repr(error), error.message, repr(error.details)]
    secret_lines = [
        line
        for line in (pem(rsa_key) + str(data.get("private_key", ""))).splitlines()
        if line and "-----" not in line
    ]
    for text in texts:
        assert "PRIVATE KEY" not in text
        for line in secret_lines:
            assert line not in text


def test_not_a_mapping() -> None:
    with pytest.raises(InvalidServiceAccount) as caught:
        parse_service_account(["service_account"])
    assert caught.value.details["field"] == "type"


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("with_class", [False, True])
def test_jwt_length_is_known_before_signing(
    account: ServiceAccount, name: str, with_class: bool
) -> None:
    vertical = CASES[name][3]
    objects = {vertical: [obj(name)]}
    classes = {vertical: [klass(name)]} if with_class else None
    signed = save_jwt(
        account, objects=objects, classes=classes, origins=ORIGINS, issued_at=ISSUED_AT
    )
    assert jwt_length(account, objects=objects, classes=classes, origins=ORIGINS) == len(signed)
