"""Resumable trainer state (``last/trainer_state.pt``), optimiser and LR schedule, Ctrl-C."""

from __future__ import annotations

import logging
import math
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import torch
from torch import nn
from torch.optim import AdamW
from torch.optim.lr_scheduler import LambdaLR

from cadence.errors import CadenceError
from cadence.training.config import TrainConfig

log = logging.getLogger(__name__)

STATE_FILE = "trainer_state.pt"
STATE_VERSION = 1
# Settings that may change when a run resumes (they do not change what a step computes).
RESUMABLE_CHANGES = frozenset(
    {
        "epochs",
        "max_steps",
        "max_minutes",
        "patience",
        "log_every",
        "eval_batch_size",
        "eval_max_tokens",
        "eval_every",
        "device",
        "threads",
    }
)


def make_optimizer(model: nn.Module, cfg: TrainConfig, device: torch.device) -> AdamW:
    """AdamW with weight decay on matrices (embeddings, weights) only."""
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    groups = [
        {"params": decay, "weight_decay": cfg.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    return AdamW(groups, lr=cfg.lr, betas=cfg.betas, fused=device.type == "cuda")


def make_scheduler(optimizer: AdamW, cfg: TrainConfig, total_steps: int) -> LambdaLR:
    """Per-step LR: linear warmup, then cosine decay to ``min_lr`` at ``total_steps``."""
    ratio = cfg.min_lr / cfg.lr
    return LambdaLR(
        optimizer,
        lambda s: lr_factor(s, warmup=cfg.warmup_steps, total=total_steps, min_ratio=ratio),
    )


def lr_factor(step: int, *, warmup: int, total: int, min_ratio: float) -> float:
    """Linear warmup from 0 over ``warmup`` steps, then cosine decay to ``min_ratio``."""
    if step < warmup:
        return (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return min_ratio + (1.0 - min_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))


@dataclass
class Position:
    """Where training stands: the next batch to read and the best score so far."""

    epoch: int = 0  # epochs completed
    batch: int = 0  # windows done in the current epoch
    step: int = 0  # optimiser steps done
    best_valid_nll: float | None = None
    bad_evals: int = 0  # validations since the best one
    elapsed_s: float = 0.0  # training wall time before this session
    history: list[dict[str, Any]] = field(default_factory=list)  # one entry per validation


def save_state(
    path: Path,
    *,
    position: Position,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    config: dict[str, Any],
    per_rank: list[dict[str, Any]],
) -> None:
    """Write everything a resumed run needs beyond the weights."""
    torch.save(
        {
            "version": STATE_VERSION,
            "position": vars(position),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "config": config,
            "world_size": len(per_rank),
            "ranks": per_rank,  # rng states and recurrent carry, by rank
        },
        path,
    )


def load_state(path: Path) -> dict[str, Any]:
    if not path.exists():
        raise CadenceError(
            f"nothing to resume: {path} is missing; train without --resume to start afresh"
        )
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError, EOFError) as err:
        raise CadenceError(f"{path} is corrupt ({err}); train without --resume") from None
    if not isinstance(state, dict) or state.get("version") != STATE_VERSION:
        raise CadenceError(f"{path} was written by another trainer version; cannot resume")
    return state


def check_resumable(saved: dict[str, Any], current: dict[str, Any]) -> None:
    """Raise unless ``current`` differs from the saved config only in resumable settings."""
    for key in sorted(set(saved) | set(current)):
        if key in RESUMABLE_CHANGES or saved.get(key) == current.get(key):
            continue
        raise CadenceError(
            f"config {key} = {current.get(key)!r} but the run being resumed used "
            f"{saved.get(key)!r}; resume with the same config or start a new --out"
        )


def rng_snapshot() -> dict[str, Any]:
    snap: dict[str, Any] = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        snap["cuda"] = torch.cuda.get_rng_state()
    return snap


def rng_restore(snap: dict[str, Any]) -> None:
    torch.set_rng_state(snap["torch"])
    if "cuda" in snap and torch.cuda.is_available():
        torch.cuda.set_rng_state(snap["cuda"])


class StopFlag:
    """Set by the first Ctrl-C (the step in progress finishes, then ``last/`` is saved);
    a second Ctrl-C interrupts at once."""

    def __init__(self) -> None:
        self.set = False

    def _handler(self, signum: int, frame: FrameType | None) -> None:
        if self.set:
            raise KeyboardInterrupt
        self.set = True
        log.warning("interrupt: finishing this step and saving; press Ctrl-C again to abort")

    @contextmanager
    def catching_sigint(self) -> Iterator[StopFlag]:
        """Install the handler for the block (main thread only; elsewhere a no-op)."""
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        previous = signal.signal(signal.SIGINT, self._handler)
        try:
            yield self
        finally:
            signal.signal(signal.SIGINT, previous)
