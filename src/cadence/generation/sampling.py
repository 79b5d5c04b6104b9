"""Sampling from next-token logits: temperature, top-k and top-p (nucleus), under a mask."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class SamplingConfig:
    """temperature 0 means greedy; top_k 0 and top_p 1.0 switch those filters off."""

    temperature: float = 0.9
    top_k: int = 0
    top_p: float = 0.95

    def __post_init__(self) -> None:
        if not 0.0 <= self.temperature <= 5.0:
            raise ValueError(f"SamplingConfig.temperature: must be 0..5, got {self.temperature!r}")
        if self.top_k < 0:
            raise ValueError(f"SamplingConfig.top_k: must be >= 0, got {self.top_k!r}")
        if not 0.0 < self.top_p <= 1.0:
            raise ValueError(f"SamplingConfig.top_p: must be in (0, 1], got {self.top_p!r}")


def sample(
    logits: torch.Tensor,  # (V,)
    allowed: torch.Tensor,  # (V,) bool; at least one True
    config: SamplingConfig,
    generator: torch.Generator,
) -> int:
    """One token id drawn from ``logits`` restricted to ``allowed``."""
    scores = torch.where(allowed, logits.float(), float("-inf"))
    if config.temperature == 0.0:
        return int(torch.argmax(scores))
    scores = scores / config.temperature
    if config.top_k > 0:
        k = min(config.top_k, int(allowed.sum()))
        kth = torch.topk(scores, k).values[-1]
        scores = scores.masked_fill(scores < kth, float("-inf"))
    if config.top_p < 1.0:
        sorted_scores, order = torch.sort(scores, descending=True)
        sorted_probs = torch.softmax(sorted_scores, dim=-1)
        drop = sorted_probs.cumsum(-1) - sorted_probs > config.top_p  # keep the first always
        scores = scores.scatter(0, order[drop], float("-inf"))
    probs = torch.softmax(scores, dim=-1)
    # torch.multinomial(probs, 1) draws argmax(probs / q) with q ~ Exp(1) from the generator
    # (the exponential race, a form of the Gumbel-max trick). Drawing it directly skips
    # multinomial's validity checks (three reductions, two host syncs; half its time at
    # batch 1) and gives the same token from the same generator state.
    q = torch.empty_like(probs).exponential_(1.0, generator=generator)
    return int(torch.argmax(probs / q))
