"""Checks on values coming in from users; each failure is one :class:`InvalidValue` line that
names the field and the value received."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from datetime import UTC, datetime

from cadence.clinic.errors import InvalidValue, OutOfRange

CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")
# The largest record id: a signed 64-bit integer, what SQLite and PostgreSQL's bigint hold. A
# larger number (from a command line or a URL) names no record; it never reaches the database.
MAX_ID = 2**63 - 1
EARLIEST_BIRTH_YEAR = 1900


def this_year() -> int:
    return datetime.now(UTC).year


def text(name: str, value: str | None, *, limit: int, required: bool = False) -> str | None:
    if value is None:
        if required:
            raise InvalidValue(f"{name}: is required")
        return None
    if not isinstance(value, str):
        raise InvalidValue(f"{name}: must be text, got {type(value).__name__}")
    value = value.strip()
    if not value:
        if required:
            raise InvalidValue(f"{name}: must not be empty")
        return None
    if len(value) > limit:
        raise InvalidValue(f"{name}: {len(value)} characters; the limit is {limit}")
    return value


def year(name: str, value: int | None) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidValue(f"{name}: must be a whole year, got {value!r}")
    if not EARLIEST_BIRTH_YEAR <= value <= this_year():
        raise InvalidValue(f"{name}: got {value}; must be {EARLIEST_BIRTH_YEAR}..{this_year()}")
    return value


def number(name: str, value: float | None, low: float, high: float, *,
           integer: bool = False) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidValue(f"{name}: must be a number, got {value!r}")
    if not math.isfinite(value) or not low <= value <= high:
        raise InvalidValue(f"{name}: got {value}; must be {low:g}..{high:g}")
    if integer and value != int(value):
        raise InvalidValue(f"{name}: got {value}; must be a whole number")
    return float(value)


def words(name: str, values: Iterable[str], *, limit: int = 64, most: int = 50
          ) -> tuple[str, ...]:
    if isinstance(values, str):
        values = [values]
    out: list[str] = []
    for value in values:
        item = text(name, value, limit=limit)
        if item is not None and item not in out:
            out.append(item)
    if len(out) > most:
        raise InvalidValue(f"{name}: {len(out)} entries; the limit is {most}")
    return tuple(out)


def is_id(name: str, value: object) -> bool:
    """Whether ``value`` could be a record id (a whole number 1..MAX_ID); :class:`OutOfRange`
    for a whole number the records cannot hold at all (the same rule for CLI and API)."""
    if not isinstance(value, int) or isinstance(value, bool):
        return False
    if not -MAX_ID - 1 <= value <= MAX_ID:
        raise OutOfRange(f"{name}: got {value}; out of the range the records can hold (a "
                         f"record id is at most {MAX_ID})")
    return value >= 1


def code(value: str) -> str:
    if not isinstance(value, str) or not CODE.match(value):
        raise InvalidValue(
            f"code: got {value!r}; use 1-32 letters, digits, '-' or '_', starting with a "
            "letter or digit"
        )
    return value
