"""FluidSynth: finding the program and a General MIDI soundfont, and rendering a MIDI file.

The synthesiser is the ``fluidsynth`` command-line program (fast, offline rendering with
``-F``) with a General MIDI soundfont, by default Debian's ``fluid-soundfont-gm``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import numpy as np

try:
    import fcntl
except ImportError:  # not a Unix: pipes keep their default size
    fcntl = None  # type: ignore[assignment]

DEBIAN_SOUNDFONTS = (
    Path("/usr/share/sounds/sf2/FluidR3_GM.sf2"),
    Path("/usr/share/sounds/sf2/default-GM.sf2"),
)
SOUNDFONT_ENV = "CADENCE_SOUNDFONT"
INSTALL_HINT = "install it with `apt-get install fluidsynth fluid-soundfont-gm`"
SYNTH_GAIN = 0.5  # FluidSynth master gain; rendered as float, so nothing clips before scaling
PERIOD_FRAMES = 4096  # frames fluidsynth renders and writes per call
PIPE_BYTES = 1 << 20
BLOCK_FRAMES = 1 << 17  # frames per block read from FluidSynth (1 MiB of stereo float32)


class AudioUnavailable(RuntimeError):
    """FluidSynth or a General MIDI soundfont is missing; the message says how to install."""


class AudioRenderError(RuntimeError):
    """FluidSynth ran but did not produce audio."""


def find_fluidsynth() -> str:
    """Path of the ``fluidsynth`` program, or :class:`AudioUnavailable`."""
    exe = shutil.which("fluidsynth")
    if exe is None:
        raise AudioUnavailable(f"the fluidsynth program was not found on PATH; {INSTALL_HINT}")
    return exe


def find_soundfont(soundfont: str | Path | None = None) -> Path:
    """The soundfont to use: ``soundfont`` if given, else $CADENCE_SOUNDFONT, else Debian's.

    Raises :class:`AudioUnavailable` when the chosen file does not exist or none is found.
    """
    if soundfont is None:
        soundfont = os.environ.get(SOUNDFONT_ENV) or None
        source = f"${SOUNDFONT_ENV}"
    else:
        source = "the soundfont"
    if soundfont is not None:
        path = Path(soundfont).expanduser()
        if not path.is_file():
            raise AudioUnavailable(
                f"{source} {path} does not exist; give an existing .sf2 file or {INSTALL_HINT}"
            )
        return path
    for path in DEBIAN_SOUNDFONTS:
        if path.is_file():
            return path
    raise AudioUnavailable(
        f"no General MIDI soundfont found (looked for {DEBIAN_SOUNDFONTS[0]} and "
        f"${SOUNDFONT_ENV}); {INSTALL_HINT}"
    )


def _command(
    midi_path: str | Path, sample_rate: int, soundfont: Path, chorus: bool = True
) -> list[str]:
    # the chorus unit off where nothing feeds it: the same samples for less CPU
    # (cadence.render.soundfont_fx)
    effects = [] if chorus else ["-o", "synth.chorus.active=0"]
    return [
        find_fluidsynth(),
        "-n",  # no MIDI input driver
        "-i",  # no interactive shell
        "-q",  # quiet
        "-g", str(SYNTH_GAIN),
        # load only the samples the piece's programs use: the same audio (checked sample for
        # sample), but each segment's FluidSynth starts in ~0.06 s of CPU instead of ~0.18 s
        "-o", "synth.dynamic-sample-loading=1",
        # write 4096 frames at a time, not 64: one pipe write per 32 KiB instead of per
        # 512 bytes (the kernel time of a render fell from 1.65 to 0.13 s per 5 minutes).
        # Events keep the same times (tested); only which voice is stolen when more than
        # the polyphony sound at once may differ.
        "-o", f"audio.period-size={PERIOD_FRAMES}",
        *effects,
        "-r", str(sample_rate),
        "-O", "float",
        "-T", "raw",  # interleaved stereo float32 in the machine's byte order
        "-F", "-",  # to standard output: no file is written and read back
        str(soundfont),
        str(midi_path),
    ]  # fmt: skip


def _widen(pipe: IO[bytes]) -> None:
    """Give the pipe a 1 MiB buffer (Linux's default most), not 64 KiB: fluidsynth then
    keeps rendering while the reading thread waits for the GIL."""
    if fcntl is None:
        return
    with contextlib.suppress(AttributeError, OSError):  # not Linux, or a lower limit
        fcntl.fcntl(pipe.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)


def render_blocks(
    midi_path: str | Path,
    *,
    sample_rate: int,
    soundfont: Path,
    block_frames: int = BLOCK_FRAMES,
    chorus: bool = True,
) -> Iterator[np.ndarray]:
    """Render ``midi_path`` with the fluidsynth program (no shell, no MIDI in), yielding the
    audio as it comes: stereo float32 blocks (frames, 2) of up to ``block_frames`` frames.

    Each block is a view of one buffer that the next block overwrites: add or copy it before
    asking for the next. The audio is the same, sample for sample, as fluidsynth's WAV
    output. Raises :class:`AudioRenderError` when fluidsynth fails, renders nothing or
    reports an error (an unreadable MIDI file or soundfont), after the blocks it did yield.
    """
    buffer = np.empty(block_frames * 2, dtype=np.float32)
    view = memoryview(buffer).cast("B")
    with tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen(
            _command(midi_path, sample_rate, soundfont, chorus),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=errors,  # a file, not a pipe: nothing can block on a full stderr
        )
        assert proc.stdout is not None
        _widen(proc.stdout)
        total = 0
        try:
            while True:
                filled = 0
                while filled < len(view):
                    n = proc.stdout.readinto(view[filled:])
                    if not n:
                        break
                    filled += n
                frames = filled // 8
                if frames:
                    total += frames
                    yield buffer[: frames * 2].reshape(frames, 2)
                if filled < len(view):
                    break
            proc.stdout.close()
            code = proc.wait()
        finally:
            if proc.poll() is None:  # the caller stopped early, or reading failed
                proc.kill()
                proc.wait()
        errors.seek(0)
        lines = errors.read().decode(errors="replace").strip().splitlines()
        # fluidsynth exits 0 and renders silence for a soundfont or MIDI file it cannot
        # read; it says so in an "error:" line, and a good render prints nothing
        failed = [line for line in lines if line.startswith("fluidsynth: error:")]
        if code != 0 or total == 0 or failed:
            why = (failed or lines or [f"exit status {code}"])[-1]
            raise AudioRenderError(f"fluidsynth could not render {midi_path}: {why}")
