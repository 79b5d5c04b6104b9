"""Favourite songs given as audio (WAV, FLAC, OGG, MP3): tempo, key, mode and energy.

- Tempo: librosa's onset-strength envelope and dynamic-programming beat tracker (Ellis 2007,
  "Beat tracking by dynamic programming", J New Music Res 36(1)); the tempo is 60 / the median
  inter-beat interval, so it follows the beats actually tracked.
- Key and mode: the mean constant-Q chromagram (librosa ``chroma_cqt``) is the pitch-class
  distribution fed to the Krumhansl–Schmuckler key finder with the Krumhansl–Kessler profiles
  (:func:`cadence.music.keys.estimate_key`, the same code that keys symbolic music).
- Energy: integrated loudness (ITU-R BS.1770-4 through pyloudnorm) and mean RMS level (dBFS).
- Arousal estimate in -1..1, after the rule in :mod:`cadence.music.features`:
  ``0.5·t + 0.3·d + 0.2·l`` with the same tempo term t, d = clip((onsets per beat - 2) / 2) and
  l = clip((LUFS + 23) / 10), i.e. loudness around the EBU R128 programme level of -23 LUFS.
  Tempo, event density and loudness are the strongest arousal cues (Gabrielsson & Lindström
  2010; Juslin & Laukka 2004); the weights and the loudness centre are engineering choices.

An unreadable or silent file raises :class:`CadenceError` naming the file.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from cadence.errors import CadenceError
from cadence.music.features import tempo_term
from cadence.music.keys import estimate_key, key_name

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".oga", ".mp3", ".aif", ".aiff")
# Analysis sample rate (librosa's default) and the longest stretch analysed: the first
# MAX_SECONDS of a song are enough for tempo and key, and keep analysis fast.
SAMPLE_RATE = 22050
MAX_SECONDS = 120.0
# EBU R128 programme loudness, the centre of the loudness term (LUFS).
LOUDNESS_CENTRE = -23.0
LOUDNESS_SPAN = 10.0
# Below this RMS level (dBFS) a file is treated as silence.
SILENCE_DBFS = -70.0


@dataclass(frozen=True)
class AudioAnalysis:
    """What :func:`analyze_audio` measures in one file."""

    path: str
    duration_s: float
    tempo_bpm: float
    beats: int
    key_tonic: int
    mode: str
    key_correlation: float
    loudness_lufs: float
    rms_dbfs: float
    onsets_per_beat: float
    arousal: float

    @property
    def key(self) -> str:
        return key_name(self.key_tonic, self.mode)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["key"] = self.key
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in d.items()}


# Sample rates read (Hz): below 4 kHz nothing musical is left, above 384 kHz no real file goes.
SAMPLE_RATES = range(4000, 384_001)
# A float file's samples may overshoot full scale a little; far beyond it the file is corrupt
# (and squaring such samples in the analysis overflows to infinity).
MAX_PEAK = 64.0


def _unreadable(path: Path, err: BaseException) -> CadenceError:
    detail = f"{type(err).__name__}{': ' if str(err) else ''}{err}"
    return CadenceError(
        f"audio file {path} could not be read ({detail}); give a WAV, FLAC, OGG or MP3 file"
    )


def load_audio(path: str | Path) -> tuple[np.ndarray, int]:
    """Mono float samples at :data:`SAMPLE_RATE` (at most :data:`MAX_SECONDS`), or a
    CadenceError naming the file.

    Files are decoded by libsndfile (through soundfile; it reads WAV, FLAC, OGG, MP3 and
    AIFF) only. librosa's fallback, audioread's standard-library readers, raised errors of
    its own on corrupt headers (a reshape to 65,535 channels, a sample rate of 0; found by
    fuzzing, tests/reliability) where libsndfile had already refused the file.
    """
    import librosa
    import soundfile

    path = Path(path)
    if path.is_dir():
        raise CadenceError(f"audio file {path} is a folder; give one WAV, FLAC, OGG or MP3 file")
    if not path.is_file():
        raise CadenceError(f"audio file {path} does not exist")
    try:
        with soundfile.SoundFile(path) as f:
            sr = int(f.samplerate)
            if sr not in SAMPLE_RATES:
                raise CadenceError(f"audio file {path} has an unusable sample rate ({sr} Hz)")
            data = f.read(frames=int(MAX_SECONDS * sr), dtype="float64", always_2d=True)
    except (soundfile.LibsndfileError, RuntimeError, OSError, EOFError, ValueError) as err:
        raise _unreadable(path, err) from None
    if data.size == 0:
        raise CadenceError(f"audio file {path} holds no samples")
    if not np.all(np.isfinite(data)):  # a float WAV can hold NaN or infinity
        raise CadenceError(f"audio file {path} holds samples that are not finite numbers")
    peak = float(np.max(np.abs(data)))
    if peak > MAX_PEAK:
        raise CadenceError(
            f"audio file {path} holds samples {20 * math.log10(peak):.0f} dB over full scale"
        )
    y = data.mean(axis=1)
    if sr != SAMPLE_RATE:
        y = librosa.resample(y, orig_sr=sr, target_sr=SAMPLE_RATE)
    y = y.astype(np.float32)
    if y.size < SAMPLE_RATE:  # under one second: nothing to analyse
        raise CadenceError(f"audio file {path} is shorter than one second")
    return y, SAMPLE_RATE


def loudness_lufs(y: np.ndarray, sr: int) -> float:
    """Integrated loudness (BS.1770-4); -inf for silence."""
    import pyloudnorm

    return float(pyloudnorm.Meter(sr).integrated_loudness(y.astype(np.float64)))


def analyze_samples(y: np.ndarray, sr: int, *, path: str = "") -> AudioAnalysis:
    """Analyse mono samples ``y`` at rate ``sr`` (see the module docstring)."""
    import librosa

    rms = librosa.feature.rms(y=y)[0]
    rms_dbfs = float(20.0 * np.log10(max(float(np.sqrt(np.mean(rms**2))), 1e-12)))
    if rms_dbfs < SILENCE_DBFS:
        raise CadenceError(f"audio file {path or '<samples>'} is silent ({rms_dbfs:.0f} dBFS)")
    onset_env = librosa.onset.onset_strength(y=y, sr=sr)
    bpm, beat_frames = librosa.beat.beat_track(onset_envelope=onset_env, sr=sr)
    beat_times = librosa.frames_to_time(beat_frames, sr=sr)
    if len(beat_times) >= 3:
        tempo = 60.0 / float(np.median(np.diff(beat_times)))
    else:
        tempo = float(np.atleast_1d(bpm)[0])
    chroma = librosa.feature.chroma_cqt(y=y, sr=sr)
    tonic, mode, corr = estimate_key(np.arange(12), chroma.mean(axis=1))
    onsets = librosa.onset.onset_detect(onset_envelope=onset_env, sr=sr)
    duration = len(y) / sr
    beats_total = duration * tempo / 60.0 if tempo > 0 else 0.0
    density = len(onsets) / beats_total if beats_total > 0 else 0.0
    lufs = loudness_lufs(y, sr)
    level = LOUDNESS_CENTRE if not math.isfinite(lufs) else lufs
    d = float(np.clip((density - 2.0) / 2.0, -1.0, 1.0))
    loud = float(np.clip((level - LOUDNESS_CENTRE) / LOUDNESS_SPAN, -1.0, 1.0))
    arousal = round(0.5 * tempo_term(tempo) + 0.3 * d + 0.2 * loud, 4)
    return AudioAnalysis(
        path=path,
        duration_s=duration,
        tempo_bpm=tempo,
        beats=len(beat_times),
        key_tonic=tonic,
        mode=mode,
        key_correlation=corr,
        loudness_lufs=lufs,
        rms_dbfs=rms_dbfs,
        onsets_per_beat=density,
        arousal=arousal,
    )


def analyze_audio(path: str | Path) -> AudioAnalysis:
    """Tempo, key, mode, loudness and an arousal estimate of an audio file."""
    import librosa

    y, sr = load_audio(path)
    try:
        return analyze_samples(y, sr, path=str(path))
    except librosa.util.exceptions.ParameterError as err:  # e.g. an onset envelope of NaN
        raise CadenceError(f"audio file {path} could not be analysed ({err})") from None


def prescription_seeds(analysis: AudioAnalysis) -> dict[str, Any]:
    """Generic seeds for a prescription from a favourite song: its tempo (a start tempo), its
    key and mode, and its arousal (a start state or preference). Which of them a goal may use
    is therapy's decision (:func:`cadence.therapy.preferences.favourite_kwargs`)."""
    return {
        "tempo_bpm": round(analysis.tempo_bpm, 2),
        "key": key_name(analysis.key_tonic, analysis.mode),
        "key_tonic": analysis.key_tonic,
        "mode": analysis.mode,
        "arousal": analysis.arousal,
    }
