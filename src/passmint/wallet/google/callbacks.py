"""Verifying Google Wallet save/delete callbacks (``specs/google-wallet.md`` §4).

Google POSTs a JSON envelope to a class's ``callbackOptions.url`` whenever a holder saves
or deletes one of its objects. The envelope is signed with the ``ECv2SigningOnly``
protocol of Google's payment-method tokens (what Tink's ``PaymentMethodTokenRecipient``
does in Java; Python has no Tink for it), so we check it ourselves with ``cryptography``:

1. ``protocolVersion == "ECv2SigningOnly"``.
2. One of ``intermediateSigningKey.signatures`` verifies with one of Google's unexpired
   root keys (:class:`RootKeys`) over ``LV(sender_id, protocol, signedKey)``.
3. ``signedKey`` (JSON text ``{"keyValue", "keyExpiration"}``) has not expired.
4. ``signature`` verifies with the intermediate key over
   ``LV(sender_id, issuer_id, protocol, signedMessage)``.
5. ``signedMessage`` (JSON text) has ``expTimeMillis`` in the future (Tink would not
   check this field), ``classId``/``objectId`` under ``<issuer_id>.``, and an
   ``eventType`` of ``save`` or ``del``.

``LV(parts)`` concatenates, per part, its UTF-8 byte length as 4 little-endian bytes and
then the bytes. Signatures are base64 DER ECDSA over P-256 with SHA-256; keys are base64
DER SubjectPublicKeyInfo.

Pure: no network, settings or clock. The caller fetches the root keys document
(:data:`ROOT_KEYS_URL`), parses it with :meth:`RootKeys.parse`, caches it until
:attr:`RootKeys.expires_at_ms`, and passes ``now_ms`` in. Every rejection raises
:class:`CallbackRejected` (400) with a stable ``details["reason"]``; no input, however
mangled, raises anything else.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Final, Literal

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_der_public_key

from passmint.errors import PassmintError
from passmint.kit import jsondepth

__all__ = [
    "PROTOCOL_VERSION",
    "ROOT_KEYS_URL",
    "SENDER_ID",
    "CallbackEvent",
    "CallbackRejected",
    "EventType",
    "InvalidRootKeys",
    "NonceCache",
    "RootKeys",
    "length_value",
    "verify_callback",
]

ROOT_KEYS_URL: Final = "https://pay.google.com/gp/m/issuer/keys"
"""Where Google publishes the root signing keys (spec §4; the caller fetches it)."""

SENDER_ID: Final = "GooglePayPasses"
"""The sender id Wallet callbacks are signed for (spec §4; overridable per call)."""

PROTOCOL_VERSION: Final = "ECv2SigningOnly"

EventType = Literal["save", "del"]

_ECDSA: Final = ec.ECDSA(hashes.SHA256())
_MILLIS = re.compile(r"[0-9]{1,19}")
_MAX_BODY_BYTES: Final = 64 * 1024


class CallbackRejected(PassmintError):
    """A callback that is not a genuine, current, well-formed one for this issuer.

    ``details["reason"]`` is one of: ``malformed``, ``wrong_protocol_version``,
    ``no_root_keys``, ``bad_intermediate_signature``, ``intermediate_expired``,
    ``bad_message_signature``, ``expired_message``, ``wrong_issuer``,
    ``unknown_event_type``.
    """

    code = "invalid_callback"
    status = 400

    def __init__(self, reason: str, message: str) -> None:
        self.reason = reason
        super().__init__(message, details={"reason": reason})


class InvalidRootKeys(PassmintError):
    """Google's root-keys document could not be understood (an upstream fault)."""

    code = "invalid_google_root_keys"
    status = 502


@dataclass(frozen=True, slots=True)
class CallbackEvent:
    """One verified save or delete of an object."""

    class_id: str
    object_id: str
    event_type: EventType
    exp_time_millis: int
    nonce: str
    count: int | None = None


@dataclass(frozen=True, slots=True)
class RootKeys:
    """Google's unexpired ``ECv2SigningOnly`` root signing keys.

    ``expires_at_ms`` is the earliest ``keyExpiration`` among them (``None`` when there
    are none): cache the parsed document until then (minus a margin) and refetch.
    """

    keys: tuple[ec.EllipticCurvePublicKey, ...]
    expires_at_ms: int | None

    @classmethod
    def parse(cls, document: Mapping[str, Any], *, now_ms: int) -> RootKeys:
        """Keep the ``ECv2SigningOnly`` keys of ``document`` whose expiry is after ``now_ms``.

        Entries for other protocol versions are ignored; a malformed document, or a
        malformed ``ECv2SigningOnly`` entry, raises :class:`InvalidRootKeys`.
        """
        entries = document.get("keys") if isinstance(document, Mapping) else None
        if not isinstance(entries, list):
            raise InvalidRootKeys("root keys document has no 'keys' list")
        keys: list[ec.EllipticCurvePublicKey] = []
        expiries: list[int] = []
        for index, entry in enumerate(entries):
            if not isinstance(entry, Mapping):
                raise InvalidRootKeys(f"root key #{index} is not an object")
            if entry.get("protocolVersion") != PROTOCOL_VERSION:
                continue
            expiration = _millis(entry.get("keyExpiration"))
            key = _load_p256(entry.get("keyValue"))
            if expiration is None or key is None:
                raise InvalidRootKeys(f"root key #{index} is malformed")
            if expiration <= now_ms:
                continue
            keys.append(key)
            expiries.append(expiration)
        return cls(keys=tuple(keys), expires_at_ms=min(expiries, default=None))


def length_value(*parts: str) -> bytes:
    """The ECv2 signed string: per part, 4-byte little-endian UTF-8 length, then bytes."""
    out = bytearray()
    for part in parts:
        data = part.encode("utf-8")
        out += len(data).to_bytes(4, "little")
        out += data
    return bytes(out)


def verify_callback(
    body: bytes | Mapping[str, Any],
    *,
    root_keys: RootKeys,
    issuer_id: str,
    now_ms: int,
    sender_id: str = SENDER_ID,
) -> CallbackEvent:
    """Verify a callback request body and return the event it reports.

    ``body`` is the raw request body or its already-parsed JSON. Raises
    :class:`CallbackRejected` for anything but a genuine, unexpired callback about an
    object of ``issuer_id``. Deduplicating on :attr:`CallbackEvent.nonce` is the caller's.
    """
    envelope = _envelope(body)

    if envelope.get("protocolVersion") != PROTOCOL_VERSION:
        raise CallbackRejected("wrong_protocol_version", "protocolVersion is not ECv2SigningOnly")
    signature = envelope.get("signature")
    signed_message = envelope.get("signedMessage")
    intermediate = envelope.get("intermediateSigningKey")
    if not isinstance(signature, str) or not isinstance(signed_message, str):
        raise _malformed("signature and signedMessage must be strings")
    if not isinstance(intermediate, Mapping):
        raise _malformed("intermediateSigningKey must be an object")
    signed_key = intermediate.get("signedKey")
    signatures = intermediate.get("signatures")
    if not isinstance(signed_key, str) or not isinstance(signatures, list):
        raise _malformed("intermediateSigningKey needs signedKey and signatures")

    if not root_keys.keys:
        raise CallbackRejected("no_root_keys", "no unexpired Google root key to verify with")
    key_data = _signed_string(sender_id, PROTOCOL_VERSION, signed_key)
    if not any(
        _verifies(key, candidate, key_data) for candidate in signatures for key in root_keys.keys
    ):
        raise CallbackRejected(
            "bad_intermediate_signature",
            "no intermediate key signature verifies with a Google root key",
        )

    key_fields = _json_object(signed_key, "signedKey")
    expiration = _millis(key_fields.get("keyExpiration"))
    intermediate_key = _load_p256(key_fields.get("keyValue"))
    if expiration is None or intermediate_key is None:
        raise _malformed("signedKey needs a P-256 keyValue and a keyExpiration")
    if expiration <= now_ms:
        raise CallbackRejected("intermediate_expired", "the intermediate signing key has expired")

    message_data = _signed_string(sender_id, issuer_id, PROTOCOL_VERSION, signed_message)
    if not _verifies(intermediate_key, signature, message_data):
        raise CallbackRejected(
            "bad_message_signature", "the message signature does not verify for this issuer"
        )

    return _event(_json_object(signed_message, "signedMessage"), issuer_id, now_ms)


def _event(message: Mapping[str, Any], issuer_id: str, now_ms: int) -> CallbackEvent:
    class_id = message.get("classId")
    object_id = message.get("objectId")
    event_type = message.get("eventType")
    nonce = message.get("nonce")
    exp_time = _millis(message.get("expTimeMillis"))
    count = message.get("count")
    if not (
        isinstance(class_id, str)
        and isinstance(object_id, str)
        and isinstance(event_type, str)
        and isinstance(nonce, str)
        and nonce
        and exp_time is not None
    ):
        raise _malformed("signedMessage needs classId, objectId, eventType, nonce, expTimeMillis")
    if count is not None and (isinstance(count, bool) or not isinstance(count, int)):
        raise _malformed("signedMessage count must be an integer")
    if exp_time <= now_ms:
        raise CallbackRejected("expired_message", "the callback message has expired")
    prefix = f"{issuer_id}."
    if not (class_id.startswith(prefix) and object_id.startswith(prefix)):
        raise CallbackRejected("wrong_issuer", "classId/objectId do not belong to this issuer")
    if event_type == "save":
        kind: EventType = "save"
    elif event_type == "del":
        kind = "del"
    else:
        raise CallbackRejected("unknown_event_type", "eventType is neither save nor del")
    return CallbackEvent(
        class_id=class_id,
        object_id=object_id,
        event_type=kind,
        exp_time_millis=exp_time,
        nonce=nonce,
        count=count,
    )


def _malformed(message: str) -> CallbackRejected:
    return CallbackRejected("malformed", message)


def _envelope(body: bytes | Mapping[str, Any]) -> Mapping[str, Any]:
    if isinstance(body, Mapping):
        return body
    if not isinstance(body, bytes | bytearray | memoryview):
        raise _malformed("body must be bytes or a JSON object")
    if len(body) > _MAX_BODY_BYTES:
        raise _malformed("body is too large")
    try:
        text = bytes(body).decode("utf-8")
    except UnicodeDecodeError:
        raise _malformed("body is not UTF-8") from None
    return _json_object(text, "body")


def _json_object(text: str, what: str) -> Mapping[str, Any]:
    try:
        value = jsondepth.loads(text)  # refuses deep nesting before json recurses into it
    except ValueError:
        raise _malformed(f"{what} is not valid JSON") from None
    if not isinstance(value, dict):
        raise _malformed(f"{what} is not a JSON object")
    return value


def _signed_string(*parts: str) -> bytes:
    try:
        return length_value(*parts)
    except UnicodeEncodeError:  # lone surrogates survive json.loads but not UTF-8
        raise _malformed("signed text is not encodable as UTF-8") from None


def _millis(value: object) -> int | None:
    """A millisecond timestamp given as a JSON integer or a string of ASCII digits."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, str) and _MILLIS.fullmatch(value):
        return int(value)
    return None


def _b64(value: object) -> bytes | None:
    if not isinstance(value, str) or not value.isascii():
        return None
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None


def _load_p256(value: object) -> ec.EllipticCurvePublicKey | None:
    der = _b64(value)
    if der is None:
        return None
    try:
        key = load_der_public_key(der)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        return None
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        return None
    return key


def _verifies(key: ec.EllipticCurvePublicKey, signature: object, data: bytes) -> bool:
    raw = _b64(signature)
    if not raw:
        return False
    try:
        key.verify(raw, data, _ECDSA)
    except (InvalidSignature, ValueError):
        return False
    return True


class NonceCache:
    """Seen callback nonces, in memory: bounded, least recently seen evicted first.

    Google retries and may duplicate callbacks, so the handler must act once per nonce.
    The service keeps nonces in the database so every process shares them; this cache is
    for tests and the embedded (single-process) mode. Entries live ``ttl_ms`` from their
    first sighting; beyond ``max_entries`` the least recently seen is dropped.
    """

    DEFAULT_TTL_MS: ClassVar[int] = 24 * 60 * 60 * 1000

    def __init__(self, *, max_entries: int = 10_000, ttl_ms: int = DEFAULT_TTL_MS) -> None:
        if max_entries < 1 or ttl_ms < 1:
            raise ValueError("max_entries and ttl_ms must be positive")
        self.max_entries = max_entries
        self.ttl_ms = ttl_ms
        self._expiry: OrderedDict[str, int] = OrderedDict()

    def __len__(self) -> int:
        return len(self._expiry)

    def seen(self, nonce: str, now_ms: int) -> bool:
        """Whether ``nonce`` was seen within its TTL; records it if not."""
        expiry = self._expiry.get(nonce)
        if expiry is not None and expiry > now_ms:
            self._expiry.move_to_end(nonce)
            return True
        self._expiry.pop(nonce, None)
        self._purge(now_ms)
        self._expiry[nonce] = now_ms + self.ttl_ms
        while len(self._expiry) > self.max_entries:
            self._expiry.popitem(last=False)
        return False

    def _purge(self, now_ms: int) -> None:
        while self._expiry:
            oldest, expiry = next(iter(self._expiry.items()))
            if expiry > now_ms:
                return
            del self._expiry[oldest]
