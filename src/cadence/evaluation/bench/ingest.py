"""Ingest speed: ``cadence ingest`` against reading every file with music21.

Both sides read the same MIDI files in this one process:

- baseline: ``music21.converter.parse`` on each file (no pickle cache), then walking every
  note (pitches, offset, duration), one file at a time: what a script written with music21
  alone does;
- Cadence: :func:`cadence.tokens.ingest.ingest` end to end (load with symusic, checks, roles,
  transposition, features, tokens, manifest) on all cores.

The baseline is slow, so it reads an evenly spaced sample of the files; both sides are
compared in files per second.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import music21

from cadence.evaluation.bench.common import Comparison, Stopwatch
from cadence.tokens.ingest import ingest

TARGET = 50.0  # ingest at least 50× music21's files per second (issue 5)


def midi_files(folder: Path) -> list[Path]:
    """The ``*.mid`` files in ``folder``, sorted (not recursive)."""
    return sorted(folder.glob("*.mid"))


def sample_evenly(files: list[Path], n: int) -> list[Path]:
    """``n`` files spread over ``files`` (all of them when there are fewer)."""
    if n <= 0:
        return []
    return files[:: max(1, len(files) // n)][:n]


def music21_baseline(files: list[Path]) -> tuple[float, int]:
    """Parse each file with music21 and walk its notes. Returns (seconds, notes seen)."""
    notes = 0
    with Stopwatch() as sw:
        for path in files:
            score = music21.converter.parse(path, forceSource=True)  # no pickle cache
            for n in score.recurse().notes:
                _ = (n.pitches, n.offset, n.duration.quarterLength)
                notes += len(n.pitches)
    return sw.seconds, notes


def cadence_ingest(source: Path, out: Path, workers: int | None = None) -> tuple[float, int]:
    """``cadence ingest`` of ``source`` into ``out``. Returns (seconds, files read)."""
    with Stopwatch() as sw:
        summary = ingest([str(source)], out, workers=workers)
    return sw.seconds, summary.pieces + summary.duplicates + summary.rejected


def run_ingest(
    data: Path, work: Path, *, files: int = 0, baseline_files: int = 60, workers: int | None = None
) -> tuple[dict[str, Any], list[Comparison], Path]:
    """Time both sides on the MIDI files in ``data``; ``files`` > 0 ingests only that many
    (copied to ``work`` first). Returns (figures, comparisons, the dataset folder written)."""
    all_files = midi_files(data)
    source = data
    if files and files < len(all_files):
        source = work / "ingest-source"
        source.mkdir(parents=True, exist_ok=True)
        for path in all_files[:files]:
            shutil.copy(path, source / path.name)
        all_files = all_files[:files]
    dataset = work / "dataset"
    t_ours, n_ours = cadence_ingest(source, dataset, workers)
    sample = sample_evenly(all_files, baseline_files)
    t_base, notes = music21_baseline(sample)
    rate_ours, rate_base = n_ours / t_ours, len(sample) / t_base
    figures = {
        "files": n_ours,
        "cadence_seconds": t_ours,
        "cadence_files_per_s": rate_ours,
        "baseline_files": len(sample),
        "baseline_seconds": t_base,
        "baseline_notes": notes,
        "baseline_files_per_s": rate_base,
    }
    row = Comparison(
        key="ingest.files_per_s",
        what="ingest: MIDI files/s",
        cadence=rate_ours,
        baseline=rate_base,
        unit="files/s",
        baseline_what="music21 converter.parse + walk every note, one process",
        baseline_name="music21",
        target=TARGET,
    )
    return figures, [row], dataset
