"""Secrets at rest and token hashing.

``SecretBox`` encrypts with AES-256-GCM under a key derived (HKDF-SHA256) from the master
key, with the purpose bound in as associated data, so a ciphertext for one column cannot be
replayed into another. ``TokenHasher`` makes keyed hashes (HMAC-SHA256) of high-entropy
tokens for lookups and constant-time comparison.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_VERSION = b"\x01"
_NONCE = 12


class SecretError(ValueError):
    """A ciphertext could not be decrypted: wrong master key, purpose, or tampering."""


def derive_key(master: bytes, purpose: str) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"passmint", info=purpose.encode()
    ).derive(master)


def parse_master_key(text: str) -> bytes:
    """A master key from settings: base64 or hex of ≥32 bytes, or any passphrase ≥32 chars."""
    value = text.strip()
    for decode in (bytes.fromhex, base64.urlsafe_b64decode, base64.b64decode):
        try:
            raw = decode(value)
        except ValueError:
            continue
        if len(raw) >= 32:
            return raw
    if len(value) >= 32:
        return hashlib.sha256(value.encode()).digest()
    raise ValueError("the master key must be at least 32 bytes (base64/hex) or 32 characters")


def new_master_key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


class SecretBox:
    def __init__(self, master: bytes) -> None:
        self._aead = AESGCM(derive_key(master, "passmint secrets v1"))

    def encrypt(self, plaintext: bytes, *, purpose: str) -> bytes:
        nonce = os.urandom(_NONCE)
        return _VERSION + nonce + self._aead.encrypt(nonce, plaintext, purpose.encode())

    def decrypt(self, blob: bytes, *, purpose: str) -> bytes:
        if len(blob) < 1 + _NONCE + 16 or blob[:1] != _VERSION:
            raise SecretError("not a passmint ciphertext")
        try:
            return self._aead.decrypt(blob[1 : 1 + _NONCE], blob[1 + _NONCE :], purpose.encode())
        except InvalidTag:
            raise SecretError("the secret cannot be decrypted with this master key") from None


class TokenHasher:
    def __init__(self, master: bytes) -> None:
        self._key = derive_key(master, "passmint token hashes v1")

    def hash(self, token: str) -> str:
        return hmac.new(self._key, token.encode(), hashlib.sha256).hexdigest()


def random_token(nbytes: int = 24) -> str:
    """URL-safe random text: 24 bytes give 32 characters."""
    return secrets.token_urlsafe(nbytes)
