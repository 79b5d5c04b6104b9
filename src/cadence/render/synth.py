"""FluidSynth: finding the program and a General MIDI soundfont, and rendering a MIDI file.

The synthesiser is the ``fluidsynth`` command-line program (fast, offline rendering with
``-F``) with a General MIDI soundfont, by default Debian's ``fluid-soundfont-gm``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

DEBIAN_SOUNDFONTS = (
    Path("/usr/share/sounds/sf2/FluidR3_GM.sf2"),
    Path("/usr/share/sounds/sf2/default-GM.sf2"),
)
SOUNDFONT_ENV = "CADENCE_SOUNDFONT"
INSTALL_HINT = "install it with `apt-get install fluidsynth fluid-soundfont-gm`"
SYNTH_GAIN = 0.5  # FluidSynth master gain; rendered as float, so nothing clips before scaling


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


def synthesize(
    midi_path: str | Path, wav_path: str | Path, *, sample_rate: int, soundfont: Path
) -> None:
    """Render ``midi_path`` to a float WAV with the fluidsynth program (no shell, no MIDI in)."""
    cmd = [
        find_fluidsynth(),
        "-n",  # no MIDI input driver
        "-i",  # no interactive shell
        "-q",  # quiet
        "-g", str(SYNTH_GAIN),
        # load only the samples the piece's programs use: the same audio (checked sample for
        # sample), but each segment's FluidSynth starts in ~0.06 s of CPU instead of ~0.18 s
        "-o", "synth.dynamic-sample-loading=1",
        "-r", str(sample_rate),
        "-O", "float",
        "-T", "wav",
        "-F", str(wav_path),
        str(soundfont),
        str(midi_path),
    ]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0 or not Path(wav_path).is_file():
        lines = (done.stderr or done.stdout).strip().splitlines()
        why = lines[-1] if lines else f"exit status {done.returncode}"
        raise AudioRenderError(f"fluidsynth could not render {midi_path}: {why}")
