"""Key and mode by the Krumhansl–Schmuckler algorithm.

Profiles: Krumhansl & Kessler (1982), "Tracing the dynamic changes in perceived tonal
organization", Psychological Review 89(4); the key-finding algorithm is Krumhansl (1990),
Cognitive Foundations of Musical Pitch, ch. 4: correlate the duration-weighted pitch-class
distribution with the 24 rotated profiles and take the best.
"""

from __future__ import annotations

import numpy as np

KK_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
KK_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
PITCH_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")


def pitch_class_histogram(pitches: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Weighted count of each of the 12 pitch classes."""
    pcs = np.asarray(pitches, dtype=int) % 12
    w = np.ones(len(pcs)) if weights is None else np.asarray(weights, dtype=float)
    return np.bincount(pcs, weights=w, minlength=12).astype(float)


def _zscore(x: np.ndarray) -> np.ndarray:
    return (x - x.mean(axis=-1, keepdims=True)) / x.std(axis=-1, keepdims=True)


# The 24 key profiles, rows ordered C major, C minor, C# major, ..., z-scored once.
_PROFILES = _zscore(
    np.array([np.roll(p, t) for t in range(12) for p in (KK_MAJOR, KK_MINOR)], dtype=float)
)


def estimate_key(
    pitches: np.ndarray, durations: np.ndarray | None = None
) -> tuple[int, str, float]:
    """(tonic pitch class, "major"|"minor", correlation) for the given notes.

    Empty input, or a flat histogram, gives (0, "major", 0.0). Ties go to the first key in
    the order C major, C minor, C# major, ...
    """
    hist = pitch_class_histogram(pitches, durations)
    if hist.sum() == 0 or np.allclose(hist, hist[0]):
        return 0, "major", 0.0
    corr = _PROFILES @ _zscore(hist) / 12.0  # Pearson correlation with each of the 24 keys
    best = int(np.argmax(corr))
    return best // 2, ("major", "minor")[best % 2], float(corr[best])


def key_name(tonic: int, mode: str) -> str:
    return f"{PITCH_NAMES[tonic % 12]} {mode}"


def transpose_interval(tonic: int, mode: str) -> int:
    """Semitones that move the key to C major or A minor, in −5..+6 (the smallest shift)."""
    target = 0 if mode == "major" else 9
    shift = (target - tonic) % 12
    return shift - 12 if shift > 6 else shift
