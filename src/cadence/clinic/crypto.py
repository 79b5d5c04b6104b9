"""Field encryption at rest, with per-patient data keys (envelope encryption).

- The **master key** (32 random bytes, written as url-safe base64) comes from
  ``CADENCE_SECRET_KEY`` or from ``<home>/secret.key`` (mode 0600), which is created on the first
  run of an empty database. It never touches the database.
- Each patient has a **data key** (32 random bytes), stored only *wrapped* (AES-256-GCM under the
  master key) in the patient's row. The patient's identifying fields (name, birth year, contact,
  notes, favourite-tune titles, feedback comments) are AES-256-GCM under the data key, with the
  field's name as associated data so a ciphertext cannot be moved to another field.
- Erasing a patient deletes the wrapped key with the row (crypto-shredding): any copy of the
  ciphertext left in an old backup or a free page can no longer be read.
- A **key check value** (a constant sealed under the master key) is kept in the database, so a
  wrong key is reported as one line instead of failing later on some row.
- Rotation re-wraps every data key under a new master key; field ciphertexts stay as they are.

Blob format: one version byte (1), a 12-byte random nonce, then ciphertext and 16-byte tag
(NIST SP 800-38D; random 96-bit nonces are safe far beyond the number of writes here).
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from cadence.clinic.errors import KeyProblem

KEY_BYTES = 32
NONCE_BYTES = 12
VERSION = b"\x01"
CHECK_PLAINTEXT = b"cadence clinic key check v1"
_WRAP_AAD = b"cadence:data-key"
_CHECK_AAD = b"cadence:key-check"
KEY_HELP = (
    "a key is 32 random bytes in url-safe base64 (44 characters); "
    "make one with `python -c \"import secrets,base64;"
    "print(base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())\"`"
)


def new_key_text() -> str:
    """A fresh master key as url-safe base64 text."""
    return base64.urlsafe_b64encode(secrets.token_bytes(KEY_BYTES)).decode("ascii")


def parse_key(text: str, origin: str) -> bytes:
    """Decode a key from text; ``origin`` names where it came from for the error line."""
    try:
        raw = base64.b64decode(text.strip().encode("ascii"), altchars=b"-_", validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise KeyProblem(f"{origin} is not valid base64: {KEY_HELP}") from None
    if len(raw) != KEY_BYTES:
        raise KeyProblem(f"{origin} decodes to {len(raw)} bytes, not {KEY_BYTES}: {KEY_HELP}")
    return raw


def write_key_file(path: Path, text: str, *, exclusive: bool = True) -> None:
    """Write ``text`` to ``path`` with mode 0600 (created exclusively unless told otherwise)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if exclusive else os.O_TRUNC)
    fd = os.open(path, flags, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(text + "\n")
    path.chmod(0o600)


def _seal(aead: AESGCM, plaintext: bytes, aad: bytes) -> bytes:
    nonce = secrets.token_bytes(NONCE_BYTES)
    return VERSION + nonce + aead.encrypt(nonce, plaintext, aad)


def _open(aead: AESGCM, blob: bytes, aad: bytes) -> bytes:
    if len(blob) < 1 + NONCE_BYTES + 16 or blob[:1] != VERSION:
        raise InvalidTag
    return aead.decrypt(blob[1 : 1 + NONCE_BYTES], blob[1 + NONCE_BYTES :], aad)


class Cipher:
    """The master key in memory: wraps and unwraps data keys, makes and checks the check value."""

    def __init__(self, master_key: bytes, source: str) -> None:
        if len(master_key) != KEY_BYTES:
            raise KeyProblem(f"the master key must be {KEY_BYTES} bytes")
        self._aead = AESGCM(master_key)
        self.source = source  # "env" or the key file's path, for messages

    def new_data_key(self) -> tuple[bytes, bytes]:
        """A fresh data key and its wrapped form (what the database stores)."""
        key = AESGCM.generate_key(bit_length=KEY_BYTES * 8)
        return key, self.wrap(key)

    def wrap(self, data_key: bytes) -> bytes:
        return _seal(self._aead, data_key, _WRAP_AAD)

    def unwrap(self, wrapped: bytes) -> bytes:
        try:
            return _open(self._aead, wrapped, _WRAP_AAD)
        except InvalidTag:
            raise KeyProblem(
                f"cannot unwrap a patient key with the master key from {self.source}: "
                "it is not the key this database was written with"
            ) from None

    def check_value(self) -> bytes:
        return _seal(self._aead, CHECK_PLAINTEXT, _CHECK_AAD)

    def matches(self, check_value: bytes) -> bool:
        """Whether this master key made ``check_value``."""
        try:
            return _open(self._aead, check_value, _CHECK_AAD) == CHECK_PLAINTEXT
        except InvalidTag:
            return False

    def fields(self, wrapped_data_key: bytes) -> FieldCipher:
        """The field cipher of one patient, from the patient's wrapped data key."""
        return FieldCipher(self.unwrap(wrapped_data_key))


@dataclass(frozen=True)
class FieldCipher:
    """One patient's data key: seals and opens that patient's text fields."""

    data_key: bytes

    def seal(self, value: str | None, field: str) -> bytes | None:
        if value is None:
            return None
        return _seal(AESGCM(self.data_key), value.encode("utf-8"), field.encode("ascii"))

    def open(self, blob: bytes | None, field: str) -> str | None:
        if blob is None:
            return None
        try:
            plain = _open(AESGCM(self.data_key), bytes(blob), field.encode("ascii"))
        except InvalidTag:
            raise KeyProblem(f"stored {field} does not decrypt: the record is damaged") from None
        return plain.decode("utf-8")
