"""One session request: the goal, the prescription inputs, sampling, primer and output formats.

:data:`FIELDS` is the one list of what a session may be asked for. Each :class:`Input` carries
its type, bounds, unit, help text and source; the CLI's options (``commands/session.py``), the
API's request schema (``web/schemas.py``) and the new-session form (``web/prescribe.py``) are
all built from it, and :class:`SessionRequest` checks every value against it on construction.
A bad value raises :class:`~cadence.therapy.checks.FieldError`, whose ``field`` names the input.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cadence.errors import CadenceError
from cadence.generation.sampling_config import DEFAULT_SAMPLING, SamplingConfig
from cadence.therapy import ras
from cadence.therapy.checks import HEART_RATE_MAX, HEART_RATE_MIN, MINUTES_MAX, FieldError, in_range
from cadence.therapy.goals import GOALS
from cadence.therapy.instruments import parse_instrument, parse_key

ALL = tuple(GOALS)
AUDIO_FORMATS = ("wav", "flac", "ogg", "opus")  # opus: the rendition patients stream
PRIMER_MODES = ("vary", "continue")
SEED_MAX = 2**31 - 1
# Resting breathing-rate validation range, breaths per minute. Engineering choice (no source).
BREATHING_MIN, BREATHING_MAX = 4.0, 40.0
# Birth-year validation range. Engineering choice (no source).
BIRTH_YEAR_MIN, BIRTH_YEAR_MAX = 1900, 2100
ENGINEERING = "engineering choice (no source)"


@dataclass(frozen=True)
class Input:
    """One thing a session may be asked for.

    kind: "number" | "int" | "text" | "choice" | "bool". low/high: inclusive bounds (numbers);
    choices: the allowed words ("choice"). goals: the goals it applies to. prescription: an
    input of :meth:`Prescription.for_goal` (the rest shape the run: sampling, primer, formats).
    flag: the CLI option. step: the form's number step.
    """

    name: str
    kind: str
    label: str
    unit: str = ""
    help: str = ""
    source: str = ENGINEERING
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()
    goals: tuple[str, ...] = ALL
    prescription: bool = True
    default: Any = None
    step: str = "any"
    flag: str = ""
    max_length: int = 60

    @property
    def option(self) -> str:
        return self.flag or "--" + self.name.replace("_", "-")

    @property
    def bounds(self) -> str:
        if self.kind == "choice":
            return " or ".join(self.choices)
        if self.low is None or self.high is None:
            return ""
        low, high = (f"{x:.0f}" if float(x).is_integer() else f"{x:g}"
                     for x in (self.low, self.high))  # fmt: skip
        return f"{low} to {high}{' ' + self.unit if self.unit else ''}"

    def check(self, value: Any) -> Any:
        """``value`` as this input's type, or FieldError naming the input."""
        if value is None:
            return None
        if self.kind == "bool":
            if not isinstance(value, bool):
                raise FieldError(self.name, f"{self.name}: got {value!r}; give true or false")
            return value
        if self.kind in ("number", "int"):
            whole = self.kind == "int"
            ok = isinstance(value, int) if whole else isinstance(value, int | float)
            if isinstance(value, bool) or not ok:
                kind = "a whole number" if whole else "a number"
                raise FieldError(self.name, f"{self.name}: got {value!r}; give {kind}")
            low = -float("inf") if self.low is None else self.low
            high = float("inf") if self.high is None else self.high
            if not in_range(value, low, high) or (self.name == "minutes" and value == 0):
                raise FieldError(self.name, f"{self.name}: got {value!r}; must be {self.bounds}")
            return int(value) if whole else float(value)
        if not isinstance(value, str | int) or isinstance(value, bool):
            raise FieldError(self.name, f"{self.name}: got {value!r}; give text")
        if isinstance(value, str):
            value = value.strip()
            if len(value) > self.max_length:
                raise FieldError(
                    self.name, f"{self.name}: longer than {self.max_length} characters"
                )
        if self.kind == "choice":
            if str(value).lower() not in self.choices:
                raise FieldError(self.name, f"{self.name}: got {value!r}; must be {self.bounds}")
            return str(value).lower()
        if self.name == "key":
            parse_key(value)
        elif self.name == "instrument":
            parse_instrument(value)
        return value


FIELDS: tuple[Input, ...] = (
    Input("goal", "choice", "Goal", choices=ALL, prescription=False,
          help="what the session is for", source="THERAPY.md"),
    Input("minutes", "number", "Length", "min", low=0.0, high=MINUTES_MAX, step="0.1",
          prescription=False, help="session length, above 0",
          source="trials 25-60 min (Cochrane CD010459.pub2); ceiling: " + ENGINEERING),
    Input("cadence_spm", "number", "Walking cadence", "steps/min", low=ras.CADENCE_MIN,
          high=ras.CADENCE_MAX, step="1", goals=("gait",), flag="--cadence",
          help="measured preferred cadence; one beat per step", source="PMC8801707"),
    Input("fall_risk", "bool", "Fall risk: never raise the tempo", goals=("gait",),
          default=False, help="turns off any tempo increase", source="THERAPY.md safety rails"),
    Input("gait_step", "number", "Tempo step", "share of cadence", low=ras.STEP_MIN,
          high=ras.STEP_MAX, step="0.01", goals=("gait",), help="RAS steps of 5-10%",
          source="PMC8801707"),
    Input("gait_target", "number", "Final tempo change", "share of cadence",
          low=ras.OFFSET_MIN, high=ras.OFFSET_MAX, step="0.01", goals=("gait",),
          help="tested from -12% to +12%", source="s41598-025-12316-9"),
    Input("heart_rate", "number", "Heart rate now", "BPM", low=HEART_RATE_MIN,
          high=HEART_RATE_MAX, step="1",
          help="the iso principle's start state (gait, cognition: recorded only)",
          source="Altshuler 1948; range: " + ENGINEERING),
    Input("arousal", "number", "Arousal now", low=-1.0, high=1.0, step="0.05",
          help="start (pain: preferred) arousal", source="Altshuler 1948; Basinski 2021"),
    Input("valence", "number", "Valence now", low=-1.0, high=1.0, step="0.05",
          help="start (pain: preferred) valence", source="Altshuler 1948; Basinski 2021"),
    Input("breathing_rate", "number", "Resting breathing", "breaths/min", low=BREATHING_MIN,
          high=BREATHING_MAX, step="0.5", goals=("sleep", "anxiety", "pain"),
          help="a loudness cue at 75% of it", source="Leslie 2019"),
    Input("birth_year", "int", "Birth year", low=BIRTH_YEAR_MIN, high=BIRTH_YEAR_MAX, step="1",
          goals=("cognition",), help="reminiscence: the years of ages 13-19", source="Rao 2021"),
    Input("key", "text", "Key", max_length=20, help="e.g. C, F#, Bb, 'A minor'"),
    Input("mode", "choice", "Mode", choices=("major", "minor"), help="goal's default if unset",
          source="Gagnon & Peretz 2003; Parada-Cabaleiro 2022"),
    Input("instrument", "text", "Melody instrument", help="General MIDI name or 0-127"),
    Input("seed", "int", "Seed", low=0, high=SEED_MAX, step="1", prescription=False, default=0,
          help="the same seed gives the same music"),
    Input("temperature", "number", "Temperature", low=0.0, high=5.0, step="0.05",
          prescription=False, default=DEFAULT_SAMPLING.temperature, help="0 is greedy",
          source="docs/musicality.md, Sampling"),
    Input("top_k", "int", "Top-k", low=0, high=10_000, step="1", prescription=False,
          default=DEFAULT_SAMPLING.top_k, help="0 switches it off",
          source="docs/musicality.md, Sampling"),
    Input("top_p", "number", "Top-p", low=0.0, high=1.0, step="0.01", prescription=False,
          default=DEFAULT_SAMPLING.top_p, help="1 switches it off",
          source="docs/musicality.md, Sampling"),
    Input("primer_mode", "choice", "Primer use", choices=PRIMER_MODES, prescription=False,
          default="vary", help="vary (theme) or continue the favourite tune"),
)  # fmt: skip
BY_NAME = {f.name: f for f in FIELDS}
INPUTS = tuple(f for f in FIELDS if f.prescription)  # Prescription.for_goal's inputs
SAMPLING = ("temperature", "top_k", "top_p")


def inputs_for(goal: str) -> tuple[Input, ...]:
    """The prescription inputs that apply to ``goal``."""
    return tuple(f for f in INPUTS if goal in f.goals)


def check_inputs(goal: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """The inputs, each checked and typed; FieldError for an unknown input, one that does not
    apply to ``goal`` or one out of bounds. None values are dropped (the goal's default)."""
    out: dict[str, Any] = {}
    for name, value in inputs.items():
        spec = BY_NAME.get(name)
        if name == "meter":  # the Python API's only: (numerator, denominator)
            if value is not None:
                out[name] = value
            continue
        if spec is None or not spec.prescription:
            raise FieldError(name, f"{name}: not a prescription input; known: "
                             f"{', '.join(f.name for f in INPUTS)}")  # fmt: skip
        value = spec.check(value)
        if value is None or (spec.kind == "bool" and value is False):
            continue
        if goal not in spec.goals:
            raise FieldError(name, f"{name}: only applies to goal {' or '.join(spec.goals)}, "
                             f"not {goal!r}")  # fmt: skip
        out[name] = value
    return out


@dataclass(frozen=True)
class SessionRequest:
    """What was asked for one session, checked on construction (FieldError names the field).

    inputs: Prescription.for_goal's inputs by :data:`INPUTS` name. patient: a clinic patient
    code, personalised by :func:`cadence.therapy.personalise.plan_session`. model: a checkpoint
    folder or a shipped model's name (None: the default).
    """

    goal: str
    minutes: float
    inputs: Mapping[str, Any] = field(default_factory=dict)
    seed: int = 0
    sampling: SamplingConfig = DEFAULT_SAMPLING
    primer: Path | None = None
    primer_mode: str = "vary"
    formats: tuple[str, ...] = ("wav",)
    patient: str | None = None
    model: str | None = None

    def __post_init__(self) -> None:
        goal = BY_NAME["goal"].check(self.goal)
        if goal is None:
            raise FieldError("goal", f"goal: give one of {', '.join(GOALS)}")
        set_ = object.__setattr__
        set_(self, "goal", goal)
        if self.minutes is None:
            raise FieldError("minutes", "minutes: give the session length in minutes")
        set_(self, "minutes", BY_NAME["minutes"].check(self.minutes))
        set_(self, "inputs", check_inputs(goal, self.inputs))
        set_(self, "seed", BY_NAME["seed"].check(self.seed))
        set_(self, "primer_mode", BY_NAME["primer_mode"].check(self.primer_mode))
        formats = tuple(dict.fromkeys(str(f).lower() for f in self.formats))
        unknown = [f for f in formats if f not in AUDIO_FORMATS]
        if unknown:
            raise FieldError("formats", f"formats: unknown audio format {unknown[0]!r}; use "
                             f"{', '.join(AUDIO_FORMATS)}")  # fmt: skip
        set_(self, "formats", formats or ("wav",))
        if self.primer is not None:
            set_(self, "primer", Path(self.primer))

    @classmethod
    def from_values(cls, values: Mapping[str, Any], **run: Any) -> SessionRequest:
        """A request from flat values named as :data:`FIELDS` (what the CLI, the API and the
        form hand over); ``run`` gives primer, formats, patient and model."""
        known = {f.name for f in FIELDS}
        unknown = sorted(set(values) - known)
        if unknown:
            raise FieldError(unknown[0], f"{unknown[0]}: unknown field")
        sampling = {
            name: BY_NAME[name].check(values.get(name, BY_NAME[name].default)) for name in SAMPLING
        }
        try:
            config = SamplingConfig(**sampling)
        except ValueError as err:
            name = next((n for n in SAMPLING if n in str(err)), "temperature")
            raise FieldError(name, f"{name}: {err}") from None
        return cls(
            goal=values.get("goal"),  # type: ignore[arg-type]
            minutes=values.get("minutes"),  # type: ignore[arg-type]
            inputs={f.name: values[f.name] for f in INPUTS if f.name in values},
            seed=values.get("seed", 0) if values.get("seed") is not None else 0,
            sampling=config,
            primer_mode=values.get("primer_mode") or "vary",
            **run,
        )

    def to_values(self) -> dict[str, Any]:
        """Flat values named as :data:`FIELDS`; :meth:`from_values` inverts it."""
        return {
            "goal": self.goal, "minutes": self.minutes, **self.inputs, "seed": self.seed,
            "temperature": self.sampling.temperature, "top_k": self.sampling.top_k,
            "top_p": self.sampling.top_p, "primer_mode": self.primer_mode,
        }  # fmt: skip

    def with_inputs(self, **inputs: Any) -> SessionRequest:
        """The request with these inputs set (None removes one)."""
        merged = {**self.inputs, **inputs}
        from dataclasses import replace

        return replace(self, inputs={k: v for k, v in merged.items() if v is not None})


def field_of(err: CadenceError) -> str:
    """The field an error names as data ("" for the request as a whole)."""
    return getattr(err, "field", "") or ""
