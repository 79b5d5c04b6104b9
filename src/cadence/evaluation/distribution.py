"""Compare two sets of metric values as smoothed distributions (Yang & Lerch 2020).

Yang & Lerch (2020, "On the evaluation of generative models in music", Neural Computing and
Applications 32; preprint 2018) smooth each set of per-piece feature values with a Gaussian
kernel density estimate and report the overlapping area (OA) and the Kullback-Leibler
divergence (KLD) of the two densities. Here both densities are evaluated on one fixed grid
of ``GRID_POINTS`` points spanning the pooled values padded by four kernel widths, and
normalised to sum to 1.

Edge cases, shared by both functions:
- NaN and ±inf values are dropped first (metrics return NaN for empty scores).
- Fewer than two finite values in either set: NaN (a KDE needs two points).
- A constant set (zero variance, where ``gaussian_kde`` is singular) is smoothed with the
  other set's kernel width, so both are smoothed alike: a set that is always 1.0 against one
  that is 1.0 four times in five overlaps by about 0.8, not by the sliver a needle-thin
  kernel would give. Two different constants use ``CONSTANT_WIDTH`` × the pooled range; if
  both sets are the same constant, the distributions are identical: overlap 1.0,
  divergence 0.0.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
from scipy.stats import gaussian_kde, norm

GRID_POINTS = 1000
PAD_WIDTHS = 4.0  # grid padding, in kernel standard deviations
CONSTANT_WIDTH = 0.01  # kernel width of a constant set, as a share of the pooled range
FLOOR = 1e-12  # lower bound on q in the divergence, so disjoint sets stay finite


def _finite(values: Iterable[float]) -> np.ndarray:
    x = np.asarray(list(values), dtype=np.float64).ravel()
    return x[np.isfinite(x)]


def _densities(a: Iterable[float], b: Iterable[float]) -> tuple[np.ndarray, np.ndarray] | None:
    """Probability masses of the two smoothed sets on a shared grid; None if not computable."""
    xa, xb = _finite(a), _finite(b)
    if len(xa) < 2 or len(xb) < 2:
        return None
    pooled = np.concatenate([xa, xb])
    span = float(pooled.max() - pooled.min())
    if span == 0.0:
        ones = np.ones(1)
        return ones, ones
    kdes = [None if np.ptp(x) == 0 else gaussian_kde(x) for x in (xa, xb)]
    fitted = [float(np.sqrt(k.covariance[0, 0])) for k in kdes if k is not None]
    shared = fitted[0] if fitted else CONSTANT_WIDTH * span  # a constant takes the other's
    kernels = [(k, shared if k is None else 0.0) for k in kdes]
    widths = [w if kde is None else float(np.sqrt(kde.covariance[0, 0])) for kde, w in kernels]
    pad = PAD_WIDTHS * max(widths)
    grid = np.linspace(pooled.min() - pad, pooled.max() + pad, GRID_POINTS)
    out = []
    for x, (kde, width) in zip((xa, xb), kernels, strict=True):
        dens = norm.pdf(grid, loc=x[0], scale=width) if kde is None else kde(grid)
        out.append(dens / dens.sum())
    return out[0], out[1]


def overlap_area(a: Iterable[float], b: Iterable[float]) -> float:
    """Overlapping area Σ min(p, q) of the two smoothed distributions, in 0..1.

    1 for identical sets, near 0 for far-apart sets. Edge cases: module docstring (NaN when
    either set has fewer than two finite values). Yang & Lerch (2020), OA.
    """
    dens = _densities(a, b)
    if dens is None:
        return math.nan
    p, q = dens
    return float(np.minimum(p, q).sum())


def kl_divergence(a: Iterable[float], b: Iterable[float]) -> float:
    """Kullback-Leibler divergence KL(p ‖ q) of set ``a`` from set ``b``, in nats (>= 0).

    Σ p · log(p / q) over the grid points where p > 0, with q floored at ``FLOOR`` so that
    disjoint sets give a large finite value. Not symmetric. 0 for identical sets. Edge
    cases: module docstring (NaN when either set has fewer than two finite values).
    Yang & Lerch (2020), KLD.
    """
    dens = _densities(a, b)
    if dens is None:
        return math.nan
    p, q = dens
    mask = p > 0
    return float(max(0.0, np.sum(p[mask] * np.log(p[mask] / np.maximum(q[mask], FLOOR)))))
