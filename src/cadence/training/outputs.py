"""What training reports: per-step progress to the hook, and the final result."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

StopReason = Literal["completed", "early_stopping", "max_steps", "time_budget", "interrupted"]


@dataclass
class Progress:
    """What the progress hook receives after every step ("step") and validation ("valid")."""

    event: Literal["step", "valid"]
    epoch: int  # the epoch in progress, from 1
    epochs: int
    step: int  # optimiser steps done
    total_steps: int
    train_loss: float
    lr: float
    tokens_per_s: float
    elapsed_s: float
    valid_nll: float | None = None


@dataclass
class TrainResult:
    best_valid_nll: float | None
    test_nll: float | None
    out_dir: Path
    best_dir: Path
    last_dir: Path
    metrics_path: Path
    steps: int
    epochs: int  # completed
    stop_reason: StopReason
    elapsed_s: float
    tokens_per_s: float
    num_parameters: int

    def to_dict(self) -> dict[str, Any]:
        return {k: str(v) if isinstance(v, Path) else v for k, v in asdict(self).items()}
