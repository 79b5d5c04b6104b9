"""A token grammar for the Cadence REMI stream, applied by logit masking.

Every sequence sampled under this grammar decodes: it only ever allows, at each step, the
token types that REMI expects next, and within each type only values that meet the hard
constraints (scale, pitch range per part, velocity cap, meter).

Inside a bar (after ``Bar_None``, its four control tokens and ``TimeSig``)::

    ( Position ( Program Pitch Velocity Duration )+ )*  Bar_None

Positions strictly increase and stay inside the bar. Tempo tokens are never allowed: the
renderer applies the plan's tempo map exactly. Control tokens are never sampled; the
generator forces them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import torch

from cadence.tokens.roles import ROLE_PROGRAMS
from cadence.tokens.tokenizer import CadenceTokenizer


def _value(token: str) -> str:
    return token.split("_", 1)[1]


def duration_beats(token: str) -> float:
    """Quarter notes of a ``Duration_a.b.res`` token."""
    a, b, res = (int(x) for x in _value(token).split("."))
    return a + b / res


@dataclass(frozen=True)
class BarRules:
    """Hard constraints for one bar, in the generation key (C major / A minor)."""

    scale: frozenset[int] | None  # allowed pitch classes; None = chromatic
    pitch_range: dict[int, tuple[int, int]]  # program → (low, high) MIDI pitch, inclusive
    velocity_min: int
    velocity_max: int
    positions: int  # positions per bar (bar length × resolution)
    max_notes: int = 64  # notes allowed in the bar (the plan's density, as a hard cap)


class Grammar:
    """Precomputed masks over the vocabulary, combined per step by a small state machine."""

    AFTER_BAR_HEADER, AFTER_POSITION, AFTER_PROGRAM, AFTER_PITCH, AFTER_VELOCITY, AFTER_DURATION = (
        range(6)
    )

    def __init__(
        self, tokenizer: CadenceTokenizer, programs: Iterable[int], device: str = "cpu"
    ) -> None:
        self.tok = tokenizer
        self.vocab_size = tokenizer.vocab_size
        self.device = device
        v = tokenizer.vocab
        self.resolution = max(tokenizer.remi.config.beat_res.values())
        self.position_ids = sorted(
            (int(_value(t)), i) for t, i in v.items() if t.startswith("Position_")
        )
        self.program_ids = {int(_value(t)): i for t, i in v.items() if t.startswith("Program_")}
        self.pitch_ids = {int(_value(t)): i for t, i in v.items() if t.startswith("Pitch_")}
        self.velocity_ids = {int(_value(t)): i for t, i in v.items() if t.startswith("Velocity_")}
        self.duration_ids = {
            i: duration_beats(t) for t, i in v.items() if t.startswith("Duration_")
        }
        self.timesig_ids = {_value(t): i for t, i in v.items() if t.startswith("TimeSig_")}
        self.id_type = {i: t.split("_", 1)[0] for t, i in v.items()}
        self.id_value = {i: _value(t) for t, i in v.items()}
        self.programs = [p for p in programs if p in self.program_ids]
        if not self.programs:
            raise ValueError(f"Grammar.programs: none of {list(programs)} is in the vocabulary")
        self._program_mask = self._mask(self.program_ids[p] for p in self.programs)
        self._duration_mask = self._mask(self.duration_ids)
        self._bar_mask = self._mask([tokenizer.bar_id])
        # positions strictly after p, for every p (and "none yet" = -1)
        self._pos_after = {
            p: self._mask(i for q, i in self.position_ids if q > p)
            for p in range(-1, len(self.position_ids))
        }
        self._pos_below: dict[int, torch.Tensor] = {}
        self._pitch_cache: dict[tuple, torch.Tensor] = {}
        self._velocity_cache: dict[tuple[int, int], torch.Tensor] = {}

    def _mask(self, ids: Iterable[int]) -> torch.Tensor:
        m = torch.zeros(self.vocab_size, dtype=torch.bool, device=self.device)
        idx = list(ids)
        if idx:
            m[torch.tensor(idx, dtype=torch.long)] = True
        return m

    def timesig_id(self, meter: tuple[int, int]) -> int:
        key = f"{meter[0]}/{meter[1]}"
        if key not in self.timesig_ids:
            raise ValueError(f"meter {key} is not in the tokenizer's vocabulary")
        return self.timesig_ids[key]

    def positions_per_bar(self, meter: tuple[int, int]) -> int:
        return round(meter[0] * 4 / meter[1] * self.resolution)

    def _positions_within(self, n: int) -> torch.Tensor:
        if n not in self._pos_below:
            self._pos_below[n] = self._mask(i for q, i in self.position_ids if q < n)
        return self._pos_below[n]

    def pitch_mask(self, rules: BarRules, program: int) -> torch.Tensor:
        low, high = rules.pitch_range.get(program, (21, 108))
        key = (rules.scale, low, high)
        if key not in self._pitch_cache:
            ok = [
                i
                for p, i in self.pitch_ids.items()
                if low <= p <= high and (rules.scale is None or p % 12 in rules.scale)
            ]
            if not ok:  # an impossible range falls back to the scale alone, never to nothing
                ok = [
                    i
                    for p, i in self.pitch_ids.items()
                    if rules.scale is None or p % 12 in rules.scale
                ]
            self._pitch_cache[key] = self._mask(ok)
        return self._pitch_cache[key]

    def velocity_mask(self, rules: BarRules) -> torch.Tensor:
        key = (rules.velocity_min, rules.velocity_max)
        if key not in self._velocity_cache:
            ok = [
                i
                for v, i in self.velocity_ids.items()
                if rules.velocity_min <= v <= rules.velocity_max
            ]
            if not ok:  # no level in range: the loudest level under the cap
                under = [v for v in self.velocity_ids if v <= rules.velocity_max] or [
                    min(self.velocity_ids)
                ]
                ok = [self.velocity_ids[max(under)]]
            self._velocity_cache[key] = self._mask(ok)
        return self._velocity_cache[key]


class BarState:
    """Where the stream is inside the current bar; gives the mask for the next token."""

    def __init__(self, grammar: Grammar, rules: BarRules) -> None:
        self.g = grammar
        self.rules = rules
        self.state = Grammar.AFTER_BAR_HEADER
        self.position = -1
        self.program = grammar.programs[0]
        self.notes = 0
        self.max_notes = rules.max_notes

    def allowed(self) -> torch.Tensor:
        g, s = self.g, self.state
        if s == Grammar.AFTER_POSITION:
            return g._program_mask
        if s == Grammar.AFTER_PROGRAM:
            return g.pitch_mask(self.rules, self.program)
        if s == Grammar.AFTER_PITCH:
            return g.velocity_mask(self.rules)
        if s == Grammar.AFTER_VELOCITY:
            return g._duration_mask
        positions = g._pos_after[self.position] & g._positions_within(self.rules.positions)
        if self.notes >= self.max_notes:
            return g._bar_mask
        if s == Grammar.AFTER_BAR_HEADER:  # every bar holds at least one note
            return positions
        # after a duration: another note here, a later position, or the end of the bar
        return g._program_mask | positions | g._bar_mask

    def advance(self, token_id: int) -> bool:
        """Record a sampled token; returns True when it closed the bar."""
        kind = self.g.id_type[token_id]
        if kind == "Bar":
            return True
        if kind == "Position":
            self.position = int(self.g.id_value[token_id])
            self.state = Grammar.AFTER_POSITION
        elif kind == "Program":
            self.program = int(self.g.id_value[token_id])
            self.state = Grammar.AFTER_PROGRAM
        elif kind == "Pitch":
            self.state = Grammar.AFTER_PITCH
        elif kind == "Velocity":
            self.state = Grammar.AFTER_VELOCITY
        elif kind == "Duration":
            self.state = Grammar.AFTER_DURATION
            self.notes += 1
        else:
            raise ValueError(f"token {self.g.tok.id_to_token[token_id]} is outside the bar grammar")
        return False


def role_programs(roles: Iterable[str]) -> list[int]:
    """Token programs of the pitched roles a plan asks for."""
    return [ROLE_PROGRAMS[r] for r in roles if r in ROLE_PROGRAMS and r != "percussion"]
