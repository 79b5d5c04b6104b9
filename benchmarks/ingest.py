"""Ingest speed: Cadence's `ingest` against reading every file with music21.

Both sides run in this one process on the same Nottingham MIDI files:
- baseline: `music21.converter.parse` on each file, then walking every note (pitch, offset,
  duration), one file at a time: what a script written with music21 alone does;
- Cadence: `cadence.tokens.ingest.ingest` end to end (load with symusic, check, roles,
  transpose, features, tokens, manifest) on all cores.

The baseline is slow, so by default it reads a sample of the files; both sides are reported
in files per second and the ratio compares those rates.

    python benchmarks/ingest.py [--data ../shared/data/nottingham/midi] [--baseline-files 100]

Both sides live in :mod:`cadence.evaluation.bench.ingest`; `cadence bench` runs them beside
the other benchmarks.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path

from cadence.evaluation.bench.ingest import cadence_ingest, music21_baseline, sample_evenly

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "nottingham" / "midi"


def baseline(files: list[Path]) -> tuple[float, int]:
    """music21 alone: parse each file and walk its notes. Returns (seconds, notes)."""
    return music21_baseline(files)


def ours(folder: Path) -> tuple[float, int]:
    with tempfile.TemporaryDirectory() as tmp:
        return cadence_ingest(folder, Path(tmp) / "ds")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--baseline-files", type=int, default=100)
    parser.add_argument("--json", type=Path, default=None, help="also write results here")
    args = parser.parse_args()
    files = sorted(args.data.glob("*.mid"))
    if not files:
        raise SystemExit(f"no MIDI files in {args.data}")
    sample = sample_evenly(files, args.baseline_files)

    t_ours, n_ours = ours(args.data)
    t_base, _ = baseline(sample)
    rate_ours, rate_base = n_ours / t_ours, len(sample) / t_base
    result = {
        "cores": os.cpu_count(),
        "files_total": len(files),
        "cadence_seconds_all_files": round(t_ours, 2),
        "cadence_files_per_s": round(rate_ours, 1),
        "baseline_files": len(sample),
        "baseline_seconds": round(t_base, 2),
        "baseline_files_per_s": round(rate_base, 2),
        "speedup": round(rate_ours / rate_base, 1),
    }
    print(f"{'side':<34}{'files':>8}{'seconds':>10}{'files/s':>10}")
    print(f"{'music21 parse + walk notes':<34}{len(sample):>8}{t_base:>10.2f}{rate_base:>10.2f}")
    print(f"{'cadence ingest (all cores)':<34}{n_ours:>8}{t_ours:>10.2f}{rate_ours:>10.1f}")
    print(f"speed-up: {result['speedup']}x")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
