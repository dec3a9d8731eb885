"""Field encryption: round trips, field binding, tamper detection and key handling."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from core.crypto import FieldCipher, TokenSealer, decode_key, load_or_create_key, new_key_text
from core.errors import DecryptionError, KeyError_


def test_round_trip_and_fresh_nonce() -> None:
    cipher = FieldCipher(decode_key(new_key_text()))
    a = cipher.seal("1600 Pennsylvania Ave", field="shelter.address")
    b = cipher.seal("1600 Pennsylvania Ave", field="shelter.address")
    assert a != b
    assert b"Pennsylvania" not in a
    assert cipher.open(a, field="shelter.address") == "1600 Pennsylvania Ave"


def test_value_bound_to_its_field() -> None:
    cipher = FieldCipher(decode_key(new_key_text()))
    sealed = cipher.seal("secret", field="case.name")
    with pytest.raises(DecryptionError):
        cipher.open(sealed, field="shelter.address")


def test_wrong_key_and_tampering_fail() -> None:
    sealed = FieldCipher(decode_key(new_key_text())).seal("x", field="f")
    with pytest.raises(DecryptionError):
        FieldCipher(decode_key(new_key_text())).open(sealed, field="f")
    cipher = FieldCipher(decode_key(new_key_text()))
    good = bytearray(cipher.seal("hello", field="f"))
    good[-1] ^= 1
    with pytest.raises(DecryptionError):
        cipher.open(bytes(good), field="f")


def test_bad_keys_are_refused() -> None:
    with pytest.raises(KeyError_):
        decode_key("too-short")
    with pytest.raises(KeyError_):
        decode_key("!!!not base64!!!")


def test_key_file_is_created_once_with_mode_0600(tmp_path: Path) -> None:
    path = tmp_path / "var" / "secret.key"
    first = load_or_create_key(None, path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_key(None, path) == first
    env_key = new_key_text()
    assert load_or_create_key(env_key, path) == decode_key(env_key)


def test_digest_is_stable_keyed_and_bound_to_its_field() -> None:
    key = decode_key(new_key_text())
    cipher, again = FieldCipher(key), FieldCipher(key)
    other = FieldCipher(decode_key(new_key_text()))
    value = "search|29.7604|-95.3698|20500"
    digest = cipher.digest(value, field="geometry_probe.shape")
    assert digest == again.digest(value, field="geometry_probe.shape")
    assert digest != other.digest(value, field="geometry_probe.shape")
    assert digest != cipher.digest(value, field="another.field")
    assert len(digest) == 64 and "29.76" not in digest


def test_sealed_tokens_open_only_unaltered_under_their_key_and_purpose() -> None:
    key = decode_key(new_key_text())
    sealer = TokenSealer(key, purpose="itinerary-id")
    token = sealer.seal(b"Chicago 41.8789")
    assert sealer.open(token) == b"Chicago 41.8789"
    assert b"Chicago" not in token.encode() and "=" not in token and "+" not in token
    assert sealer.seal(b"Chicago 41.8789") != token  # a fresh nonce each time
    assert TokenSealer(key, purpose="other").open(token) is None
    assert TokenSealer(decode_key(new_key_text()), purpose="itinerary-id").open(token) is None
    for bad in (token[:-1], token[:10], "", "***", token[:5] + ("A" if token[5] != "A" else "B")
                + token[6:], "é" * 40):
        assert sealer.open(bad) is None
