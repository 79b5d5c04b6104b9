"""Adherence of WRITTEN files to generic targets: tempo path, scale, velocity, loudness, length.

Everything here is measured by reading the files back (MIDI with symusic, audio with
soundfile), never copied from the plan, so a bug in rendering shows up as a deviation.
Tempos are quarter notes per minute; ``meter`` is ``(numerator, denominator)`` and fixes the
bar grid (a bar lasts ``numerator · 4 / denominator`` quarter notes, a beat ``4 /
denominator``). Loudness follows ITU-R BS.1770-4 (integrated loudness via pyloudnorm,
Steinmetz & Reiss 2021; true peak by 4× oversampling as in Annex 2).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import soundfile
import symusic

from cadence.evaluation import metrics
from cadence.music.features import arousal_estimate, bar_features
from cadence.render import loudness

BLOCK_S = 0.4  # one BS.1770 gating block
DEFAULT_QPM = 120.0  # tempo before the first tempo event (SMF 1.0 spec)
_MS_DECIMALS = 3  # jitter is reported to the microsecond
_BPM_DECIMALS = 4  # hides the µs-per-quarter rounding of MIDI tempo events


def _load(midi_path: str | Path) -> symusic.Score:
    return symusic.Score(str(midi_path))


def _bar_ticks(score: symusic.Score, meter: tuple[int, int]) -> float:
    num, den = meter
    if num < 1 or den < 1:
        raise ValueError(f"meter: numerator and denominator must be >= 1, got {meter!r}")
    return score.ticks_per_quarter * num * 4.0 / den


def _tempo_map(score: symusic.Score) -> tuple[np.ndarray, np.ndarray]:
    """Tick of each tempo change and its microseconds per quarter (default tempo at tick 0)."""
    ticks = [0.0] + [float(t.time) for t in score.tempos]
    mspq = [60e6 / DEFAULT_QPM] + [float(t.mspq) for t in score.tempos]
    order = np.argsort(ticks, kind="stable")
    return np.asarray(ticks)[order], np.asarray(mspq)[order]


def _seconds(ticks: np.ndarray, score: symusic.Score) -> np.ndarray:
    """Exact (float64) seconds of ``ticks`` under the file's full tempo map."""
    t0, mspq = _tempo_map(score)
    sec_per_tick = mspq / 1e6 / score.ticks_per_quarter
    start_s = np.concatenate([[0.0], np.cumsum(np.diff(t0) * sec_per_tick[:-1])])
    i = np.searchsorted(t0, ticks, side="right") - 1
    return start_s[i] + (ticks - t0[i]) * sec_per_tick[i]


def _qpm_at(ticks: np.ndarray, score: symusic.Score) -> np.ndarray:
    """Tempo (quarter notes per minute) in force at each tick."""
    t0, mspq = _tempo_map(score)
    return 60e6 / mspq[np.searchsorted(t0, ticks, side="right") - 1]


def tempo_deviation_per_bar(
    midi_path: str | Path, planned_bpm: Sequence[float], meter: tuple[int, int]
) -> list[float]:
    """|tempo in force at the start of bar i − planned_bpm[i]| for each planned bar (BPM).

    Bar i starts at ``i · bar length`` (from ``meter``); the tempo in force there is the last
    tempo event at or before it (120 when there is none). Rounded to 1e-4 BPM, which hides
    the rounding of tempo events to whole microseconds per quarter. No planned bar: [].
    """
    score = _load(midi_path)
    starts = np.arange(len(planned_bpm)) * _bar_ticks(score, meter)
    measured = _qpm_at(starts, score)
    return [
        round(abs(m - midi_tempo(p)), _BPM_DECIMALS)
        for m, p in zip(measured.tolist(), planned_bpm, strict=True)
    ]


def midi_tempo(bpm: float) -> float:
    """The tempo a MIDI file can hold closest to ``bpm``: MIDI stores whole microseconds per
    quarter note (SMF 1.0 Set Tempo), so 101 BPM is stored as 594,059 µs = 101.0000917 BPM.
    Deviations are measured against this, not against an unrepresentable figure."""
    return 60e6 / round(60e6 / bpm)


def max_tempo_deviation(
    midi_path: str | Path, planned_bpm: Sequence[float], meter: tuple[int, int]
) -> float:
    """Largest value of :func:`tempo_deviation_per_bar`; 0.0 when no bar is planned."""
    return max(tempo_deviation_per_bar(midi_path, planned_bpm, meter), default=0.0)


def in_scale_share(midi_path: str | Path, scale_pcs: Iterable[int]) -> float:
    """Share of pitched notes in ``scale_pcs`` (drums excluded); NaN when there is none."""
    return metrics.in_scale_share(_load(midi_path), scale_pcs)


def max_velocity(midi_path: str | Path) -> int:
    """Highest note velocity over all tracks, drums included; 0 when the file has no note."""
    return max((int(n.velocity) for t in _load(midi_path).tracks for n in t.notes), default=0)


def duration_seconds(midi_path: str | Path) -> float:
    """Length of the MIDI file in seconds (symusic ``score.to("second").end()``); 0 if empty.

    symusic 0.6 reports the smallest positive float32 as the end of an empty score in
    seconds; anything under a microsecond is returned as 0.0.
    """
    end = float(_load(midi_path).to("second").end())
    return end if end >= 1e-6 else 0.0


def _read_wav(path: str | Path) -> tuple[np.ndarray, int]:
    """The samples as stored: int16 for 16-bit files (the loudness code scales them, so no
    float copy is made: a 30-minute session reads in 0.1 s instead of 0.8 s), else float32."""
    dtype = "int16" if soundfile.info(str(path)).subtype == "PCM_16" else "float32"
    return soundfile.read(str(path), dtype=dtype, always_2d=True)


def wav_loudness(wav_path: str | Path) -> tuple[float, float, float]:
    """(integrated loudness in LUFS, true peak in dBTP, duration in seconds) of a WAV file.

    Integrated loudness: BS.1770-4 (gated) with pyloudnorm's K-weighting filters, gating done
    on arrays (``render.loudness``, checked against ``pyloudnorm.Meter`` to 1e-3 LU). True
    peak: the largest absolute sample after 4× polyphase oversampling, in dB re full scale.
    Edge cases: silence gives -inf for both levels; audio shorter than one 400 ms gating block
    gives NaN loudness; an empty file gives (NaN, -inf, 0.0).
    """
    data, rate = _read_wav(wav_path)
    duration = data.shape[0] / rate
    if data.shape[0] == 0:
        return math.nan, -math.inf, 0.0
    lufs = loudness.integrated_lufs(data, rate) if duration >= BLOCK_S else math.nan
    return lufs, loudness.true_peak_dbtp(data), duration


def beat_onset_jitter_ms(midi_path: str | Path, meter: tuple[int, int]) -> float:
    """Largest |hit time − nearest ideal beat time| in ms over the drum (is_drum) tracks' hits.

    Hit times are the notes' onsets in seconds under the file's full tempo map. Ideal beats
    follow a bar-wise tempo map: bar i starts where bar i−1 ends, and its ``numerator`` beats
    are equally spaced under the tempo in force at the bar's start. So 0 when every hit sits
    on a beat and tempo changes only at bar lines; a mid-bar tempo change or an off-beat hit
    shows as jitter. Rounded to the microsecond. No drum hit: NaN.
    """
    score = _load(midi_path)
    hits = np.sort(
        np.concatenate(
            [t.notes.numpy()["time"].astype(np.float64) for t in score.tracks if t.is_drum]
            + [np.zeros(0)]
        )
    )
    if not len(hits):
        return math.nan
    bar = _bar_ticks(score, meter)
    n_bars = int(hits[-1] // bar) + 2
    qpm = _qpm_at(np.arange(n_bars) * bar, score)
    bar_s = bar / score.ticks_per_quarter * 60.0 / qpm
    bar_start_s = np.concatenate([[0.0], np.cumsum(bar_s)[:-1]])
    num = meter[0]
    beats = (bar_start_s[:, None] + np.arange(num)[None, :] * (bar_s / num)[:, None]).ravel()
    hit_s = _seconds(hits, score)
    after = np.clip(np.searchsorted(beats, hit_s), 1, len(beats) - 1)
    nearest = np.minimum(np.abs(hit_s - beats[after - 1]), np.abs(beats[after] - hit_s))
    return round(float(nearest.max()) * 1000.0, _MS_DECIMALS)


@dataclass(frozen=True)
class AdherenceReport:
    """How well written files meet their targets. NaN marks what could not be measured."""

    max_tempo_deviation_bpm: float
    in_scale_share: float
    max_velocity: int
    loudness_lufs: float
    loudness_error_lu: float  # |measured − target|
    true_peak_dbtp: float
    duration_s: float  # of the WAV when given, else of the MIDI
    duration_error_s: float  # |measured − requested|
    duration_within_one_bar: bool
    beat_jitter_ms: float
    undecodable_sequences: int
    pitch_class_entropy: float
    repeated_material_share: float

    def to_dict(self) -> dict[str, float | int | bool | None]:
        """Plain JSON-safe dict: NaN and ±inf become None."""
        return {
            k: None if isinstance(v, float) and not math.isfinite(v) else v
            for k, v in asdict(self).items()
        }


def midi_figures(
    midi_path: str | Path,
    *,
    planned_bpm: Sequence[float],
    meter: tuple[int, int],
    scale_pcs: Iterable[int],
) -> dict[str, float]:
    """The figures of :func:`measure` that come from the MIDI file alone (a session measures
    them while its audio still renders)."""
    score = _load(midi_path)
    return {
        "max_tempo_deviation_bpm": max_tempo_deviation(midi_path, planned_bpm, meter),
        "in_scale_share": metrics.in_scale_share(score, scale_pcs),
        "max_velocity": max_velocity(midi_path),
        "beat_jitter_ms": beat_onset_jitter_ms(midi_path, meter),
        "pitch_class_entropy": metrics.pitch_class_entropy(score),
        "repeated_material_share": metrics.repeated_material_share(score),
    }


def measure(
    midi_path: str | Path,
    wav_path: str | Path | None,
    *,
    planned_bpm: Sequence[float],
    meter: tuple[int, int],
    scale_pcs: Iterable[int],
    target_lufs: float,
    requested_seconds: float,
    bar_seconds: float,
    undecodable: int,
    midi: dict[str, float] | None = None,
) -> AdherenceReport:
    """Measure a written MIDI file (and its WAV rendering, if any) against the targets.

    Without a WAV, the loudness fields are NaN and the duration is the MIDI's. The duration
    is within one bar when |duration − requested_seconds| <= ``bar_seconds``. ``midi``: the
    file's :func:`midi_figures`, when they were measured already.
    """
    if midi is None:
        midi = midi_figures(midi_path, planned_bpm=planned_bpm, meter=meter, scale_pcs=scale_pcs)
    if wav_path is not None:
        lufs, peak, duration = wav_loudness(wav_path)
    else:
        lufs, peak, duration = math.nan, math.nan, duration_seconds(midi_path)
    duration_error = abs(duration - requested_seconds)
    return AdherenceReport(
        max_tempo_deviation_bpm=midi["max_tempo_deviation_bpm"],
        in_scale_share=midi["in_scale_share"],
        max_velocity=int(midi["max_velocity"]),
        loudness_lufs=lufs,
        loudness_error_lu=abs(lufs - target_lufs),
        true_peak_dbtp=peak,
        duration_s=duration,
        duration_error_s=duration_error,
        duration_within_one_bar=bool(duration_error <= bar_seconds),
        beat_jitter_ms=midi["beat_jitter_ms"],
        undecodable_sequences=int(undecodable),
        pitch_class_entropy=midi["pitch_class_entropy"],
        repeated_material_share=midi["repeated_material_share"],
    )


def tempo_per_bar(midi_path: str | Path, n_bars: int, meter: tuple[int, int]) -> list[float]:
    """Tempo (quarter notes per minute) in force at the start of each of ``n_bars`` bars."""
    score = _load(midi_path)
    starts = np.arange(n_bars) * _bar_ticks(score, meter)
    return [round(float(q), _BPM_DECIMALS) for q in _qpm_at(starts, score)]


def arousal_per_bar(midi_path: str | Path, n_bars: int, meter: tuple[int, int]) -> list[float]:
    """The arousal estimate of each bar of the written file (``music.features`` rule), from
    the bar's measured tempo, note density and mean velocity. Empty bars use velocity 64."""
    score = _load(midi_path)
    tempos = tempo_per_bar(midi_path, n_bars, meter)
    bars = bar_features(score)
    out = []
    for i in range(n_bars):
        if i < len(bars):
            out.append(arousal_estimate(tempos[i], bars[i].density, bars[i].mean_velocity))
        else:
            out.append(arousal_estimate(tempos[i], 0.0, float("nan")))
    return out
