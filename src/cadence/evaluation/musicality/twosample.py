"""Two sets of feature vectors compared: a classifier two-sample test, and per-feature overlap.

Classifier two-sample test (C2ST; Lopez-Paz & Oquab 2017, "Revisiting classifier two-sample
tests", ICLR): if a classifier cannot tell the two sets apart better than chance on held-out
data, their distributions are (as far as it can see) the same. Here the classifier is a
logistic regression on standardised features, so what it finds is interpretable: a linear
combination of named features. Its accuracy is 0.5 for indistinguishable sets and 1.0 for
sets it always tells apart.

The procedure, every step seeded:

1. Feature columns that are NaN in *every* row of either set are dropped (named in the
   result): a feature that one set cannot have (chords of a bare melody) says nothing about
   the music that the other features do not.
2. Classes are balanced by subsampling the larger set, without replacement, to the smaller
   set's size, so that chance is exactly 0.5.
3. 5-fold stratified cross-validation. With ``groups`` (e.g. the piece each excerpt comes
   from) the folds keep a group's rows together (``StratifiedGroupKFold``), so the classifier
   is never tested on excerpts of a piece it was trained on; with fewer groups than folds in
   a class, the folds are plain stratified ones (the result says which).
4. In each training fold: remaining NaNs imputed with the training fold's column median,
   then standardised, then ``LogisticRegression`` (L2, C = 1), all in one sklearn pipeline,
   so nothing of the test fold leaks into the fit.
5. Accuracy is pooled over the folds (correct predictions over all rows), and the whole is
   repeated ``repeats`` times (seeds ``seed``, ``seed + 1``, ...: other subsamples, other
   folds); the result is the mean accuracy and its standard deviation over the repetitions.
   Excerpts of one piece are alike, so the effective sample is the number of pieces, not of
   excerpts, and one run of a few dozen pieces varies by ±0.1; the repetitions steady the
   estimate. No binomial p-value is given: it would count excerpts as independent.

Per-feature overlap is the overlapping area of the two KDE-smoothed distributions, Yang &
Lerch 2018 (:func:`cadence.evaluation.distribution.overlap_area`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from cadence.evaluation.distribution import overlap_area

FOLDS = 5
REPEATS = 5  # repetitions of the whole test, averaged

Rows = Sequence[Mapping[str, float]]


@dataclass(frozen=True)
class TwoSampleResult:
    """Outcome of :func:`classifier_two_sample_test`; ``accuracy`` is NaN when a set had
    fewer rows than folds, or no feature was defined in both."""

    accuracy: float  # mean over the repetitions
    accuracy_sd: float  # standard deviation over the repetitions (0.0 for one)
    repeats: int
    per_class: int  # rows of each class after balancing
    folds: int
    grouped: bool  # folds kept each group's rows together
    features: tuple[str, ...]  # the columns used
    dropped: tuple[str, ...]  # columns undefined (all NaN) in one of the sets

    def to_dict(self) -> dict:
        return asdict(self)


def _matrix(rows: Rows, names: Sequence[str]) -> np.ndarray:
    return np.array([[float(r.get(n, math.nan)) for n in names] for r in rows], dtype=float)


def _names(a: Rows, b: Rows, features: Sequence[str] | None) -> list[str]:
    if features is not None:
        return list(features)
    names: dict[str, None] = {}
    for row in (*a, *b):
        names.update(dict.fromkeys(row))
    return list(names)


def defined_features(a: Rows, b: Rows, features: Sequence[str] | None = None) -> list[str]:
    """The feature names that have at least one finite value in each set."""
    names = _names(a, b, features)
    xa, xb = _matrix(a, names), _matrix(b, names)
    return [
        n
        for i, n in enumerate(names)
        if len(xa) and len(xb) and np.isfinite(xa[:, i]).any() and np.isfinite(xb[:, i]).any()
    ]


def _one_run(
    a: Rows,
    b: Rows,
    groups: tuple[Sequence[str] | None, Sequence[str] | None],
    used: list[str],
    per_class: int,
    folds: int,
    seed: int,
) -> tuple[float, bool]:
    """Accuracy of one balanced, cross-validated run, and whether its folds were grouped."""
    rng = np.random.default_rng(seed)
    xs, gs = [], []
    for label, (rows, names) in enumerate(((a, groups[0]), (b, groups[1]))):
        pick = np.sort(rng.choice(len(rows), size=per_class, replace=False))
        xs.append(_matrix([rows[i] for i in pick], used))
        of = names if names is not None else [f"row{i}" for i in range(len(rows))]
        gs.append([f"{label}:{of[i]}" for i in pick])
    x = np.vstack(xs)
    y = np.repeat([0, 1], per_class)
    group = np.array(gs[0] + gs[1])
    grouped = None not in groups and all(len(set(g)) >= folds for g in gs)
    if grouped:
        splits = StratifiedGroupKFold(folds, shuffle=True, random_state=seed).split(x, y, group)
    else:
        splits = StratifiedKFold(folds, shuffle=True, random_state=seed).split(x, y)
    correct = 0
    for train, test in splits:
        model = make_pipeline(
            SimpleImputer(strategy="median"),
            StandardScaler(),
            LogisticRegression(C=1.0, max_iter=2000),
        )
        model.fit(x[train], y[train])
        correct += int((model.predict(x[test]) == y[test]).sum())
    return correct / (2 * per_class), grouped


def classifier_two_sample_test(
    a: Rows,
    b: Rows,
    *,
    groups_a: Sequence[str] | None = None,
    groups_b: Sequence[str] | None = None,
    features: Sequence[str] | None = None,
    folds: int = FOLDS,
    repeats: int = REPEATS,
    seed: int = 0,
) -> TwoSampleResult:
    """Cross-validated accuracy of a logistic regression telling rows of ``a`` from rows of
    ``b`` (dicts of feature name → value; NaN allowed). See the module doc for the steps.

    ``features`` chooses the columns (default: every key seen). ``groups_a`` / ``groups_b``
    name the group (piece) of each row. Edge cases: NaN accuracy when either set has fewer
    than ``folds`` rows, or when no column is defined in both.
    """
    names = _names(a, b, features)
    used = defined_features(a, b, names)
    dropped = tuple(n for n in names if n not in used)
    per_class = min(len(a), len(b))
    if per_class < folds or not used:
        return TwoSampleResult(
            math.nan, math.nan, repeats, per_class, folds, False, tuple(used), dropped
        )
    runs = [
        _one_run(a, b, (groups_a, groups_b), used, per_class, folds, seed + r)
        for r in range(repeats)
    ]
    acc = np.array([r[0] for r in runs])
    return TwoSampleResult(
        float(acc.mean()),
        float(acc.std()),
        repeats,
        per_class,
        folds,
        all(r[1] for r in runs),
        tuple(used),
        dropped,
    )


def feature_overlaps(a: Rows, b: Rows, features: Sequence[str] | None = None) -> dict[str, float]:
    """Per feature, the overlapping area (0..1) of the values of ``a`` and of ``b``
    (Yang & Lerch 2018); NaN where either set has fewer than two finite values."""
    names = _names(a, b, features)
    xa, xb = _matrix(a, names), _matrix(b, names)
    return {
        n: overlap_area(xa[:, i] if len(xa) else [], xb[:, i] if len(xb) else [])
        for i, n in enumerate(names)
    }
