"""Training speed and quality: the naive LSTM loop against Cadence's batched trainer.

Both sides run in this one process, on the same dataset and the same LSTM (2 layers × 512,
embedding 256, dropout 0.1, freshly initialised from the same seed):

- baseline: the loop often written for symbolic-music LSTMs: batch size 1, each training
  example a window of 100 tokens of which only the last step is scored (one predicted token
  per forward/backward pass), Adam at lr 0.001;
- Cadence: ``cadence.training.train`` with the shipped default config (windows of 128 tokens
  in batches of 32, next-token loss at every position, truncated BPTT, AdamW, warmup and
  cosine schedule), stopped by its ``max_minutes`` time budget.

Each side trains for the same wall-clock budget; the table gives predicted tokens (each one
contributing to the loss) per second, their ratio, and the held-out NLL (nats/token, the same
valid pieces scored whole by ``evaluate_nll``) each model reaches within the budget.

    python benchmarks/train.py [--data data/corpus] [--budget 300] [--threads 1] [--json FILE]

The naive loop lives in :mod:`cadence.evaluation.bench.train`; `cadence bench` runs both
sides beside the other benchmarks (shorter budget by default).
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
from pathlib import Path

import numpy as np
import torch

from cadence.evaluation.bench.train import naive_loop
from cadence.models import LSTMConfig, build_model
from cadence.models.lstm import LSTMModel
from cadence.tokens.dataset import TokenDataset
from cadence.training import evaluate_nll, load_config, train
from cadence.training.evaluate import limit_tokens

ROOT = Path(__file__).resolve().parents[1]
WINDOW = 100  # the baseline's window; only its last step is predicted
# `make corpus` writes data/corpus; older checkouts used out/corpus.
DEFAULT_DATA = next(
    (p for p in (ROOT / "data" / "corpus", ROOT / "out" / "corpus") if p.is_dir()),
    ROOT / "data" / "corpus",
)


def baseline(
    model: LSTMModel, pieces: list[np.ndarray], budget_s: float, seed: int
) -> tuple[int, float]:
    """The naive loop for ``budget_s`` seconds. Returns (predicted tokens, seconds)."""
    return naive_loop(model, pieces, budget_s, seed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument(
        "--budget", type=float, default=300.0,
        help="seconds of training each (under ~2 minutes on 2 CPU cores neither side has left "
        "the unigram plateau, so quality is compared too early to tell)",
    )  # fmt: skip
    parser.add_argument("--config", default="default", help="Cadence's training config")
    parser.add_argument("--eval-tokens", type=int, default=50_000, help="held-out tokens scored")
    parser.add_argument(
        "--warmup", type=int, default=None, help="Cadence's warmup steps (default: the config's)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--threads", type=int, default=0, help="torch threads for both sides (0: torch default)"
    )
    parser.add_argument("--json", type=Path, default=ROOT / "out" / "bench-train.json")
    args = parser.parse_args()

    if args.threads:
        torch.set_num_threads(args.threads)
    data = TokenDataset(args.data)
    train_pieces, valid = data.split("train"), limit_tokens(data.split("valid"), args.eval_tokens)
    model_config = LSTMConfig(embed_dim=256, hidden_size=512, num_layers=2, dropout=0.1)
    config = load_config(args.config)
    if config.model.to_dict() | {"vocab_size": 0} != model_config.to_dict():
        raise SystemExit(f"config {args.config} does not train the benchmark's LSTM size")
    config = config.replace(
        max_minutes=args.budget / 60, eval_every=0, eval_max_tokens=args.eval_tokens,
        seed=args.seed, max_steps=0, epochs=max(config.epochs, 1), threads=args.threads,
        warmup_steps=config.warmup_steps if args.warmup is None else args.warmup,
    )  # fmt: skip

    torch.manual_seed(args.seed)
    naive = build_model(model_config, data.tokenizer)
    assert isinstance(naive, LSTMModel)
    untrained = evaluate_nll(naive, valid)
    naive_tokens, naive_s = baseline(naive, train_pieces, args.budget, args.seed)
    naive_nll = evaluate_nll(naive, valid)

    with tempfile.TemporaryDirectory() as tmp:
        result = train(config, args.data, Path(tmp) / "run")
        ours_nll = result.best_valid_nll
        ours_tokens = result.steps * config.batch_size * config.seq_len
        ours_s = ours_tokens / result.tokens_per_s

    naive_rate, ours_rate = naive_tokens / naive_s, result.tokens_per_s
    ratio = ours_rate / naive_rate
    rows = [
        ("baseline: B=1, last step of 100, Adam", naive_rate, naive_tokens, naive_s, naive_nll),
        (
            f"cadence: B={config.batch_size} × {config.seq_len}, every position",
            ours_rate, ours_tokens, ours_s, ours_nll,
        ),
    ]  # fmt: skip
    print(f"\nLSTM 2×512 (emb 256), {naive.num_parameters():,} parameters; data {args.data}")
    uniform = math.log(data.tokenizer.vocab_size)
    scored = sum(len(v) for v in valid)
    print(f"budget {args.budget:.0f} s each; held-out NLL on {scored:,} valid tokens")
    print(f"(untrained model {untrained:.3f}, uniform {uniform:.3f})")
    print(f"\n{'':44} {'pred. tok/s':>12} {'pred. tokens':>13} {'train s':>8} {'valid NLL':>10}")
    for name, rate, tokens, seconds, nll in rows:
        print(f"{name:44} {rate:12,.1f} {tokens:13,d} {seconds:8.1f} {nll:10.3f}")
    print(f"\nspeed ratio (predicted tokens per second): {ratio:,.0f}×  (target ≥ 300×)")
    report = {
        "data": str(args.data),
        "budget_s": args.budget,
        "threads": torch.get_num_threads(),
        "model": model_config.to_dict() | {"vocab_size": data.tokenizer.vocab_size},
        "num_parameters": naive.num_parameters(),
        "valid_tokens_scored": scored,
        "untrained_nll": untrained,
        "baseline": {"tokens_per_s": naive_rate, "predicted_tokens": naive_tokens,
                     "train_s": naive_s, "valid_nll": naive_nll},
        "cadence": {"tokens_per_s": ours_rate, "predicted_tokens": ours_tokens,
                    "train_s": ours_s, "steps": result.steps, "valid_nll": ours_nll,
                    "config": config.to_dict()},
        "speed_ratio": ratio,
    }  # fmt: skip
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=1))
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
