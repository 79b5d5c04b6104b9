"""Metric logs: ``metrics.csv`` (always) and TensorBoard (when it is installed)."""

from __future__ import annotations

import csv
import logging
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

COLUMNS = ["epoch", "step", "train_loss", "valid_nll", "lr", "tokens_per_s", "elapsed_s"]


class MetricsLog:
    """Appends rows to ``metrics.csv``; mirrors scalars to TensorBoard under ``tb/``."""

    def __init__(self, out_dir: Path, *, resume_step: int | None = None) -> None:
        self.path = out_dir / "metrics.csv"
        if resume_step is None:
            self.path.unlink(missing_ok=True)
        else:
            self._truncate_after(resume_step)
        self.tb: Any = None
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            log.debug("tensorboard is not installed; metrics go to %s only", self.path)
        else:
            self.tb = SummaryWriter(str(out_dir / "tb"))

    def _truncate_after(self, step: int) -> None:
        """Drop rows logged after the checkpoint being resumed (they will be logged again)."""
        if not self.path.exists():
            return
        with self.path.open(newline="") as fh:
            rows = [r for r in csv.DictReader(fh) if int(r["step"]) <= step]
        with self.path.open("w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=COLUMNS)
            writer.writeheader()
            writer.writerows(rows)

    def write(self, **row: Any) -> None:
        new = not self.path.exists()
        with self.path.open("a", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=COLUMNS)
            if new:
                writer.writeheader()
            writer.writerow({k: _fmt(row.get(k)) for k in COLUMNS})
        if self.tb is not None:
            for key in ("train_loss", "valid_nll", "lr", "tokens_per_s"):
                if row.get(key) is not None:
                    self.tb.add_scalar(key, row[key], row["step"])

    def close(self) -> None:
        if self.tb is not None:
            self.tb.close()


def _fmt(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return value
