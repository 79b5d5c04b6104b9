"""The generic per-bar control plan that generation follows.

Generation knows no therapy: a goal becomes a :class:`ControlPlan` in ``therapy/``, and
everything below only sees bars with numeric targets. Every value is checked on construction.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from cadence.generation.form import check_answers
from cadence.music.harmony import parse_chord

# Melody onset grids, in quarter notes: sixteenths, eighths, quarters (the tokens' finest
# position is a sixteenth).
ONSET_GRIDS = (0.25, 0.5, 1.0)
# Accompaniment patterns the arrangement plays on the chords (``render.texture``).
TEXTURES = ("pad", "arpeggio", "block")
# Harmonic rhythms, in bars per chord.
BARS_PER_CHORD = (0.5, 1.0, 2.0, 4.0)


@dataclass(frozen=True)
class Idiom:
    """How the music is written, as opposed to what it must measure.

    style:          the style (a training collection) the melody is conditioned on.
    texture:        the accompaniment pattern on the chords, one of :data:`TEXTURES`.
    bars_per_chord: harmonic rhythm, one of :data:`BARS_PER_CHORD`.
    onset_grid:     melody onsets lie on multiples of this many quarter notes.
    min_duration:   shortest melody note value, in quarter notes.
    answers:        bars of each new phrase's first half that its second half restates (the
                    parallel period), cycled over the phrases (``generation.form``).
    """

    style: str = "nottingham"
    texture: str = "block"
    bars_per_chord: float = 1.0
    onset_grid: float = 0.25
    min_duration: float = 0.25
    answers: tuple[int, ...] = (0,)

    def __post_init__(self) -> None:
        checks = {
            "texture": (self.texture in TEXTURES, f"one of {TEXTURES}"),
            "bars_per_chord": (self.bars_per_chord in BARS_PER_CHORD, f"one of {BARS_PER_CHORD}"),
            "onset_grid": (self.onset_grid in ONSET_GRIDS, f"one of {ONSET_GRIDS}"),
            "min_duration": (0.0 <= self.min_duration <= 4.0, "0..4 quarter notes"),
            "style": (bool(self.style), "a collection name"),
        }
        for name, (ok, what) in checks.items():
            if not ok:
                raise ValueError(f"Idiom.{name}: must be {what}, got {getattr(self, name)!r}")
        try:
            check_answers(self.answers)
        except ValueError as err:
            raise ValueError(f"Idiom.{err}") from None

    @classmethod
    def from_dict(cls, d: dict) -> Idiom:
        """An Idiom from its JSON form (``asdict``: tuples read back as lists)."""
        d = dict(d)
        if "answers" in d:
            d["answers"] = tuple(d["answers"])
        return cls(**d)


@dataclass(frozen=True)
class BarControl:
    """Targets for one bar.

    tempo_bpm:   quarter-note beats per minute for this bar, applied exactly by the renderer.
    arousal:     -1 (calm) .. 1 (excited); steers the arousal control token.
    valence:     -1 (sad) .. 1 (happy).
    density:     melody notes per quarter note (a hard cap of 1.5x it per bar, and the
                 density control token).
    register:    mean MIDI pitch of the melody.
    velocity_min, velocity_max: MIDI velocity range (1..127); velocity_max is a hard cap.
    """

    tempo_bpm: float
    arousal: float = 0.0
    valence: float = 0.0
    density: float = 2.0
    register: float = 67.0
    velocity_min: int = 40
    velocity_max: int = 90

    def __post_init__(self) -> None:
        checks = {
            "tempo_bpm": 20.0 <= self.tempo_bpm <= 300.0,
            "arousal": -1.0 <= self.arousal <= 1.0,
            "valence": -1.0 <= self.valence <= 1.0,
            "density": 0.0 <= self.density <= 16.0,
            "register": 21.0 <= self.register <= 108.0,
            "velocity_min": 1 <= self.velocity_min <= 127,
            "velocity_max": 1 <= self.velocity_max <= 127,
        }
        for name, ok in checks.items():
            if not ok:
                raise ValueError(f"BarControl.{name}: out of range: {getattr(self, name)!r}")
        if self.velocity_min > self.velocity_max:
            raise ValueError(
                f"BarControl.velocity_min: {self.velocity_min} is above velocity_max "
                f"{self.velocity_max}"
            )


@dataclass(frozen=True)
class ControlPlan:
    """What to generate: a meter, a scale and one :class:`BarControl` per bar.

    key_tonic:  pitch class of the tonic, 0 = C .. 11 = B.
    mode:       "major" or "minor" (natural minor scale for masking).
    meter:      (numerator, denominator), e.g. (3, 4).
    strict_scale: when true every generated pitch lies in the scale.
    pitch_range: {role: (low, high)} MIDI pitch bounds per part role.
    programs:   {role: General MIDI program} for rendering; "percussion" uses channel 10.
    beat_layer: when true the renderer adds a metronome/percussion layer on every beat.
    accents:    relative accent per beat of the bar for the beat layer (1.0 = strongest).
    chords:     per bar, the chord of its first and second half, in the plan's key
                (``music.harmony`` names, e.g. "7:maj"); empty: no harmony plan.
    idiom:      style, texture, harmonic rhythm and note values (:class:`Idiom`).
    """

    bars: tuple[BarControl, ...]
    key_tonic: int = 0
    mode: str = "major"
    meter: tuple[int, int] = (4, 4)
    strict_scale: bool = True
    pitch_range: dict[str, tuple[int, int]] = field(
        default_factory=lambda: {"melody": (60, 84), "accompaniment": (43, 72), "bass": (28, 55)}
    )
    programs: dict[str, int] = field(
        default_factory=lambda: {"melody": 0, "accompaniment": 48, "bass": 32}
    )
    beat_layer: bool = False
    accents: tuple[float, ...] = ()
    chords: tuple[tuple[str, str], ...] = ()
    idiom: Idiom = field(default_factory=lambda: Idiom())

    def __post_init__(self) -> None:
        if not self.bars:
            raise ValueError("ControlPlan.bars: must hold at least one bar, got 0")
        if not 0 <= self.key_tonic <= 11:
            raise ValueError(f"ControlPlan.key_tonic: must be 0..11, got {self.key_tonic!r}")
        if self.mode not in ("major", "minor"):
            raise ValueError(f"ControlPlan.mode: must be 'major' or 'minor', got {self.mode!r}")
        num, den = self.meter
        if not (1 <= num <= 16 and den in (2, 4, 8, 16)):
            raise ValueError(f"ControlPlan.meter: unsupported meter {num}/{den}")
        for role, (lo, hi) in self.pitch_range.items():
            if not 0 <= lo < hi <= 127:
                raise ValueError(f"ControlPlan.pitch_range[{role!r}]: bad range ({lo}, {hi})")
        for role, prog in self.programs.items():
            if not 0 <= prog <= 127:
                raise ValueError(f"ControlPlan.programs[{role!r}]: must be 0..127, got {prog}")
        if self.chords and len(self.chords) != len(self.bars):
            raise ValueError(
                f"ControlPlan.chords: one pair per bar, got {len(self.chords)} for "
                f"{len(self.bars)} bars"
            )
        for pair in self.chords:
            for name in pair:
                parse_chord(name)  # raises ValueError naming the bad chord


    @property
    def scale(self) -> frozenset[int]:
        """Pitch classes of the prescribed scale (major or natural minor)."""
        steps = (0, 2, 4, 5, 7, 9, 11) if self.mode == "major" else (0, 2, 3, 5, 7, 8, 10)
        return frozenset((self.key_tonic + s) % 12 for s in steps)

    @property
    def beats_per_bar(self) -> float:
        """Bar length in quarter notes."""
        num, den = self.meter
        return num * 4.0 / den

    def bar_seconds(self) -> list[float]:
        """Duration of each bar in seconds under its tempo."""
        return [self.beats_per_bar * 60.0 / b.tempo_bpm for b in self.bars]

    def duration_seconds(self) -> float:
        return sum(self.bar_seconds())

    def to_dict(self) -> dict:
        d = asdict(self)
        d["bars"] = [asdict(b) for b in self.bars]
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_dict(cls, d: dict) -> ControlPlan:
        d = dict(d)
        d["bars"] = tuple(BarControl(**b) for b in d["bars"])
        d["meter"] = tuple(d["meter"])
        d["accents"] = tuple(d.get("accents", ()))
        d["pitch_range"] = {k: tuple(v) for k, v in d.get("pitch_range", {}).items()}
        d["chords"] = tuple(tuple(c) for c in d.get("chords", ()))
        d["idiom"] = Idiom.from_dict(d.get("idiom", {}))
        return cls(**d)
