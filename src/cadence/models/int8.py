"""Int8 weights for batch-1 decoding on CPU: dynamic quantization through fbgemm.

Decoding one token at a time reads every weight once per token, so on a CPU it is bound by
memory bandwidth, not arithmetic: an LSTM of 2 × 512 reads about 15 MB of float32 weights per
token. Packed as int8 (per output channel scales) the same matrices are a quarter of the
size, and fbgemm's dynamic linear (activations quantized on the fly) runs 3-4× faster at
batch 1 (measured: 263 → 67 µs for a 2048 × 768 matrix). The logits move by about 1-2% of
their range; ``docs/benchmarks.md`` records the held-out NLL with and without.

The Transformer uses it on its decoding path (``step``, and chunks of up to 16 tokens),
calling the kernel from TorchScript: called from Python (``torch.ops`` with a packed-weight
argument) it took 13.7 µs for a 256 × 256 matrix, from TorchScript 4.9 µs. There one step
takes 374 µs against 2,335 µs in float32 (same process, loaded machine), and held-out NLL
token by token moves 0.51609 → 0.51608 (``docs/benchmarks.md``). The LSTM's cells run
in TorchScript too (:func:`scripted`).

The kernels come from ``torch.ops.quantized`` (what ``torch.ao.quantization.quantize_dynamic``
uses); where a PyTorch build lacks them, :func:`available` is False and models decode in
float32.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import torch

if TYPE_CHECKING:
    Packed = Any
else:  # TorchScript resolves annotations at run time: the class of an int8 pack
    try:
        Packed = torch.classes.quantized.LinearPackedParamsBase
    except (AttributeError, RuntimeError):  # no quantized kernels: decoding runs as Python
        Packed = Any

_SCRIPTED: dict[Callable[..., Any], Callable[..., Any]] = {}


def scripted(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` compiled by TorchScript (once per process): the same operations without
    Python between them (about 1 µs each, and about 9 µs for each call of the int8 kernel
    from Python). Falls back to ``fn`` itself where scripting fails."""
    if fn not in _SCRIPTED:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # torch.jit is deprecated in favour of compile
                _SCRIPTED[fn] = torch.jit.script(fn)
        # What scripting raises: the compiler's own errors (torch.jit.Error, unsupported
        # syntax), a missing operator such as the int8 kernel on a build without quantized
        # engines (RuntimeError), or no source to read (OSError, e.g. a zipped install).
        except (torch.jit.Error, torch.jit.frontend.FrontendError, RuntimeError, OSError):
            _SCRIPTED[fn] = fn
    return _SCRIPTED[fn]


def available() -> bool:
    """Whether this PyTorch build has fbgemm's dynamic int8 linear (x86 CPUs)."""
    return "fbgemm" in torch.backends.quantized.supported_engines and hasattr(
        torch.ops.quantized, "linear_dynamic"
    )


def pack(weight: torch.Tensor, bias: torch.Tensor | None) -> Packed:
    """Pack a float ``weight`` [out, in] (and ``bias`` [out]) as int8, one scale per row."""
    w = weight.detach().float().contiguous()
    scales = (w.abs().amax(dim=1) / 127.0).clamp_min(1e-12).double()
    zeros = torch.zeros(w.shape[0], dtype=torch.long)
    with warnings.catch_warnings():
        # Quantized tensor constructors warn that they will move to torchao; they work here.
        warnings.simplefilter("ignore")
        qw = torch.quantize_per_channel(w, scales, zeros, 0, torch.qint8)
        return torch.ops.quantized.linear_prepack(
            qw, None if bias is None else bias.detach().float().contiguous()
        )


def linear(x: torch.Tensor, packed: Packed) -> torch.Tensor:
    """``x @ weight.T + bias`` with the packed int8 weight; x [B, in] float32 → [B, out].

    ``reduce_range`` keeps activations to 7 bits, which fbgemm's x86 kernels need to avoid
    saturating their 16-bit accumulators.
    """
    return torch.ops.quantized.linear_dynamic(x, packed, True)
