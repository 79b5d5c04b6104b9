"""Adherence measured from files written in tmp_path with known tempos, hits, notes and levels."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyloudnorm
import pytest
import soundfile
import symusic
from tests.conftest import scale_score

from cadence.evaluation import adherence as adh

TPQ = 480
BAR_44 = 4 * TPQ


def write_midi(
    path: Path,
    *,
    tempos: Sequence[tuple[int, float]] = ((0, 120.0),),
    meter: tuple[int, int] = (4, 4),
    notes: Sequence[tuple[int, int, int, int]] = (),
    hits: Sequence[int] = (),
    hit_velocity: int = 100,
) -> Path:
    """MIDI with (tick, qpm) tempos, (tick, duration, pitch, velocity) notes, drum-hit ticks."""
    score = symusic.Score(TPQ)
    for tick, qpm in tempos:
        score.tempos.append(symusic.Tempo(tick, qpm))
    score.time_signatures.append(symusic.TimeSignature(0, *meter))
    if notes:
        track = symusic.Track("piano", 0, False)
        for tick, dur, pitch, vel in notes:
            track.notes.append(symusic.Note(tick, dur, pitch, vel))
        score.tracks.append(track)
    if hits:
        drums = symusic.Track("beat", 0, True)
        for tick in hits:
            drums.notes.append(symusic.Note(tick, TPQ // 8, 37, hit_velocity))
        score.tracks.append(drums)
    score.dump_midi(path)
    return path


def write_sine(
    path: Path, *, amplitude: float, seconds: float, rate: int = 48000, channels: int = 1
) -> np.ndarray:
    t = np.arange(round(seconds * rate)) / rate
    data = amplitude * np.sin(2 * np.pi * 1000.0 * t)
    data = np.repeat(data[:, None], channels, axis=1)
    soundfile.write(path, data, rate, subtype="FLOAT")
    return data


# --- tempo -------------------------------------------------------------------------------------

TEMPO_PATH = [(0, 120.0), (BAR_44, 100.0), (BAR_44 + TPQ, 60.0), (2 * BAR_44, 80.0)]


@pytest.mark.parametrize(
    ("planned", "expected"),
    [
        pytest.param([120, 100, 80], [0.0, 0.0, 0.0], id="exact"),
        # Bar 1's mid-bar change to 60 is not at a bar start, so bar 1 measures 100.
        pytest.param([120, 96, 85.5], [0.0, 4.0, 5.5], id="off-by-4-and-5.5"),
        # 110 BPM is stored as 545,455 µs per quarter = 109.99991 BPM, so 120 is 10.0001 away.
        pytest.param(
            [110, 100, 80, 80, 90], [10.0001, 0.0, 0.0, 0.0, 10.0], id="beyond-last-event"
        ),
        pytest.param([], [], id="nothing-planned"),
    ],
)
def test_tempo_deviation_per_bar(tmp_path: Path, planned: list[float], expected: list[float]):
    path = write_midi(tmp_path / "t.mid", tempos=TEMPO_PATH)
    assert adh.tempo_deviation_per_bar(path, planned, (4, 4)) == expected
    assert adh.max_tempo_deviation(path, planned, (4, 4)) == max(expected, default=0.0)


def test_tempo_bars_follow_the_meter(tmp_path: Path) -> None:
    # In 3/4 a bar is 1440 ticks: the change at tick 1920 lies inside bar 1, so bar 2 sees it.
    path = write_midi(tmp_path / "t.mid", tempos=TEMPO_PATH[:2], meter=(3, 4))
    assert adh.tempo_deviation_per_bar(path, [120, 120, 120], (3, 4)) == [0.0, 0.0, 20.0]


def test_tempo_without_events_is_the_midi_default(tmp_path: Path) -> None:
    path = write_midi(tmp_path / "t.mid", tempos=())
    assert adh.tempo_deviation_per_bar(path, [120, 90], (4, 4)) == [0.0, 30.0]


def test_tempo_rounding_of_microseconds_is_hidden(tmp_path: Path) -> None:
    # 70 BPM is 857142.86 µs per quarter; the file stores 857143 (69.99998 BPM).
    path = write_midi(tmp_path / "t.mid", tempos=[(0, 70.0)])
    assert adh.tempo_deviation_per_bar(path, [70.0, 70.0], (4, 4)) == [0.0, 0.0]


# --- beat jitter -------------------------------------------------------------------------------


def every_beat(n_bars: int, beats: int = 4, bar: int = BAR_44) -> list[int]:
    return [b * bar + i * (bar // beats) for b in range(n_bars) for i in range(beats)]


@pytest.mark.parametrize(
    ("tempos", "hits", "meter", "expected_ms"),
    [
        pytest.param([(0, 120.0)], every_beat(2), (4, 4), 0.0, id="steady-120"),
        pytest.param(
            [(0, 120.0), (BAR_44, 60.0), (2 * BAR_44, 70.0)],
            every_beat(3),
            (4, 4),
            0.0,
            id="changes-on-bar-lines",
        ),
        pytest.param(
            [(0, 90.0)], every_beat(3, beats=3, bar=3 * TPQ), (3, 4), 0.0, id="waltz-at-90"
        ),
        # 48 ticks = 0.1 quarter = 50 ms at 120 BPM.
        pytest.param([(0, 120.0)], [0, 480, 1008, 1440], (4, 4), 50.0, id="one-hit-late-50ms"),
        # 60 ticks early at 60 BPM (bar 1) = 0.125 s.
        pytest.param(
            [(0, 120.0), (BAR_44, 60.0)],
            [0, 480, BAR_44 + 420],
            (4, 4),
            125.0,
            id="early-after-change",
        ),
        # Mid-bar change to 80 at beat 2: the hit on beat 3 lands at 1.0 + 0.75 = 1.75 s,
        # between the ideal 1.5 s and 2.0 s.
        pytest.param(
            [(0, 120.0), (960, 80.0)], [0, 480, 960, 1440], (4, 4), 250.0, id="mid-bar-change"
        ),
    ],
)
def test_beat_onset_jitter(
    tmp_path: Path,
    tempos: list[tuple[int, float]],
    hits: list[int],
    meter: tuple[int, int],
    expected_ms: float,
) -> None:
    path = write_midi(tmp_path / "b.mid", tempos=tempos, hits=hits, meter=meter)
    assert adh.beat_onset_jitter_ms(path, meter) == expected_ms


def test_beat_jitter_without_drums_is_nan(scale_midi: Path) -> None:
    assert math.isnan(adh.beat_onset_jitter_ms(scale_midi, (4, 4)))


# --- notes ------------------------------------------------------------------------------------


def test_in_scale_share_and_velocity(tmp_path: Path) -> None:
    notes = [(i * TPQ, TPQ, p, 60 + i) for i, p in enumerate([60, 62, 64, 66])]  # F# is out
    path = write_midi(tmp_path / "n.mid", notes=notes, hits=[0, 480], hit_velocity=110)
    assert adh.in_scale_share(path, {0, 2, 4, 5, 7, 9, 11}) == 0.75  # drum C# not counted
    assert adh.max_velocity(path) == 110  # drums count for velocity


def test_empty_file(tmp_path: Path) -> None:
    path = write_midi(tmp_path / "e.mid")
    assert math.isnan(adh.in_scale_share(path, {0}))
    assert adh.max_velocity(path) == 0
    assert adh.duration_seconds(path) == 0.0


@pytest.mark.parametrize(("tempo", "seconds"), [(120.0, 4.0), (60.0, 8.0), (96.0, 5.0)])
def test_duration_seconds(tmp_path: Path, tempo: float, seconds: float) -> None:
    path = tmp_path / "s.mid"
    scale_score(tempo=tempo).dump_midi(path)
    assert adh.duration_seconds(path) == pytest.approx(seconds, abs=1e-6)


# --- audio ------------------------------------------------------------------------------------


@pytest.mark.parametrize("channels", [1, 2], ids=["mono", "stereo"])
@pytest.mark.parametrize("amplitude", [0.5, 0.1], ids=["-6dBFS", "-20dBFS"])
def test_wav_loudness(tmp_path: Path, amplitude: float, channels: int) -> None:
    path = tmp_path / "s.wav"
    data = write_sine(path, amplitude=amplitude, seconds=3.0, channels=channels)
    lufs, peak, duration = adh.wav_loudness(path)
    reference = pyloudnorm.Meter(48000).integrated_loudness(data)
    assert lufs == pytest.approx(reference, abs=0.1)
    # BS.1770: a full-scale 1 kHz mono sine reads −3.01 LUFS; each extra channel adds 3.01 dB.
    expected = 20 * math.log10(amplitude) - 3.01 + 10 * math.log10(channels)
    assert lufs == pytest.approx(expected, abs=0.1)
    assert peak == pytest.approx(20 * math.log10(amplitude), abs=0.05)
    assert duration == 3.0


def test_wav_edge_cases(tmp_path: Path) -> None:
    short = tmp_path / "short.wav"
    write_sine(short, amplitude=0.5, seconds=0.2)
    lufs, _, duration = adh.wav_loudness(short)
    assert math.isnan(lufs)
    assert duration == 0.2
    silent = tmp_path / "silent.wav"
    write_sine(silent, amplitude=0.0, seconds=1.0)
    lufs, peak, _ = adh.wav_loudness(silent)
    assert lufs == -math.inf
    assert peak == -math.inf


# --- report -----------------------------------------------------------------------------------


def test_measure_report(tmp_path: Path) -> None:
    notes = [(i * TPQ, TPQ, p, 70) for i, p in enumerate([60, 62, 64, 65, 60, 62, 64, 65])]
    midi = write_midi(
        tmp_path / "s.mid",
        tempos=[(0, 120.0), (BAR_44, 60.0)],
        notes=notes,
        hits=every_beat(2),
    )
    wav = tmp_path / "s.wav"
    write_sine(wav, amplitude=0.1, seconds=6.0)
    report = adh.measure(
        midi,
        wav,
        planned_bpm=[120.0, 64.0],
        meter=(4, 4),
        scale_pcs={0, 2, 4, 5, 7, 9, 11},
        target_lufs=-20.0,
        requested_seconds=7.5,
        bar_seconds=2.0,
        undecodable=3,
    )
    assert report.max_tempo_deviation_bpm == 4.0
    assert report.in_scale_share == 1.0
    assert report.max_velocity == 100
    assert report.loudness_error_lu == pytest.approx(abs(report.loudness_lufs + 20.0))
    assert report.loudness_lufs == pytest.approx(-23.01, abs=0.1)
    assert report.true_peak_dbtp == pytest.approx(-20.0, abs=0.05)
    assert (report.duration_s, report.duration_error_s) == (6.0, 1.5)
    assert report.duration_within_one_bar
    assert report.beat_jitter_ms == 0.0
    assert report.undecodable_sequences == 3
    assert report.pitch_class_entropy == 2.0
    assert report.repeated_material_share == 0.5
    d = report.to_dict()
    assert set(d) == set(report.__dataclass_fields__)
    json.dumps(d, allow_nan=False)


def test_measure_without_wav_uses_midi_duration(tmp_path: Path, scale_midi: Path) -> None:
    report = adh.measure(
        scale_midi,
        None,
        planned_bpm=[120.0, 120.0],
        meter=(4, 4),
        scale_pcs=range(12),
        target_lufs=-23.0,
        requested_seconds=10.0,
        bar_seconds=2.0,
        undecodable=0,
    )
    assert report.duration_s == 4.0
    assert report.duration_error_s == 6.0
    assert not report.duration_within_one_bar
    d = report.to_dict()
    assert d["loudness_lufs"] is None
    assert d["true_peak_dbtp"] is None
    assert d["beat_jitter_ms"] is None  # no beat track
    json.dumps(d, allow_nan=False)


def test_bad_meter_is_a_value_error(scale_midi: Path) -> None:
    with pytest.raises(ValueError, match="meter"):
        adh.tempo_deviation_per_bar(scale_midi, [120.0], (0, 4))
