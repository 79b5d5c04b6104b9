"""The patients' Opus rendition: Debian's opusenc, a 2-minute session well under 3 MB."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile

from cadence.render import opus

pytestmark = pytest.mark.skipif(shutil.which("opusenc") is None, reason="opus-tools missing")


def test_two_minutes_of_stereo_noise_encode_under_3_mb(tmp_path: Path) -> None:
    """White noise is the hardest case for a codec; 2 min as WAV is about 21 MB."""
    rate = 44100
    data = np.random.default_rng(1).uniform(-0.3, 0.3, (120 * rate, 2)).astype(np.float32)
    wav = tmp_path / "two.wav"
    soundfile.write(wav, data, rate, subtype="PCM_16")
    out = opus.to_opus(wav, tmp_path / "two.opus")
    assert out.read_bytes()[:4] == b"OggS"
    assert out.stat().st_size < 3_000_000 < wav.stat().st_size


def test_a_bad_input_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not audio")
    with pytest.raises(opus.AudioRenderError, match=r"opusenc could not encode bad\.wav"):
        opus.to_opus(bad, tmp_path / "bad.opus")
    assert opus.to_opus_if_possible(bad, tmp_path / "bad.opus") is None
    assert not (tmp_path / "bad.opus").exists()
