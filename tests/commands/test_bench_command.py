"""`cadence bench` from the command line: bad input is one line and exit 2; one quick run
of every stage writes JSON with positive figures and consistent ratios, and the docs section."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cadence.cli import app
from cadence.evaluation.bench.report import BEGIN, END

NOTTINGHAM_MIDI = Path(__file__).resolve().parents[3] / "shared" / "data" / "nottingham" / "midi"


def test_bad_input_exits_2_with_one_line(tmp_path: Path) -> None:
    for args in (["--only", "ingest,nope"], ["--data", str(tmp_path / "none"), "--only", "ingest"]):
        proc = subprocess.run(
            [sys.executable, "-m", "cadence", "bench", "--quick", *args],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert proc.returncode == 2, proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error:"), proc.stderr
        assert "Traceback" not in proc.stderr


def _positive(x: object) -> bool:
    return isinstance(x, int | float) and math.isfinite(x) and x > 0


@pytest.mark.skipif(not NOTTINGHAM_MIDI.is_dir(), reason=f"{NOTTINGHAM_MIDI} is not available")
def test_quick_run_writes_json_and_docs(tmp_path: Path) -> None:
    out, doc = tmp_path / "bench.json", tmp_path / "benchmarks.md"
    doc.write_text("# Benchmarks\n\nKept.\n")
    result = CliRunner().invoke(
        app,
        [
            "bench",
            "--quick",
            "--json",
            str(out),
            "--docs",
            str(doc),
            "--data",
            str(NOTTINGHAM_MIDI),
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert set(data) == {"meta", "settings", "stages", "skipped", "comparisons"}
    audio = shutil.which("fluidsynth") is not None and Path("/usr/share/sounds/sf2").is_dir()
    expected = {"ingest", "train", "generate"} | ({"render"} if audio else set())
    assert expected <= set(data["stages"])
    ingest, train = data["stages"]["ingest"], data["stages"]["train"]
    assert _positive(ingest["cadence_files_per_s"]) and _positive(ingest["baseline_files_per_s"])
    assert _positive(train["cadence"]["tokens_per_s"])
    assert _positive(train["baseline"]["tokens_per_s"])
    for name in ("lstm", "transformer"):
        gen = data["stages"]["generate"][name]
        for way in ("session_path", "step_loop", "gpt2_generate", "naive_loop"):
            assert _positive(gen[way]["tokens_per_s"]), (name, way)
            assert _positive(gen[way]["real_time_factor"]), (name, way)
        assert (
            gen["gpt2_dims"]["vocab_size"]
            == data["stages"]["generate"]["lstm"]["gpt2_dims"]["vocab_size"]
        )  # both shipped models share the tokenizer
    if audio:
        render = data["stages"]["render"]
        assert _positive(render["cadence_real_time_factor"])
        assert _positive(render["baseline_real_time_factor"])
    keys = {row["key"] for row in data["comparisons"]}
    assert {"ingest.files_per_s", "train.tokens_per_s", "generate.lstm.session_vs_gpt2",
            "generate.transformer.step_vs_gpt2"} <= keys  # fmt: skip
    for row in data["comparisons"]:
        assert _positive(row["cadence"]) and _positive(row["baseline"]) and _positive(row["ratio"])
        assert row["ratio"] == pytest.approx(row["cadence"] / row["baseline"])
        if row["target"] is not None:
            assert row["met"] == (row["ratio"] >= row["target"])
    text = doc.read_text()
    assert text.startswith("# Benchmarks\n\nKept.\n") and BEGIN in text and END in text
    assert "| what | Cadence | baseline | ratio | target | met? |" in text
