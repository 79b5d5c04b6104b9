"""The classic architecture: token embedding → multi-layer LSTM → linear over the vocabulary.

The state is the LSTM's ``(h, c)``, each [num_layers, B, hidden_size]; it carries across
chunks for truncated BPTT in training and across bars in generation.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import nn

from cadence.models import int8
from cadence.models.base import CadenceModel
from cadence.models.config import Config

LSTMState = tuple[torch.Tensor, torch.Tensor]  # (h, c), each [L, B, H]


@dataclass
class LSTMConfig(Config):
    """Sizes of the LSTM. ``vocab_size`` 0 means "take it from the dataset's tokenizer"."""

    section = "model"

    vocab_size: int = 0
    embed_dim: int = 256
    hidden_size: int = 512
    num_layers: int = 2
    dropout: float = 0.2  # on the embedding, between layers and before the output layer

    def validate(self) -> None:
        self.require("vocab_size", self.vocab_size >= 0, "expected an integer >= 0")
        self.require("embed_dim", self.embed_dim >= 1, "expected an integer >= 1")
        self.require("hidden_size", self.hidden_size >= 1, "expected an integer >= 1")
        self.require("num_layers", self.num_layers >= 1, "expected an integer >= 1")
        self.require("dropout", 0.0 <= self.dropout < 1.0, "expected a number in [0, 1)")


class LSTMModel(CadenceModel):
    """Embedding → LSTM (num_layers) → Linear(hidden → vocab), with dropout."""

    family = "lstm"
    recurrent = True
    config_class = LSTMConfig

    def __init__(self, config: LSTMConfig) -> None:
        super().__init__(config)
        if config.vocab_size < 1:
            raise ValueError("LSTMModel needs config.vocab_size >= 1 (set it from the tokenizer)")
        self.config: LSTMConfig = config
        self.embed = nn.Embedding(config.vocab_size, config.embed_dim)
        self.drop = nn.Dropout(config.dropout)
        self.lstm = nn.LSTM(
            config.embed_dim,
            config.hidden_size,
            num_layers=config.num_layers,
            dropout=config.dropout if config.num_layers > 1 else 0.0,
            batch_first=True,
        )
        self.head = nn.Linear(config.hidden_size, config.vocab_size)
        self._int8: tuple[list[int8.Packed], int8.Packed] | None = None  # set while decoding
        self._init_weights()

    def _init_weights(self) -> None:
        nn.init.normal_(self.embed.weight, std=0.1)
        for name, p in self.lstm.named_parameters():
            if name.startswith("bias"):
                nn.init.zeros_(p)
            if name.startswith("bias_ih"):
                h = self.config.hidden_size
                p.data[h : 2 * h] = 1.0  # forget-gate bias 1: remember by default
        nn.init.normal_(self.head.weight, std=0.02)
        nn.init.zeros_(self.head.bias)

    def init_state(self, batch_size: int) -> LSTMState:
        c = self.config
        zeros = torch.zeros(c.num_layers, batch_size, c.hidden_size, device=self.device)
        return zeros, zeros.clone()

    def forward_state(
        self, tokens: torch.Tensor, state: LSTMState | None
    ) -> tuple[torch.Tensor, LSTMState]:
        if self._int8 is not None and not self.training:
            with torch.no_grad():
                return self._int8_steps(tokens, state)
        if state is None:
            state = self.init_state(tokens.shape[0])
        x = self.drop(self.embed(tokens))  # [B, T, E]
        y, (h, c) = self.lstm(x, state)  # y [B, T, H]; h, c [L, B, H]
        logits = self.head(self.drop(y))  # [B, T, V]
        return logits, (h, c)

    def step(self, tokens: torch.Tensor, state: LSTMState | None) -> tuple[torch.Tensor, LSTMState]:
        """One token per stream through fused LSTM cells: the same arithmetic as
        ``forward_state`` on a length-1 chunk, but 3-4× faster at batch 1 on CPU, where
        ``nn.LSTM``'s per-call set-up dominates. Falls back to it while training (dropout)."""
        if self.training:
            return super().step(tokens, state)
        with torch.no_grad():
            if self._int8 is not None:
                return self._int8_step(tokens, state)
            return self._fast_step(tokens, state)

    @contextmanager
    def int8_decoding(self) -> Iterator[bool]:
        """Within this block, eval-mode ``step`` and ``forward_state`` use int8 copies of the
        weights (see :mod:`cadence.models.int8`); yields whether they do (not on GPU, while
        training, or without fbgemm). The float weights are untouched."""
        if self.training or self.device.type != "cpu" or not int8.available():
            yield False
            return
        cells = []
        for layer in range(self.config.num_layers):
            w = torch.cat(
                [
                    getattr(self.lstm, f"weight_ih_l{layer}"),
                    getattr(self.lstm, f"weight_hh_l{layer}"),
                ],
                dim=1,
            )  # [4H, in + H]: one product for both inputs
            b = getattr(self.lstm, f"bias_ih_l{layer}") + getattr(self.lstm, f"bias_hh_l{layer}")
            cells.append(int8.pack(w, b))
        self._int8 = (cells, int8.pack(self.head.weight, self.head.bias))
        try:
            yield True
        finally:
            self._int8 = None

    def _int8_step(
        self, tokens: torch.Tensor, state: LSTMState | None
    ) -> tuple[torch.Tensor, LSTMState]:
        logits, state = self._int8_steps(tokens[:, None], state)
        return logits[:, 0], state  # [B, V]

    def _int8_steps(
        self, tokens: torch.Tensor, state: LSTMState | None
    ) -> tuple[torch.Tensor, LSTMState]:
        """Tokens [B, T] one step at a time through the int8 cells, all in one TorchScript
        call (:func:`_int8_cells`): the same arithmetic as calling ``step`` T times."""
        assert self._int8 is not None
        cells, head = self._int8
        if state is None:
            state = self.init_state(tokens.shape[0])
        x = self.embed(tokens).transpose(0, 1)  # [T, B, E]
        logits, h, c = int8.scripted(_int8_cells)(x, state[0], state[1], cells, head)
        return logits.transpose(0, 1), (h, c)  # [B, T, V]; [L, B, H] each

    def _fast_step(
        self, tokens: torch.Tensor, state: LSTMState | None
    ) -> tuple[torch.Tensor, LSTMState]:
        if state is None:
            state = self.init_state(tokens.shape[0])
        h0, c0 = state  # [L, B, H] each
        x = self.embed(tokens)  # [B, E]
        hs, cs = [], []
        for layer in range(self.config.num_layers):
            h, c = torch._VF.lstm_cell(  # type: ignore[attr-defined]
                x,
                (h0[layer], c0[layer]),
                getattr(self.lstm, f"weight_ih_l{layer}"),
                getattr(self.lstm, f"weight_hh_l{layer}"),
                getattr(self.lstm, f"bias_ih_l{layer}"),
                getattr(self.lstm, f"bias_hh_l{layer}"),
            )  # [B, H] each
            hs.append(h)
            cs.append(c)
            x = h
        return self.head(x), (torch.stack(hs), torch.stack(cs))  # [B, V]; [L, B, H] each


def _int8_cells(
    x: torch.Tensor,  # [T, B, E] embeddings
    h0: torch.Tensor,  # [L, B, H]
    c0: torch.Tensor,
    cells: list[int8.Packed],  # per layer: [W_ih | W_hh] and b_ih + b_hh, packed
    head: int8.Packed,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Logits [T, B, V] and the final (h, c) of the LSTM run token by token with int8
    weights: one product per cell for both inputs, PyTorch's gate order (i, f, g, o), and the
    head applied to each step on its own (the dynamic int8 kernel scales each call's input,
    so a batched head would round differently from ``step``)."""
    hs = [h0[layer] for layer in range(len(cells))]
    cs = [c0[layer] for layer in range(len(cells))]
    steps = []
    for t in range(x.shape[0]):
        inp = x[t]
        for layer in range(len(cells)):
            gates = torch.ops.quantized.linear_dynamic(
                torch.cat([inp, hs[layer]], 1), cells[layer], True
            )  # [B, 4H]
            i, f, g, o = gates.chunk(4, 1)
            c = torch.sigmoid(f) * cs[layer] + torch.sigmoid(i) * torch.tanh(g)
            inp = torch.sigmoid(o) * torch.tanh(c)
            hs[layer] = inp
            cs[layer] = c
        steps.append(torch.ops.quantized.linear_dynamic(inp, head, True))
    return torch.stack(steps), torch.stack(hs), torch.stack(cs)
