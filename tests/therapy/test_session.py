"""The session pipeline and the `cadence session` / `cadence generate` commands, end to end
on a tiny model."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import symusic

from cadence.therapy import Prescription
from cadence.therapy.session import run_session
from cadence.therapy.session_plan import SessionPlan

HAVE_AUDIO = shutil.which("fluidsynth") is not None


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "cadence", *args], capture_output=True, text=True, timeout=600
    )


@pytest.mark.parametrize("goal", ["sleep", "gait"])
def test_session_writes_every_file_and_holds_the_prescription(
    tmp_path: Path, tiny_model: Path, goal: str
) -> None:
    extra = {"cadence_spm": 100.0} if goal == "gait" else {}
    p = Prescription.for_goal(goal, 1.0, seed=3, **extra)
    result = run_session(SessionPlan.of(p, model=tiny_model), tmp_path)
    names = {f.name for f in tmp_path.iterdir()}
    expected = {
        "session.mid",
        "session.musicxml",
        "session.svg",
        "prescription.json",
        "report.json",
        "plan.png",
    }
    assert expected <= names
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["max_tempo_deviation_bpm"] == 0.0
    assert report["in_scale_share"] == 1.0
    assert report["undecodable_sequences"] == 0
    assert report["duration_within_one_bar"]
    assert report["max_velocity"] <= max(b.velocity_max for b in p.bars)
    if goal == "gait":
        assert report["beat_jitter_ms"] == 0.0
    if HAVE_AUDIO:
        assert "session.wav" in names
        assert abs(report["loudness_error_lu"]) <= 1.0
    assert Prescription.from_json((tmp_path / "prescription.json").read_text()) == p
    midi = symusic.Score(str(tmp_path / "session.mid"))
    assert len(midi.tempos) >= 1
    assert result.report == report


def test_cli_session_end_to_end(tmp_path: Path, tiny_model: Path) -> None:
    out = tmp_path / "s"
    proc = _cli(
        "session",
        "--goal",
        "anxiety",
        "--minutes",
        "1",
        "--heart-rate",
        "90",
        "--out",
        str(out),
        "--model",
        str(tiny_model),
        "--seed",
        "1",
    )
    assert proc.returncode == 0, proc.stderr
    assert "anxiety:" in proc.stdout
    assert (out / "report.json").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["--goal", "dance", "--minutes", "5"], "goal", id="unknown-goal"),
        pytest.param(["--goal", "sleep", "--minutes", "0"], "minutes", id="zero-minutes"),
        pytest.param(["--goal", "sleep", "--minutes", "181"], "minutes", id="too-long"),
        pytest.param(
            ["--goal", "gait", "--minutes", "5", "--cadence", "250"], "cadence", id="bad-cadence"
        ),
        pytest.param(
            ["--goal", "anxiety", "--minutes", "5", "--heart-rate", "10"],
            "heart",
            id="bad-heart-rate",
        ),
        pytest.param(
            ["--goal", "sleep", "--minutes", "5", "--instrument", "kazoo9"],
            "instrument",
            id="bad-instrument",
        ),
        pytest.param(["--goal", "sleep", "--minutes", "5", "--key", "H#"], "key", id="bad-key"),
        pytest.param(
            ["--goal", "sleep", "--minutes", "5", "--primer", "/no/such.mid"],
            "primer",
            id="missing-primer",
        ),
    ],
)
def test_bad_session_input_is_one_line_exit_2_nothing_written(
    tmp_path: Path, tiny_model: Path, args: list[str], message: str
) -> None:
    out = tmp_path / "out"
    proc = _cli("session", *args, "--out", str(out), "--model", str(tiny_model))
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr.lower()
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not out.exists()


def test_unreadable_primer_is_rejected(tmp_path: Path, tiny_model: Path) -> None:
    bad = tmp_path / "bad.mid"
    bad.write_bytes(b"not midi at all")
    proc = _cli(
        "session",
        "--goal",
        "cognition",
        "--minutes",
        "1",
        "--primer",
        str(bad),
        "--out",
        str(tmp_path / "o"),
        "--model",
        str(tiny_model),
    )
    assert proc.returncode == 2
    assert "primer" in proc.stderr and "Traceback" not in proc.stderr


def test_primer_tune_returns_as_the_theme(tmp_path: Path, tiny_model: Path, abc_file: Path) -> None:
    p = Prescription.for_goal("cognition", 1.0, seed=0, key="G")
    run_session(SessionPlan.of(p, model=tiny_model, primer=abc_file), tmp_path)
    midi = symusic.Score(str(tmp_path / "session.mid"))
    melody = next(t for t in midi.tracks if t.name == "melody")
    # The ABC tune opens G A B c (in G): its first melody pitches come back (in the scale).
    first = [n.pitch % 12 for n in sorted(melody.notes, key=lambda n: n.time)[:4]]
    assert first == [7, 9, 11, 0]


def test_cli_generate_plain_piece(tmp_path: Path, tiny_model: Path) -> None:
    proc = _cli(
        "generate",
        "--out",
        str(tmp_path),
        "--bars",
        "8",
        "--tempo",
        "90",
        "--key",
        "D",
        "--meter",
        "3/4",
        "--model",
        str(tiny_model),
        "--no-audio",
    )
    assert proc.returncode == 0, proc.stderr
    score = symusic.Score(str(tmp_path / "piece.mid"))
    assert score.tempos[0].qpm == pytest.approx(90.0, abs=0.01)
    assert {n.pitch % 12 for t in score.tracks for n in t.notes} <= {2, 4, 6, 7, 9, 11, 1}


def test_without_a_soundfont_midi_and_score_are_still_written(
    tmp_path: Path, tiny_model: Path
) -> None:
    import os

    out = tmp_path / "s"
    env = {**os.environ, "CADENCE_SOUNDFONT": str(tmp_path / "missing.sf2")}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "cadence",
            "session",
            "--goal",
            "sleep",
            "--minutes",
            "0.5",
            "--out",
            str(out),
            "--model",
            str(tiny_model),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    warnings = [line for line in proc.stderr.splitlines() if "no audio" in line]
    assert len(warnings) == 1 and "fluid-soundfont-gm" in warnings[0]
    assert (out / "session.mid").exists() and (out / "session.musicxml").exists()
    assert not (out / "session.wav").exists()
    report = json.loads((out / "report.json").read_text())
    assert report["loudness_lufs"] is None and report["in_scale_share"] == 1.0


@pytest.mark.skipif(not HAVE_AUDIO, reason="fluidsynth is installed by `make test`")
def test_audio_segments_render_while_composing_and_are_reused(
    tmp_path: Path, tiny_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cadence.render import chunks

    renders: list[Path] = []
    submitted: list[str] = []  # "compose" or "render": the stage each segment was sent in
    stage = ["compose"]
    real = chunks.render_blocks
    real_submit = chunks.SegmentRenderer.submit

    def counting(midi: Path, **kw: object) -> Iterator[np.ndarray]:
        renders.append(midi)
        return real(midi, **kw)  # type: ignore[arg-type]

    def submit(self: chunks.SegmentRenderer, score: symusic.Score, seg: chunks.Segment) -> None:
        submitted.append(stage[0])
        real_submit(self, score, seg)

    final: list[list[chunks.Segment]] = []
    real_mix = chunks.SegmentRenderer.mix

    def mix(self: chunks.SegmentRenderer, score: symusic.Score, segs: list, frames: int):  # type: ignore[no-untyped-def]
        final.append(list(segs))
        return real_mix(self, score, segs, frames)

    monkeypatch.setattr(chunks, "render_blocks", counting)
    monkeypatch.setattr(chunks.SegmentRenderer, "mix", mix)
    monkeypatch.setattr(chunks.SegmentRenderer, "submit", submit)
    monkeypatch.setattr(chunks, "SEGMENT_S", 8.0)  # a 1-minute session in several segments
    p = Prescription.for_goal("anxiety", 1.0, seed=5)
    result = run_session(
        SessionPlan.of(p, model=tiny_model), tmp_path, on_stage=lambda s: stage.__setitem__(0, s)
    )
    (segs,) = final
    assert len(segs) >= 4
    assert len(renders) == len(submitted) == len(segs)  # each segment rendered once
    assert submitted[0] == "compose"  # the first sent while the model still composed
    # bars left when composing ended are cut at least as fine as the early segments
    seconds = np.diff([s.offset_s for s in segs])
    assert seconds[-1] <= seconds[0] + 1e-6
    report = result.report
    assert abs(report["loudness_error_lu"]) <= 1.0
    assert report["duration_within_one_bar"]
