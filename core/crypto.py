"""Field encryption for personal data and confidential addresses (AES-256-GCM).

Each value is sealed with a fresh 96-bit nonce and bound to its field by the associated data,
so a ciphertext copied from one column to another fails to open. The key is 32 random bytes
from `HOMEWARD_SECRET_KEY` (URL-safe base64) or a key file created with mode 0600 on first
run; it is never written to the database. `TokenSealer` seals short opaque tokens the server
hands out and must later recognise (itinerary ids), each purpose under a subkey of its own.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from core.errors import DecryptionError, KeyError_

_VERSION = b"\x01"
_NONCE_BYTES = 12
KEY_BYTES = 32


def decode_key(text: str) -> bytes:
    """Decode a URL-safe base64 key and check that it is 32 bytes."""
    try:
        raw = base64.urlsafe_b64decode(text.strip() + "=" * (-len(text.strip()) % 4))
    except (binascii.Error, ValueError) as exc:
        raise KeyError_("HOMEWARD_SECRET_KEY is not URL-safe base64") from exc
    if len(raw) != KEY_BYTES:
        raise KeyError_(f"HOMEWARD_SECRET_KEY must decode to {KEY_BYTES} bytes, got {len(raw)}")
    return raw


def new_key_text() -> str:
    """A fresh random key in the text form that `decode_key` reads."""
    return base64.urlsafe_b64encode(secrets.token_bytes(KEY_BYTES)).decode().rstrip("=")


def load_or_create_key(secret: str | None, key_file: Path) -> bytes:
    """The key from the secret if given, else from the key file, creating it 0600 if absent."""
    if secret:
        return decode_key(secret)
    if key_file.exists():
        return decode_key(key_file.read_text())
    key_file.parent.mkdir(parents=True, exist_ok=True)
    text = new_key_text()
    try:
        # O_EXCL: when several workers start at once, exactly one writes the key.
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return decode_key(key_file.read_text())
    with os.fdopen(fd, "w") as handle:
        handle.write(text + "\n")
    return decode_key(text)


class FieldCipher:
    """Seals and opens text values of named fields with one AES-GCM key."""

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise KeyError_(f"key must be {KEY_BYTES} bytes")
        self._aead = AESGCM(key)
        # A subkey of its own, so digests and ciphertexts never share a key's use.
        self._digest_key = hmac.new(key, b"homeward-field-digest", hashlib.sha256).digest()

    def seal(self, plaintext: str, *, field: str) -> bytes:
        nonce = secrets.token_bytes(_NONCE_BYTES)
        body = self._aead.encrypt(nonce, plaintext.encode("utf-8"), field.encode())
        return _VERSION + nonce + body

    def open(self, sealed: bytes, *, field: str) -> str:
        if not sealed or sealed[:1] != _VERSION:
            raise DecryptionError(f"{field}: unknown ciphertext format")
        nonce = sealed[1 : 1 + _NONCE_BYTES]
        try:
            plain = self._aead.decrypt(nonce, sealed[1 + _NONCE_BYTES :], field.encode())
        except InvalidTag as exc:
            raise DecryptionError(f"{field}: value does not open with this key") from exc
        return plain.decode("utf-8")

    def digest(self, text: str, *, field: str) -> str:
        """A keyed digest (HMAC-SHA256, hex) of a value bound to its field: equal values
        compare equal, but without the key a guessable value cannot be recovered by trying."""
        message = field.encode() + b"\x00" + text.encode("utf-8")
        return hmac.new(self._digest_key, message, hashlib.sha256).hexdigest()

    def seal_optional(self, plaintext: str | None, *, field: str) -> bytes | None:
        return None if plaintext is None else self.seal(plaintext, field=field)

    def open_optional(self, sealed: bytes | None, *, field: str) -> str | None:
        return None if sealed is None else self.open(sealed, field=field)


class TokenSealer:
    """Opaque, authenticated tokens for one purpose: AES-256-GCM under a subkey of the server key.

    The subkey is HMAC-SHA256(key, purpose), so a token of one purpose never opens as another
    and no token shares a key with the field cipher. AES-GCM rather than a bare HMAC because a
    token may carry what a caller searched for (places, ages): it must be unreadable as well
    as unforgeable while it sits in a browser form or a client's log. Tokens are URL-safe
    base64 without padding.
    """

    def __init__(self, key: bytes, *, purpose: str) -> None:
        if len(key) != KEY_BYTES:
            raise KeyError_(f"key must be {KEY_BYTES} bytes")
        subkey = hmac.new(key, b"homeward-token:" + purpose.encode(), hashlib.sha256).digest()
        self._aead = AESGCM(subkey)
        self._aad = purpose.encode()

    def seal(self, payload: bytes) -> str:
        nonce = secrets.token_bytes(_NONCE_BYTES)
        raw = _VERSION + nonce + self._aead.encrypt(nonce, payload, self._aad)
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def open(self, token: str) -> bytes | None:
        """The payload, or None for anything this sealer did not make (tampered, truncated,
        another purpose or key, not base64)."""
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        except (binascii.Error, ValueError):
            return None
        if len(raw) < 1 + _NONCE_BYTES + 16 or raw[:1] != _VERSION:
            return None
        try:
            return self._aead.decrypt(raw[1 : 1 + _NONCE_BYTES], raw[1 + _NONCE_BYTES :],
                                      self._aad)
        except InvalidTag:
            return None
