"""Which soundfont presets feed FluidSynth's chorus, so a render that uses none of them can
switch the chorus unit off: the same samples, bit for bit, for about 10% less CPU.

A voice reaches the chorus only through its chorus send: the SoundFont generator
``chorusEffectsSend`` (SoundFont 2.04, section 8.1.3, generator 15) set in a preset or
instrument zone, or MIDI controller 93 through the default modulator (section 8.4.9). A
piece none of whose presets set the generator and which sends no CC 93 puts nothing into
the chorus, and FluidSynth's chorus of silence adds silence. Measured on FluidR3_GM with a
3-minute sleep session (harp, strings, acoustic bass): 2.76 s of CPU with the chorus, 2.53 s
without, the raw float output identical; over all 129 presets of FluidR3_GM, the 50 the
parser flags are exactly those whose render changes without the chorus
(tests/render/test_soundfont_fx.py).
"""

from __future__ import annotations

import functools
import struct
import warnings
from pathlib import Path

import symusic

with warnings.catch_warnings():  # sf2utils' sample module imports audioop (deprecated in 3.11)
    warnings.simplefilter("ignore", DeprecationWarning)
    from sf2utils.generator import Sf2Gen
    from sf2utils.sf2parse import Sf2File

DRUM_BANK = 128  # General MIDI percussion: FluidSynth plays channel 10 from bank 128
CHORUS_CC = 93  # MIDI "effects 3 depth", the chorus send of the default modulator


@functools.lru_cache(maxsize=8)
def _presets(path: str, _stamp: tuple[int, int]) -> tuple[frozenset, frozenset] | None:
    """(every (bank, program) in the soundfont, those with a chorus send), or None when the
    file cannot be parsed. ``_stamp`` (mtime, size) renews the cache when the file changes."""
    try:
        with Path(path).open("rb") as f:
            sf2 = Sf2File(f)
            every, chorus = set(), set()
            for preset in sf2.presets:
                if preset.name == "EOP":  # the terminal record
                    continue
                key = (preset.bank, preset.preset)
                every.add(key)
                zones = [*preset.bags]
                zones += [z for bag in preset.bags if bag.instrument for z in bag.instrument.bags]
                if any(_sends_to_chorus(zone.gens) for zone in zones):
                    chorus.add(key)
    except (OSError, ValueError, TypeError, KeyError, IndexError, AttributeError, struct.error):
        # what sf2utils raises on a damaged or foreign file (TypeError on a RIFF without
        # chunks): keep the chorus on, never guess
        return None
    return frozenset(every), frozenset(chorus)


def _sends_to_chorus(gens: dict) -> bool:
    gen = gens.get(Sf2Gen.OPER_CHORUS_EFFECTS_SEND)
    return gen is not None and gen.amount != 0


def needs_chorus(score: symusic.Score, soundfont: Path) -> bool:
    """Whether rendering ``score`` with ``soundfont`` can put anything into the chorus: True
    when a sounding track's preset has a chorus send, a track sends CC 93, a preset is missing
    (FluidSynth would fall back to another), or the soundfont cannot be parsed."""
    stat = soundfont.stat()
    known = _presets(str(soundfont), (stat.st_mtime_ns, stat.st_size))
    if known is None:
        return True
    every, chorus = known
    for track in score.tracks:
        if not len(track.notes):
            continue
        preset = (DRUM_BANK, 0) if track.is_drum else (0, track.program)
        if preset in chorus or preset not in every:
            return True
        if any(c.number == CHORUS_CC and c.value for c in track.controls):
            return True
    return False
