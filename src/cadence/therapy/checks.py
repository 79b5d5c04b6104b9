"""Input checks shared by the prescription and its builder: one clear line per bad value."""

from __future__ import annotations

import math

from cadence.errors import CadenceError

# Session length bounds, minutes. The 180 min ceiling is an engineering choice (no source):
# trials run 25-60 min (Cochrane CD010459.pub2) or 30 min (Awad 2024, Thaut 2018, Cotoia 2018).
MINUTES_MAX = 180.0
# Heart-rate validation range, BPM. Engineering choice (no source): plausible for an adult at
# rest or under stress; values outside are almost surely typos.
HEART_RATE_MIN, HEART_RATE_MAX = 30.0, 220.0


class FieldError(CadenceError):
    """A CadenceError about one input: ``field`` names it as data (a form marks that field, the
    API answers with its location), the message is the one line a user reads."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def fail(name: str, value: object, allowed: str) -> FieldError:
    """The error for field ``name``: the value received and what is allowed."""
    return FieldError(name, f"{name}: got {value!r}; {allowed}")


def in_range(value: object, lo: float, hi: float) -> bool:
    """True when ``value`` is a real number (not bool, not NaN) within lo..hi."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return math.isfinite(value) and lo <= value <= hi


def check_minutes(minutes: float) -> float:
    """Session length as float: above 0 and at most MINUTES_MAX."""
    if not in_range(minutes, 0.0, MINUTES_MAX) or minutes == 0:
        raise fail("minutes", minutes, f"must be above 0 and at most {MINUTES_MAX:g}")
    return float(minutes)


def check_heart_rate(heart_rate: float | None) -> None:
    """None, or a heart rate within 30-220 BPM."""
    if heart_rate is not None and not in_range(heart_rate, HEART_RATE_MIN, HEART_RATE_MAX):
        raise fail("heart_rate", heart_rate, f"must be {HEART_RATE_MIN:g}-{HEART_RATE_MAX:g} BPM")


def check_unit(name: str, value: float | None) -> None:
    """None, or a rating within -1..1 (arousal, valence)."""
    if value is not None and not in_range(value, -1.0, 1.0):
        raise fail(name, value, "must be a number between -1 and 1")
