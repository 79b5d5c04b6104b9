"""The Transformer's incremental decoding: its state and its step.

:class:`KVCache` (the keys and values a stream has seen) over a preallocated
:class:`KVBuffer`; :class:`DecodeWeights`, the matrices with norm gains and GELU factors
folded in, in float32 or as int8 packs; and :func:`decode_blocks`, every block's step for the
new tokens as one TorchScript function. :class:`cadence.models.transformer.TransformerModel`
builds and drives them.

Shapes: B batch, T new positions, P cached positions, C d_model, H heads, D head dim, V vocab.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from cadence.models import int8


class KVBuffer:
    """Preallocated keys and values of every layer, [L, B, 2H, capacity, D] (keys in heads
    ``0..H-1``, values in ``H..2H-1``), that decoding appends to in place (no per-token
    concatenation). Positions below ``frontier`` are written; a cache may append only at the
    frontier, so an older cache that is stepped again copies first."""

    def __init__(self, kv: torch.Tensor, heads: int) -> None:
        self.kv = kv
        self.layers = kv.unbind(0)  # [B, 2H, capacity, D] each
        self.keys = [layer.narrow(1, 0, heads) for layer in self.layers]  # [B, H, cap, D]
        self.values = [layer.narrow(1, heads, heads) for layer in self.layers]
        self.frontier = 0

    @property
    def capacity(self) -> int:
        return self.kv.shape[3]


class KVCache:
    """Per layer keys/values [B, H, P, D] (rotary applied) of the last positions seen, and
    ``pos``, the absolute position of the next token.

    Either lists of tensors (``forward_state`` on long chunks) or, after a decoding step,
    positions ``lo..hi-1`` of a shared :class:`KVBuffer`, whose views ``keys`` and
    ``values`` make on demand.
    """

    __slots__ = ("_keys", "_values", "buffer", "hi", "lo", "pos")

    def __init__(
        self,
        keys: list[torch.Tensor] | None = None,
        values: list[torch.Tensor] | None = None,
        pos: int = 0,
        buffer: KVBuffer | None = None,
        lo: int = 0,
        hi: int = 0,
    ) -> None:
        self._keys, self._values = keys or [], values or []
        self.pos, self.buffer, self.lo, self.hi = pos, buffer, lo, hi

    @property
    def keys(self) -> list[torch.Tensor]:
        if self.buffer is None:
            return self._keys
        return [k.narrow(2, self.lo, self.hi - self.lo) for k in self.buffer.keys]

    @property
    def values(self) -> list[torch.Tensor]:
        if self.buffer is None:
            return self._values
        return [v.narrow(2, self.lo, self.hi - self.lo) for v in self.buffer.values]

    def __len__(self) -> int:
        if self.buffer is not None:
            return self.hi - self.lo
        return self._keys[0].shape[2] if self._keys else 0

    def __repr__(self) -> str:
        return f"KVCache(positions={len(self)}, pos={self.pos})"


@dataclass
class DecodeWeights:
    """The matrices the decoding path multiplies by, in order qkv, proj, fc, out per block
    and then the head (the tied embedding): each RMSNorm gain folded into the columns of
    the matrix after it, GELU's two 1/√2 factors into fc and out (see
    :func:`_decode_blocks`); float32 tensors, or int8 packs (:mod:`cadence.models.int8`)."""

    matrices: list[Any]
    eps: list[float]  # norm1, norm2 of each block, then the final norm
    int8: bool = False
    params: list[nn.Parameter] = field(default_factory=list)  # what they were made from
    versions: list[int] = field(default_factory=list)  # and those parameters' versions

    def stale(self) -> bool:
        """Whether a parameter they came from changed in place since (an optimizer step,
        ``load_state_dict``, an edit under ``no_grad``)."""
        return [p._version for p in self.params] != self.versions


def _decode_linear(
    x: torch.Tensor, i: int, fw: list[torch.Tensor], qw: list[int8.Packed]
) -> torch.Tensor:
    """``x @ W.T`` with decoding matrix ``i``: int8 when packs are given, else float."""
    if len(qw) > 0:
        return torch.ops.quantized.linear_dynamic(x, qw[i], True)
    return F.linear(x, fw[i])


def _rms(x: torch.Tensor, eps: float) -> torch.Tensor:
    """RMSNorm without gain of x [N, C] as one ``layer_norm`` of [x, -x]: its mean is 0 and
    its variance mean(x²), so the first half is x / sqrt(mean(x²) + eps)."""
    c = x.shape[1]
    return F.layer_norm(torch.cat((x, x.neg()), 1), [2 * c], None, None, eps).narrow(1, 0, c)


def _decode_blocks(
    x: torch.Tensor,  # [N, C] embeddings of the new tokens, N = B·T
    cos: torch.Tensor,  # [T, 3H, D]
    sin: torch.Tensor,
    kv: list[torch.Tensor],  # per layer [B, 2H, capacity, D]: keys then values
    fw: list[torch.Tensor],  # float decoding matrices: qkv, proj, fc, out per block, head
    qw: list[int8.Packed],  # or the same as int8 packs (then fw is empty)
    eps: list[float],  # norm1, norm2 per block, final norm
    mask: torch.Tensor | None,  # [T, P + T] for T > 1
    batch: int,
    heads: int,
    lo: int,  # the cache is positions lo..hi-1 of kv; the new keys go to hi..hi+T-1
    hi: int,
) -> torch.Tensor:
    """Logits [N, V] of the decoding path, writing the new keys and values into ``kv``.
    GELU is u + u·erf(u) with u = h/√2, both 1/√2 factors folded into fc and out."""
    n_rows, c = x.shape
    t = n_rows // batch
    d = c // heads
    n = hi + t - lo
    for i in range(len(kv)):
        qkv = _decode_linear(_rms(x, eps[2 * i]), 4 * i, fw, qw).view(batch, t, 3 * heads, d)
        qkv = (qkv * cos).add_(torch.roll(qkv, d // 2, dims=-1) * sin)  # RoPE on q and k
        qkv = qkv.transpose(1, 2)  # [B, 3H, T, D]
        layer = kv[i]
        layer.narrow(2, hi, t).copy_(qkv.narrow(1, heads, 2 * heads))
        y = F.scaled_dot_product_attention(
            qkv.narrow(1, 0, heads),  # [B, H, T, D]
            layer.narrow(1, 0, heads).narrow(2, lo, n),  # [B, H, P + T, D]
            layer.narrow(1, heads, heads).narrow(2, lo, n),
            attn_mask=mask,
        )
        x = x + _decode_linear(y.transpose(1, 2).reshape(n_rows, c), 4 * i + 1, fw, qw)
        u = _decode_linear(_rms(x, eps[2 * i + 1]), 4 * i + 2, fw, qw)
        x = x + _decode_linear(torch.addcmul(u, u, torch.erf(u)), 4 * i + 3, fw, qw)
    return _decode_linear(_rms(x, eps[-1]), 4 * len(kv), fw, qw)


def decode_blocks() -> Callable[..., torch.Tensor]:
    """:func:`_decode_blocks` compiled by TorchScript (see :func:`int8.scripted`)."""
    return int8.scripted(_decode_blocks)
