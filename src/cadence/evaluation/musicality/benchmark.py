"""The musicality benchmark: generated pieces against real pieces, per goal, with a sanity row.

For each goal (or one group "all" for pieces without a goal), the generated pieces are
measured (``features.py``: per-excerpt features, per-piece structure and texture figures)
and compared with that goal's reference pieces:

- the classifier two-sample test on the excerpt features (``twosample.py``), excerpts
  grouped by piece in the folds;
- the overlapping area of each feature's distribution with the reference's (per excerpt for
  excerpt features, per piece for the structure features); the *mean overlap* is the mean
  over the features the test used and the structure features, wherever it is defined;
- texture and monophony as figures: per prescribed part, the share of bars it sounds in
  (mean and worst piece) and its polyphony; overlapping melody notes; distinct phrases per
  5 minutes.

The sanity row is always computed: the reference pieces split at random (seeded) into two
halves by piece, one half compared with the other in the same way, averaged over several
halvings. Its two-sample accuracy should be near 0.5 and its overlaps high; a generated set
can hardly be expected to beat it.

Everything returned is plain data (dicts, lists, numbers; NaN for undefined), and
:func:`to_json_data` turns NaN into ``None`` for JSON.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from cadence.evaluation.musicality.features import (
    EXCERPT_BARS,
    EXCERPT_FEATURES,
    PIECE_FEATURES,
    excerpt_features,
    piece_features,
    piece_figures,
)
from cadence.evaluation.musicality.pieces import Piece
from cadence.evaluation.musicality.twosample import (
    REPEATS,
    classifier_two_sample_test,
    feature_overlaps,
)

# The targets of issue 15, per goal (6 goals x >= 10 seeds, 5-minute sessions).
TARGETS = {
    "c2st_accuracy_max": 0.70,
    "mean_overlap_min": 0.80,
    "sounding_share_min": 0.90,
    "overlapping_melody_notes_max": 0,
}

ProgressFn = Callable[[int, int], None]


@dataclass
class Measured:
    """The features of a set of pieces: rows per excerpt (with the piece each came from) and
    per piece."""

    names: list[str] = field(default_factory=list)
    excerpts: list[dict[str, float]] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)  # piece name of each excerpt row
    whole: list[dict[str, float]] = field(default_factory=list)
    figures: list[dict] = field(default_factory=list)
    parts: list[tuple[str, ...]] = field(default_factory=list)

    def subset(self, keep: set[str]) -> Measured:
        """The pieces named in ``keep``, with their excerpts."""
        out = Measured()
        for i, name in enumerate(self.names):
            if name in keep:
                out.names.append(name)
                out.whole.append(self.whole[i])
                out.figures.append(self.figures[i])
                out.parts.append(self.parts[i])
        for row, group in zip(self.excerpts, self.groups, strict=True):
            if group in keep:
                out.excerpts.append(row)
                out.groups.append(group)
        return out


def measure(
    pieces: Sequence[Piece], *, bars: int = EXCERPT_BARS, on_piece: ProgressFn | None = None
) -> Measured:
    """Excerpt features, piece features and piece figures of every piece."""
    out = Measured()
    for i, piece in enumerate(pieces, start=1):
        rows = excerpt_features(piece.score, bars)
        out.names.append(piece.name)
        out.excerpts += rows
        out.groups += [piece.name] * len(rows)
        out.whole.append(piece_features(piece.score))
        out.figures.append(piece_figures(piece.score, piece.parts))
        out.parts.append(piece.parts)
        if on_piece:
            on_piece(i, len(pieces))
    return out


def _mean(values: Sequence[float]) -> float:
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    return float(x.mean()) if len(x) else math.nan


def compare(
    generated: Measured, reference: Measured, *, seed: int = 0, repeats: int = REPEATS
) -> dict:
    """Two-sample test (``repeats`` runs, averaged), per-feature overlap and feature means of
    ``generated`` against ``reference`` (see the module doc)."""
    test = classifier_two_sample_test(
        generated.excerpts,
        reference.excerpts,
        groups_a=generated.groups,
        groups_b=reference.groups,
        features=list(EXCERPT_FEATURES),
        repeats=repeats,
        seed=seed,
    )
    overlap = feature_overlaps(generated.excerpts, reference.excerpts, list(EXCERPT_FEATURES))
    overlap |= feature_overlaps(generated.whole, reference.whole, list(PIECE_FEATURES))
    means = {}
    for name in EXCERPT_FEATURES:
        means[name] = (
            _mean([r[name] for r in generated.excerpts]),
            _mean([r[name] for r in reference.excerpts]),
        )
    for name in PIECE_FEATURES:
        means[name] = (
            _mean([r[name] for r in generated.whole]),
            _mean([r[name] for r in reference.whole]),
        )
    compared = [*test.features, *PIECE_FEATURES]
    return {
        "pieces": [len(generated.names), len(reference.names)],
        "excerpts": [len(generated.excerpts), len(reference.excerpts)],
        "c2st": test.to_dict(),
        "mean_overlap": _mean([overlap[n] for n in compared]),
        "overlap": overlap,
        "means": {n: {"generated": g, "reference": r} for n, (g, r) in means.items()},
    }


def halves(measured: Measured, *, seed: int = 0) -> tuple[Measured, Measured]:
    """The pieces split at random into two halves (the first gets the odd one)."""
    order = np.random.default_rng(seed).permutation(len(measured.names))
    cut = (len(order) + 1) // 2
    first = {measured.names[i] for i in order[:cut]}
    second = {measured.names[i] for i in order[cut:]}
    return measured.subset(first), measured.subset(second)


def sanity(reference: Measured, *, seed: int = 0, splits: int = REPEATS) -> dict:
    """The reference against itself: ``splits`` random halvings (seeds ``seed``, ``seed + 1``,
    ...), one half compared with the other by one two-sample run each; the accuracy is the
    mean (and standard deviation) over the halvings, overlaps and means are averaged."""
    runs = [
        compare(*halves(reference, seed=seed + r), seed=seed + r, repeats=1) for r in range(splits)
    ]
    out = runs[0]
    acc = [r["c2st"]["accuracy"] for r in runs]
    out["c2st"] = {
        **out["c2st"],
        "accuracy": _mean(acc),
        "accuracy_sd": float(np.nanstd(acc)) if np.isfinite(acc).any() else math.nan,
        "repeats": splits,
        "per_class": min(r["c2st"]["per_class"] for r in runs),
        "grouped": all(r["c2st"]["grouped"] for r in runs),
    }
    out["mean_overlap"] = _mean([r["mean_overlap"] for r in runs])
    out["overlap"] = {n: _mean([r["overlap"][n] for r in runs]) for n in out["overlap"]}
    out["means"] = {
        n: {k: _mean([r["means"][n][k] for r in runs]) for k in ("generated", "reference")}
        for n in out["means"]
    }
    return out


def texture(measured: Measured) -> dict:
    """Texture and monophony figures over the pieces: per part (among each piece's own or
    prescribed parts) the mean and the worst share of bars it sounds in and its mean
    polyphony; overlapping melody notes (total and worst piece); distinct phrases per 5
    minutes (mean)."""
    parts: dict[str, None] = {}
    for p in measured.parts:
        parts.update(dict.fromkeys(p))
    per_part = {}
    for part in parts:
        shares = [
            f["sounding_share"][part] for f in measured.figures if part in f["sounding_share"]
        ]
        poly = [f["polyphony"][part] for f in measured.figures if part in f["polyphony"]]
        finite = [s for s in shares if math.isfinite(s)]
        per_part[part] = {
            "pieces": len(shares),
            "sounding_share_mean": _mean(shares),
            "sounding_share_min": min(finite) if finite else math.nan,
            "polyphony_mean": _mean(poly),
        }
    overlaps = [int(f["overlapping_melody_notes"]) for f in measured.figures]
    return {
        "parts": per_part,
        "overlapping_melody_notes_total": sum(overlaps),
        "overlapping_melody_notes_max": max(overlaps, default=0),
        "distinct_phrases_per_5min_mean": _mean(
            [f["distinct_phrases_per_5min"] for f in measured.figures]
        ),
        "minutes_mean": _mean([f["seconds"] / 60 for f in measured.figures]),
    }


def targets(comparison: dict, texture_figures: dict) -> dict[str, bool | None]:
    """Which of the issue's targets (:data:`TARGETS`) a goal's result meets (None: the figure
    is undefined)."""

    def check(value: float, ok: Callable[[float], bool]) -> bool | None:
        return None if not math.isfinite(value) else bool(ok(value))

    worst_part = min(
        (p["sounding_share_min"] for p in texture_figures["parts"].values()), default=math.nan
    )
    return {
        "c2st": check(comparison["c2st"]["accuracy"], lambda v: v <= TARGETS["c2st_accuracy_max"]),
        "mean_overlap": check(
            comparison["mean_overlap"], lambda v: v >= TARGETS["mean_overlap_min"]
        ),
        "parts_sounding": check(worst_part, lambda v: v >= TARGETS["sounding_share_min"]),
        "monophonic_melody": texture_figures["overlapping_melody_notes_total"]
        <= TARGETS["overlapping_melody_notes_max"],
    }


def run(
    generated: Mapping[str, Sequence[Piece]],
    reference: Mapping[str, Sequence[Piece]],
    *,
    styles: Mapping[str, Sequence[str] | None] | None = None,
    seed: int = 0,
    bars: int = EXCERPT_BARS,
    on_piece: ProgressFn | None = None,
) -> dict:
    """The benchmark: for each goal in ``generated``, its pieces against ``reference[goal]``,
    plus the sanity row of that reference. A reference set shared by several goals is
    measured once. ``styles`` (goal → collections) is recorded in the result."""
    unique_refs = {tuple(p.name for p in reference[g]): reference[g] for g in generated}
    total = sum(len(v) for v in generated.values()) + sum(len(r) for r in unique_refs.values())
    done = 0

    def step(_: int, __: int) -> None:
        nonlocal done
        done += 1
        if on_piece:
            on_piece(done, total)

    cache: dict[tuple[str, ...], tuple[Measured, dict]] = {}
    goals = {}
    for goal, pieces in generated.items():
        ref_pieces = reference[goal]
        key = tuple(p.name for p in ref_pieces)
        if key not in cache:
            ref = measure(ref_pieces, bars=bars, on_piece=step)
            cache[key] = (ref, sanity(ref, seed=seed))
        ref, sane = cache[key]
        gen = measure(pieces, bars=bars, on_piece=step)
        comparison = compare(gen, ref, seed=seed)
        tex = texture(gen)
        wanted = styles.get(goal) if styles else None
        goals[goal] = {
            "styles": list(wanted) if wanted is not None else None,
            "reference_collections": sorted({p.collection or "" for p in ref_pieces}),
            "comparison": comparison,
            "sanity": sane,
            "texture": tex,
            "reference_texture": texture(ref),
            "targets": targets(comparison, tex),
        }
    return {"excerpt_bars": bars, "seed": seed, "targets": TARGETS, "goals": goals}


def to_json_data(value: object, digits: int = 4) -> object:
    """``value`` with floats rounded to ``digits`` and NaN/inf turned into None (for JSON)."""
    if isinstance(value, float):
        return round(value, digits) if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): to_json_data(v, digits) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json_data(v, digits) for v in value]
    if isinstance(value, np.integer | np.floating):
        return to_json_data(value.item(), digits)
    return value
