"""cadence.training: batched next-token training (one process or torchrun DDP), resumable.

>>> from cadence.training import train
>>> result = train("configs/tiny.toml", "out/dataset", "out/model")   # doctest: +SKIP
>>> result.best_valid_nll, result.test_nll, result.best_dir           # doctest: +SKIP
"""

from __future__ import annotations

from cadence.training.config import TrainConfig, load_config
from cadence.training.evaluate import evaluate_nll
from cadence.training.trainer import Progress, TrainResult, train

__all__ = ["Progress", "TrainConfig", "TrainResult", "evaluate_nll", "load_config", "train"]
