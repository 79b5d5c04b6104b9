"""Musical features of a symusic Score, per piece and per bar.

All times are measured in quarter notes ("beats" below means quarter notes, whatever the
meter). Percussion tracks are left out of pitch features but count for density and velocity.

Valence/arousal rule (documented estimate, not a perceptual model):
- valence = 0.7·m + 0.3·t, where m = +1 for major, −1 for minor, scaled by the key
  correlation, and t is the tempo term below. Mode is the main cue for happy/sad and tempo the
  second (Gagnon & Peretz 2003, Cognition & Emotion 17(1); Gabrielsson & Lindström 2010,
  Handbook of Music and Emotion, ch. 14).
- arousal = 0.5·t + 0.3·d + 0.2·l with t = clip((bpm − 90)/50), d = clip((notes per beat − 2)/2)
  and l = clip((mean velocity − 64)/40), each in −1..1. Tempo, event density and loudness are
  the strongest arousal cues (Gabrielsson & Lindström 2010; Juslin & Laukka 2004, J New Music
  Res 33(3)); the weights are our engineering choice.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import symusic

from cadence.music.keys import estimate_key

DEFAULT_TEMPO = 120.0  # the MIDI default when a file has no tempo event (SMF 1.0 spec)


@dataclass(frozen=True)
class BarFeatures:
    start: float  # bar start, quarter notes
    length: float  # bar length, quarter notes
    n_notes: int
    density: float  # note onsets per quarter note
    mean_pitch: float  # NaN when the bar has no pitched note
    mean_velocity: float  # NaN when the bar has no note
    arousal: float


@dataclass(frozen=True)
class PieceFeatures:
    key_tonic: int
    mode: str
    key_correlation: float
    tempo_bpm: float
    meter: str
    duration_beats: float
    duration_seconds: float
    n_notes: int
    density: float
    pitch_min: int
    pitch_max: int
    pitch_range: int
    mean_pitch: float
    velocity_mean: float
    velocity_std: float
    velocity_max: int
    ioi_cv: float
    syncopation: float
    valence: float
    arousal: float

    def to_dict(self) -> dict:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def _clip(x: float) -> float:
    return float(np.clip(x, -1.0, 1.0))


def tempo_term(bpm: float) -> float:
    return _clip((bpm - 90.0) / 50.0)


def arousal_estimate(bpm: float, density: float, velocity: float) -> float:
    """Arousal in −1..1 from tempo, notes per beat and mean MIDI velocity (module docstring)."""
    d = _clip((density - 2.0) / 2.0)
    v = 0.0 if np.isnan(velocity) else _clip((velocity - 64.0) / 40.0)
    return round(0.5 * tempo_term(bpm) + 0.3 * d + 0.2 * v, 4)


def valence_estimate(mode: str, key_correlation: float, bpm: float) -> float:
    """Valence in −1..1 from mode (scaled by key clarity) and tempo (module docstring)."""
    m = (1.0 if mode == "major" else -1.0) * float(np.clip(key_correlation, 0.0, 1.0))
    return round(0.7 * m + 0.3 * tempo_term(bpm), 4)


def note_arrays(score: symusic.Score, *, pitched_only: bool = False) -> dict[str, np.ndarray]:
    """All notes of a score in quarter notes: time, duration, pitch, velocity (sorted by time)."""
    sq = score.to("quarter") if score.ticks_per_quarter else score
    parts = [
        t.notes.numpy() for t in sq.tracks if len(t.notes) and not (pitched_only and t.is_drum)
    ]
    if not parts:
        empty = np.zeros(0)
        return {"time": empty, "duration": empty, "pitch": empty, "velocity": empty}
    out = {
        k: np.concatenate([p[k] for p in parts]) for k in ("time", "duration", "pitch", "velocity")
    }
    order = np.argsort(out["time"], kind="stable")
    return {k: v[order].astype(float) for k, v in out.items()}


def first_tempo(score: symusic.Score) -> float:
    """Tempo in force at the start (quarter notes per minute); the MIDI default if none."""
    return float(score.tempos[0].qpm) if len(score.tempos) else DEFAULT_TEMPO


def meter_of(score: symusic.Score) -> tuple[int, int]:
    if len(score.time_signatures):
        ts = score.time_signatures[0]
        return int(ts.numerator), int(ts.denominator)
    return 4, 4


def bar_starts(score: symusic.Score, end: float) -> list[tuple[float, float]]:
    """(start, length) of each bar in quarter notes, following time-signature changes."""
    tpq = score.ticks_per_quarter
    changes: dict[float, float] = {}
    for ts in score.time_signatures:
        changes[ts.time / tpq] = ts.numerator * 4.0 / ts.denominator
    if 0.0 not in changes:
        changes[0.0] = 4.0
    points = sorted(changes.items())
    bars: list[tuple[float, float]] = []
    for i, (t0, length) in enumerate(points):
        t1 = points[i + 1][0] if i + 1 < len(points) else max(end, t0 + length)
        t = t0
        while t < t1 - 1e-9 and len(bars) < 100_000:
            bars.append((t, length))
            t += length
    return bars


def ioi_cv(onsets: np.ndarray) -> float:
    """Coefficient of variation of inter-onset intervals of the distinct onsets.

    0 for a perfectly regular pulse; 0 when there are fewer than three distinct onsets.
    """
    uniq = np.unique(np.round(onsets, 6))
    if len(uniq) < 3:
        return 0.0
    ioi = np.diff(uniq)
    return float(ioi.std() / ioi.mean())


def syncopation(onsets: np.ndarray) -> float:
    """Share of distinct off-beat onsets that are held across the next beat.

    An onset off the quarter-note grid followed by no onset on the next beat is a syncopation
    in the sense of Longuet-Higgins & Lee (1984, Music Perception 1(4)): a note on a weak
    position tied over a stronger one. 0 for an empty or fully on-beat piece.
    """
    uniq = np.unique(np.round(onsets, 6))
    if len(uniq) == 0:
        return 0.0
    off_beat = np.abs(uniq - np.round(uniq)) > 1e-3
    next_onset = np.append(uniq[1:], np.inf)
    next_beat = np.floor(uniq) + 1.0
    held = next_onset > next_beat + 1e-6
    return float(np.sum(off_beat & held) / len(uniq))


def piece_features(score: symusic.Score) -> PieceFeatures:
    """Features of a whole piece. An empty score gives zeros and NaN means."""
    notes = note_arrays(score)
    pitched = note_arrays(score, pitched_only=True)
    tonic, mode, corr = estimate_key(pitched["pitch"], pitched["duration"])
    bpm = first_tempo(score)
    num, den = meter_of(score)
    end = float((notes["time"] + notes["duration"]).max()) if len(notes["time"]) else 0.0
    duration_s = float(score.to("second").end()) if len(notes["time"]) else 0.0
    n = len(notes["time"])
    density = n / end if end > 0 else 0.0
    vel = notes["velocity"]
    p = pitched["pitch"]
    vel_mean = float(vel.mean()) if n else float("nan")
    return PieceFeatures(
        key_tonic=tonic,
        mode=mode,
        key_correlation=round(corr, 4),
        tempo_bpm=round(bpm, 3),
        meter=f"{num}/{den}",
        duration_beats=round(end, 4),
        duration_seconds=round(duration_s, 3),
        n_notes=n,
        density=round(density, 4),
        pitch_min=int(p.min()) if len(p) else 0,
        pitch_max=int(p.max()) if len(p) else 0,
        pitch_range=int(p.max() - p.min()) if len(p) else 0,
        mean_pitch=round(float(p.mean()), 3) if len(p) else float("nan"),
        velocity_mean=round(vel_mean, 3),
        velocity_std=round(float(vel.std()), 3) if n else float("nan"),
        velocity_max=int(vel.max()) if n else 0,
        ioi_cv=round(ioi_cv(pitched["time"]), 4),
        syncopation=round(syncopation(pitched["time"]), 4),
        valence=valence_estimate(mode, corr, bpm),
        arousal=arousal_estimate(bpm, density, vel_mean),
    )


def bar_features(score: symusic.Score) -> list[BarFeatures]:
    """Features of each bar (bars follow the score's time signatures)."""
    notes = note_arrays(score)
    pitched = note_arrays(score, pitched_only=True)
    end = float((notes["time"] + notes["duration"]).max()) if len(notes["time"]) else 0.0
    bars = bar_starts(score, end)
    if not bars:
        return []
    starts = np.array([b[0] for b in bars])
    lengths = np.array([b[1] for b in bars])
    n_bars = len(bars)

    def per_bar(times: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        idx = np.clip(np.searchsorted(starts, times + 1e-9, side="right") - 1, 0, n_bars - 1)
        counts = np.bincount(idx, minlength=n_bars).astype(float)
        sums = np.bincount(idx, weights=values, minlength=n_bars)
        with np.errstate(invalid="ignore", divide="ignore"):
            return counts, sums / counts

    counts, mean_vel = per_bar(notes["time"], notes["velocity"])
    _, mean_pitch = per_bar(pitched["time"], pitched["pitch"])
    density = counts / lengths
    bpm = first_tempo(score)
    t = tempo_term(bpm)
    d = np.clip((density - 2.0) / 2.0, -1.0, 1.0)
    v = np.where(np.isnan(mean_vel), 0.0, np.clip((mean_vel - 64.0) / 40.0, -1.0, 1.0))
    arousal = np.round(0.5 * t + 0.3 * d + 0.2 * v, 4)
    return [
        BarFeatures(
            start=float(starts[i]),
            length=float(lengths[i]),
            n_notes=int(counts[i]),
            density=round(float(density[i]), 4),
            mean_pitch=round(float(mean_pitch[i]), 3),
            mean_velocity=round(float(mean_vel[i]), 3),
            arousal=float(arousal[i]),
        )
        for i in range(n_bars)
    ]
