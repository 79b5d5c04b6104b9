"""The training objective: next-token cross-entropy at every position of every window."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from cadence.models.base import CadenceModel


class Objective(nn.Module):
    """Mean next-token cross-entropy over every position; DDP wraps this module."""

    def __init__(self, model: CadenceModel, carry: bool) -> None:
        super().__init__()
        self.model, self.carry = model, carry

    def forward(
        self, x: torch.Tensor, y: torch.Tensor, state: Any = None
    ) -> tuple[torch.Tensor, Any]:
        if self.carry:
            logits, state = self.model.forward_state(x, state)  # [B, T, V]
        else:
            logits = self.model(x)  # [B, T, V]
        loss = F.cross_entropy(logits.float().flatten(0, 1), y.flatten())
        return loss, state


def detach_state(state: Any) -> Any:
    """The carried state cut from the graph (truncated BPTT); None for anything else."""
    return tuple(s.detach() for s in state) if isinstance(state, tuple) else None
