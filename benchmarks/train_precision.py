"""Training speed on this CPU: float32 against bf16 autocast, one thread against two.

Times forward + backward + AdamW steps of the shipped model sizes on random windows, all
ways in one process, alternating, and prints tokens per second with each way's ratio to
float32 on one thread. Choose the training precision and threads from this, not by guess.

    python benchmarks/train_precision.py [--steps 12] [--rounds 2] [--families lstm,transformer]
        [--threads 1,2] [--json out.json]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import time
from pathlib import Path

import torch

from cadence.models import build_model
from cadence.training.config import load_config
from cadence.training.objective import Objective

CONFIGS = {"lstm": "configs/shipped-lstm.toml", "transformer": "configs/shipped-transformer.toml"}
WAYS = [(1, False), (1, True), (2, False), (2, True)]  # (threads, bf16)
VOCAB = 333


def _steps(family: str, threads: int, bf16: bool, steps: int) -> float:
    cfg = load_config(Path(CONFIGS[family]))
    model = build_model(cfg.model.replace(vocab_size=VOCAB)).train()
    objective = Objective(model, carry=False)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    torch.set_num_threads(threads)
    x = torch.randint(0, VOCAB, (cfg.batch_size, cfg.seq_len))
    y = torch.randint(0, VOCAB, (cfg.batch_size, cfg.seq_len))
    amp = (
        torch.autocast(device_type="cpu", dtype=torch.bfloat16)
        if bf16
        else contextlib.nullcontext()
    )
    t0 = 0.0
    for i in range(steps + 2):  # two warm-up steps
        if i == 2:
            t0 = time.perf_counter()
        with amp:
            loss, _ = objective(x, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return steps * cfg.batch_size * cfg.seq_len / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=12)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--families", default="lstm,transformer", help="comma-separated")
    ap.add_argument("--threads", default="1,2", help="comma-separated thread counts")
    args = ap.parse_args()
    results: dict[str, dict[str, list[float]]] = {}
    for _ in range(args.rounds):
        for family in args.families.split(","):
            for threads, bf16 in WAYS:
                if str(threads) not in args.threads.split(","):
                    continue
                key = f"{threads} thread{'s' if threads > 1 else ''}, {'bf16' if bf16 else 'fp32'}"
                try:
                    tps = _steps(family, threads, bf16, args.steps)
                except RuntimeError as err:  # oneDNN has no bf16 LSTM training primitive
                    print(f"{family} {key}: unsupported ({str(err).splitlines()[0][:80]})")
                    tps = float("nan")
                results.setdefault(family, {}).setdefault(key, []).append(tps)
    for family, ways in results.items():
        base = max(ways["1 thread, fp32"])
        for key, values in ways.items():
            best = max(values)
            if best != best:  # nan: unsupported
                continue
            print(f"{family:12s} {key:18s} {best:9.0f} tokens/s  {best / base:5.2f}x")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
