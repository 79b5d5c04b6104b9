"""Audio out: FluidSynth rendering, loudness normalisation, fades and a true-peak ceiling.

The synthesiser is the ``fluidsynth`` command-line program (fast, offline rendering with
``-F``) with a General MIDI soundfont, by default Debian's ``fluid-soundfont-gm``.
Loudness is integrated loudness after ITU-R BS.1770-4 and the true peak the largest sample
after 4× oversampling, both from :mod:`cadence.render.loudness`.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile
import symusic
from scipy.ndimage import minimum_filter1d, uniform_filter1d

from cadence.render import chunks
from cadence.render.loudness import BlockPowers, block_powers, true_peak_dbtp
from cadence.render.synth import (  # re-exported: the audio API in one place
    DEBIAN_SOUNDFONTS,
    INSTALL_HINT,
    SOUNDFONT_ENV,
    SYNTH_GAIN,
    AudioRenderError,
    AudioUnavailable,
    find_fluidsynth,
    find_soundfont,
    render_blocks,
)

__all__ = [
    "DEBIAN_SOUNDFONTS", "INSTALL_HINT", "SOUNDFONT_ENV", "SYNTH_GAIN", "AudioRenderError",
    "AudioResult", "AudioUnavailable", "apply_fades", "find_fluidsynth", "find_soundfont",
    "finish", "frames", "limit_peaks", "normalize", "render_blocks", "to_format", "to_wav",
]  # fmt: skip
RENDER_WORKERS = max(1, min(4, os.cpu_count() or 1))  # FluidSynth processes at once
LIMITER_ROUNDS = 4
LOUDNESS_TOLERANCE_LU = 0.05
TRUE_PEAK_MARGIN_DB = 0.3  # the limiter works on sample peaks; inter-sample peaks sit above
TAIL_S = 0.5  # release/reverb kept after the last MIDI event (below -60 dBFS by then)
END_RAMP_S = 0.02  # anti-click ramp at the very end when no fade-out is asked for
PCM16_SCALE = 32768.0  # float full scale to 16-bit steps, as libsndfile reads and writes them
FORMATS = {".flac": ("FLAC", "PCM_16"), ".ogg": ("OGG", "VORBIS"), ".wav": ("WAV", "PCM_16")}


@dataclass(frozen=True)
class AudioResult:
    """What was written: measured integrated loudness (LUFS), true peak (dBTP), seconds."""

    path: Path
    lufs: float
    true_peak_dbtp: float
    duration_s: float


def apply_fades(data: np.ndarray, rate: int, fade_in_s: float, fade_out_s: float) -> None:
    """Linear gain fades at both ends, in place; each is cut to the audio's length."""
    n = data.shape[0]
    n_in = min(n, round(max(fade_in_s, 0.0) * rate))
    n_out = min(n, round(max(fade_out_s, END_RAMP_S) * rate))
    if n_in:
        data[:n_in] *= np.linspace(0.0, 1.0, n_in, endpoint=False, dtype=data.dtype)[:, None]
    if n_out:
        data[n - n_out :] *= np.linspace(1.0, 0.0, n_out, dtype=data.dtype)[:, None]


def to_wav(
    midi_path: str | Path,
    wav_path: str | Path,
    *,
    target_lufs: float,
    peak_dbtp: float = -1.0,
    fade_in_s: float = 0.0,
    fade_out_s: float = 0.0,
    sample_rate: int = 44100,
    soundfont: str | Path | None = None,
    workers: int = RENDER_WORKERS,
    segment_s: float = chunks.SEGMENT_S,
) -> AudioResult:
    """Render a MIDI file to a 16-bit stereo WAV at ``target_lufs`` and return what was written.

    Steps: FluidSynth renders (float, so nothing clips) in segments of about ``segment_s``
    seconds, ``workers`` processes at once (see :mod:`cadence.render.chunks`), mixed to the
    MIDI's length plus :data:`TAIL_S`; fades are applied (a 20 ms ramp at least at the end); one
    gain brings the integrated loudness to ``target_lufs`` and a look-ahead limiter keeps the
    true peak under ``peak_dbtp`` (see :func:`normalize`); the result is never louder than
    the target. Silent or sub-400 ms audio is not normalised (loudness -inf or NaN).

    Raises :class:`AudioUnavailable` without fluidsynth or a soundfont, FileNotFoundError
    for a missing MIDI file and :class:`AudioRenderError` when fluidsynth fails.
    """
    midi_path, wav_path = Path(midi_path), Path(wav_path)
    sf2 = find_soundfont(soundfont)
    find_fluidsynth()
    if not midi_path.is_file():
        raise FileNotFoundError(f"MIDI file {midi_path} does not exist")
    score = symusic.Score(str(midi_path))
    n = frames(score, sample_rate)
    with chunks.SegmentRenderer(
        sample_rate=sample_rate, soundfont=sf2, workers=workers, frames_hint=n
    ) as r:
        data = r.mix(score, chunks.even_segments(score, segment_s), n)
    return finish(
        data, sample_rate, wav_path, target_lufs=target_lufs, peak_dbtp=peak_dbtp,
        fade_in_s=fade_in_s, fade_out_s=fade_out_s,
    )  # fmt: skip


def frames(score: symusic.Score, sample_rate: int) -> int:
    """Audio length for a tick-timed score: its last event plus :data:`TAIL_S`, in samples."""
    end_s = float(chunks.tick_seconds(score, np.array([score.end()]))[0])
    return round((max(end_s, 0.0) + TAIL_S) * sample_rate)


def finish(
    data: np.ndarray,
    rate: int,
    wav_path: str | Path,
    *,
    target_lufs: float,
    peak_dbtp: float = -1.0,
    fade_in_s: float = 0.0,
    fade_out_s: float = 0.0,
) -> AudioResult:
    """Fade, normalise (see :func:`normalize`) and write rendered float audio as 16-bit WAV."""
    wav_path = Path(wav_path)
    wav_path.parent.mkdir(parents=True, exist_ok=True)
    apply_fades(data, rate, fade_in_s, fade_out_s)
    data, lufs, peak = normalize(data, rate, target_lufs, peak_dbtp)
    write_pcm16(wav_path, data, rate)
    return AudioResult(wav_path, lufs, peak, data.shape[0] / rate)


def write_pcm16(path: str | Path, data: np.ndarray, rate: int, block: int = 1 << 18) -> None:
    """Write float audio (full scale 1.0) as a 16-bit WAV, rounded to the nearest step and
    clipped to the 16-bit range. Converted block by block in two reused buffers: 4× faster
    than libsndfile's own float conversion on a 30-minute session, and no 16-bit copy of
    the whole file is made."""
    scaled = np.empty((block, data.shape[1]), dtype=np.float32)
    pcm = np.empty((block, data.shape[1]), dtype=np.int16)
    with soundfile.SoundFile(
        str(path), "w", samplerate=rate, channels=data.shape[1], format="WAV", subtype="PCM_16"
    ) as out:
        for start in range(0, data.shape[0], block):
            n = min(block, data.shape[0] - start)
            s = scaled[:n]
            np.multiply(data[start : start + n], np.float32(PCM16_SCALE), out=s)
            np.rint(s, out=s)
            np.clip(s, -32768.0, 32767.0, out=s)
            pcm[:n] = s
            out.write(pcm[:n])


def normalize(
    data: np.ndarray, rate: int, target_lufs: float, peak_dbtp: float
) -> tuple[np.ndarray, float, float]:
    """Bring ``data`` to ``target_lufs`` under a ``peak_dbtp`` true-peak ceiling.

    One gain reaches the target; where that would push peaks (a percussive beat layer, say)
    over the ceiling, a look-ahead limiter lowers the gain around those peaks only, and the
    overall gain is corrected again (a few rounds). If the target still cannot be met under
    the ceiling the result stays quieter: never louder than the target, never over the ceiling.
    Returns (audio, integrated LUFS, true peak dBTP). Silent or sub-400 ms audio is unchanged.
    """
    powers = block_powers(data, rate)
    lufs = powers.lufs()
    if not math.isfinite(lufs):
        return data, lufs, true_peak_dbtp(data)
    peak = true_peak_dbtp(data)
    for _ in range(LIMITER_ROUNDS):
        # A plain gain scales every block power and the true peak exactly, so the gain that
        # meets the target is found on the block powers (blocks crossing the -70 LUFS gate
        # make that more than target - lufs) and nothing is measured again.
        gain_db = _gain_for(powers, target_lufs)
        data *= np.float32(10.0 ** (gain_db / 20.0))
        if peak + gain_db <= peak_dbtp:
            lufs, peak = powers.lufs(gain_db), peak + gain_db
            break
        limit_peaks(data, rate, peak_dbtp - TRUE_PEAK_MARGIN_DB)
        powers = block_powers(data, rate)
        lufs, peak = powers.lufs(), true_peak_dbtp(data)
        if abs(lufs - target_lufs) < LOUDNESS_TOLERANCE_LU:
            break
    excess = max(lufs - target_lufs, peak - peak_dbtp, 0.0)
    if excess > 0.0:  # the final guarantee: a plain gain cut
        data *= np.float32(10.0 ** (-excess / 20.0))
        lufs, peak = lufs - excess, peak - excess
    return data, lufs, peak


def _gain_for(powers: BlockPowers, target_lufs: float, rounds: int = 8) -> float:
    """The gain (dB) that brings audio of these block powers to ``target_lufs``, to 1e-4 LU
    where the gates allow (a gain moves blocks across the absolute gate, which moves the
    integrated loudness by more or less than the gain)."""
    gain = 0.0
    for _ in range(rounds):
        error = target_lufs - powers.lufs(gain)
        if not math.isfinite(error) or abs(error) < 1e-4:
            break
        gain += error
    return gain


def limit_peaks(data: np.ndarray, rate: int, ceiling_db: float, lookahead_s: float = 0.005) -> None:
    """Look-ahead peak limiter, in place: every sample's gain is at most what keeps its frame
    under ``ceiling_db`` (dBFS, sample peak), taken as the minimum over ±look-ahead and then
    smoothed by a moving average no wider than that window, so the gain ramps in before a
    peak and out after it and never exceeds the need at any sample."""
    ceiling = 10.0 ** (ceiling_db / 20.0)
    frame_peak = np.max(np.abs(data), axis=1)
    need = np.minimum(1.0, ceiling / np.maximum(frame_peak, 1e-12))
    width = max(1, round(lookahead_s * rate))
    gain = minimum_filter1d(need, size=2 * width + 1, mode="nearest")
    gain = uniform_filter1d(gain, size=width, mode="nearest")
    data *= gain[:, None].astype(data.dtype)


def to_format(wav_path: str | Path, path: str | Path) -> Path:
    """Convert a WAV to FLAC (16-bit), OGG (Vorbis) or WAV, chosen by ``path``'s suffix.

    Read and written in blocks, so long files need little memory. Raises ValueError for
    another suffix.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(f"path: unsupported audio suffix {suffix!r}; use .flac, .ogg or .wav")
    fmt, subtype = FORMATS[suffix]
    with soundfile.SoundFile(str(wav_path)) as src, soundfile.SoundFile(
        str(path), "w", samplerate=src.samplerate, channels=src.channels, format=fmt,
        subtype=subtype,
    ) as dst:  # fmt: skip
        for block in src.blocks(blocksize=1 << 16, dtype="float32", always_2d=True):
            dst.write(block)
    return path
