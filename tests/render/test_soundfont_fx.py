"""The chorus is switched off only where that leaves FluidSynth's output unchanged."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import symusic

from cadence.render import audio, synth
from cadence.render.soundfont_fx import DRUM_BANK, needs_chorus

needs_fluidsynth = pytest.mark.skipif(
    shutil.which("fluidsynth") is None, reason="fluidsynth is not installed"
)
SOUNDFONT_FREE = (0, 32, 46, 48)  # piano, acoustic bass, harp, strings: no chorus send
CHORUS_SENDING = (4, 50, 89)  # electric piano 1, synth strings 1, pad 2 warm


def _piece(program: int, *, drum: bool = False, cc93: int | None = None) -> symusic.Score:
    score = symusic.Score(480)
    track = symusic.Track("part", program, drum)
    for i, pitch in enumerate((36, 48, 60, 72, 84)):
        track.notes.append(symusic.Note(i * 480, 960, 35 + i * 5 if drum else pitch, 90))
    if cc93 is not None:
        track.controls.append(symusic.ControlChange(0, 93, cc93))
    score.tracks.append(track)
    return score


def _render(score: symusic.Score, tmp_path: Path, chorus: bool) -> np.ndarray:
    mid = tmp_path / "piece.mid"
    score.dump_midi(str(mid))
    blocks = synth.render_blocks(mid, sample_rate=22050, soundfont=audio.find_soundfont(),
                                 chorus=chorus)
    return np.concatenate([b.copy() for b in blocks])


@needs_fluidsynth
@pytest.mark.parametrize("program", [*SOUNDFONT_FREE, DRUM_BANK])
def test_without_a_chorus_send_the_render_is_the_same_sample_for_sample(
    program: int, tmp_path: Path
) -> None:
    score = _piece(program % 128, drum=program == DRUM_BANK)
    assert not needs_chorus(score, audio.find_soundfont())
    assert np.array_equal(_render(score, tmp_path, True), _render(score, tmp_path, False))


@needs_fluidsynth
@pytest.mark.parametrize("program", CHORUS_SENDING)
def test_a_preset_with_a_chorus_send_keeps_the_chorus(program: int, tmp_path: Path) -> None:
    score = _piece(program)
    assert needs_chorus(score, audio.find_soundfont())
    with_chorus, without = _render(score, tmp_path, True), _render(score, tmp_path, False)
    assert not np.array_equal(with_chorus, without)  # the chorus is audible here


@needs_fluidsynth
def test_controller_93_or_an_unreadable_soundfont_keeps_the_chorus(tmp_path: Path) -> None:
    sf2 = audio.find_soundfont()
    assert needs_chorus(_piece(0, cc93=64), sf2)
    assert not needs_chorus(_piece(0, cc93=0), sf2)
    fake = tmp_path / "fake.sf2"
    fake.write_bytes(b"RIFF....sfbk nothing here")
    assert needs_chorus(_piece(0), fake)


@needs_fluidsynth
@pytest.mark.slow
def test_every_preset_is_flagged_exactly_when_the_chorus_changes_its_sound(
    tmp_path: Path,
) -> None:
    """Over all 128 programs and the drum kit: the flag and the audible difference agree."""
    sf2, wrong = audio.find_soundfont(), []
    for program in range(129):
        score = _piece(program % 128, drum=program == DRUM_BANK)
        changes = not np.array_equal(_render(score, tmp_path, True),
                                     _render(score, tmp_path, False))
        if changes != needs_chorus(score, sf2):
            wrong.append(program)
    assert wrong == []
