"""Sampling from next-token logits: temperature, top-k and top-p (nucleus), under a mask."""

from __future__ import annotations

import torch

from cadence.generation.sampling_config import SamplingConfig

__all__ = ["SamplingConfig", "sample"]


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
