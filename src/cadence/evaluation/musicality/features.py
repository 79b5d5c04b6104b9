"""The musicality features, gathered: per-excerpt vectors and per-piece figures.

Every feature is a pure function ``feature(score) -> float`` over a ``symusic.Score`` in
ticks, defined (with its edge cases and source) in the module of its kind:

- ``melodic``: step, leap and repeat shares, contour changes, pitch range, interval entropy,
  overlapping melody notes;
- ``rhythmic``: share of onsets on the meter's grid, note values, bar-to-bar rhythmic
  repetition, onset density;
- ``harmonic``: strong-beat chord tones, consonance of simultaneities, chord vocabulary;
- ``texture``: share of bars each part sounds in, polyphony per part;
- ``structure``: repetition at phrase lags, distinct phrases.

How long sessions and short tunes are made comparable. A session runs 5–30 minutes (75–700
bars); a real tune 8–64 bars. Features that count or saturate with length (pitch range,
chord vocabulary, entropies, repetition) would then tell the two apart by length alone. So
each piece is cut into non-overlapping excerpts of ``EXCERPT_BARS`` = 8 bars (two 4-bar
phrases; a piece shorter than that is one excerpt), and :data:`EXCERPT_FEATURES` are computed
per excerpt: a tune gives 1–8 excerpts, a 5-minute session 10–30. Structure needs the whole
piece (does the session loop or wander over minutes?), so :data:`PIECE_FEATURES` are computed
on whole pieces with length-free definitions (mean similarity at a lag, share of distinct
phrases). Counts whose meaning is the total (overlapping melody notes, distinct phrases per
5 minutes) and the texture of the prescribed parts are reported per piece by
:func:`piece_figures`, not compared as distributions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import symusic

from cadence.evaluation.musicality import harmonic, melodic, rhythmic, structure, texture
from cadence.evaluation.musicality.parts import excerpts, n_bars

EXCERPT_BARS = 8

Feature = Callable[[symusic.Score], float]


def _short(score: symusic.Score) -> float:
    return rhythmic.note_value_shares(score)["short"]


def _long(score: symusic.Score) -> float:
    return rhythmic.note_value_shares(score)["long"]


def _lag(lag: int) -> Feature:
    def feature(score: symusic.Score) -> float:
        return structure.repetition_at_lag(score, lag)

    feature.__name__ = f"repetition_lag{lag}"
    return feature


# Per excerpt: compared as distributions (overlap) and by the classifier two-sample test.
EXCERPT_FEATURES: dict[str, Feature] = {
    "step_share": melodic.step_share,
    "leap_share": melodic.leap_share,
    "repeat_share": melodic.repeat_share,
    "contour_changes": melodic.contour_changes,
    "pitch_range": melodic.pitch_range,
    "interval_entropy": melodic.interval_entropy,
    "overlap_share": melodic.overlap_share,
    "on_grid_share": rhythmic.on_grid_share,
    "note_value_entropy": rhythmic.note_value_entropy,
    "short_note_share": _short,
    "long_note_share": _long,
    "rhythmic_repetition": rhythmic.rhythmic_repetition,
    "onset_density": rhythmic.onset_density,
    "chord_tone_share": harmonic.chord_tone_share,
    "consonance": harmonic.consonance,
    "chord_vocabulary": harmonic.chord_vocabulary,
    "chord_entropy": harmonic.chord_entropy,
    "repetition_lag4": _lag(4),
}
FEATURE_GROUPS: dict[str, tuple[str, ...]] = {
    "melody": (
        "step_share", "leap_share", "repeat_share", "contour_changes", "pitch_range",
        "interval_entropy", "overlap_share",
    ),
    "rhythm": (
        "on_grid_share", "note_value_entropy", "short_note_share", "long_note_share",
        "rhythmic_repetition", "onset_density",
    ),
    "harmony": ("chord_tone_share", "consonance", "chord_vocabulary", "chord_entropy"),
    "structure": ("repetition_lag4",),
}  # fmt: skip

# Per whole piece: compared as distributions (overlap) only.
PIECE_FEATURES: dict[str, Feature] = {
    "piece_repetition_lag4": _lag(4),
    "piece_repetition_lag8": _lag(8),
    "distinct_phrase_share": structure.distinct_phrase_share,
}


def excerpt_features(score: symusic.Score, bars: int = EXCERPT_BARS) -> list[dict[str, float]]:
    """One dict of :data:`EXCERPT_FEATURES` per ``bars``-bar excerpt of ``score`` (see the
    module doc); an empty list for a score without notes."""
    return [
        {name: float(fn(part)) for name, fn in EXCERPT_FEATURES.items()}
        for part in excerpts(score, bars)
    ]


def piece_features(score: symusic.Score) -> dict[str, float]:
    """:data:`PIECE_FEATURES` of the whole score (NaN where undefined, e.g. no melody)."""
    return {name: float(fn(score)) for name, fn in PIECE_FEATURES.items()}


def piece_figures(score: symusic.Score, parts: Iterable[str]) -> dict:
    """Per-piece figures reported as they are: bars, seconds, overlapping melody notes,
    distinct phrases per 5 minutes, and for each part in ``parts`` the share of bars it
    sounds in (0.0 if the score lacks it) and its mean polyphony (NaN if it lacks it)."""
    parts = list(parts)
    return {
        "bars": n_bars(score),
        "seconds": structure.duration_seconds(score),
        "overlapping_melody_notes": melodic.overlapping_notes(score),
        "distinct_phrases_per_5min": structure.distinct_phrases_per_5min(score),
        "sounding_share": {p: texture.sounding_share(score, p) for p in parts},
        "polyphony": {p: texture.polyphony(score, p) for p in parts},
    }
