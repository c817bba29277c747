"""Signed "Save to Google Wallet" JWTs and links (``specs/google-wallet.md`` §2).

Pure: the service account, the class and object bodies, the allowed origins and the
issue time come in; a JWT or a link goes out. No settings, clock or network.

* :func:`parse_service_account` checks a service-account key (the JSON Google Cloud
  hands out) and keeps what signing needs; the private key never appears in a repr or
  an error message.
* :func:`save_jwt` signs RS256 with header ``kid`` = ``private_key_id`` and claims
  ``iss`` = ``client_email``, ``aud`` = ``"google"``, ``typ`` = ``"savetowallet"``,
  ``iat``, ``origins`` and ``payload`` (``{"loyaltyObjects": [...], ...}``).
* :func:`save_link` builds ``https://pay.google.com/gp/v/save/<jwt>``, switching to a
  skinny JWT that only references the object when the full one is over 1,800 characters
  (Google's limit for web links, which browsers would truncate).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Final, Literal

import jwt
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from passmint.errors import PassmintError
from passmint.wallet.google.verticals import Vertical

__all__ = [
    "MAX_JWT_LENGTH",
    "SAVE_URL_PREFIX",
    "InvalidServiceAccount",
    "SaveLink",
    "SaveLinkTooLong",
    "ServiceAccount",
    "jwt_length",
    "parse_service_account",
    "save_jwt",
    "save_link",
]

SAVE_URL_PREFIX: Final = "https://pay.google.com/gp/v/save/"
MAX_JWT_LENGTH: Final = 1800
"""Longest JWT Google accepts in a web link (spec §2, "Size")."""

SaveLinkMode = Literal["full", "reference"]


class InvalidServiceAccount(PassmintError):
    """A service-account key that cannot sign save JWTs; ``details["field"]`` names the
    offending field."""

    code: ClassVar[str] = "invalid_service_account"
    status: ClassVar[int] = 400


class SaveLinkTooLong(PassmintError):
    """Even the reference-only JWT is over the length limit (very long IDs or origins)."""

    code: ClassVar[str] = "save_link_too_long"
    status: ClassVar[int] = 422


@dataclass(frozen=True, slots=True)
class ServiceAccount:
    """The parts of a Google service-account key used to sign save JWTs.

    The private key is kept out of the repr (and so out of ``str()`` and logs)."""

    client_email: str
    private_key_id: str
    token_uri: str
    private_key: RSAPrivateKey = field(repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class SaveLink:
    """A "Save to Google Wallet" link.

    ``mode`` is ``"full"`` when the JWT carries the class and object bodies (Google
    inserts them on save) and ``"reference"`` when it only names the object, which must
    then already exist through the REST API."""

    url: str
    mode: SaveLinkMode

    @property
    def jwt(self) -> str:
        """The signed JWT inside the link."""
        return self.url.removeprefix(SAVE_URL_PREFIX)


def _invalid(field_name: str, problem: str) -> InvalidServiceAccount:
    return InvalidServiceAccount(
        f"service account {field_name}: {problem}",
        details={"field": field_name, "problem": problem},
    )


def _text(data: Mapping[str, Any], name: str) -> str:
    value = data.get(name)
    if value is None:
        raise _invalid(name, "missing")
    if not isinstance(value, str) or not value.strip():
        raise _invalid(name, "must be a non-empty string")
    return value


_LOOPBACK_HOSTS: Final = ("127.0.0.1", "localhost", "[::1]")


def _token_uri_ok(uri: str) -> bool:
    """https, or plain http to a loopback host (a local OAuth server in tests)."""
    scheme, sep, rest = uri.partition("://")
    host = rest.split("/", 1)[0].rsplit(":", 1)[0] if not rest.startswith("[") else rest[:5]
    if not sep or not rest or not host:
        return False
    return scheme == "https" or (scheme == "http" and host in _LOOPBACK_HOSTS)


def parse_service_account(data: object) -> ServiceAccount:
    """A :class:`ServiceAccount` from a parsed service-account key JSON.

    Checks ``type`` == ``"service_account"``, ``client_email`` (an address),
    ``private_key_id``, ``private_key`` (a PEM RSA private key without a password) and
    ``token_uri`` (https; plain http only to a loopback host). Raises
    :class:`InvalidServiceAccount` naming the first bad field; the key itself is never
    echoed."""
    if not isinstance(data, Mapping):
        raise _invalid("type", "the key file must be a JSON object")
    kind = data.get("type")
    if kind != "service_account":
        raise _invalid("type", 'must be "service_account"')
    client_email = _text(data, "client_email")
    if "@" not in client_email or any(c.isspace() for c in client_email):
        raise _invalid("client_email", "must be an email address")
    private_key_id = _text(data, "private_key_id")
    pem = _text(data, "private_key")
    try:
        key = load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        # Never chain or quote the underlying error: it could echo key material.
        raise _invalid("private_key", "not a loadable PEM private key") from None
    if not isinstance(key, RSAPrivateKey):
        raise _invalid("private_key", "must be an RSA key (RS256)")
    token_uri = _text(data, "token_uri")
    if not _token_uri_ok(token_uri):
        raise _invalid("token_uri", "must be an https URL")
    return ServiceAccount(
        client_email=client_email,
        private_key_id=private_key_id,
        token_uri=token_uri,
        private_key=key,
    )


def _payload(
    objects: Mapping[Vertical, list[dict[str, Any]]],
    classes: Mapping[Vertical, list[dict[str, Any]]] | None,
) -> dict[str, list[dict[str, Any]]]:
    payload: dict[str, list[dict[str, Any]]] = {}
    for vertical, bodies in (classes or {}).items():
        if bodies:
            payload[Vertical(vertical).jwt_classes_key] = list(bodies)
    for vertical, bodies in objects.items():
        if bodies:
            payload[Vertical(vertical).jwt_objects_key] = list(bodies)
    if not any(key.endswith("Objects") for key in payload):
        raise ValueError("a save JWT needs at least one object")
    return payload


def _iat(issued_at: datetime) -> int:
    if issued_at.tzinfo is None or issued_at.utcoffset() is None:
        raise ValueError("issued_at must be timezone-aware")
    return int(issued_at.timestamp())


def _claims(
    account: ServiceAccount,
    objects: Mapping[Vertical, list[dict[str, Any]]],
    classes: Mapping[Vertical, list[dict[str, Any]]] | None,
    origins: Sequence[str],
    iat: int,
) -> dict[str, Any]:
    return {
        "iss": account.client_email,
        "aud": "google",
        "typ": "savetowallet",
        "iat": iat,
        "origins": list(origins),
        "payload": _payload(objects, classes),
    }


_COMPACT: Final = (",", ":")  # PyJWT's JSON separators


def _header(account: ServiceAccount) -> dict[str, str]:
    return {"kid": account.private_key_id, "typ": "JWT"}


def save_jwt(
    account: ServiceAccount,
    *,
    objects: Mapping[Vertical, list[dict[str, Any]]],
    classes: Mapping[Vertical, list[dict[str, Any]]] | None = None,
    origins: Sequence[str] = (),
    issued_at: datetime,
) -> str:
    """A signed save JWT (RS256, header ``kid`` = the key's ``private_key_id``).

    ``objects``/``classes`` map a vertical to bodies, which go into ``payload`` under
    ``<vertical>Objects``/``<vertical>Classes``; empty lists are left out and at least
    one object is required. ``origins`` are the sites allowed to show the JS button
    (links work with none). ``issued_at`` (timezone-aware) becomes the integer ``iat``.
    Google inserts classes and objects that don't exist yet; an existing one is left
    as it is (a JWT never updates a pass: PATCH it through REST)."""
    claims = _claims(account, objects, classes, origins, _iat(issued_at))
    return _signed(account, _claims_json(claims))


def _claims_json(claims: Mapping[str, Any]) -> bytes:
    return json.dumps(claims, separators=_COMPACT).encode()


def _signed(account: ServiceAccount, claims_json: bytes) -> str:
    """PyJWT's JWS over claims already encoded as compact JSON (they are encoded once)."""
    return jwt.PyJWS().encode(
        claims_json, account.private_key, algorithm="RS256", headers=_header(account)
    )


def _length(account: ServiceAccount, claims_json: bytes) -> int:
    header = {"alg": "RS256", **_header(account)}
    return (
        _b64_length(len(json.dumps(header, separators=_COMPACT).encode()))
        + _b64_length(len(claims_json))
        + _b64_length((account.private_key.key_size + 7) // 8)
        + 2
    )


def _b64_length(size: int) -> int:
    """Characters of unpadded base64url for ``size`` bytes."""
    return (size * 4 + 2) // 3


def jwt_length(
    account: ServiceAccount,
    *,
    objects: Mapping[Vertical, list[dict[str, Any]]],
    classes: Mapping[Vertical, list[dict[str, Any]]] | None = None,
    origins: Sequence[str] = (),
) -> int:
    """The length :func:`save_jwt` would produce, without signing (an RS256 signature is
    as long as the key's modulus), so a too-long JWT is never signed just to be thrown
    away. ``iat`` is counted as 10 digits, which holds until the year 2286."""
    claims = _claims(account, objects, classes, origins, 1_000_000_000)
    return _length(account, _claims_json(claims))


def _reference(object_body: Mapping[str, Any]) -> dict[str, Any]:
    object_id = object_body.get("id")
    if not isinstance(object_id, str) or not object_id:
        raise ValueError("the object body needs an id")
    reference: dict[str, Any] = {"id": object_id}
    class_id = object_body.get("classId")
    if isinstance(class_id, str) and class_id:
        reference["classId"] = class_id
    return reference


def save_link(
    account: ServiceAccount,
    *,
    vertical: Vertical,
    object_body: dict[str, Any],
    class_body: dict[str, Any] | None = None,
    origins: Sequence[str] = (),
    issued_at: datetime,
    max_length: int = MAX_JWT_LENGTH,
) -> SaveLink:
    """A ``https://pay.google.com/gp/v/save/<jwt>`` link for one pass.

    The JWT carries the object (and the class, when given) in full, mode ``"full"``.
    When that JWT would be longer than ``max_length`` (1,800 characters, Google's limit
    for links), the JWT only carries ``{"id", "classId"}`` of the object, mode
    ``"reference"``: **the caller must then insert the class and the object through the
    REST API before handing out the link**, or Google has nothing to save. Raises
    :class:`SaveLinkTooLong` when even that JWT is too long."""
    objects = {vertical: [object_body]}
    classes = {vertical: [class_body]} if class_body is not None else None
    claims_json = _claims_json(_claims(account, objects, classes, origins, _iat(issued_at)))
    if _length(account, claims_json) <= max_length:
        return SaveLink(url=SAVE_URL_PREFIX + _signed(account, claims_json), mode="full")
    skinny = save_jwt(
        account,
        objects={vertical: [_reference(object_body)]},
        origins=origins,
        issued_at=issued_at,
    )
    if len(skinny) > max_length:
        raise SaveLinkTooLong(
            f"even a reference-only save JWT is {len(skinny)} characters "
            f"(limit {max_length}); shorten the object ID or the origins",
            details={"length": len(skinny), "max_length": max_length},
        )
    return SaveLink(url=SAVE_URL_PREFIX + skinny, mode="reference")
