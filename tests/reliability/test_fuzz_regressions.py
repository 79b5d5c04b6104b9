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
    for path in sorted(NOTTINGHAM_ABC.glob("*.abc")):
        for tune in path.read_text(encoding="utf-8", errors="replace").split("\nX:"):
            music = music_io._music_text(tune)
            music_io._check_repeats(music)
            music_io._check_bars(music)


BRACKETED_PARTS = "".join(f"P:{part}\nGABc|[1 dcBA:|[2 d4||\n" for part in "ABCDEFGHIJ")


def test_end_repeats_after_bracketed_endings_repeat_one_part_each() -> None:
    """Ten parts ``notes |[1 ... :|[2 ... ||`` with no ``|:``: each ``:|`` went back to the very
    beginning, 2^10-fold (over 30 s). Each part now plays notes, ending 1, notes, ending 2:
    10 x (4 + 4 + 4 + 1) notes."""
    score = abc_to_score(f"X:1\nT:t\nM:4/4\nL:1/4\nK:G\n{BRACKETED_PARTS}")
    assert sum(len(t.notes) for t in score.tracks) == 10 * (4 + 4 + 4 + 1)


def test_too_many_end_repeats_are_refused_at_once() -> None:
    body = "GABc:|" * 17
    with pytest.raises(UnreadableMusic, match="too many repeats"):
        abc_to_score(f"X:1\nT:t\nM:4/4\nL:1/4\nK:G\n{body}\n")
    score = abc_to_score(f"X:1\nT:t\nM:4/4\nL:1/4\nK:G\n{'GABc:|' * 16}\n")
    assert sum(len(t.notes) for t in score.tracks) > 0


MUSICXML = """<?xml version="1.0" encoding="{encoding}"?>
<score-partwise version="4.0"><part-list><score-part id="P1"><part-name>M</part-name>
</score-part></part-list><part id="P1"><measure number="1"><attributes>
<divisions>1</divisions><key><fifths>{fifths}</fifths></key>
<time><beats>{beats}</beats><beat-type>4</beat-type></time></attributes>
<note><pitch><step>C</step><octave>{octave}</octave></pitch><duration>4</duration>
<type>whole</type></note></measure></part></score-partwise>
"""


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"fifths": "99999999"}, "absurd key"),
        ({"fifths": "2147483648"}, "absurd key"),
        ({"beats": "99999999"}, "absurd meter"),
        ({"beats": "1/0"}, "absurd value"),
        ({"beats": "-1"}, "absurd meter"),
        ({"octave": "-1"}, "absurd pitch"),
    ],
)
def test_absurd_musicxml_numbers_are_refused_at_once(
    tmp_path: Path, fields: dict[str, str], reason: str
) -> None:
    """music21 built one accidental per fifth and accent weights per beat: minutes of work."""
    values = {"encoding": "UTF-8", "fifths": "2", "beats": "4", "octave": "4", **fields}
    path = tmp_path / "bad.musicxml"
    path.write_text(MUSICXML.format(**values))
    with pytest.raises(UnreadableMusic, match=reason):
        load_score(path)


def test_an_ordinary_musicxml_file_still_loads(tmp_path: Path) -> None:
    path = tmp_path / "ok.musicxml"
    path.write_text(MUSICXML.format(encoding="UTF-8", fifths="-3", beats="3+1", octave="4"))
    score = load_score(path)
    assert [n.pitch for t in score.tracks for n in t.notes] == [60]


def test_an_unknown_xml_encoding_is_a_loading_error(tmp_path: Path) -> None:
    path = tmp_path / "enc.musicxml"
    path.write_text(MUSICXML.format(encoding="utX-8", fifths="0", beats="4", octave="4"))
    with pytest.raises(LOADING_ERRORS, match="unknown encoding"):
        load_score(path)


def _wav_with_header(tmp_path: Path, offset: int, value: bytes) -> Path:
    rate = 22050
    path = tmp_path / f"h{offset}.wav"
    soundfile.write(str(path), np.sin(np.arange(rate * 2) * 0.05) * 0.5, rate, subtype="PCM_16")
    data = bytearray(path.read_bytes())
    data[offset : offset + len(value)] = value
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize(
    ("offset", "value"),
    [
        (22, struct.pack("<H", 0xFFFF)),  # 65,535 channels: audioread reshaped to them
        (24, struct.pack("<I", 0)),  # a sample rate of 0: librosa divided by it
        (24, struct.pack("<I", 1)),  # 1 Hz
    ],
)
def test_broken_wav_headers_are_cadence_errors(tmp_path: Path, offset: int, value: bytes) -> None:
    with pytest.raises(CadenceError, match=r"could not be read|sample rate"):
        analyze_audio(_wav_with_header(tmp_path, offset, value))


def test_float_samples_far_over_full_scale_are_refused(tmp_path: Path) -> None:
    """Finite but huge float samples (1e38) overflowed librosa's onset envelope to infinity."""
    rate = 22050
    y = np.sin(np.arange(rate * 2) * 0.05).astype(np.float32)
    y[5000] = 1e38
    path = tmp_path / "huge.wav"
    soundfile.write(str(path), y, rate, subtype="FLOAT")
    with pytest.raises(CadenceError, match="over full scale"):
        analyze_audio(path)


def test_a_float_file_a_little_over_full_scale_is_analysed(tmp_path: Path) -> None:
    rate = 22050
    t = np.arange(rate * 4) / rate
    y = (1.5 * np.sin(2 * np.pi * 220 * t) * (np.sin(2 * np.pi * 2 * t) > 0)).astype(np.float32)
    path = tmp_path / "loud.wav"
    soundfile.write(str(path), y, rate, subtype="FLOAT")
    analysis = analyze_audio(path)
    assert analysis.duration_s == pytest.approx(4.0, abs=0.01)


def test_the_guards_read_only_the_tune_asked_for_even_with_zero_padded_numbers() -> None:
    """music21's airdsAirs books number tunes ``X:0001``; the guards compared "0001" with "1"
    and so checked the whole book (413 end-repeats) and refused every tune."""
    tune = "T:t\nM:4/4\nL:1/4\nK:G\nGABc:|\n"
    book = "".join(f"X:{i:04d}\n{tune}\n" for i in range(1, 20))
    alone = abc_to_score(f"X:1\n{tune}")
    score = abc_to_score(book, number=3)
    assert sum(len(t.notes) for t in score.tracks) == sum(len(t.notes) for t in alone.tracks) > 0


def test_a_bar_of_hundreds_of_notes_is_refused_at_once() -> None:
    """Without a meter music21 fits a time signature to the longest bar: a 442/4 bar (a
    tune whose bar lines were lost) took 40 s."""
    with pytest.raises(UnreadableMusic, match="absurd bar"):
        abc_to_score("X:1\nT:t\nL:1/4\nK:G\n" + "GABc " * 40 + "|\n")
    score = abc_to_score("X:1\nT:t\nL:1/16\nK:G\n" + "GABc " * 8 + "|\n")
    assert sum(len(t.notes) for t in score.tracks) == 32


def test_many_repeats_of_a_long_tune_are_refused_at_once() -> None:
    """12 end-repeats of a 264-bar tune took music21 7-30 s to expand."""
    part = "GABc|" * 21 + "dcBA:|\n"
    with pytest.raises(UnreadableMusic, match="too many repeats"):
        abc_to_score("X:1\nT:t\nM:4/4\nL:1/4\nK:G\n" + part * 12)
