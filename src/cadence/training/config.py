"""The training config: a typed dataclass with the model config nested, loaded from TOML.

A config file reads::

    seed = 0
    seq_len = 256
    batch_size = 32          # global: per-rank batch = batch_size / world size
    lr = 2e-3
    ...
    [model]
    family = "lstm"
    hidden_size = 512

Every field is checked on construction; an unknown key or a bad value raises
:class:`~cadence.errors.CadenceError` naming the field and the value received.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from cadence.errors import CadenceError
from cadence.models.checkpoint import family_of, model_config_from_dict
from cadence.models.config import Config, config_error
from cadence.models.lstm import LSTMConfig

CONFIGS_DIR = Path(__file__).resolve().parents[3] / "configs"


@dataclass
class TrainConfig(Config):
    """How to train: data windows, optimiser, schedule, stopping and the model to train."""

    seed: int = 0
    seq_len: int = 256  # tokens per training window (next-token loss at every position)
    batch_size: int = 32  # windows per step, over all processes
    epochs: int = 20  # passes over the training split
    steps_per_epoch: int = 0  # 0: an epoch is a full pass; otherwise at most this many steps
    max_steps: int = 0  # 0: no limit beyond epochs; also sets the length of the LR schedule
    eval_every: int = 0  # validate every this many steps too; 0: only at the end of epochs
    max_minutes: float = 0.0  # 0: no time budget; counted over resumed runs too
    lr: float = 2e-3  # peak learning rate
    min_lr: float = 1e-4  # end of the cosine decay
    warmup_steps: int = 100  # linear warmup from 0
    weight_decay: float = 0.01  # AdamW, on matrices only
    betas: tuple[float, float] = (0.9, 0.99)
    grad_clip: float = 1.0  # max global gradient norm; 0 disables
    patience: int = 3  # validations without a better valid NLL before stopping; 0 disables
    tbptt: bool = True  # recurrent models: carry the (detached) state across windows
    eval_batch_size: int = 16
    eval_max_tokens: int = 0  # cap on valid tokens scored per validation; 0: the whole split
    log_every: int = 50  # steps between metrics.csv rows
    device: Literal["auto", "cpu", "cuda"] = "auto"
    bf16: bool = True  # bf16 autocast on CUDA (never on CPU)
    threads: int = 0  # torch CPU threads per process; 0: torch's default
    init_from: str = ""  # a checkpoint folder to fine-tune instead of a fresh model
    model: Config = field(default_factory=LSTMConfig)

    def validate(self) -> None:
        if not isinstance(self.model, Config):
            raise config_error("", "model", self.model, "expected a [model] table")
        positive = ("seq_len", "batch_size", "epochs", "eval_batch_size", "log_every")
        for name in positive:
            self.require(name, getattr(self, name) >= 1, "expected an integer >= 1")
        names = (
            "steps_per_epoch",
            "max_steps",
            "eval_every",
            "warmup_steps",
            "patience",
            "threads",
        )
        for name in names:
            self.require(name, getattr(self, name) >= 0, "expected an integer >= 0")
        self.require("eval_max_tokens", self.eval_max_tokens >= 0, "expected an integer >= 0")
        self.require("max_minutes", self.max_minutes >= 0, "expected a number >= 0")
        self.require("lr", self.lr > 0, "expected a number > 0")
        self.require("min_lr", 0 <= self.min_lr <= self.lr, "expected a number in [0, lr]")
        self.require("weight_decay", self.weight_decay >= 0, "expected a number >= 0")
        self.require("betas", all(0 <= b < 1 for b in self.betas), "expected two numbers in [0, 1)")
        self.require("grad_clip", self.grad_clip >= 0, "expected a number >= 0")
        self.require("seed", self.seed >= 0, "expected an integer >= 0")

    @property
    def family(self) -> str:
        return family_of(self.model)

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        data["model"] = {"family": self.family, **self.model.to_dict()}
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        if not isinstance(data, dict):
            raise config_error("", "", data, "expected a table of settings")
        data = dict(data)
        if "model" in data:
            data["model"] = model_config_from_dict(data["model"])
        return super().from_dict(data)

    @classmethod
    def from_toml(cls, path: str | Path) -> TrainConfig:
        """Load a TOML file; a bare name such as ``tiny`` means ``configs/tiny.toml``."""
        path = resolve_config_path(path)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except OSError as err:
            raise CadenceError(f"cannot read config {path}: {err.strerror}") from None
        except tomllib.TOMLDecodeError as err:
            raise CadenceError(f"config {path} is not valid TOML: {err}") from None
        try:
            return cls.from_dict(data)
        except CadenceError as err:
            raise CadenceError(f"{path}: {err}") from None


def resolve_config_path(path: str | Path) -> Path:
    """``path`` itself, or for a bare name the shipped ``configs/<name>.toml``."""
    p = Path(path)
    if p.exists():
        return p
    shipped = CONFIGS_DIR / f"{p.stem if p.suffix == '.toml' else p.name}.toml"
    if p.parent == Path() and shipped.exists():
        return shipped
    raise CadenceError(f"config file {path} does not exist; try configs/default.toml")


def load_config(config: str | Path | dict | TrainConfig) -> TrainConfig:
    """A TrainConfig from an object, a dict, a TOML path or a shipped config name."""
    if isinstance(config, TrainConfig):
        return config
    if isinstance(config, dict):
        return TrainConfig.from_dict(config)
    return TrainConfig.from_toml(config)
