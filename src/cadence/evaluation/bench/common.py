"""What every benchmark stage returns: Cadence's figure, the baseline's, their ratio."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# (stage, done, total, description); total 0 means "not known yet"
ProgressFn = Callable[[str, int, int, str], None]


def ratio(cadence: float, baseline: float, *, higher_is_better: bool = True) -> float:
    """How many times better Cadence is: ``cadence / baseline`` for rates, the inverse for
    times. Both figures must be positive and finite (a zero rate means nothing was measured).
    """
    for name, value in (("cadence", cadence), ("baseline", baseline)):
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"ratio: {name} must be a positive finite number, got {value!r}")
    return cadence / baseline if higher_is_better else baseline / cadence


@dataclass(frozen=True)
class Comparison:
    """One row of the benchmark table.

    ``target`` is the ratio the project aims for (None: no target set); ``met`` compares.
    """

    key: str  # stable id, e.g. "generate.transformer.session_vs_gpt2"
    what: str  # what is measured, e.g. "Transformer: tokens/s, session path"
    cadence: float
    baseline: float
    unit: str
    baseline_what: str  # what the baseline is, in words
    baseline_name: str = ""  # a short name for tables ("" → baseline_what)
    target: float | None = None
    higher_is_better: bool = True

    @property
    def ratio(self) -> float:
        return ratio(self.cadence, self.baseline, higher_is_better=self.higher_is_better)

    @property
    def met(self) -> bool | None:
        return None if self.target is None else self.ratio >= self.target

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "what": self.what,
            "cadence": self.cadence,
            "baseline": self.baseline,
            "unit": self.unit,
            "baseline_what": self.baseline_what,
            "baseline_name": self.baseline_name or self.baseline_what,
            "ratio": self.ratio,
            "target": self.target,
            "met": self.met,
        }


class Stopwatch:
    """``with Stopwatch() as sw: ...`` then ``sw.seconds`` (perf_counter wall clock)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._start = 0.0

    def __enter__(self) -> Stopwatch:
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self._start


def no_progress(stage: str, done: int, total: int, description: str) -> None:
    """The default progress callback: nothing."""
