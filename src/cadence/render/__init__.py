"""cadence.render: arrangement, MIDI out, FluidSynth audio with loudness normalisation,
MusicXML/SVG score and the plan plot.

Submodules: ``arrange`` (:func:`arrange.arrange`), ``midi`` (:func:`to_midi`), ``audio``
(:func:`to_wav`, :func:`to_format`), ``loudness``, ``score`` (:func:`score.to_musicxml`,
:func:`score.to_svg`) and ``plot`` (:func:`plot.plot_plan`). The audio and MIDI entry points
are re-exported here; music21, Verovio and matplotlib load only when their module is used.
"""

from cadence.render.audio import (
    AudioRenderError,
    AudioResult,
    AudioUnavailable,
    find_soundfont,
    to_format,
    to_wav,
)
from cadence.render.midi import to_midi

__all__ = [
    "AudioRenderError",
    "AudioResult",
    "AudioUnavailable",
    "find_soundfont",
    "to_format",
    "to_midi",
    "to_wav",
]
