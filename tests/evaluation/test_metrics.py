"""Metric values checked by hand on small fixtures (MusPy-style exact assertions)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import pytest
import symusic
from tests.conftest import scale_score

from cadence.evaluation import metrics as m

TPQ = 480


def build(
    notes: list[tuple[float, float, int]],
    *,
    drums: Sequence[tuple[float, float, int]] = (),
    meter: tuple[int, int] = (4, 4),
) -> symusic.Score:
    """A score from (onset, duration, pitch) in quarter notes, plus an optional drum track."""
    score = symusic.Score(TPQ)
    score.tempos.append(symusic.Tempo(0, 120.0))
    score.time_signatures.append(symusic.TimeSignature(0, *meter))
    for name, items, is_drum in (("piano", notes, False), ("drums", drums, True)):
        if not items:
            continue
        track = symusic.Track(name, 0, is_drum)
        for onset, dur, pitch in items:
            track.notes.append(symusic.Note(round(onset * TPQ), round(dur * TPQ), pitch, 80))
        score.tracks.append(track)
    return score


def empty_score() -> symusic.Score:
    return symusic.Score(TPQ)


def empty_track_score() -> symusic.Score:
    score = symusic.Score(TPQ)
    score.tracks.append(symusic.Track("silent", 0, False))
    return score


def chord() -> symusic.Score:
    """C major triad, one whole note."""
    return build([(0, 4, 60), (0, 4, 64), (0, 4, 67)])


REST_NOTES = [(0, 1, 60), (2, 1, 62), (3, 0.5, 64), (6, 2, 65)]


def with_rests() -> symusic.Score:
    """Beats 1, 4 and 5 (counting from 0) are silent; the piece ends at beat 8."""
    return build(REST_NOTES)


def rests_filled_by_drums() -> symusic.Score:
    """The rests of :func:`with_rests` filled by drum hits with very off-scale 'pitches'."""
    return build(REST_NOTES, drums=[(1, 0.25, 37), (4, 0.25, 37), (5, 0.25, 49)])


def transposed_repeat() -> symusic.Score:
    """Bar 2 repeats bar 1 a tone higher; bar 3 has the same pitches in another rhythm."""
    bar = [(0, 1, 0), (1, 1, 4), (2, 2, 7)]
    notes = [(t, d, 60 + p) for t, d, p in bar]
    notes += [(4 + t, d, 62 + p) for t, d, p in bar]
    notes += [(8, 2, 60), (10, 1, 64), (11, 1, 67)]
    return build(notes)


def overlap() -> symusic.Score:
    """C4 for two beats, E4 joining for the second: one pitch, then two."""
    return build([(0, 2, 60), (1, 1, 64)])


FIXTURES: dict[str, Callable[[], symusic.Score]] = {
    "c-major-scale": scale_score,
    "chord": chord,
    "with-rests": with_rests,
    "rests-filled-by-drums": rests_filled_by_drums,
    "transposed-repeat": transposed_repeat,
    "overlap": overlap,
    "empty": empty_score,
    "empty-track": empty_track_score,
}

NAN = math.nan
# Hand-checked values. Entropy of the scale: C twice in 8 notes, six classes once each:
# −(¼·log2 ¼ + 6·⅛·log2 ⅛) = 0.5 + 2.25 = 2.75 bits.
EXPECTED: dict[str, dict[str, float]] = {
    "c-major-scale": {
        "pitch_range": 12,
        "n_pitch_classes_used": 7,
        "pitch_class_entropy": 2.75,
        "scale_consistency": 1.0,
        "polyphony": 1.0,
        "polyphony_rate": 0.0,
        "empty_beat_rate": 0.0,
        "groove_consistency": 1.0,
        "ioi_mean": 1.0,
        "ioi_std": 0.0,
        "note_density": 1.0,
        "repeated_material_share": 0.5,  # G A B C repeats C D E F
    },
    "chord": {
        "pitch_range": 7,
        "n_pitch_classes_used": 3,
        "pitch_class_entropy": math.log2(3),
        "scale_consistency": 1.0,
        "polyphony": 3.0,
        "polyphony_rate": 1.0,
        "empty_beat_rate": 0.0,
        "groove_consistency": NAN,
        "ioi_mean": NAN,
        "ioi_std": NAN,
        "note_density": 0.75,
        "repeated_material_share": 0.0,
    },
    "with-rests": {
        # onsets 0, 2, 3, 6 -> IOIs 2, 1, 3; bar onset steps {0, 8, 12} vs {8}: Hamming 2.
        "pitch_range": 5,
        "n_pitch_classes_used": 4,
        "pitch_class_entropy": 2.0,
        "scale_consistency": 1.0,
        "polyphony": 1.0,
        "polyphony_rate": 0.0,
        "empty_beat_rate": 3 / 8,
        "groove_consistency": 1 - 2 / 16,
        "ioi_mean": 2.0,
        "ioi_std": math.sqrt(2 / 3),
        "note_density": 0.5,
        "repeated_material_share": 0.0,
    },
    "rests-filled-by-drums": {
        # Drums fill the empty beats and change the groove ({0,4,8,12} vs {0,4,8}), nothing else.
        "pitch_range": 5,
        "n_pitch_classes_used": 4,
        "pitch_class_entropy": 2.0,
        "scale_consistency": 1.0,
        "polyphony": 1.0,
        "polyphony_rate": 0.0,
        "empty_beat_rate": 0.0,
        "groove_consistency": 1 - 1 / 16,
        "ioi_mean": 2.0,
        "ioi_std": math.sqrt(2 / 3),
        "note_density": 0.5,
        "repeated_material_share": 0.0,
    },
    "transposed-repeat": {
        # C E G | D F# A | C E G: all in G major; IOIs 1 1 2 1 1 2 2 1; bar steps
        # {0,4,8} {0,4,8} {0,8,12}: Hamming 0 then 2.
        "pitch_range": 9,
        "n_pitch_classes_used": 6,
        "pitch_class_entropy": -(3 * 2 / 9 * math.log2(2 / 9) + 3 * 1 / 9 * math.log2(1 / 9)),
        "scale_consistency": 1.0,
        "polyphony": 1.0,
        "polyphony_rate": 0.0,
        "empty_beat_rate": 0.0,
        "groove_consistency": 1 - 2 / 32,
        "ioi_mean": 11 / 8,
        "ioi_std": math.sqrt(0.234375),
        "note_density": 0.75,
        "repeated_material_share": 1 / 3,
    },
    "overlap": {
        "pitch_range": 4,
        "n_pitch_classes_used": 2,
        "pitch_class_entropy": 1.0,
        "scale_consistency": 1.0,
        "polyphony": 1.5,
        "polyphony_rate": 0.0,
        "empty_beat_rate": 0.0,
        "groove_consistency": NAN,
        "ioi_mean": 1.0,
        "ioi_std": 0.0,
        "note_density": 1.0,
        "repeated_material_share": 0.0,
    },
}
EMPTY = {
    "pitch_range": 0,
    "n_pitch_classes_used": 0,
    "pitch_class_entropy": NAN,
    "scale_consistency": NAN,
    "polyphony": NAN,
    "polyphony_rate": NAN,
    "empty_beat_rate": NAN,
    "groove_consistency": NAN,
    "ioi_mean": NAN,
    "ioi_std": NAN,
    "note_density": NAN,
    "repeated_material_share": NAN,
}
EXPECTED["empty"] = EMPTY
EXPECTED["empty-track"] = EMPTY

CASES = [
    pytest.param(fixture, metric, value, id=f"{fixture}-{metric}")
    for fixture, values in EXPECTED.items()
    for metric, value in values.items()
]


def assert_value(actual: float, expected: float) -> None:
    assert isinstance(actual, float)
    if math.isnan(expected):
        assert math.isnan(actual)
    else:
        assert actual == pytest.approx(expected, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize(("fixture", "metric", "expected"), CASES)
def test_metric_exact_value(fixture: str, metric: str, expected: float) -> None:
    assert_value(getattr(m, metric)(FIXTURES[fixture]()), expected)


@pytest.mark.parametrize("unit", ["quarter", "second"])
@pytest.mark.parametrize("fixture", ["c-major-scale", "with-rests", "transposed-repeat"])
def test_metrics_do_not_depend_on_time_unit(fixture: str, unit: str) -> None:
    score = FIXTURES[fixture]()
    other = score.to(unit)
    for metric in EMPTY:
        assert_value(getattr(m, metric)(other), getattr(m, metric)(score))


@pytest.mark.parametrize(
    ("scale_pcs", "expected"),
    [
        pytest.param({0, 2, 4, 5, 7, 9, 11}, 1.0, id="c-major"),
        pytest.param({0, 2, 3, 5, 7, 8, 10}, 5 / 8, id="c-minor"),  # E, A, B are out
        pytest.param(set(), 0.0, id="no-scale"),
    ],
)
def test_in_scale_share_of_the_scale(scale_pcs: set[int], expected: float) -> None:
    assert m.in_scale_share(scale_score(), scale_pcs) == expected


def test_in_scale_share_ignores_drums_and_empty_is_nan() -> None:
    assert m.in_scale_share(rests_filled_by_drums(), {0, 2, 4, 5}) == 1.0
    assert math.isnan(m.in_scale_share(empty_score(), {0}))


def test_polyphony_rate_threshold() -> None:
    assert m.polyphony_rate(overlap(), threshold=1) == 0.5
    assert m.polyphony_rate(chord(), threshold=3) == 0.0


def test_groove_consistency_steps_per_bar() -> None:
    # On a quarter-note grid the two bars of with_rests are {0, 2, 3} and {2}: Hamming 2 of 4.
    assert m.groove_consistency(with_rests(), steps_per_bar=4) == 0.5
    with pytest.raises(ValueError, match="steps_per_bar"):
        m.groove_consistency(with_rests(), steps_per_bar=-1)


def test_repeated_material_follows_the_meter() -> None:
    # Six quarter notes C D C D C D: in 2/4 the last two bars repeat the first; in 3/4
    # the bars are C D C and D C D, whose shapes (up-down, down-up) differ.
    notes = [(i, 1, 60 + 2 * (i % 2)) for i in range(6)]
    assert m.repeated_material_share(build(notes, meter=(2, 4))) == 2 / 3
    assert m.repeated_material_share(build(notes, meter=(3, 4))) == 0.0


def test_ioi_of_triplets_is_exact() -> None:
    # Onsets a third of a beat apart (160 ticks) give exactly equal intervals: std 0.
    triplets = build([(k / 3, 1 / 3, 60 + k) for k in range(12)])
    assert m.ioi_mean(triplets) == 1 / 3
    assert m.ioi_std(triplets) == 0.0
