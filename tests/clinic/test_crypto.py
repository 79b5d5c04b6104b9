"""Envelope encryption: data keys wrapped by the master key, fields bound to their name."""

from __future__ import annotations

import base64
import secrets

import pytest

from cadence.clinic.crypto import Cipher, FieldCipher, new_key_text, parse_key
from cadence.clinic.errors import KeyProblem


def cipher() -> Cipher:
    return Cipher(secrets.token_bytes(32), "test")


def test_fields_round_trip_and_are_not_plaintext() -> None:
    master = cipher()
    key, wrapped = master.new_data_key()
    sealed = FieldCipher(key).seal("Ada Lovelace", "name")
    assert sealed is not None and b"Ada" not in sealed
    assert master.fields(wrapped).open(sealed, "name") == "Ada Lovelace"
    assert FieldCipher(key).seal(None, "name") is None
    # random nonces: the same value seals differently each time
    assert FieldCipher(key).seal("x", "name") != FieldCipher(key).seal("x", "name")


def test_a_ciphertext_cannot_move_to_another_field() -> None:
    key, _ = cipher().new_data_key()
    sealed = FieldCipher(key).seal("secret", "notes")
    with pytest.raises(KeyProblem, match="does not decrypt"):
        FieldCipher(key).open(sealed, "name")


def test_another_master_key_cannot_unwrap() -> None:
    _, wrapped = cipher().new_data_key()
    with pytest.raises(KeyProblem, match="not the key this database was written with"):
        cipher().unwrap(wrapped)


def test_key_check_value() -> None:
    master = cipher()
    check = master.check_value()
    assert master.matches(check)
    assert not cipher().matches(check)
    assert not master.matches(b"\x01short")


def test_key_text() -> None:
    text = new_key_text()
    assert len(parse_key(text, "k")) == 32
    with pytest.raises(KeyProblem, match="not valid base64"):
        parse_key("***", "k")
    with pytest.raises(KeyProblem, match="16 bytes"):
        parse_key(base64.urlsafe_b64encode(bytes(16)).decode(), "k")
