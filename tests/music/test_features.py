"""Feature values checked by hand on small fixtures."""

import math

import numpy as np
import pytest
import symusic
from tests.conftest import scale_score

from cadence.music.features import (
    arousal_estimate,
    bar_features,
    ioi_cv,
    piece_features,
    syncopation,
    valence_estimate,
)
from cadence.music.keys import estimate_key, transpose_interval


def test_c_major_scale_features() -> None:
    f = piece_features(scale_score(tempo=120.0))
    assert (f.key_tonic, f.mode) == (0, "major")
    assert f.tempo_bpm == 120.0
    assert f.meter == "4/4"
    assert f.n_notes == 8
    assert f.duration_beats == 8.0  # eight quarter notes
    assert f.duration_seconds == 4.0  # at 120 BPM
    assert f.density == 1.0  # one note per beat
    assert (f.pitch_min, f.pitch_max, f.pitch_range) == (60, 72, 12)
    assert f.mean_pitch == pytest.approx(sum([60, 62, 64, 65, 67, 69, 71, 72]) / 8, abs=1e-3)
    assert (f.velocity_mean, f.velocity_std, f.velocity_max) == (80.0, 0.0, 80)
    assert f.ioi_cv == 0.0  # perfectly regular
    assert f.syncopation == 0.0  # every onset on the beat


def test_bar_features_split_the_scale_into_two_bars() -> None:
    bars = bar_features(scale_score())
    assert [(b.start, b.length, b.n_notes) for b in bars] == [(0.0, 4.0, 4), (4.0, 4.0, 4)]
    assert bars[0].mean_pitch == pytest.approx((60 + 62 + 64 + 65) / 4)
    assert bars[0].density == 1.0


@pytest.mark.parametrize(
    ("pitches", "expected"),
    [
        pytest.param([57, 59, 60, 62, 64, 65, 67, 69, 57, 64, 57], (9, "minor"), id="a-minor"),
        pytest.param([67, 69, 71, 72, 74, 76, 78, 79, 67, 74, 67], (7, "major"), id="g-major"),
    ],
)
def test_krumhansl_schmuckler_key(pitches: list[int], expected: tuple[int, str]) -> None:
    tonic, mode, corr = estimate_key(np.array(pitches))
    assert (tonic, mode) == expected
    assert corr > 0.5


def test_key_of_empty_input_is_documented_default() -> None:
    assert estimate_key(np.array([])) == (0, "major", 0.0)


@pytest.mark.parametrize(
    ("tonic", "mode", "shift"),
    [(7, "major", 5), (2, "major", -2), (9, "minor", 0), (4, "minor", 5), (6, "major", 6)],
)
def test_transpose_to_c_major_or_a_minor(tonic: int, mode: str, shift: int) -> None:
    assert transpose_interval(tonic, mode) == shift


def test_ioi_cv_of_long_short_pattern() -> None:
    # onsets 0, 1, 1.5, 2.5, 3: intervals 1, .5, 1, .5 -> mean .75, std .25
    assert ioi_cv(np.array([0, 1, 1.5, 2.5, 3.0])) == pytest.approx(0.25 / 0.75)


def test_syncopation_counts_offbeat_notes_held_over_the_beat() -> None:
    # onsets 0, 0.5 (held over beat 1 until 2), 2, 3 -> one of four is syncopated
    assert syncopation(np.array([0.0, 0.5, 2.0, 3.0])) == 0.25
    assert syncopation(np.array([0.0, 0.5, 1.0])) == 0.0  # off-beat but beat 1 is struck


def test_arousal_and_valence_rules() -> None:
    assert arousal_estimate(90.0, 2.0, 64.0) == 0.0
    assert arousal_estimate(140.0, 4.0, 104.0) == 1.0
    assert arousal_estimate(40.0, 0.0, 24.0) == -1.0
    assert valence_estimate("major", 1.0, 90.0) == 0.7
    assert valence_estimate("minor", 1.0, 40.0) == -1.0
    assert math.isclose(arousal_estimate(90.0, 2.0, float("nan")), 0.0)


def test_empty_score_has_zero_features() -> None:
    f = piece_features(symusic.Score(480))
    assert f.n_notes == 0 and f.density == 0.0 and math.isnan(f.mean_pitch)
