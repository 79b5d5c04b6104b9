"""A session's prescription and adherence in a clinician's words: tempo in BPM, loudness as
"quiet (−30 LUFS)", fades in whole seconds, register as a note name, sources as short
citations with links, and each measured figure against what was prescribed with its pass mark.
Pages read these rows; the raw JSON stays one download away."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from cadence.clinic.outcomes import MEASURES
from cadence.therapy.evidence import SOURCES
from cadence.therapy.goals import LUFS_CAP, PROFILES
from cadence.therapy.instruments import key_label, program_name

# Loudness wording, quietest first: integrated LUFS at or below the bound reads as the word.
LOUDNESS_BANDS: tuple[tuple[float, str], ...] = (
    (-28.0, "quiet"),
    (-20.0, "soft"),
    (-16.0, "moderate"),
    (math.inf, "loud"),
)
MINUS = "\u2212"


def signed(value: float, digits: int = 0) -> str:
    """A number with a typographic minus sign (−30, not -30)."""
    text = f"{value:.{digits}f}"
    return text.replace("-", MINUS)


def loudness(lufs: float) -> str:
    """'quiet (−30 LUFS)'."""
    word = next(w for bound, w in LOUDNESS_BANDS if lufs <= bound)
    return f"{word} ({signed(lufs)} LUFS)"


def seconds(value: float) -> str:
    """Whole seconds: '5 s'."""
    return f"{round(value):d} s"


@lru_cache(maxsize=128)
def note_name(midi_pitch: float) -> str:
    """The MIDI pitch as a note name with its octave (64 -> 'E4'), by music21."""
    from music21 import pitch  # a slow import, only where a register is shown

    return str(pitch.Pitch(midi=round(midi_pitch)).nameWithOctave).replace("-", "b")


@dataclass(frozen=True)
class Citation:
    short: str  # "Cochrane review CD010459.pub2 (music for insomnia)"
    detail: str
    url: str | None


_PMC = re.compile(r"\bPMC\d+\b")
_DOI = re.compile(r"\bdoi:? ?(10\.\d{4,9}/\S+)", re.I)
_NATURE = re.compile(r"\b(s41598-\d{3}-\d{5}-\w)\b")
_COCHRANE = re.compile(r"\b(CD\d{6}\.pub\d+)\b")


def citation(key: str) -> Citation:
    """A source key as a short citation, its finding and a link where the text names one."""
    text = SOURCES.get(key, key)
    short, _, detail = text.partition(": ")
    url = None
    if doi := _DOI.search(text):
        url = f"https://doi.org/{doi.group(1).rstrip('.,;:')}"
    elif pmc := _PMC.search(text):
        url = f"https://pmc.ncbi.nlm.nih.gov/articles/{pmc.group(0)}/"
    elif cochrane := _COCHRANE.search(text):
        url = f"https://doi.org/10.1002/14651858.{cochrane.group(1)}"
    elif nat := _NATURE.search(text):
        url = f"https://www.nature.com/articles/{nat.group(1)}"
    return Citation(short=short, detail=detail, url=url)


@dataclass(frozen=True)
class Row:
    label: str
    value: str
    source: Citation | None = None


def prescription_rows(p: Any) -> list[Row]:
    """The prescription (a therapy Prescription) as labelled lines."""
    profile = PROFILES[p.goal]
    first, last = p.bars[0], p.bars[-1]
    instruments = ", ".join(
        "drum kit" if role == "percussion" else f"{program_name(prog)} ({role})"
        for role, prog in p.programs.items()
    )
    rows = [
        Row("Length", f"{p.minutes:g} minutes ({len(p.bars)} bars)"),
        Row("Tempo", f"{first.tempo_bpm:.0f} → {last.tempo_bpm:.0f} BPM"),
        Row("Key", f"{key_label(p.key_tonic, p.mode)}, {p.meter[0]}/{p.meter[1]} time"),
        Row("Register", f"{note_name(first.register)} → {note_name(last.register)}"),
        Row("Loudness", f"{loudness(p.target_lufs)}, never above {signed(LUFS_CAP)} LUFS",
            citation("WHO")),
        Row("Fades", f"in {seconds(p.fade_in_s)}, out {seconds(p.fade_out_s)}"),
        Row("Instruments", instruments),
        Row("Beat", "steady beat layer" if p.beat_layer else "no beat layer"),
        Row("Typical dose", profile.typical_dose),
    ]
    given = {
        "walking cadence": (p.cadence_spm, "steps/min"),
        "heart rate": (p.heart_rate, "BPM"),
        "arousal": (p.arousal, "(−1 to 1)"),
        "valence": (p.valence, "(−1 to 1)"),
        "breathing cue": (p.breathing_cue_per_min, "breaths/min"),
        "reminiscence years": (p.reminiscence_years, ""),
    }
    inputs = [f"{k} {_plain(v)} {unit}".strip() for k, (v, unit) in given.items() if v is not None]
    if inputs:
        rows.append(Row("Patient inputs", "; ".join(inputs)))
    if p.fall_risk:
        rows.append(Row("Fall risk", "yes: the tempo is never raised"))
    return rows


def _plain(value: Any) -> str:
    if isinstance(value, float):
        return signed(value, 2).rstrip("0").rstrip(".") if value % 1 else f"{value:.0f}"
    if isinstance(value, (list, tuple)):
        return "–".join(str(v) for v in value)
    return str(value)


def citations(p: Any) -> list[tuple[str, Citation]]:
    """Every source behind the prescription: (the parameter it supports, its citation)."""
    return [
        (param.replace("tempo_bpm", "tempo").replace("_", " ").replace("/", ", "), citation(key))
        for param, key in PROFILES[p.goal].sources.items()
    ]


def measure_label(name: str) -> str:
    """'Mood (0–100, visual analogue scale)', not 'mood_vas': the clinic's own title and scale
    of each outcome measure (clinic.outcomes.MEASURES)."""
    spec = MEASURES.get(name)
    return spec.label if spec is not None else name.replace("_", " ")


# What the audit log's entities are called on the page (the log stores table-like names).
AUDIT_ENTITIES: dict[str, str] = {
    "baselines": "baseline", "clinic": "clinic", "clinicians": "clinician",
    "consents": "consent", "favourites": "favourite tune", "feedback": "feedback",
    "history": "history", "outcomes": "outcome", "patient_link": "patient link",
    "patients": "patient", "preferences": "preferences", "session_files": "session files",
    "therapy_sessions": "session",
}  # fmt: skip
_MEASURE_KEY = re.compile(r"\b(" + "|".join(map(re.escape, MEASURES)) + r")\b")


def audit_entity(entity: str) -> str:
    return AUDIT_ENTITIES.get(entity, entity.replace("_", " "))


def audit_detail(detail: str | None) -> str:
    """An entry's detail with measure keys in words ('mood_vas before' -> 'Mood before')."""
    if not detail:
        return ""
    return _MEASURE_KEY.sub(lambda m: MEASURES[m.group(1)].title, detail)


@dataclass(frozen=True)
class Check:
    label: str
    measured: str
    prescribed: str
    passed: bool | None  # None: not measured

    @property
    def verdict(self) -> str:
        return {True: "Met", False: "Not met", None: "Not measured"}[self.passed]


# Pass marks. EBU R128: true peak at most −1 dBTP, integrated loudness within ±1 LU of target.
TRUE_PEAK_MAX_DBTP = -1.0
LOUDNESS_TOLERANCE_LU = 1.0
TEMPO_TOLERANCE_BPM = 1.0  # engineering choice: a drift a listener does not notice
IN_SCALE_MIN = 0.95  # engineering choice
BEAT_JITTER_MAX_MS = 10.0  # engineering choice: under what a walker can hear


def _num(report: dict[str, Any], key: str) -> float | None:
    value = report.get(key)
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def adherence_checks(report: dict[str, Any], p: Any | None) -> list[Check]:
    """Each measured figure against what was prescribed, with its pass mark in words."""
    checks: list[Check] = []
    if (d := _num(report, "duration_s")) is not None:
        within = report.get("duration_within_one_bar")
        wanted = f"{p.minutes:g} minutes, within one bar" if p else "within one bar"
        checks.append(Check("Length", f"{d / 60:.1f} minutes", wanted,
                            within if isinstance(within, bool) else None))
    dev = _num(report, "max_tempo_deviation_bpm")
    checks.append(Check(
        "Tempo", "not measured" if dev is None else f"off the plan by at most {dev:.1f} BPM",
        f"within {TEMPO_TOLERANCE_BPM:g} BPM of the plan",
        None if dev is None else dev <= TEMPO_TOLERANCE_BPM))
    share = _num(report, "in_scale_share")
    checks.append(Check(
        "Notes in the key", "not measured" if share is None else f"{share:.0%}",
        f"at least {IN_SCALE_MIN:.0%}", None if share is None else share >= IN_SCALE_MIN))
    lufs = _num(report, "loudness_lufs")
    target = p.target_lufs if p else None
    if lufs is None:
        checks.append(Check("Loudness", "not measured (no audio)",
                            loudness(target) if target is not None else "—", None))
    else:
        error = abs(lufs - target) if target is not None else _num(report, "loudness_error_lu")
        checks.append(Check(
            "Loudness", loudness(lufs),
            (f"{loudness(target)}, within {LOUDNESS_TOLERANCE_LU:g} LU"
             if target is not None else f"within {LOUDNESS_TOLERANCE_LU:g} LU of the target"),
            None if error is None else error <= LOUDNESS_TOLERANCE_LU))
    peak = _num(report, "true_peak_dbtp")
    checks.append(Check(
        "Loudest peak", "not measured (no audio)" if peak is None else f"{signed(peak, 1)} dBTP",
        f"at most {signed(TRUE_PEAK_MAX_DBTP)} dBTP (EBU R128)",
        None if peak is None else peak <= TRUE_PEAK_MAX_DBTP))
    vel = _num(report, "max_velocity")
    cap = max(b.velocity_max for b in p.bars) if p else None
    checks.append(Check(
        "Loudest note (MIDI velocity)", "not measured" if vel is None else f"{vel:.0f}",
        f"at most {cap}" if cap is not None else "—",
        None if vel is None or cap is None else vel <= cap))
    jitter = _num(report, "beat_jitter_ms")
    checks.append(Check(
        "Beat timing", "no beat layer" if jitter is None else f"off the beat by {jitter:.0f} ms",
        f"at most {BEAT_JITTER_MAX_MS:g} ms",
        None if jitter is None else jitter <= BEAT_JITTER_MAX_MS))
    bad = _num(report, "undecodable_sequences")
    checks.append(Check(
        "Unreadable passages", "not measured" if bad is None else f"{bad:.0f}", "none",
        None if bad is None else bad == 0))
    return checks


def job_progress(status: str, stage: str, done: int, total: int, error: str | None) -> str:
    """A job's progress in words: 'waiting in the queue', 'composing bar 120 of 436'."""
    if status == "queued":
        return "Waiting in the queue"
    if status == "failed":
        return "Cancelled" if stage == "cancelled" else f"Failed: {error or 'no reason given'}"
    if status == "done":
        return "Done"
    if stage == "composing":
        return f"Composing bar {done} of {total}" if total else "Starting to compose"
    if stage == "rendering":
        return "Rendering the audio"
    if stage == "saving":
        return "Saving the session"
    return stage.capitalize() if stage else "Working"
