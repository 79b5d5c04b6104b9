"""Held-out negative log-likelihood in nats per predicted token.

Every piece is scored whole, left to right, as generation would see it: the model's state
(LSTM memory, or the sliding KV cache) carries across chunks of ``chunk_len`` tokens. Token
``t`` is predicted from tokens ``0..t-1``; the first token (BOS) is not scored.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from cadence.errors import CadenceError
from cadence.models.base import CadenceModel

IGNORE = -100


def limit_tokens(sequences: Sequence[np.ndarray], max_tokens: int) -> list[np.ndarray]:
    """The first pieces (in order) whose lengths add up to at least ``max_tokens`` (0: all)."""
    if max_tokens <= 0:
        return list(sequences)
    out, total = [], 0
    for seq in sequences:
        if total >= max_tokens:
            break
        out.append(seq)
        total += len(seq)
    return out


@torch.no_grad()
def nll_sum(
    model: CadenceModel,
    sequences: Sequence[np.ndarray],
    *,
    batch_size: int = 16,
    chunk_len: int = 256,
    device: torch.device | str | None = None,
    autocast: bool = False,
) -> tuple[float, int]:
    """(total NLL in nats, number of predicted tokens) over ``sequences``."""
    device = torch.device(device) if device is not None else model.device
    was_training = model.training
    model.eval()
    order = sorted(range(len(sequences)), key=lambda i: -len(sequences[i]))  # similar lengths
    total, count = 0.0, 0
    amp = (
        torch.autocast(device_type="cuda", dtype=torch.bfloat16)
        if autocast and device.type == "cuda"
        else contextlib.nullcontext()
    )
    try:
        for start in range(0, len(order), batch_size):
            group = [
                np.asarray(sequences[i], dtype=np.int64) for i in order[start : start + batch_size]
            ]
            group = [g for g in group if len(g) >= 2]
            if not group:
                continue
            width = max(len(g) for g in group)
            x = torch.zeros(len(group), width - 1, dtype=torch.long)  # [B, L-1] inputs
            y = torch.full((len(group), width - 1), IGNORE, dtype=torch.long)  # targets
            for row, g in enumerate(group):
                x[row, : len(g) - 1] = torch.from_numpy(g[:-1])
                y[row, : len(g) - 1] = torch.from_numpy(g[1:])
            x, y = x.to(device), y.to(device)
            state = model.init_state(len(group))
            for c in range(0, width - 1, chunk_len):
                with amp:
                    logits, state = model.forward_state(x[:, c : c + chunk_len], state)
                target = y[:, c : c + chunk_len]
                total += F.cross_entropy(
                    logits.float().flatten(0, 1),
                    target.flatten(),
                    ignore_index=IGNORE,
                    reduction="sum",
                ).item()
                count += int((target != IGNORE).sum())
    finally:
        model.train(was_training)
    return total, count


def evaluate_nll(
    model: CadenceModel,
    sequences: Sequence[np.ndarray],
    *,
    batch_size: int = 16,
    chunk_len: int = 256,
    max_tokens: int = 0,
    device: torch.device | str | None = None,
) -> float:
    """Mean NLL (nats/token) of ``model`` on ``sequences`` (token id arrays).

    ``max_tokens`` > 0 scores only the first pieces up to about that many tokens.
    Raises CadenceError when there is nothing to score.
    """
    total, count = nll_sum(
        model,
        limit_tokens(sequences, max_tokens),
        batch_size=batch_size,
        chunk_len=chunk_len,
        device=device,
    )
    if count == 0:
        raise CadenceError("no tokens to evaluate: the held-out pieces are empty")
    return total / count
