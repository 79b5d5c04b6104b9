"""Reading one untrusted file within a time limit (cadence.music.bounded)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cadence.music.bounded import load_score_within
from cadence.music.formats import UnreadableMusic
from cadence.music.io import load_score

ABC = Path(__file__).resolve().parents[3] / "shared" / "data" / "nottingham" / "abc" / "jigs.abc"


def _notes(score) -> list[tuple[int, int, int, int]]:
    return [(n.time, n.pitch, n.duration, n.velocity) for t in score.tracks for n in t.notes]


def test_the_child_reads_what_the_loader_reads() -> None:
    bounded = load_score_within(ABC, abc_number=3)
    direct = load_score(ABC, abc_number=3)
    assert _notes(bounded) == _notes(direct) and _notes(direct)
    assert [t.name for t in bounded.tracks] == [t.name for t in direct.tracks]
    assert bounded.ticks_per_quarter == direct.ticks_per_quarter


def test_a_read_past_the_limit_is_refused_with_a_reason() -> None:
    load_score_within(ABC, abc_number=1)  # the forkserver is up; the limit is the read's own
    with pytest.raises(UnreadableMusic, match=r"too slow: not read within 0\.001 s"):
        load_score_within(ABC, 0.001, abc_number=1)


def test_loading_errors_come_back_with_their_reason(tmp_path: Path) -> None:
    path = tmp_path / "bad.abc"
    path.write_text("X:1\nT:t\nM:4916/8\nK:G\nGABc|\n")
    with pytest.raises(UnreadableMusic, match="absurd meter"):
        load_score_within(path)
    broken = tmp_path / "broken.musicxml"
    broken.write_text('<?xml version="1.0"?><score-partwise><part id="P1"><measure>')
    with pytest.raises(UnreadableMusic, match="ParseError"):
        load_score_within(broken)


def test_midi_is_read_in_process(tmp_path: Path) -> None:
    path = tmp_path / "x.mid"
    path.write_bytes(load_score(ABC, abc_number=3).dumps_midi())
    assert _notes(load_score_within(path, 0.0)) == _notes(load_score(path))
