"""Training throughput: Cadence's batched trainer against the naive LSTM loop.

Both sides train the same LSTM (freshly initialised from the same seed) on the same dataset
for the same wall-clock budget, one after the other in this process:

- baseline: the loop often written for symbolic-music LSTMs: batch size 1, each example a
  window of 100 tokens of which only the last step is scored (one predicted token per
  forward/backward pass), Adam at lr 0.001;
- Cadence: :func:`cadence.training.train` (packed windows in batches, next-token loss at
  every position, truncated BPTT, AdamW with warmup and cosine decay), stopped by its
  ``max_minutes`` budget.

Throughput is predicted tokens (each one contributing to the loss) per second of training;
the held-out NLL each model reaches is reported beside it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from cadence.errors import CadenceError
from cadence.evaluation.bench.common import Comparison
from cadence.models import build_model
from cadence.models.lstm import LSTMModel
from cadence.tokens.dataset import TokenDataset
from cadence.training import Progress, evaluate_nll, load_config, train
from cadence.training.evaluate import limit_tokens

WINDOW = 100  # the baseline's window; only its last step is predicted
TARGET = 300.0  # the trainer predicts at least 300× the naive loop's tokens/s (issue 5)


def naive_loop(
    model: LSTMModel, pieces: list[np.ndarray], budget_s: float, seed: int
) -> tuple[int, float]:
    """The naive loop for ``budget_s`` seconds. Returns (predicted tokens, seconds)."""
    rng = np.random.default_rng(seed)
    usable = [p for p in pieces if len(p) > WINDOW]
    if not usable:
        raise CadenceError(f"no training piece is longer than {WINDOW} tokens; ingest more music")
    optimizer = torch.optim.Adam(model.parameters(), lr=0.001)
    model.train()
    predicted = 0
    start = time.perf_counter()
    while time.perf_counter() - start < budget_s:
        piece = usable[rng.integers(len(usable))]
        offset = rng.integers(len(piece) - WINDOW)
        window = torch.from_numpy(piece[offset : offset + WINDOW + 1].astype(np.int64))
        x, y = window[None, :WINDOW], window[WINDOW:]  # [1, 100] inputs, [1] target
        logits = model(x)[:, -1]  # [1, V]: only the last step is scored
        loss = F.cross_entropy(logits, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        predicted += 1
    model.eval()
    return predicted, time.perf_counter() - start


def run_train(
    data: Path,
    work: Path,
    *,
    budget_s: float,
    config: str = "default",
    eval_tokens: int = 50_000,
    seed: int = 0,
    on_status: Callable[[str], None] | None = None,
) -> tuple[dict[str, Any], list[Comparison]]:
    """Train both sides for ``budget_s`` seconds each on the dataset in ``data``; the model
    is the LSTM of the trainer config ``config`` (a name in configs/ or a TOML path).
    ``on_status`` hears what runs (and the trainer's step and tokens/s as it goes)."""
    status = on_status or (lambda _: None)
    if not (data / "manifest.jsonl").is_file():
        raise CadenceError(
            f"{data} is not a dataset folder (no manifest.jsonl); make one with cadence ingest"
        )
    dataset = TokenDataset(data)
    pieces = dataset.split("train")
    valid = limit_tokens(dataset.split("valid"), eval_tokens)
    if not valid or not pieces:
        raise CadenceError(f"dataset {data} needs train and valid pieces; ingest more music")
    cfg = load_config(config)
    if cfg.family != "lstm":
        raise CadenceError(f"the training benchmark needs an LSTM config, {config} is not one")
    cfg = cfg.replace(
        max_minutes=budget_s / 60,
        eval_every=0,
        eval_max_tokens=eval_tokens,
        seed=seed,
        max_steps=0,
        epochs=max(cfg.epochs, 1),
        threads=torch.get_num_threads(),
        patience=0,
    )
    torch.manual_seed(seed)
    naive = build_model(cfg.model, dataset.tokenizer)
    if not isinstance(naive, LSTMModel):
        raise CadenceError(f"the training benchmark needs an LSTM config, {config} is not one")
    status(f"naive loop ({budget_s:g} s)")
    naive_tokens, naive_s = naive_loop(naive, pieces, budget_s, seed)
    status("naive loop: held-out NLL")
    naive_nll = evaluate_nll(naive, valid)
    status(f"Cadence trainer ({budget_s:g} s)")

    def progress(p: Progress) -> None:
        status(f"Cadence trainer: step {p.step}, {p.tokens_per_s:,.0f} tokens/s")

    result = train(cfg, data, work / "train-run", on_progress=progress)
    ours_tokens = result.steps * cfg.batch_size * cfg.seq_len
    figures = {
        "data": str(data),
        "budget_s": budget_s,
        "config": config,
        "model": naive.config.to_dict(),
        "num_parameters": naive.num_parameters(),
        "uniform_nll": math.log(dataset.tokenizer.vocab_size),
        "baseline": {
            "tokens_per_s": naive_tokens / naive_s,
            "predicted_tokens": naive_tokens,
            "seconds": naive_s,
            "valid_nll": naive_nll,
        },
        "cadence": {
            "tokens_per_s": result.tokens_per_s,
            "predicted_tokens": ours_tokens,
            "steps": result.steps,
            "batch_size": cfg.batch_size,
            "seq_len": cfg.seq_len,
            "valid_nll": result.best_valid_nll,
        },
    }
    row = Comparison(
        key="train.tokens_per_s",
        what=f"training: predicted tokens/s ({budget_s:g} s each)",
        cadence=result.tokens_per_s,
        baseline=naive_tokens / naive_s,
        unit="tokens/s",
        baseline_what="naive loop: batch 1, last step of a 100-token window scored, Adam",
        baseline_name="naive loop",
        target=TARGET,
    )
    return figures, [row]
