"""`cadence evaluate`: distributions against a reference dataset, and its bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import symusic

from cadence.tokens.ingest import ingest


def _random_piece(rng: np.random.Generator, n: int) -> symusic.Score:
    score = symusic.Score(480)
    score.time_signatures.append(symusic.TimeSignature(0, 4, 4))
    track = symusic.Track("melody", 0, False)
    t = 0
    for _ in range(n):
        d = int(rng.choice([240, 480, 960]))
        track.notes.append(
            symusic.Note(t, d, int(rng.choice([60, 62, 64, 65, 67, 69, 71, 72])), 80)
        )
        t += d
    score.tracks.append(track)
    return score


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("ref")
    rng = np.random.default_rng(0)
    (root / "src").mkdir()
    for i in range(120):
        _random_piece(rng, 24 + i % 16).dump_midi(root / "src" / f"{i}.mid")
    ingest([str(root / "src")], root / "ds", workers=1)
    return root / "ds"


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "cadence", *args], capture_output=True, text=True, timeout=300
    )


def test_evaluate_writes_json_and_histograms(tmp_path: Path, reference: Path) -> None:
    gen = tmp_path / "gen"
    gen.mkdir()
    rng = np.random.default_rng(1)
    for i in range(12):
        _random_piece(rng, 30).dump_midi(gen / f"g{i}.mid")
    (gen / "s1").mkdir()
    (gen / "s1" / "report.json").write_text(
        json.dumps({"max_tempo_deviation_bpm": 0.0, "in_scale_share": 1.0, "max_velocity": 70})
    )
    proc = _cli("evaluate", str(gen), "--reference", str(reference), "--out", str(tmp_path / "ev"))
    assert proc.returncode == 0, proc.stderr
    result = json.loads((tmp_path / "ev" / "evaluation.json").read_text())
    assert result["generated_pieces"] == 12
    assert result["reference_pieces"] >= 2
    # Same generator, same scale: distributions overlap well and scale consistency is exact.
    assert result["metrics"]["scale_consistency"]["generated_mean"] == 1.0
    assert result["metrics"]["note_density"]["overlap_area"] > 0.3
    assert result["adherence"]["in_scale_share"]["worst"] == 1.0
    assert (tmp_path / "ev" / "metrics.png").stat().st_size > 10_000


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        pytest.param("missing", "does not exist", id="missing-folder"),
        pytest.param("empty", "holds no MIDI files", id="empty-folder"),
        pytest.param("wrong-kind", "holds no MIDI files", id="wrong-kind"),
        pytest.param("bad-dataset", "does not exist", id="missing-dataset"),
    ],
)
def test_evaluate_bad_input(tmp_path: Path, reference: Path, setup: str, message: str) -> None:
    gen = tmp_path / "gen"
    ref = reference
    if setup != "missing":
        gen.mkdir()
    if setup == "wrong-kind":
        (gen / "notes.txt").write_text("hello")
    if setup == "bad-dataset":
        _random_piece(np.random.default_rng(0), 8).dump_midi(gen / "a.mid")
        ref = tmp_path / "nope"
    proc = _cli("evaluate", str(gen), "--reference", str(ref), "--out", str(tmp_path / "ev"))
    assert proc.returncode == 2
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr
