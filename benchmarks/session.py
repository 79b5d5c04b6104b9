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
import resource
import tempfile
import time
from pathlib import Path

import symusic

from cadence.render import audio
from cadence.therapy import GOALS, Prescription
from cadence.therapy.session import run_session
from cadence.therapy.session_plan import SessionPlan

GOAL_INPUTS = {"gait": {"cadence_spm": 100.0}, "anxiety": {"heart_rate": 95.0}}


def _cpu() -> tuple[float, float]:
    """CPU seconds so far of this process and of its finished children (FluidSynth)."""
    me, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return me.ru_utime + me.ru_stime, kids.ru_utime + kids.ru_stime


def reference_render(seconds: float = 120.0) -> float:
    """CPU seconds FluidSynth takes for a fixed piece (a melody over held chords at 120 BPM):
    how fast this machine is right now, since the cores may be shared. It took 2.0-2.2 s in
    the runs recorded in docs/benchmarks.md."""
    score = symusic.Score(480)
    melody, chords = symusic.Track("melody", 46, False), symusic.Track("chords", 48, False)
    for beat in range(round(seconds * 2)):
        melody.notes.append(symusic.Note(beat * 480, 480, 60 + (beat * 5) % 17, 80))
        if beat % 4 == 0:
            for pitch in (48, 52, 55):
                chords.notes.append(symusic.Note(beat * 480, 4 * 480, pitch, 60))
    score.tracks.extend([melody, chords])
    with tempfile.TemporaryDirectory() as tmp:
        midi = Path(tmp) / "reference.mid"
        score.dump_midi(str(midi))
        before = _cpu()[1]
        for _ in audio.render_blocks(midi, sample_rate=44100, soundfont=audio.find_soundfont()):
            pass
        return _cpu()[1] - before


def speed(minutes: float, model: str | None) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        p = Prescription.for_goal("sleep", minutes, seed=0)
        cpu0 = _cpu()
        start = time.perf_counter()
        result = run_session(SessionPlan.of(p, model=model), Path(tmp))
        total = time.perf_counter() - start
        cpu1 = _cpu()
    music_s = result.report["duration_s"]
    return {
        "minutes": minutes,
        "total_s": round(total, 2),
        "stages_s": {k: round(v, 2) for k, v in result.timings.items()},
        "cpu_s": {"python": round(cpu1[0] - cpu0[0], 1), "fluidsynth": round(cpu1[1] - cpu0[1], 1)},
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
                r = run_session(SessionPlan.of(p, model=model), Path(tmp) / f"{goal}-{seed}").report
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

    reference = reference_render()
    s = speed(args.minutes, args.model)
    s["reference_render_cpu_s"] = round(reference, 2)
    print(f"machine: a FluidSynth reference piece took {reference:.2f} s of CPU", end="")
    print(" (2.0-2.2 s in the runs in docs/benchmarks.md)")
    print(f"{args.minutes:g}-minute session: {s['total_s']} s in all {s['stages_s']}")
    print(f"CPU: {s['cpu_s']['python']} s in Python, {s['cpu_s']['fluidsynth']} s in FluidSynth")
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
