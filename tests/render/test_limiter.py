"""Loudness normalisation reaches its target even when sharp peaks would break the ceiling."""

from __future__ import annotations

import numpy as np
import pytest

from cadence.render.audio import normalize
from cadence.render.loudness import integrated_lufs, true_peak_dbtp

RATE = 44100


def _tone_with_clicks(seconds: float = 20.0) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    data = 0.05 * np.sin(2 * np.pi * 220 * t)
    for beat in np.arange(0.0, seconds, 0.6):  # a click on every beat, like a metronome layer
        i = int(beat * RATE)
        data[i : i + 40] += 0.9 * np.hanning(40)
    return np.stack([data, data], axis=1).astype(np.float32)


@pytest.mark.parametrize("target", [-30.0, -18.0, -14.0])
def test_target_met_under_the_true_peak_ceiling(target: float) -> None:
    data, lufs, peak = normalize(_tone_with_clicks(), RATE, target, -1.0)
    assert abs(lufs - target) <= 0.1
    assert lufs <= target + 1e-6
    assert peak <= -1.0 + 1e-6
    assert integrated_lufs(data, RATE) == pytest.approx(lufs, abs=0.02)
    assert true_peak_dbtp(data) <= -1.0 + 1e-3


def test_silence_is_left_alone() -> None:
    silent = np.zeros((RATE * 2, 2), dtype=np.float32)
    data, lufs, _ = normalize(silent, RATE, -20.0, -1.0)
    assert not np.isfinite(lufs)
    assert not data.any()
