"""`cadence ingest`: datasets, rejections, splits, re-runs and bad sources."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from tests.conftest import NOTTINGHAM_MIDI, scale_score

from cadence.errors import CadenceError
from cadence.tokens.dataset import TokenDataset, read_jsonl, split_of
from cadence.tokens.ingest import ingest


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "cadence", *args], capture_output=True, text=True, timeout=600
    )


def test_bad_files_are_rejected_with_reasons(
    tmp_path: Path, bad_files: dict, scale_midi: Path
) -> None:
    (tmp_path / "bad" / "good.mid").write_bytes(scale_midi.read_bytes())
    summary = ingest([str(tmp_path / "bad")], tmp_path / "ds", workers=2, timeout=20)
    assert summary.pieces == 1
    assert summary.rejected == len(bad_files)
    reasons = {
        Path(r["source"]).name: r["reason"] for r in read_jsonl(tmp_path / "ds" / "rejected.jsonl")
    }
    assert reasons["zero-length.mid"] == "empty"
    assert reasons["huge-delta.mid"] == "absurd length"
    assert reasons["notes.txt"] == "unsupported format"
    assert reasons["truncated-midi.mid"] in {"corrupt", "no notes"}
    assert reasons["random-bytes.mid"] == "corrupt"
    assert reasons["broken.abc"] in {"corrupt", "no notes"}


def test_rerun_skips_ingested_files_and_dedups(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    scale_score().dump_midi(src / "a.mid")
    scale_score().dump_midi(src / "copy-of-a.mid")
    halves = scale_score()  # another piece: the same scale in half-length notes
    for note in halves.tracks[0].notes:
        note.time, note.duration = note.time // 2, note.duration // 2
    halves.dump_midi(src / "b.mid")
    scale_score(tempo=80).dump_midi(src / "a-at-80-bpm.mid")  # tempo is not in the tokens
    first = ingest([str(src)], tmp_path / "ds", workers=1)
    assert (first.pieces, first.duplicates) == (2, 2)
    again = ingest([str(src)], tmp_path / "ds", workers=1)
    assert (again.pieces, again.skipped, again.total_pieces) == (0, 4, 2)
    data = TokenDataset(tmp_path / "ds")
    assert len(data) == 2
    for entry in data.entries:
        assert entry["split"] == split_of(entry["id"])
        assert entry["features"]["key_tonic"] == 0
        assert len(data.ids(entry)) == entry["length"]


def test_transposed_to_c_and_original_key_kept(tmp_path: Path) -> None:
    score = scale_score()
    for note in score.tracks[0].notes:
        note.pitch += 7  # G major scale
    score.dump_midi(tmp_path / "g.mid")
    ingest([str(tmp_path / "g.mid")], tmp_path / "ds", workers=1)
    entry = TokenDataset(tmp_path / "ds").entries[0]
    assert entry["key_original"] == "G major"
    assert entry["transpose"] == 5
    assert entry["features"]["key_tonic"] == 0 and entry["features"]["mode"] == "major"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["/no/such/path"], "does not exist", id="missing-path"),
        pytest.param(
            ["music21:noSuchCollection"], "unknown music21 collection", id="bad-collection"
        ),
        pytest.param(["EMPTY"], "holds no files", id="empty-folder"),
    ],
)
def test_bad_sources_exit_2_with_one_line_and_write_nothing(
    tmp_path: Path, args: list[str], message: str
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    args = [str(empty) if a == "EMPTY" else a for a in args]
    out = tmp_path / "out"
    proc = _cli("ingest", *args, "--out", str(out))
    assert proc.returncode == 2
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not out.exists()


@pytest.mark.parametrize(
    ("collection", "minimum"),
    [
        pytest.param("miscFolk", 150, id="miscFolk"),
        pytest.param("airdsAirs", 1000, id="airdsAirs", marks=pytest.mark.slow),
    ],
)
def test_music21_collection_source(tmp_path: Path, collection: str, minimum: int) -> None:
    proc = _cli("ingest", f"music21:{collection}", "--out", str(tmp_path / "ds"))
    assert proc.returncode == 0, proc.stderr
    pieces, rejected = proc.stdout.strip().splitlines()[-1].replace(",", "").split()[::2]
    assert int(pieces) > minimum
    assert int(rejected) < int(pieces) * 0.05
    collections = {e["collection"] for e in TokenDataset(tmp_path / "ds").entries}
    assert collections == {collection}


@pytest.mark.skipif(not NOTTINGHAM_MIDI.is_dir(), reason="shared Nottingham data absent")
def test_nottingham_ingests_with_zero_rejected(tmp_path: Path) -> None:
    proc = _cli("ingest", str(NOTTINGHAM_MIDI), "--out", str(tmp_path / "ds"))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith(" rejected")
    assert proc.stdout.strip().splitlines()[-1].endswith(", 0 rejected")
    data = TokenDataset(tmp_path / "ds")
    dups = list(read_jsonl(tmp_path / "ds" / "duplicates.jsonl"))
    assert len(data) + len(dups) == 1034
    counts = {s: len(data.split_entries(s)) for s in ("train", "valid", "test")}
    assert 0.85 < counts["train"] / len(data) < 0.95
    roles = {tuple(e["roles"]) for e in data.entries}
    assert ("melody", "accompaniment") in roles
    assert json.loads((tmp_path / "ds" / "tokenizer.json").read_text())["format"]


def test_dataset_reader_errors(tmp_path: Path) -> None:
    with pytest.raises(CadenceError, match="does not exist"):
        TokenDataset(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(CadenceError, match="not a Cadence dataset"):
        TokenDataset(tmp_path / "empty")
