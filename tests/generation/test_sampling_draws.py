"""sample() draws exactly what torch.multinomial would from the same generator state, so
the faster draw leaves every seeded piece unchanged."""

from __future__ import annotations

import torch

from cadence.generation.sampling import SamplingConfig, sample


def test_draws_equal_multinomial_from_the_same_generator() -> None:
    data = torch.Generator().manual_seed(1)
    ours, reference = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    config = SamplingConfig(temperature=1.0, top_k=0, top_p=1.0)
    for i in range(2000):
        n = (434, 5, 64)[i % 3]
        logits = torch.randn(n, generator=data) * 3
        allowed = torch.rand(n, generator=data) < 0.4
        allowed[i % n] = True
        probs = torch.softmax(logits.masked_fill(~allowed, float("-inf")), dim=-1)
        expected = int(torch.multinomial(probs, 1, generator=reference))
        assert sample(logits, allowed, config, ours) == expected
