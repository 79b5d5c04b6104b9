"""Audio analysis of favourite songs on synthesised audio of known tempo and key."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile

from cadence.errors import CadenceError
from cadence.music.audio_analysis import analyze_audio, prescription_seeds

SR = 22050


def click_track(bpm: float, seconds: float = 16.0, amplitude: float = 0.5) -> np.ndarray:
    """A 1 kHz click (20 ms, decaying) on every beat."""
    y = np.zeros(int(SR * seconds))
    n = int(0.02 * SR)
    click = np.sin(2 * np.pi * 1000 * np.arange(n) / SR) * np.exp(-np.arange(n) / 200)
    for t in np.arange(0.0, seconds - 0.05, 60.0 / bpm):
        i = int(t * SR)
        y[i : i + n] += click
    return amplitude * y


def chord_progression(chords: list[list[int]], seconds_each: float = 1.0) -> np.ndarray:
    """Sine chords (fundamental + two weaker harmonics) for MIDI pitches, one after another,
    each with a short attack and release."""
    parts = []
    t = np.arange(int(SR * seconds_each)) / SR
    env = np.minimum(1.0, np.minimum(t / 0.02, (seconds_each - t) / 0.05))
    for chord in chords:
        y = np.zeros_like(t)
        for pitch in chord:
            f = 440.0 * 2 ** ((pitch - 69) / 12)
            y += sum(np.sin(2 * np.pi * f * h * t) / h**2 for h in (1, 2, 3))
        parts.append(env * y / len(chord))
    return 0.3 * np.concatenate(parts)


# D major: D-F#-A, G-B-D, A-C#-E, D-F#-A (I IV V I), twice.
D_MAJOR = [[62, 66, 69], [67, 71, 74], [69, 73, 76], [62, 66, 69]] * 2
# A minor, harmonic: Am, Dm, E (with G#), Am (i iv V i), twice.
A_MINOR = [[57, 60, 64], [62, 65, 69], [64, 68, 71], [57, 60, 64]] * 2


@pytest.mark.parametrize("bpm", [72.0, 100.0, 132.0])
def test_tempo_of_a_click_track(tmp_path: Path, bpm: float) -> None:
    path = tmp_path / "click.wav"
    soundfile.write(path, click_track(bpm), SR)
    a = analyze_audio(path)
    assert a.tempo_bpm == pytest.approx(bpm, rel=0.03)
    assert a.duration_s == pytest.approx(16.0, abs=0.01)


@pytest.mark.parametrize(
    ("chords", "tonic", "mode"),
    [
        pytest.param(D_MAJOR, 2, "major", id="D-major"),
        pytest.param(A_MINOR, 9, "minor", id="A-minor"),
    ],
)
def test_key_and_mode_of_sine_chords(
    tmp_path: Path, chords: list[list[int]], tonic: int, mode: str
) -> None:
    path = tmp_path / "chords.wav"
    soundfile.write(path, chord_progression(chords), SR)
    a = analyze_audio(path)
    assert (a.key_tonic, a.mode) == (tonic, mode)
    assert a.key_correlation > 0.5


@pytest.mark.parametrize("fmt", ["OGG", "MP3"])
def test_compressed_formats_are_read(tmp_path: Path, fmt: str) -> None:
    if fmt not in soundfile.available_formats():
        pytest.skip(f"libsndfile here cannot write {fmt}")
    path = tmp_path / f"click.{fmt.lower()}"
    soundfile.write(path, click_track(100.0), SR, format=fmt)
    assert analyze_audio(path).tempo_bpm == pytest.approx(100.0, rel=0.03)


def test_faster_louder_music_has_higher_arousal(tmp_path: Path) -> None:
    slow, fast = tmp_path / "slow.wav", tmp_path / "fast.wav"
    soundfile.write(slow, click_track(60.0, amplitude=0.05), SR)
    soundfile.write(fast, click_track(140.0, amplitude=0.8), SR)
    a_slow, a_fast = analyze_audio(slow), analyze_audio(fast)
    assert a_fast.loudness_lufs > a_slow.loudness_lufs + 20
    assert a_fast.arousal > a_slow.arousal
    assert -1.0 <= a_slow.arousal <= 1.0 and -1.0 <= a_fast.arousal <= 1.0


def test_prescription_seeds(tmp_path: Path) -> None:
    path = tmp_path / "chords.wav"
    soundfile.write(path, chord_progression(A_MINOR), SR)
    seeds = prescription_seeds(analyze_audio(path))
    assert seeds["key"] == "A minor" and seeds["mode"] == "minor" and seeds["key_tonic"] == 9
    assert set(seeds) == {"tempo_bpm", "key", "key_tonic", "mode", "arousal"}


@pytest.mark.parametrize("name", ["garbage.mp3", "garbage.wav", "garbage.ogg"])
def test_unreadable_audio_names_the_file(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(b"not audio at all " * 100)
    with pytest.raises(CadenceError, match=name):
        analyze_audio(path)


def test_missing_silent_and_short_files(tmp_path: Path) -> None:
    with pytest.raises(CadenceError, match="does not exist"):
        analyze_audio(tmp_path / "nothing.wav")
    silent = tmp_path / "silent.wav"
    soundfile.write(silent, np.zeros(SR * 3), SR)
    with pytest.raises(CadenceError, match="silent"):
        analyze_audio(silent)
    short = tmp_path / "short.wav"
    soundfile.write(short, click_track(100.0, seconds=0.5), SR)
    with pytest.raises(CadenceError, match="shorter"):
        analyze_audio(short)
