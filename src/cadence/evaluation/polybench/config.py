"""The polybench config: model and training settings in one typed dataclass, loaded from TOML.

A file in ``configs/polybench/`` reads::

    model = "autoregressive"   # or "bernoulli"
    arch = "rnn"               # or "tcn" (Bai et al. 2018); absent in older files: "rnn"
    rnn = "lstm"
    hidden_size = 256
    lr = 1e-3
    ...

Every field is checked on construction; an unknown key or a bad value raises
:class:`~cadence.errors.CadenceError` naming the field and the value received.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from cadence.errors import CadenceError
from cadence.models.config import Config

CONFIGS_DIR = Path(__file__).resolve().parents[4] / "configs" / "polybench"
ModelKind = Literal["bernoulli", "autoregressive"]
MODELS: tuple[str, ...] = ("bernoulli", "autoregressive")


@dataclass
class PolyConfig(Config):
    """A piano-roll RNN or TCN, its frame distribution, and how to train it."""

    model: ModelKind = "bernoulli"  # independent keys, or NADE over the 88 keys of a frame
    arch: Literal["rnn", "tcn"] = "rnn"  # recurrent, or a causal dilated convolution stack
    rnn: Literal["lstm", "gru"] = "lstm"  # the cell when arch = "rnn"
    hidden_size: int = 256  # RNN units, or TCN channels per level
    num_layers: int = 1  # RNN layers
    levels: int = 4  # TCN levels (two dilated convolutions each, dilation 2**level)
    kernel_size: int = 5  # TCN convolution width
    dropout: float = 0.3  # RNN: on the output (and between layers); TCN: after every convolution
    input_dropout: float = 0.0  # on the input frames (keys dropped at random)
    nade_hidden: int = 150  # NADE hidden units (autoregressive model only)
    seed: int = 0
    ensemble: int = 1  # bernoulli only: members trained with seeds seed, seed+1, ...; their
    #                    per-key probabilities are averaged (still independent keys per frame)
    ema: float = 0.0  # decay of an exponential moving average of the weights, used for
    #                   validation, early stopping and test; 0 disables
    lr: float = 1e-3  # Adam
    weight_decay: float = 0.0
    batch_size: int = 16  # sequences (or windows) per step
    window: int = 0  # training windows of at most this many frames; 0: whole sequences
    transpose: int = 0  # random transposition of training batches by up to ±this many keys
    grad_clip: float = 1.0  # max global gradient norm; 0 disables
    max_epochs: int = 200
    patience: int = 10  # epochs without a better valid NLL before stopping; 0 disables
    lr_patience: int = 3  # epochs without improvement before halving the LR; 0 disables
    max_minutes: float = 9.0  # training time budget (per ensemble member); 0: none
    eval_batch_size: int = 32
    threads: int = 0  # torch CPU threads; 0: leave torch's setting alone

    def validate(self) -> None:
        for name in (
            "hidden_size",
            "num_layers",
            "levels",
            "ensemble",
            "nade_hidden",
            "batch_size",
            "max_epochs",
            "eval_batch_size",
        ):
            self.require(name, getattr(self, name) >= 1, "expected an integer >= 1")
        for name in ("seed", "window", "transpose", "patience", "lr_patience", "threads"):
            self.require(name, getattr(self, name) >= 0, "expected an integer >= 0")
        self.require("window", self.window == 0 or self.window >= 2, "expected 0 or >= 2")
        for name in ("dropout", "input_dropout"):
            self.require(name, 0 <= getattr(self, name) < 1, "expected a number in [0, 1)")
        self.require("kernel_size", self.kernel_size >= 2, "expected an integer >= 2")
        self.require("ema", 0 <= self.ema < 1, "expected a number in [0, 1)")
        self.require(
            "ensemble",
            self.ensemble == 1 or self.model == "bernoulli",
            "expected 1 for the autoregressive model (only independent keys are averaged)",
        )
        self.require("lr", self.lr > 0, "expected a number > 0")
        for name in ("weight_decay", "grad_clip", "max_minutes"):
            self.require(name, getattr(self, name) >= 0, "expected a number >= 0")


def load_config(path: str | Path) -> PolyConfig:
    """A :class:`PolyConfig` from a TOML file; a CadenceError if unreadable or invalid."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except OSError as exc:
        raise CadenceError(f"cannot read config {str(path)!r}: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise CadenceError(f"config {str(path)!r} is not valid TOML: {exc}") from exc
    return PolyConfig.from_dict(data)


def default_config(dataset: str, model: str) -> PolyConfig:
    """The shipped config ``configs/polybench/<dataset>-<model>.toml`` (the documented recipe)."""
    if model not in MODELS:
        raise CadenceError(f"unknown polybench model {model!r}; choose one of {', '.join(MODELS)}")
    path = CONFIGS_DIR / f"{dataset}-{model}.toml"
    if not path.is_file():
        return PolyConfig(model=model)  # type: ignore[arg-type]
    cfg = load_config(path)
    if cfg.model != model:
        raise CadenceError(f"config {str(path)!r} sets model = {cfg.model!r}, expected {model!r}")
    return cfg
