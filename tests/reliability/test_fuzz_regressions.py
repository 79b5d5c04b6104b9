"""The loader bugs the fuzzer found, each pinned by a small hand-made file."""

from __future__ import annotations

import io
import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest
import soundfile

from cadence.errors import CadenceError
from cadence.music.audio_analysis import analyze_audio
from cadence.music.formats import LOADING_ERRORS, UnreadableMusic
from cadence.music.io import abc_to_score, load_score
from tests.reliability.conftest import NOTTINGHAM_ABC

HORNPIPE_IN_PARTS = """X:1
T:Parts A-F, each repeated
M:4/4
L:1/4
K:D
P:A
DEFG|ABcd:|
P:B
dcBA|GFED:|
P:C
FAFA|dAFD:|
P:D
GBGB|ecBA:|
P:E
ABcd|efga:|
P:F
agfe|d4:|
"""


def test_unmatched_end_repeats_repeat_one_part_each() -> None:
    """Six ``:|`` without ``|:`` repeated each part from the very beginning (2^6-fold growth):
    now each part plays twice: 6 parts x 2 bars x 4 beats x 2 = 96 beats, (5 x 8 + 5) x 2
    notes."""
    score = abc_to_score(HORNPIPE_IN_PARTS)
    beats = score.end() / score.ticks_per_quarter
    assert beats == pytest.approx(96, abs=1)
    assert sum(len(t.notes) for t in score.tracks) == (5 * 8 + 5) * 2


def test_a_nottingham_hornpipe_keeps_its_length() -> None:
    """Londonderry Hornpipe (hpps.abc X:34): 6 parts of 8 bars + pickups, each repeated, was
    4164 beats and 12,096 notes; it is now about 2 x 54 bars of 4/4."""
    score = load_score(NOTTINGHAM_ABC / "hpps.abc", abc_number=34)
    beats = score.end() / score.ticks_per_quarter
    assert 380 <= beats <= 440, beats


def test_malformed_musicxml_is_a_loading_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.musicxml"
    path.write_text('<?xml version="1.0"?><score-partwise><part id="P1"><measure>')
    with pytest.raises(LOADING_ERRORS):
        load_score(path)


@pytest.mark.parametrize("damage", ["truncated", "bad-deflate", "negative-offset"])
def test_corrupt_mxl_is_unreadable_music(tmp_path: Path, damage: str) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("score.musicxml", "<score-partwise>" + "<part/>" * 500 + "</score-partwise>")
    data = bytearray(buf.getvalue())
    if damage == "truncated":
        data = data[: len(data) // 2]
    elif damage == "bad-deflate":
        data[40:60] = bytes(20)  # inside the compressed member
    else:  # the central directory points the member's header before the start of the file
        cd = data.rfind(b"PK\x01\x02")
        data[cd + 42 : cd + 46] = struct.pack("<I", 0xFFFFFFF0)
    path = tmp_path / "broken.mxl"
    path.write_bytes(bytes(data))
    with pytest.raises(UnreadableMusic):
        load_score(path)


def test_a_float_wav_with_nan_samples_is_a_cadence_error(tmp_path: Path) -> None:
    rate = 22050
    y = np.sin(np.arange(rate * 2) * 0.05).astype(np.float32)
    y[1000] = np.nan
    path = tmp_path / "nan.wav"
    soundfile.write(str(path), y, rate, subtype="FLOAT")
    with pytest.raises(CadenceError, match=r"could not be read|not finite"):
        analyze_audio(path)


def test_a_wav_with_a_broken_chunk_size_is_a_cadence_error(tmp_path: Path) -> None:
    """libsndfile refuses it, librosa falls back to audioread's stdlib reader, whose chunk
    seek raised a bare RuntimeError."""
    rate = 22050
    path = tmp_path / "bad.wav"
    soundfile.write(str(path), np.zeros(rate * 2, dtype=np.float32) + 0.1, rate, subtype="PCM_16")
    data = bytearray(path.read_bytes())
    data[16:20] = struct.pack("<I", 0x7FFFFFFF)  # the fmt chunk claims 2 GB
    path.write_bytes(bytes(data))
    with pytest.raises(CadenceError):
        analyze_audio(path)


@pytest.mark.parametrize("field", ["M:4916/8", "M:\u00e94z\u00ff9[+1f6/8", "[M:999/4]"])
def test_an_absurd_abc_meter_is_refused_at_once(field: str) -> None:
    """A corrupt meter made music21 build accent weights for a 4916/8 bar: minutes."""
    header = "X:1\nT:t\nL:1/8\n"
    text = header + (
        f"{field}\nK:G\nGABc|" if field.startswith("M:") else f"M:4/4\nK:G\nGA{field}Bc|"
    )
    with pytest.raises(UnreadableMusic, match="absurd meter"):
        abc_to_score(text)


def test_ordinary_abc_meters_still_load() -> None:
    # Not "3+2+3/8": music21 reads it as 323/8 (slow and wrong); no corpus Cadence uses has one.
    for meter in ("4/4", "6/8", "C", "C|", "12/8", "none"):
        score = abc_to_score(f"X:1\nT:t\nM:{meter}\nL:1/8\nK:G\nGABc dedB|")
        assert sum(len(t.notes) for t in score.tracks) == 8, meter


def test_an_absurd_meter_in_another_tune_of_the_file_does_not_block_this_one() -> None:
    text = "X:1\nT:bad\nM:4916/8\nK:G\nGABc|\n\nX:2\nT:good\nM:4/4\nL:1/8\nK:G\nGABc dedB|\n"
    score = abc_to_score(text, number=2)
    assert sum(len(t.notes) for t in score.tracks) == 8
    with pytest.raises(UnreadableMusic, match="absurd meter"):
        abc_to_score(text, number=1)


@pytest.mark.parametrize(
    "body", ["A3 |M:99999/1\nGABc|", "GABc|Az9999992:|", "GABc z999999|", "ABc d2e|Z4096|"]
)
def test_absurd_meters_after_a_bar_line_and_absurd_lengths_are_refused(body: str) -> None:
    """Fuzzing found both: music21 reads ``M:`` after a bar line too, and a rest of 9,999,992
    eighths made it partition the bar beat by beat (over a million objects)."""
    with pytest.raises(UnreadableMusic, match="absurd"):
        abc_to_score(f"X:1\nT:t\nM:4/4\nL:1/8\nK:G\n{body}\n")


def test_no_nottingham_tune_trips_the_abc_guards() -> None:
    from cadence.music import io as music_io

    for path in sorted(NOTTINGHAM_ABC.glob("*.abc")):
        text = path.read_text(encoding="utf-8", errors="replace")
        music_io._check_meters(text)
        music_io._check_lengths(text)
