"""The scoring protocol of the polyphonic benchmarks, exactly as ``shared/data/README.md`` says.

- The model sees frames ``x[:-1]`` of a sequence and predicts frames ``x[1:]``.
- The loss is the negative log-likelihood in nats, summed over every key of every predicted
  frame of the whole split. For independent-output models each of the 88 keys is a Bernoulli
  variable; an autoregressive model gives the exact log-likelihood of the whole frame.
- The sum is divided by the total number of predicted frames: nats per frame, lower is better.

Published figures under this protocol: Bai, Kolter and Koltun (2018), Table 1; Boulanger-
Lewandowski, Bengio and Vincent (ICML 2012).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch
import torch.nn.functional as F

from cadence.evaluation.polybench.data import batches


class FrameModel(Protocol):
    """Anything that scores next frames: ``frame_nll(inputs, targets) -> (B, T)`` in nats.

    ``inputs`` and ``targets`` are (B, T, 88) 0/1 floats with ``targets[:, t]`` the frame after
    ``inputs[:, t]``. Row ``t`` of the result may depend on ``inputs[:, :t+1]`` only (causal).
    """

    def frame_nll(self, inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor: ...


def bernoulli_frame_nll(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """NLL in nats of ``targets`` (..., K) under independent Bernoullis, summed over the K keys.

    ``logits`` are log-odds, so a probability of exactly 0 or 1 is never formed; the
    ``softplus`` form is exact to float precision. Returns shape (...,).
    """
    return F.binary_cross_entropy_with_logits(logits, targets, reduction="none").sum(-1)


def masked_nll(model: FrameModel, rolls: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The summed NLL of one padded batch: rolls (B, T, 88), mask (B, T-1) of real targets."""
    nll = model.frame_nll(rolls[:, :-1], rolls[:, 1:])  # (B, T-1)
    return nll.masked_select(mask).sum()


@dataclass(frozen=True)
class Score:
    """The protocol's result on one split."""

    nll_sum: float  # nats over every key of every predicted frame
    frames: int  # predicted frames: sum over sequences of (T - 1)
    sequences: int

    @property
    def nats_per_frame(self) -> float:
        """``nll_sum / frames``; NaN for a split with nothing to predict."""
        return self.nll_sum / self.frames if self.frames else float("nan")


@torch.no_grad()
def score(model: FrameModel, seqs: list[np.ndarray], batch_size: int = 32) -> Score:
    """Score ``seqs`` (uint8 (T, 88) rolls) under the protocol. Sequences of < 2 frames add 0.

    The model is put in eval mode if it is a ``torch.nn.Module`` (no dropout) and left so.
    The sum is accumulated in float64 so the result does not depend on the batch size beyond
    float32 rounding within a batch.
    """
    if isinstance(model, torch.nn.Module):
        model.eval()
    total = 0.0
    frames = 0
    for rolls, mask in batches(seqs, batch_size):
        total += float(masked_nll(model, rolls, mask).double())
        frames += int(mask.sum())
    return Score(nll_sum=total, frames=frames, sequences=sum(len(s) >= 2 for s in seqs))
