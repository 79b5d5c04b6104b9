"""The rendition patients stream on a phone: Opus in an Ogg file, encoded by Debian's ``opusenc``.

A 16-bit stereo WAV at 44.1 kHz is about 10.6 MB a minute; Opus at :data:`BITRATE_KBPS` is
about 0.5 MB a minute, so a 30-minute session is near 15 MB instead of 320 MB. The encoder is
the ``opusenc`` program from Debian's ``opus-tools`` (libopus); Cadence writes no codec.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from cadence.render.synth import AudioRenderError, AudioUnavailable

# 64 kb/s stereo VBR: transparent-sounding for music on phone speakers and earphones
# (libopus documents 64-128 kb/s as the range for stereo music). ENGINEERING choice.
BITRATE_KBPS = 64
SUFFIX = ".opus"  # Ogg Opus; served as audio/ogg
MEDIA_TYPE = "audio/ogg"
log = logging.getLogger(__name__)
INSTALL_HINT = "install it with `apt-get install opus-tools`"
TIMEOUT_S = 900  # a 3-hour session encodes in well under a minute on one core


def find_opusenc() -> str:
    """Path of the ``opusenc`` program, or :class:`AudioUnavailable` saying how to install it."""
    exe = shutil.which("opusenc")
    if exe is None:
        raise AudioUnavailable(f"the opusenc program was not found on PATH; {INSTALL_HINT}")
    return exe


def to_opus(wav_path: str | Path, path: str | Path, *, bitrate_kbps: int = BITRATE_KBPS) -> Path:
    """Encode ``wav_path`` to Ogg Opus at ``path`` (written whole or not at all).

    Raises :class:`AudioUnavailable` without ``opusenc`` and :class:`AudioRenderError` when it
    fails (its last line of output in the message).
    """
    if not 6 <= bitrate_kbps <= 256:
        raise ValueError(f"bitrate_kbps: got {bitrate_kbps}; must be 6 to 256 (kb/s)")
    exe = find_opusenc()
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".encoding-", suffix=SUFFIX)
    os.close(fd)
    try:
        done = subprocess.run(
            [exe, "--quiet", "--bitrate", str(bitrate_kbps), "--vbr", str(wav_path), tmp],
            capture_output=True, text=True, timeout=TIMEOUT_S, check=False,
        )  # fmt: skip
        if done.returncode != 0 or Path(tmp).stat().st_size == 0:
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise AudioRenderError(f"opusenc could not encode {Path(wav_path).name}: {last}")
        Path(tmp).replace(path)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return path


def to_opus_if_possible(wav_path: Path, path: Path) -> Path | None:
    """:func:`to_opus`, or None (with a warning in the log) when there is no working encoder,
    for callers that can serve the uncompressed file instead."""
    try:
        return to_opus(wav_path, path)
    except (AudioUnavailable, AudioRenderError) as err:
        log.warning("no Opus rendition of %s: %s", Path(wav_path).name, err)
        return None
