"""cadence.evaluation.bench: the project's benchmarks, run side by side in one process.

Each stage times Cadence and a baseline on the same input, in the same process, one after
the other, and reports both rates and their ratio (:class:`Comparison`):

- ``ingest``: ``cadence ingest`` against music21 parsing every file;
- ``train``: the batched trainer against the naive batch-1 loop;
- ``generate``: decoding with the shipped LSTM and Transformer against Hugging Face
  ``generate`` on a GPT-2 of the same dimensions, and against a naive no-cache loop;
- ``render``: the audio pipeline against the plain ``fluidsynth -F`` program.

>>> from cadence.evaluation.bench import BenchSettings, run_bench
>>> results = run_bench(BenchSettings.for_mode(quick=True))   # doctest: +SKIP
"""

from __future__ import annotations

from cadence.evaluation.bench.common import Comparison, ratio
from cadence.evaluation.bench.run import STAGES, BenchSettings, parse_only, run_bench

__all__ = ["STAGES", "BenchSettings", "Comparison", "parse_only", "ratio", "run_bench"]
