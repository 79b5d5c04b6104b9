"""The one interface every Cadence model family implements, and its checkpoint format.

A checkpoint is a folder that loads with nothing beside it::

    model.safetensors   the weights
    config.json         {"format", "family", "model": <model config>, "extra": {...}}
    tokenizer.json      the CadenceTokenizer the model was trained with

``extra`` holds anything the writer wants to keep with the weights (the resolved training
config, metrics, the held-out score).
"""

from __future__ import annotations

import json
import shutil
from abc import ABC, abstractmethod
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any, ClassVar

import torch
from safetensors.torch import save_file
from torch import nn

from cadence.models.config import Config
from cadence.tokens.tokenizer import CadenceTokenizer

CHECKPOINT_FORMAT = "cadence-model/1"
WEIGHTS = "model.safetensors"
CONFIG = "config.json"
TOKENIZER = "tokenizer.json"

State = Any  # opaque per family: LSTM (h, c); Transformer KVCache


class CadenceModel(nn.Module, ABC):
    """An autoregressive model over Cadence token ids.

    ``forward`` scores whole sequences (training); ``forward_state`` scores a chunk that
    continues a stream (TBPTT, priming); ``step`` advances one token (generation).
    """

    family: ClassVar[str] = ""
    recurrent: ClassVar[bool] = False  # state worth carrying across training windows (TBPTT)
    config_class: ClassVar[type[Config]]

    def __init__(self, config: Config) -> None:
        super().__init__()
        self.config = config
        self.tokenizer: CadenceTokenizer | None = None
        self.extra: dict[str, Any] = {}

    # ---- the interface ----------------------------------------------------------------
    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """Logits [B, T, V] for tokens [B, T], starting from a fresh state."""
        logits, _ = self.forward_state(tokens, self.init_state(tokens.shape[0]))
        return logits

    @abstractmethod
    def forward_state(
        self, tokens: torch.Tensor, state: State | None
    ) -> tuple[torch.Tensor, State]:
        """Logits [B, T, V] for tokens [B, T] continuing ``state``; returns the new state.

        ``None`` means a fresh state.
        """

    @abstractmethod
    def init_state(self, batch_size: int) -> State:
        """The state before any token, for ``batch_size`` streams."""

    def int8_decoding(self) -> AbstractContextManager[bool]:
        """A block in which eval-mode decoding may use int8 weights; yields whether it does.
        Families without an int8 path decode in float32 (this default)."""
        return nullcontext(False)

    def step(self, tokens: torch.Tensor, state: State | None) -> tuple[torch.Tensor, State]:
        """Logits [B, V] for one new token per stream (tokens [B]); returns the new state.

        In eval mode no autograd graph is kept, so a stream of any length runs in constant
        memory.
        """
        with torch.set_grad_enabled(self.training and torch.is_grad_enabled()):
            logits, state = self.forward_state(tokens[:, None], state)  # [B, 1, V]
        return logits[:, 0], state

    # ---- helpers ----------------------------------------------------------------------
    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    # ---- checkpoints ------------------------------------------------------------------
    def save_pretrained(
        self,
        directory: str | Path,
        tokenizer: CadenceTokenizer | None = None,
        *,
        extra: dict[str, Any] | None = None,
        dtype: torch.dtype | None = None,
        before_swap: Callable[[Path], None] | None = None,
    ) -> Path:
        """Write the checkpoint folder (replacing it atomically) and return its path.

        ``tokenizer`` defaults to ``self.tokenizer``; ``dtype`` (e.g. ``torch.bfloat16``)
        stores the weights smaller; they load back into float32. ``before_swap`` is called
        with the temporary folder to add files to it (the trainer writes its state there).
        """
        tokenizer = tokenizer or self.tokenizer
        if tokenizer is None:
            raise ValueError("save_pretrained needs a tokenizer (none given, none attached)")
        directory = Path(directory)
        tmp = directory.with_name(directory.name + ".tmp")
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir(parents=True)
        tensors = {
            k: (v.detach().to(dtype) if dtype and v.is_floating_point() else v.detach())
            .cpu()
            .contiguous()
            for k, v in self.state_dict().items()
        }
        save_file(tensors, str(tmp / WEIGHTS), metadata={"format": CHECKPOINT_FORMAT})
        meta = {
            "format": CHECKPOINT_FORMAT,
            "family": self.family,
            "model": self.config.to_dict(),
            "extra": {**self.extra, **(extra or {})},
        }
        (tmp / CONFIG).write_text(json.dumps(meta, indent=1))
        tokenizer.save(tmp / TOKENIZER)
        if before_swap is not None:
            before_swap(tmp)
        # Keep the previous copy until the new one is complete, then swap.
        old = directory.with_name(directory.name + ".old")
        if directory.exists():
            if old.exists():
                shutil.rmtree(old)
            directory.replace(old)
        tmp.replace(directory)
        if old.exists():
            shutil.rmtree(old)
        return directory
