"""Session speed and adherence, in one run.

1. Speed: one long session (default 30 minutes, sleep) generated and rendered with the default
   model; prints the time per stage and the real-time factor (seconds of music per second of
   compute).
2. Adherence: every goal × N seeds (short sessions), each measured from its written files;
   prints the worst case of each adherence figure against its target.

    python benchmarks/session.py [--minutes 30] [--seeds 20] [--adherence-minutes 2]
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import time
from pathlib import Path

from cadence.therapy import GOALS, Prescription
from cadence.therapy.session import run_session

GOAL_INPUTS = {"gait": {"cadence_spm": 100.0}, "anxiety": {"heart_rate": 95.0}}


def speed(minutes: float, model: str | None) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        p = Prescription.for_goal("sleep", minutes, seed=0)
        start = time.perf_counter()
        result = run_session(p, Path(tmp), model=model)
        total = time.perf_counter() - start
    music_s = result.report["duration_s"]
    return {
        "minutes": minutes,
        "total_s": round(total, 2),
        "stages_s": {k: round(v, 2) for k, v in result.timings.items()},
        "music_s": round(music_s, 1),
        "real_time_factor": round(music_s / total, 1),
    }


def adherence(seeds: int, minutes: float, model: str | None) -> dict:
    worst = {
        "max_tempo_deviation_bpm": 0.0,
        "min_in_scale_share": 1.0,
        "max_loudness_error_lu": 0.0,
        "all_within_one_bar": True,
        "max_beat_jitter_ms": 0.0,
        "undecodable_sequences": 0,
        "sessions": 0,
    }
    with tempfile.TemporaryDirectory() as tmp:
        for goal in GOALS:
            for seed in range(seeds):
                p = Prescription.for_goal(goal, minutes, seed=seed, **GOAL_INPUTS.get(goal, {}))
                r = run_session(p, Path(tmp) / f"{goal}-{seed}", model=model).report
                worst["sessions"] += 1
                worst["max_tempo_deviation_bpm"] = max(
                    worst["max_tempo_deviation_bpm"], r["max_tempo_deviation_bpm"]
                )
                worst["min_in_scale_share"] = min(worst["min_in_scale_share"], r["in_scale_share"])
                if r["loudness_error_lu"] is not None:
                    worst["max_loudness_error_lu"] = max(
                        worst["max_loudness_error_lu"], r["loudness_error_lu"]
                    )
                worst["all_within_one_bar"] &= bool(r["duration_within_one_bar"])
                jitter = r["beat_jitter_ms"]
                if jitter is not None and not math.isnan(jitter):
                    worst["max_beat_jitter_ms"] = max(worst["max_beat_jitter_ms"], jitter)
                worst["undecodable_sequences"] += r["undecodable_sequences"]
    return worst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--adherence-minutes", type=float, default=2.0)
    parser.add_argument("--model", default=None, help="checkpoint folder, lstm or transformer")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    s = speed(args.minutes, args.model)
    print(f"{args.minutes:g}-minute session: {s['total_s']} s in all {s['stages_s']}")
    print(f"real-time factor: {s['real_time_factor']}x (target: 30 min in under 20 s = 90x)")
    a = adherence(args.seeds, args.adherence_minutes, args.model)
    print(f"adherence over {a['sessions']} sessions ({len(GOALS)} goals x {args.seeds} seeds):")
    targets = {
        "max_tempo_deviation_bpm": "0.0",
        "min_in_scale_share": "1.0",
        "max_loudness_error_lu": "<= 1.0",
        "all_within_one_bar": "True",
        "max_beat_jitter_ms": "0.0",
        "undecodable_sequences": "0",
    }
    for key, target in targets.items():
        print(f"  {key:<26}{a[key]!s:>10}   target {target}")
    if args.json:
        args.json.write_text(json.dumps({"speed": s, "adherence": a}, indent=2))


if __name__ == "__main__":
    main()
