"""How to sample: the settings and their defaults, free of torch so that the CLI and the web
read them without loading it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SamplingConfig:
    """temperature 0 means greedy; top_k 0 and top_p 1.0 switch those filters off.

    The defaults sample almost the model's own distribution (temperature 1, only the 2% tail
    cut): against real tunes of the goal's style that matched better than temperature 0.9 with
    top-p 0.95, which made melodies narrower, more repetitive and rhythmically uniform
    (docs/musicality.md, "Sampling"). The CLI and the web read these defaults.
    """

    temperature: float = 1.0
    top_k: int = 0
    top_p: float = 0.98

    def __post_init__(self) -> None:
        if not 0.0 <= self.temperature <= 5.0:
            raise ValueError(f"SamplingConfig.temperature: must be 0..5, got {self.temperature!r}")
        if self.top_k < 0:
            raise ValueError(f"SamplingConfig.top_k: must be >= 0, got {self.top_k!r}")
        if not 0.0 < self.top_p <= 1.0:
            raise ValueError(f"SamplingConfig.top_p: must be in (0, 1], got {self.top_p!r}")


DEFAULT_SAMPLING = SamplingConfig()
