"""A token grammar for the Cadence melody stream, applied by logit masking.

Every sequence sampled under this grammar decodes: it only ever allows, at each step, the
token types that REMI expects next, and within each type only values that meet the hard
constraints (scale, pitch range, meter, onset grid, note cap).

Inside a bar (after ``Bar_None``, its control tokens and ``TimeSig``)::

    ( Position Pitch Duration )*  Bar_None

One note per position, so the line is monophonic (a note still sounding at the next onset
is cut there when decoding). Positions strictly increase, stay inside the bar and lie on the
plan's onset grid. Control tokens are never sampled; the generator forces them.

On the bar's strong beats (its first beat, and the start of its second half in duple
meters) chord tones of the sounding chord get a bonus of :data:`CHORD_TONE_BONUS` in the
logits: strong-beat melody notes favour chord tones, as they do in real tunes, without
forbidding passing and neighbour notes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import torch

from cadence.tokens.tokenizer import CadenceTokenizer

# Logit bonus for chord tones on strong beats: e^1.5 ≈ 4.5 times the odds. Engineering choice.
CHORD_TONE_BONUS = 1.5


def _value(token: str) -> str:
    return token.split("_", 1)[1]


def duration_beats(token: str) -> float:
    """Beats of a ``Duration_a.b.res`` token: MidiTok counts durations and positions in beats
    of the time signature's denominator (an eighth in 6/8, a quarter in 3/4)."""
    a, b, res = (int(x) for x in _value(token).split("."))
    return a + b / res


@dataclass(frozen=True)
class BarRules:
    """Hard constraints for one bar, in the generation key (C major / A minor).

    scale: allowed pitch classes (None = chromatic); pitch_range: (low, high) MIDI pitch,
    inclusive; positions: positions per bar; grid: allowed onsets are multiples of this many
    positions; min_duration: shortest note value in beats (see :func:`duration_beats`);
    max_notes: the plan's
    density as a hard cap; chords: chord tones of the first and second half of the bar
    (empty: no harmony bonus); half: the position where the second half starts.
    """

    scale: frozenset[int] | None
    pitch_range: tuple[int, int]
    positions: int
    grid: int = 1
    min_duration: float = 0.0
    max_notes: int = 64
    chords: tuple[frozenset[int], frozenset[int]] = (frozenset(), frozenset())
    half: int = 0


class Grammar:
    """Precomputed masks over the vocabulary, combined per step by a small state machine."""

    AFTER_BAR_HEADER, AFTER_POSITION, AFTER_PITCH, AFTER_DURATION = range(4)

    def __init__(self, tokenizer: CadenceTokenizer, device: str = "cpu") -> None:
        self.tok = tokenizer
        self.vocab_size = tokenizer.vocab_size
        self.device = device
        v = tokenizer.vocab
        self.resolution = max(tokenizer.remi.config.beat_res.values())
        self.position_ids = sorted(
            (int(_value(t)), i) for t, i in v.items() if t.startswith("Position_")
        )
        self.pitch_ids = {int(_value(t)): i for t, i in v.items() if t.startswith("Pitch_")}
        self.duration_ids = {
            i: duration_beats(t) for t, i in v.items() if t.startswith("Duration_")
        }
        self.timesig_ids = {_value(t): i for t, i in v.items() if t.startswith("TimeSig_")}
        self.id_type = {i: t.split("_", 1)[0] for t, i in v.items()}
        self.id_value = {i: _value(t) for t, i in v.items()}
        self._bar_mask = self._mask([tokenizer.bar_id])
        self._pos_cache: dict[tuple[int, int, int], torch.Tensor] = {}
        self._pitch_cache: dict[tuple, torch.Tensor] = {}
        self._duration_cache: dict[float, torch.Tensor] = {}
        self._bonus_cache: dict[frozenset[int], torch.Tensor] = {}

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
        """Positions in a bar: MidiTok's positions divide the meter's beat (its denominator)."""
        return meter[0] * self.resolution

    def beats(self, quarters: float, meter: tuple[int, int]) -> float:
        """``quarters`` quarter notes in beats of ``meter``'s denominator."""
        return quarters * meter[1] / 4

    def grid_positions(self, quarters: float, meter: tuple[int, int]) -> int:
        """Positions per onset-grid step of ``quarters`` quarter notes (at least 1)."""
        return max(1, round(self.beats(quarters, meter) * self.resolution))

    def positions_after(self, position: int, rules: BarRules) -> torch.Tensor:
        """Positions strictly after ``position``, inside the bar and on the grid."""
        key = (position, rules.positions, rules.grid)
        if key not in self._pos_cache:
            self._pos_cache[key] = self._mask(
                i
                for q, i in self.position_ids
                if position < q < rules.positions and q % rules.grid == 0
            )
        return self._pos_cache[key]

    def pitch_mask(self, rules: BarRules) -> torch.Tensor:
        low, high = rules.pitch_range
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

    def duration_mask(self, rules: BarRules) -> torch.Tensor:
        key = rules.min_duration
        if key not in self._duration_cache:
            ok = [i for i, q in self.duration_ids.items() if q >= key - 1e-9]
            self._duration_cache[key] = self._mask(ok or self.duration_ids)
        return self._duration_cache[key]

    def chord_bonus(self, tones: frozenset[int]) -> torch.Tensor:
        """Logit bonus for the pitches of ``tones`` (zero elsewhere)."""
        if tones not in self._bonus_cache:
            bonus = torch.zeros(self.vocab_size, device=self.device)
            for p, i in self.pitch_ids.items():
                if p % 12 in tones:
                    bonus[i] = CHORD_TONE_BONUS
            self._bonus_cache[tones] = bonus
        return self._bonus_cache[tones]

    def strong(self, position: int, rules: BarRules) -> frozenset[int]:
        """Chord tones to favour at ``position``: those of its half's chord on a strong beat."""
        if position == 0:
            return rules.chords[0]
        if rules.half and position == rules.half:
            return rules.chords[1]
        return frozenset()


class BarState:
    """Where the stream is inside the current bar; gives the mask for the next token."""

    def __init__(self, grammar: Grammar, rules: BarRules) -> None:
        self.g = grammar
        self.rules = rules
        self.state = Grammar.AFTER_BAR_HEADER
        self.position = -1
        self.notes = 0

    def allowed(self) -> torch.Tensor:
        g, s = self.g, self.state
        if s == Grammar.AFTER_POSITION:
            return g.pitch_mask(self.rules)
        if s == Grammar.AFTER_PITCH:
            return g.duration_mask(self.rules)
        if self.notes >= self.rules.max_notes:
            return g._bar_mask
        positions = g.positions_after(self.position, self.rules)
        if s == Grammar.AFTER_BAR_HEADER and bool(positions.any()):
            return positions  # every bar holds at least one note
        return positions | g._bar_mask

    def bonus(self) -> torch.Tensor | None:
        """Logit bonus for the next token (chord tones on strong beats), or None."""
        if self.state != Grammar.AFTER_POSITION:
            return None
        tones = self.g.strong(self.position, self.rules)
        return self.g.chord_bonus(tones) if tones else None

    def advance(self, token_id: int) -> bool:
        """Record a sampled token; returns True when it closed the bar."""
        kind = self.g.id_type[token_id]
        if kind == "Bar":
            return True
        if kind == "Position":
            self.position = int(self.g.id_value[token_id])
            self.state = Grammar.AFTER_POSITION
        elif kind == "Pitch":
            self.state = Grammar.AFTER_PITCH
        elif kind == "Duration":
            self.state = Grammar.AFTER_DURATION
            self.notes += 1
        else:
            raise ValueError(f"token {self.g.tok.id_to_token[token_id]} is outside the bar grammar")
        return False
