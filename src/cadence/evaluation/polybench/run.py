"""``cadence polybench``: train a piano-roll model on one benchmark and score its test split.

Training: Adam, gradient clipping, dropout, LR halving on a validation plateau, early stopping
on validation NLL (the best epoch's weights are restored), a wall-clock budget; optionally an
exponential moving average of the weights (``ema``) and an ensemble of seeds whose per-key
probabilities are averaged (``ensemble``, independent-key models only). Scoring follows
:mod:`cadence.evaluation.polybench.protocol` on the full, unwindowed sequences.
"""

from __future__ import annotations

import copy
import logging
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from cadence.evaluation.polybench.config import PolyConfig, default_config, load_config
from cadence.evaluation.polybench.data import DATASETS, batches, load_dataset, transpose
from cadence.evaluation.polybench.models import Ensemble, PianoRollRNN
from cadence.evaluation.polybench.protocol import masked_nll, score

log = logging.getLogger(__name__)

NAMES = {
    "jsb": "JSB Chorales",
    "nottingham": "Nottingham",
    "musedata": "MuseData",
    "piano": "Piano-midi.de",
}
#: Published test nats/frame (shared/data/README.md); never measured here.
PUBLISHED: dict[str, dict[str, float]] = {
    "LSTM (Bai et al. 2018)": {"jsb": 8.45, "nottingham": 3.29},
    "GRU (Bai et al. 2018)": {"jsb": 8.43, "nottingham": 3.46},
    "RNN (Bai et al. 2018)": {"jsb": 8.91, "nottingham": 4.05},
    "TCN (Bai et al. 2018)": {"jsb": 8.10, "nottingham": 3.07},
    "DBN+LSTM (Vohra et al. 2015)": {"jsb": 3.47, "nottingham": 1.32},
    "RNN-NADE (Boulanger-Lewandowski et al. 2012)": {"nottingham": 2.31},
}


def windows(seqs: list[np.ndarray], length: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Cut each sequence into consecutive windows of ``length`` frames from a random offset.

    Windows overlap by one frame so every training transition is seen; ``length`` 0 keeps the
    sequences whole.
    """
    if length == 0:
        return seqs
    out = []
    for s in seqs:
        start = int(rng.integers(0, length - 1)) if len(s) > length else 0
        if start:
            out.append(s[: start + 1])
        for i in range(start, len(s) - 1, length - 1):
            out.append(s[i : i + length])
    return out


def _train_epoch(
    model: PianoRollRNN,
    opt: torch.optim.Optimizer,
    cfg: PolyConfig,
    train: list[np.ndarray],
    rng: np.random.Generator,
    gen: torch.Generator,
    deadline: float,
    ema: _EMA | None = None,
) -> tuple[float, bool]:
    """One pass over the training windows; (train nats/frame, ran out of time)."""
    model.train()
    total, frames = 0.0, 0
    for rolls, mask in batches(
        windows(train, cfg.window, rng), cfg.batch_size, shuffle=True, generator=gen
    ):
        if cfg.transpose:
            rolls = transpose(rolls, int(rng.integers(-cfg.transpose, cfg.transpose + 1)))
        n = int(mask.sum())
        loss = masked_nll(model, rolls, mask)
        opt.zero_grad(set_to_none=True)
        (loss / n).backward()
        if cfg.grad_clip:
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        opt.step()
        if ema is not None:
            ema.update(model)
        total += loss.item()
        frames += n
        if time.monotonic() > deadline:
            return total / max(frames, 1), True
    return total / max(frames, 1), False


class _EMA:
    """An exponential moving average of a model's parameters, held in a copy of the model."""

    def __init__(self, net: PianoRollRNN, decay: float) -> None:
        self.decay = decay
        self.model = copy.deepcopy(net)
        self.steps = 0

    @torch.no_grad()
    def update(self, net: PianoRollRNN) -> None:
        self.steps += 1
        d = min(self.decay, (1 + self.steps) / (10 + self.steps))  # short warm-up
        for avg, p in zip(self.model.parameters(), net.parameters(), strict=True):
            avg.lerp_(p, 1 - d)


def _train_member(
    cfg: PolyConfig,
    data: dict[str, list[np.ndarray]],
    label: str,
    member: int,
    on_progress: Callable[[dict[str, Any]], None] | None,
) -> tuple[PianoRollRNN, dict[str, Any]]:
    """Train one model with ``cfg.seed``; the best-valid weights and how training went."""
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    net = PianoRollRNN(cfg)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    ema = _EMA(net, cfg.ema) if cfg.ema else None
    scored = ema.model if ema is not None else net  # the weights validated and kept
    start = time.monotonic()
    deadline = start + cfg.max_minutes * 60 if cfg.max_minutes else math.inf
    best, best_state, best_epoch, stale, plateau = math.inf, None, 0, 0, 0
    stopped, epoch, train_nll = "max_epochs", 0, math.nan
    for epoch in range(1, cfg.max_epochs + 1):
        train_nll, out_of_time = _train_epoch(net, opt, cfg, data["train"], rng, gen, deadline, ema)
        valid = score(scored, data["valid"], cfg.eval_batch_size).nats_per_frame
        lr = opt.param_groups[0]["lr"]
        info = {
            "member": member,
            "epoch": epoch,
            "train": train_nll,
            "valid": valid,
            "lr": lr,
            "seconds": time.monotonic() - start,
        }
        log.info(
            "polybench %s member %d epoch %d train %.4f valid %.4f lr %.2g",
            label,
            member,
            epoch,
            train_nll,
            valid,
            lr,
        )
        if on_progress is not None:
            on_progress(info)
        if valid < best:
            best, best_epoch, stale, plateau = valid, epoch, 0, 0
            best_state = copy.deepcopy(scored.state_dict())
        else:
            stale += 1
            plateau += 1
            if cfg.lr_patience and plateau >= cfg.lr_patience:
                plateau = 0
                for group in opt.param_groups:
                    group["lr"] *= 0.5
        if out_of_time or time.monotonic() > deadline:
            stopped = "time"
            break
        if cfg.patience and stale >= cfg.patience:
            stopped = "patience"
            break
    if best_state is not None:
        scored.load_state_dict(best_state)
    scored.eval()
    return scored, {
        "seed": cfg.seed,
        "valid": best,
        "train": train_nll,
        "epochs": epoch,
        "best_epoch": best_epoch,
        "stopped": stopped,
        "seconds": time.monotonic() - start,
    }


def run(
    dataset: str,
    model: str = "bernoulli",
    config: PolyConfig | str | Path | None = None,
    root: str | Path | None = None,
    max_minutes: float | None = None,
    seed: int | None = None,
    on_progress: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Train ``model`` on ``dataset`` and score the test split; one result row (a dict).

    ``config`` is a :class:`PolyConfig`, a TOML path, or None for the shipped
    ``configs/polybench/<dataset>-<model>.toml``. ``max_minutes`` and ``seed`` override the
    config's. ``on_progress`` gets a dict after every epoch (member, epoch, train, valid, lr,
    seconds). With ``ensemble = n`` in the config, n models are trained one after the other
    (seeds seed .. seed+n-1, each with the full time budget) and their per-key probabilities
    averaged; the row's ``valid`` and ``test`` are the ensemble's, ``members`` each model's,
    ``valid_by_size[k-1]`` the valid NLL of the first k members' ensemble.
    """
    data = load_dataset(dataset, root)  # checks the name and the files first
    if config is None:
        cfg = default_config(dataset, model)
    elif isinstance(config, PolyConfig):
        cfg = config
    else:
        cfg = load_config(config)
    cfg = cfg.replace(model=model)
    if max_minutes is not None:
        cfg = cfg.replace(max_minutes=max_minutes)
    if seed is not None:
        cfg = cfg.replace(seed=seed)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    start = time.monotonic()
    nets, members = [], []
    for i in range(cfg.ensemble):
        net, info = _train_member(
            cfg.replace(seed=cfg.seed + i), data, f"{dataset} {model}", i, on_progress
        )
        nets.append(net)
        members.append(info)
    final: PianoRollRNN | Ensemble = nets[0] if len(nets) == 1 else Ensemble(nets)
    valid_by_size = [members[0]["valid"]]  # valid NLL of the first k members averaged
    for k in range(2, len(nets) + 1):
        part = Ensemble(nets[:k])
        valid_by_size.append(score(part, data["valid"], cfg.eval_batch_size).nats_per_frame)
    if len(nets) > 1:
        for info, net in zip(members, nets, strict=True):
            info["test"] = score(net, data["test"], cfg.eval_batch_size).nats_per_frame
    test = score(final, data["test"], cfg.eval_batch_size)
    return {
        "dataset": dataset,
        "model": model,
        "arch": cfg.arch,
        "rnn": cfg.rnn if cfg.arch == "rnn" else None,
        "ensemble": cfg.ensemble,
        "test": test.nats_per_frame,
        "valid": valid_by_size[-1],
        "train": members[-1]["train"],
        "test_frames": test.frames,
        "epochs": members[-1]["epochs"],
        "best_epoch": members[-1]["best_epoch"],
        "stopped": members[-1]["stopped"],
        "members": members,
        "valid_by_size": valid_by_size,
        "seconds": time.monotonic() - start,
        "params": final.num_params(),
        "config": cfg.to_dict(),
    }


def model_label(row: dict[str, Any]) -> str:
    """``GRU``, ``TCN``, ``TCN ×5`` (an ensemble of 5): the model column of a result row."""
    name = "TCN" if row.get("arch") == "tcn" else str(row["rnn"]).upper()
    n = int(row.get("ensemble", 1))
    return f"{name} ×{n}" if n > 1 else name


def format_table(rows: list[dict[str, Any]]) -> str:
    """A Markdown table of measured rows beside the published figures (test nats/frame)."""
    sets = list(DATASETS)
    head = "| model | " + " | ".join(NAMES[d] for d in sets) + " |"
    lines = [head, "|---" * (len(sets) + 1) + "|"]
    for name, figs in PUBLISHED.items():
        cells = [f"{figs[d]:.2f}" if d in figs else "" for d in sets]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    measured: dict[str, dict[str, float]] = {}
    for row in rows:
        label = f"cadence {model_label(row)} {row['model']} (measured)"
        measured.setdefault(label, {})[row["dataset"]] = row["test"]
    for name, figs in measured.items():
        cells = [f"**{figs[d]:.2f}**" if d in figs else "" for d in sets]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
