"""Loudness after ITU-R BS.1770-4: integrated loudness and true peak, fast on long audio.

Integrated loudness uses pyloudnorm's K-weighting filters (Steinmetz & Reiss 2021) and the
BS.1770-4 gating (400 ms blocks, 75 % overlap, −70 LUFS absolute and −10 LU relative gates).
pyloudnorm's own meter loops over blocks in Python and takes seconds per minute of audio;
here the filtered signal is reduced once to 100 ms mean squares, every block is the mean of
four of them, and the gating runs on arrays. The result matches
``pyloudnorm.Meter(rate).integrated_loudness`` (checked in the tests) and, because the
block powers are kept, the loudness after any gain is exact without filtering again.

True peak: the largest absolute sample after 4× polyphase oversampling (BS.1770-4 Annex 2),
the measure of ``evaluation.adherence.wav_loudness``.
"""

from __future__ import annotations

import functools
import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from pyloudnorm import IIRfilter
from scipy.signal import firwin, resample_poly, sosfilt

BLOCK_S = 0.4  # gating block (BS.1770-4)
HOPS_PER_BLOCK = 4  # 75 % overlap
ABSOLUTE_GATE = -70.0  # LUFS
RELATIVE_GATE = -10.0  # LU below the absolutely gated loudness
CHANNEL_GAINS = (1.0, 1.0, 1.0, 1.41, 1.41)  # L, R, C, Ls, Rs
OVERSAMPLE = 4  # true-peak oversampling factor (BS.1770-4 Annex 2)
_PEAK_BLOCK = 64  # samples per block of the true-peak scan
_PEAK_PAD = 16  # samples of context each side of a block (> the filter's 10-sample half length)
_PEAK_FIRST = 64  # loudest blocks oversampled before the others are screened
_PEAK_BATCH = 8192  # rows oversampled per matrix product (bounded memory)
# From this many frames (a minute at 44.1 kHz) the channels are K-weighted in parallel threads.
_THREADED_FRAMES = 44_100 * 60
_FILTER_HOPS = 256  # 100 ms hops K-weighted per sosfilt call (bounded memory)


def k_weighting_sos(rate: int) -> np.ndarray:
    """The two K-weighting stages (pyloudnorm's high shelf and high pass) as second-order
    sections for ``scipy.signal.sosfilt``."""
    stages = (
        IIRfilter(4.0, 1 / np.sqrt(2), 1500.0, rate, "high_shelf"),
        IIRfilter(0.0, 0.5, 38.0, rate, "high_pass"),
    )
    return np.array([np.concatenate([f.b / f.a[0], f.a / f.a[0]]) for f in stages])


@dataclass(frozen=True)
class BlockPowers:
    """Channel-weighted K-weighted mean square of every 400 ms gating block."""

    power: np.ndarray  # (blocks,) sum over channels of G_i · z_ij

    def lufs(self, gain_db: float = 0.0) -> float:
        """Integrated loudness in LUFS of the audio scaled by ``gain_db``.

        No block (audio under 400 ms): NaN. Silence, or nothing above the gates: -inf.
        """
        if not len(self.power):
            return math.nan
        power = self.power * 10.0 ** (gain_db / 10.0)
        with np.errstate(divide="ignore"):
            loud = -0.691 + 10.0 * np.log10(power)
        kept = power[loud >= ABSOLUTE_GATE]
        if not len(kept):
            return -math.inf
        gamma_r = -0.691 + 10.0 * math.log10(float(kept.mean())) + RELATIVE_GATE
        kept = power[(loud > gamma_r) & (loud > ABSOLUTE_GATE)]
        if not len(kept):
            return -math.inf
        return -0.691 + 10.0 * math.log10(float(kept.mean()))


def _hop_energies(channel: np.ndarray, sos: np.ndarray, hop: int, n_hops: int) -> np.ndarray:
    """Sum of squares of the K-weighted ``channel`` over each of ``n_hops`` hops.

    Filtered chunk by chunk with the filter state carried over (the same output as one
    pass), so no copy of the whole signal is ever made.
    """
    energies = np.empty(n_hops)
    state = np.zeros((sos.shape[0], 2))
    step = _FILTER_HOPS * hop
    for start in range(0, n_hops * hop, step):
        stop = min(start + step, n_hops * hop)
        weighted, state = sosfilt(sos, channel[start:stop].astype(np.float64), zi=state)
        frames = weighted.reshape(-1, hop)
        energies[start // hop : stop // hop] = np.einsum("ij,ij->i", frames, frames)
    return energies


def _full_scale(data: np.ndarray) -> float:
    """Full scale of ``data``'s samples: 1.0 for floats, 32768 for int16 (as a WAV reader
    scales PCM to floats), so 16-bit audio is measured without a float copy of it."""
    if np.issubdtype(data.dtype, np.integer):
        return float(-np.iinfo(data.dtype).min)
    return 1.0


def block_powers(data: np.ndarray, rate: int) -> BlockPowers:
    """The gating-block powers of ``data`` (samples, channels), up to five channels; float
    samples are full scale at 1.0, integer ones at their type's range (see _full_scale)."""
    if data.ndim == 1:
        data = data[:, None]
    if data.shape[1] > len(CHANNEL_GAINS):
        raise ValueError(f"data: at most {len(CHANNEL_GAINS)} channels, got {data.shape[1]}")
    hop = round(BLOCK_S * rate / HOPS_PER_BLOCK)
    n_hops = data.shape[0] // hop
    n_blocks = max(0, n_hops - HOPS_PER_BLOCK + 1)
    power = np.zeros(n_blocks)
    if not n_blocks:
        return BlockPowers(power)
    sos = k_weighting_sos(rate)

    def energies(ch: int) -> np.ndarray:
        return _hop_energies(data[:, ch], sos, hop, n_hops)

    channels = range(data.shape[1])
    if data.shape[1] > 1 and data.shape[0] >= _THREADED_FRAMES:
        # scipy's sosfilt runs without the GIL: the channels filter in parallel
        with ThreadPoolExecutor(max_workers=data.shape[1]) as pool:
            per_channel = list(pool.map(energies, channels))
    else:
        per_channel = [energies(ch) for ch in channels]
    for ch, hops in zip(channels, per_channel, strict=True):
        sums = np.convolve(hops, np.ones(HOPS_PER_BLOCK), mode="valid")
        power += CHANNEL_GAINS[ch] * sums / (hop * HOPS_PER_BLOCK)
    return BlockPowers(power / _full_scale(data) ** 2)


def integrated_lufs(data: np.ndarray, rate: int) -> float:
    """BS.1770-4 integrated loudness of ``data`` (samples, channels) in LUFS.

    Under 400 ms: NaN. Silence: -inf.
    """
    return block_powers(data, rate).lufs()


def _oversampling_filter() -> np.ndarray:
    """The FIR of ``resample_poly(x, 4, 1)`` with its defaults (Kaiser window, beta 5)."""
    return firwin(2 * 10 * OVERSAMPLE + 1, 1.0 / OVERSAMPLE, window=("kaiser", 5.0))


def _peak_filter_gain(taps: np.ndarray) -> float:
    """Largest sum of |taps| over the polyphase branches of the oversampling filter.

    An interpolated sample is a weighted sum of input samples, so it exceeds the largest
    |input sample| around it by at most this factor: a chunk whose sample peak times this
    factor is below a true peak already found cannot hold the true peak and is skipped.
    """
    scaled = np.abs(taps) * OVERSAMPLE
    return float(max(scaled[p::OVERSAMPLE].sum() for p in range(OVERSAMPLE)))


@functools.cache
def _oversampling_matrix() -> np.ndarray:
    """The linear map from a row (_PEAK_BLOCK + 2 · _PEAK_PAD samples) to its core's
    oversampled samples: ``resample_poly`` of each unit row, so ``rows @ M`` is the same
    oversampling as ``resample_poly(rows, ...)[:, core]`` to float32 rounding. As one BLAS
    matrix product it is 9× faster than upfirdn here (0.035 s against 0.31 s for 40,000 rows
    on the 2-core CPU) and runs without the GIL."""
    taps = _oversampling_filter().astype(np.float32)
    width = _PEAK_BLOCK + 2 * _PEAK_PAD
    core = slice(_PEAK_PAD * OVERSAMPLE, (_PEAK_PAD + _PEAK_BLOCK) * OVERSAMPLE)
    unit = np.eye(width, dtype=np.float32)
    return np.ascontiguousarray(resample_poly(unit, OVERSAMPLE, 1, axis=1, window=taps)[:, core])


def _block_peaks(rows: np.ndarray) -> np.ndarray:
    """Oversampled peak of each row's core (the row minus _PEAK_PAD samples each side)."""
    peaks = np.zeros(len(rows), dtype=np.float32)
    matrix = _oversampling_matrix()
    for i in range(0, len(rows), _PEAK_BATCH):
        up = rows[i : i + _PEAK_BATCH] @ matrix
        peaks[i : i + _PEAK_BATCH] = np.max(np.abs(up), axis=1)
    return peaks


def _block_sample_peaks(data: np.ndarray) -> np.ndarray:
    """Largest |sample| over all channels of each _PEAK_BLOCK-sample block: (blocks,)."""
    n, channels = data.shape
    n_full = n // _PEAK_BLOCK
    blocks = data[: n_full * _PEAK_BLOCK].reshape(n_full, _PEAK_BLOCK * channels)
    # no |data| temporary; float32 first, since -(-32768) overflows int16
    peaks = np.maximum(
        blocks.max(axis=1).astype(np.float32), -blocks.min(axis=1).astype(np.float32)
    )
    if n % _PEAK_BLOCK:
        peaks = np.append(peaks, np.abs(data[n_full * _PEAK_BLOCK :].astype(np.float32)).max())
    return peaks.astype(np.float32)


def _rows(data: np.ndarray, blocks: np.ndarray) -> np.ndarray:
    """Every channel of each chosen block with _PEAK_PAD samples each side (zeros off the
    ends): (blocks × channels, _PEAK_BLOCK + 2 · _PEAK_PAD). Blocks away from the ends are
    copied from a strided window view of ``data`` (0.06 s for 107,000 blocks of a 30-minute
    session, against 0.82 s gathering sample indices); the ends gather, padded with zeros."""
    width = _PEAK_BLOCK + 2 * _PEAK_PAD
    n, channels = data.shape
    starts = blocks * _PEAK_BLOCK - _PEAK_PAD
    inner = (starts >= 0) & (starts + width <= n)
    rows = np.zeros((len(blocks), channels, width), dtype=np.float32)
    if n >= width and inner.any():
        windows = np.lib.stride_tricks.sliding_window_view(data, width, axis=0)  # (_, ch, w)
        rows[inner] = windows[starts[inner]]
    edge = np.flatnonzero(~inner)
    if len(edge):
        idx = starts[edge, None] + np.arange(width)
        valid = (idx >= 0) & (idx < n)
        gathered = data[np.clip(idx, 0, n - 1)].astype(np.float32)  # (e, width, ch)
        gathered[~valid] = 0.0
        rows[edge] = gathered.transpose(0, 2, 1)
    return rows.reshape(-1, width)


def true_peak_dbtp(data: np.ndarray) -> float:
    """True peak in dBTP of ``data`` (samples, channels): max |x| after 4× oversampling.

    Float samples are full scale at 1.0, integer ones at their type's range (int16: 32768).

    The same value as ``max |resample_poly(data, 4, 1, axis=0)|`` (to float32 rounding).
    The signal is cut into short blocks, each oversampled with enough context on both sides
    to be exact. Only blocks that could hold the peak are oversampled: the loudest ones
    first, then every block whose neighbourhood's sample peak times
    :func:`_peak_filter_gain` exceeds the peak found. Silence or no samples: -inf.
    """
    if data.ndim == 1:
        data = data[:, None]
    if data.shape[0] == 0:
        return -math.inf
    sample = _block_sample_peaks(data)
    near = sample.copy()  # a block's context lies within its neighbours (_PEAK_PAD < block)
    near[1:] = np.maximum(near[1:], sample[:-1])
    near[:-1] = np.maximum(near[:-1], sample[1:])
    taps = _oversampling_filter().astype(np.float32)
    first = min(_PEAK_FIRST, len(sample))
    loudest = np.argpartition(sample, len(sample) - first)[len(sample) - first :]
    peak = float(_block_peaks(_rows(data, loudest)).max())
    candidates = np.flatnonzero(near * _peak_filter_gain(taps) > peak)
    if len(candidates):
        peak = max(peak, float(_block_peaks(_rows(data, candidates)).max()))
    return 20.0 * math.log10(peak / _full_scale(data)) if peak > 0 else -math.inf
