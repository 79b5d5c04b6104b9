"""A measurable, validated music prescription for one therapy session.

Build one with :meth:`Prescription.for_goal`; every default there cites its source (see
``goals.py``, ``iso.py``, ``ras.py`` and ``evidence.py``). The constructor validates every field
and runs the safety rails (``safety.check``), so any Prescription that exists is safe to play.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from cadence.errors import CadenceError
from cadence.generation.harmony import with_chords
from cadence.generation.plan import BarControl, ControlPlan, Idiom
from cadence.therapy import ras, safety
from cadence.therapy.checks import check_heart_rate, check_minutes, check_unit, fail
from cadence.therapy.goals import GOALS

ROLES = ("melody", "accompaniment", "bass", "percussion")


@dataclass(frozen=True)
class Prescription:
    """What to play for one session, with the per-bar plan.

    goal: one of GOALS. minutes: session length, 0 < minutes <= 180.
    bars: the per-bar plan (tempo, arousal, valence, density, register, velocity range).
    key_tonic / mode: tonic pitch class 0-11 and "major" | "minor". meter: (num, den).
    programs: General MIDI program per part role (melody, accompaniment, bass, percussion).
    pitch_range: MIDI pitch bounds per part role.
    beat_layer / accents: metronome/percussion layer on every beat, accent per beat of the bar.
    target_lufs: integrated loudness target, never above the hard cap (goals.LUFS_CAP).
    fade_in_s / fade_out_s: gain fades in seconds. strict_scale: every pitch in the scale.
    cadence_spm, heart_rate, arousal, valence, fall_risk: the patient inputs it was built from.
    breathing_cue_per_min: loudness-envelope rate (75% of resting breathing rate, Leslie 2019).
    reminiscence_years: calendar years of the patient's ages 13-19 (Rao 2021).
    seed: generation seed.
    idiom: style, accompaniment texture, harmonic rhythm and note values (goals.py).
    """

    goal: str
    minutes: float
    bars: tuple[BarControl, ...]
    key_tonic: int = 0
    mode: str = "major"
    meter: tuple[int, int] = (4, 4)
    programs: dict[str, int] = field(default_factory=lambda: {"melody": 0})
    pitch_range: dict[str, tuple[int, int]] = field(default_factory=dict)
    beat_layer: bool = False
    accents: tuple[float, ...] = ()
    target_lufs: float = -23.0
    fade_in_s: float = 0.0
    fade_out_s: float = 0.0
    strict_scale: bool = True
    cadence_spm: float | None = None
    heart_rate: float | None = None
    arousal: float | None = None
    valence: float | None = None
    fall_risk: bool = False
    breathing_cue_per_min: float | None = None
    reminiscence_years: tuple[int, int] | None = None
    seed: int | None = None
    idiom: Idiom = field(default_factory=lambda: Idiom())

    def __post_init__(self) -> None:
        if self.goal not in GOALS:
            raise fail("goal", self.goal, f"must be one of {', '.join(GOALS)}")
        check_minutes(self.minutes)
        if not isinstance(self.key_tonic, int) or not 0 <= self.key_tonic <= 11:
            raise fail("key_tonic", self.key_tonic, "must be a pitch class 0-11 (0 = C)")
        if self.mode not in ("major", "minor"):
            raise fail("mode", self.mode, "must be 'major' or 'minor'")
        num, den = self.meter
        if not (1 <= num <= 16 and den in (2, 4, 8, 16)):
            raise fail("meter", f"{num}/{den}", "numerator 1-16, denominator 2, 4, 8 or 16")
        if self.goal == "gait" and den != 4:
            raise fail("meter", f"{num}/{den}", "gait needs a x/4 meter (one beat per step)")
        for role, prog in self.programs.items():
            if role not in ROLES or not 0 <= prog <= 127:
                raise fail(f"programs[{role!r}]", prog, f"roles {ROLES}, programs 0-127")
        if "melody" not in self.programs:
            raise fail("programs", self.programs, "must give a 'melody' program")
        if any(not 0.0 <= a <= 1.0 for a in self.accents):
            raise fail("accents", self.accents, "each accent must be 0-1")
        if self.beat_layer and len(self.accents) != num:
            raise fail("accents", self.accents, f"the beat layer needs {num} accents, one a beat")
        if not math.isfinite(self.target_lufs):
            raise fail("target_lufs", self.target_lufs, "must be a finite LUFS value")
        check_heart_rate(self.heart_rate)
        check_unit("arousal", self.arousal)
        check_unit("valence", self.valence)
        if self.cadence_spm is not None:
            ras.check_cadence(self.cadence_spm)
        if not self.bars:
            raise fail("bars", 0, "a prescription needs at least one bar")
        seconds = self.bar_seconds()
        total = sum(seconds)
        if abs(total - self.minutes * 60.0) > max(seconds):
            raise fail("bars", f"{total / 60:.2f} min", f"must last {self.minutes:g} min +- 1 bar")
        if self.fade_in_s < 0 or self.fade_out_s < 0 or self.fade_in_s + self.fade_out_s > total:
            raise fail(
                "fade_in_s/fade_out_s",
                (self.fade_in_s, self.fade_out_s),
                f"must be >= 0 and together no longer than the session ({total:.0f} s)",
            )
        safety.check(self)

    @classmethod
    def for_goal(
        cls, goal: str, minutes: float, *, seed: int | None = None, **inputs: Any
    ) -> Prescription:
        """The default prescription for ``goal``, adapted to the patient's inputs: keyword
        arguments named as :data:`cadence.therapy.request.INPUTS` (each with its bounds, unit
        and source there), plus ``meter`` as (numerator, denominator).

        See :func:`cadence.therapy.build.build` for what each input does.
        Raises FieldError (one line, ``field`` naming the input) on any bad input.
        """
        from cadence.therapy.build import build  # build imports this module

        return build(goal, minutes, inputs, seed)

    @property
    def beats_per_bar(self) -> float:
        """Bar length in quarter notes."""
        return self.meter[0] * 4.0 / self.meter[1]

    def bar_seconds(self) -> list[float]:
        """Duration of each bar in seconds."""
        return [self.beats_per_bar * 60.0 / b.tempo_bpm for b in self.bars]

    def duration_seconds(self) -> float:
        """Length of the plan in seconds."""
        return sum(self.bar_seconds())

    def to_control_plan(self) -> ControlPlan:
        """The generic per-bar plan generation follows (one BarControl per bar), with the
        session's chord progression seeded by the prescription's seed."""
        plan = ControlPlan(
            bars=self.bars,
            key_tonic=self.key_tonic,
            mode=self.mode,
            meter=self.meter,
            strict_scale=self.strict_scale,
            pitch_range=dict(self.pitch_range) or ControlPlan(bars=self.bars).pitch_range,
            programs=dict(self.programs),
            beat_layer=self.beat_layer,
            accents=self.accents,
            idiom=self.idiom,
        )
        return with_chords(plan, self.seed or 0)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data; :meth:`from_dict` inverts it exactly."""
        d = asdict(self)
        d["bars"] = [asdict(b) for b in self.bars]
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Prescription:
        """Rebuild (and re-validate) a prescription from :meth:`to_dict` output."""
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise fail("prescription", unknown[0], f"unknown field; known: {', '.join(names)}")
        d = dict(data)
        try:
            d["bars"] = tuple(BarControl(**b) for b in d.get("bars", ()))
        except (TypeError, ValueError) as err:
            raise CadenceError(f"bars: {err}") from err
        d["meter"] = tuple(d.get("meter", (4, 4)))
        d["accents"] = tuple(d.get("accents", ()))
        d["pitch_range"] = {k: tuple(v) for k, v in d.get("pitch_range", {}).items()}
        try:
            d["idiom"] = Idiom.from_dict(d.get("idiom", {}))
        except (TypeError, ValueError) as err:
            raise CadenceError(f"idiom: {err}") from err
        if d.get("reminiscence_years") is not None:
            d["reminiscence_years"] = tuple(d["reminiscence_years"])
        try:
            return cls(**d)
        except TypeError as err:
            raise CadenceError(f"prescription: {err}") from err

    @classmethod
    def from_json(cls, text: str) -> Prescription:
        return cls.from_dict(json.loads(text))

    def summary(self) -> str:
        """A readable multi-line summary for a clinician: each parameter and its source."""
        from cadence.therapy.summary import summarise  # summary reads this module's type

        return summarise(self)
