"""Password hashing with Argon2id (argon2-cffi; RFC 9106).

Production uses argon2-cffi's default parameters (RFC 9106 "low memory" profile). Tests may
switch to the cheapest profile with :func:`use_cheap_hashing` or by setting
``CADENCE_ARGON2_PROFILE=cheapest``: never do either in production.
"""

from __future__ import annotations

import os

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_hasher: PasswordHasher | None = None


def hasher() -> PasswordHasher:
    global _hasher
    if _hasher is None:
        cheap = os.environ.get("CADENCE_ARGON2_PROFILE") == "cheapest"
        _hasher = PasswordHasher.from_parameters(profiles.CHEAPEST) if cheap else PasswordHasher()
    return _hasher


def use_cheap_hashing() -> None:
    """Tests only: the cheapest Argon2 parameters (hashes still verify either way)."""
    global _hasher
    _hasher = PasswordHasher.from_parameters(profiles.CHEAPEST)


def hash_password(password: str) -> str:
    return hasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return hasher().verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return hasher().check_needs_rehash(password_hash)
