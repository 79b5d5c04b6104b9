"""Decoder-only Transformer with rotary positions (RoPE) and a sliding KV cache.

Each position attends to itself and the ``max_seq_len - 1`` positions before it. Generation
keeps a KV cache of the last ``max_seq_len - 1`` positions and drops the oldest as it goes,
so it can run for any length in constant memory: RoPE encodes only relative offsets in the
attention scores, and the angles are computed in float64 from the absolute position, so they
stay exact however long the stream grows.

Shapes: B batch, T new positions, P cached positions, C d_model, H heads, D head dim, V vocab.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from cadence.models import int8
from cadence.models.base import CadenceModel
from cadence.models.config import Config

ROPE_BLOCK = 4096  # decoding caches RoPE angles for this many positions at a time
KV_SLACK = 128  # decoding buffers hold the window plus this many steps before compacting


@dataclass
class TransformerConfig(Config):
    """Sizes of the Transformer. ``vocab_size`` 0 means "take it from the tokenizer"."""

    section = "model"

    vocab_size: int = 0
    d_model: int = 256
    n_layers: int = 4
    n_heads: int = 4
    d_ff: int = 1024
    max_seq_len: int = 512  # attention window, in positions, including the current one
    dropout: float = 0.1
    rope_base: float = 10000.0

    def validate(self) -> None:
        self.require("vocab_size", self.vocab_size >= 0, "expected an integer >= 0")
        self.require("d_model", self.d_model >= 2, "expected an integer >= 2")
        self.require("n_layers", self.n_layers >= 1, "expected an integer >= 1")
        self.require("n_heads", self.n_heads >= 1, "expected an integer >= 1")
        self.require(
            "n_heads",
            self.d_model % self.n_heads == 0 and (self.d_model // self.n_heads) % 2 == 0,
            f"d_model ({self.d_model}) must split into n_heads heads of even size",
        )
        self.require("d_ff", self.d_ff >= 1, "expected an integer >= 1")
        self.require("max_seq_len", self.max_seq_len >= 2, "expected an integer >= 2")
        self.require("dropout", 0.0 <= self.dropout < 1.0, "expected a number in [0, 1)")
        self.require("rope_base", self.rope_base > 1.0, "expected a number > 1")


class KVBuffer:
    """Preallocated keys and values [L, B, H, capacity, D] that decoding steps append to in
    place (no per-token concatenation). Positions below ``frontier`` are written; a cache may
    append only at the frontier, so an older cache that is stepped again copies first."""

    def __init__(self, keys: torch.Tensor, values: torch.Tensor) -> None:
        self.keys, self.values = keys, values
        self.layer_keys, self.layer_values = keys.unbind(0), values.unbind(0)  # [B, H, cap, D]
        self.frontier = 0

    @property
    def capacity(self) -> int:
        return self.keys.shape[3]


@dataclass
class KVCache:
    """Per layer keys/values [B, H, P, D] (rotary applied) of the last positions seen.

    After a decoding step they are views of ``buffer`` positions ``lo..hi-1``.
    """

    keys: list[torch.Tensor] = field(default_factory=list)
    values: list[torch.Tensor] = field(default_factory=list)
    pos: int = 0  # absolute position of the next token
    buffer: KVBuffer | None = field(default=None, repr=False, compare=False)
    lo: int = 0
    hi: int = 0

    def __len__(self) -> int:
        return self.keys[0].shape[2] if self.keys else 0


def rope_angles(
    start: int, length: int, head_dim: int, base: float, device: torch.device, dtype: torch.dtype
) -> tuple[torch.Tensor, torch.Tensor]:
    """cos and sin [length, D/2] of absolute positions start..start+length-1 (float64 math)."""
    half = head_dim // 2
    inv_freq = base ** (-torch.arange(half, dtype=torch.float64, device=device) / half)
    pos = torch.arange(start, start + length, dtype=torch.float64, device=device)
    angles = pos[:, None] * inv_freq[None, :]  # [T, D/2]
    return angles.cos().to(dtype), angles.sin().to(dtype)


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate pairs (x[..., i], x[..., i + D/2]) of x [B, H, T, D] by the angles [T, D/2]."""
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((x1 * cos - x2 * sin, x1 * sin + x2 * cos), dim=-1)


class Attention(nn.Module):
    def __init__(self, config: TransformerConfig) -> None:
        super().__init__()
        self.n_heads = config.n_heads
        self.window = config.max_seq_len
        self.dropout = config.dropout
        self.qkv = nn.Linear(config.d_model, 3 * config.d_model, bias=False)
        self.proj = nn.Linear(config.d_model, config.d_model, bias=False)

    def forward(
        self,
        x: torch.Tensor,  # [B, T, C]
        cos: torch.Tensor,  # [T, D/2]
        sin: torch.Tensor,
        past: tuple[torch.Tensor, torch.Tensor] | None,  # [B, H, P, D] each
        mask: torch.Tensor | None,  # [T, P + T] bool, True = may attend; None = plain causal
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        B, T, C = x.shape  # noqa: N806 (nanoGPT shape names)
        q, k, v = self.qkv(x).split(C, dim=2)  # [B, T, C] each
        q, k, v = (t.view(B, T, self.n_heads, C // self.n_heads).transpose(1, 2) for t in (q, k, v))
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)  # [B, H, T, D]
        if past is not None:
            k = torch.cat((past[0], k), dim=2)  # [B, H, P + T, D]
            v = torch.cat((past[1], v), dim=2)
        drop = self.dropout if self.training else 0.0
        if mask is None:
            y = F.scaled_dot_product_attention(q, k, v, dropout_p=drop, is_causal=T > 1)
        else:
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=drop)
        y = y.transpose(1, 2).contiguous().view(B, T, C)  # [B, T, C]
        return self.proj(y), (k, v)


class Block(nn.Module):
    """Pre-norm residual block: x + attn(norm(x)), then x + mlp(norm(x))."""

    def __init__(self, config: TransformerConfig) -> None:
        super().__init__()
        self.norm1 = nn.RMSNorm(config.d_model)
        self.attn = Attention(config)
        self.norm2 = nn.RMSNorm(config.d_model)
        self.fc = nn.Linear(config.d_model, config.d_ff, bias=False)
        self.out = nn.Linear(config.d_ff, config.d_model, bias=False)
        self.drop = nn.Dropout(config.dropout)

    def forward(
        self,
        x: torch.Tensor,
        cos: torch.Tensor,
        sin: torch.Tensor,
        past: tuple[torch.Tensor, torch.Tensor] | None,
        mask: torch.Tensor | None,
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        a, kv = self.attn(self.norm1(x), cos, sin, past, mask)
        x = x + self.drop(a)
        x = x + self.drop(self.out(F.gelu(self.fc(self.norm2(x)))))  # [B, T, C]
        return x, kv


def window_mask(past: int, length: int, window: int, device: torch.device) -> torch.Tensor:
    """[T, P + T] bool: query i (at P + i) may see key j iff 0 <= (P + i) - j < window."""
    q = torch.arange(past, past + length, device=device)[:, None]
    k = torch.arange(past + length, device=device)[None, :]
    return (k <= q) & (q - k < window)


class TransformerModel(CadenceModel):
    """Token embedding → n_layers pre-norm blocks → RMSNorm → logits (tied embedding)."""

    family = "transformer"
    config_class = TransformerConfig

    def __init__(self, config: TransformerConfig) -> None:
        super().__init__(config)
        if config.vocab_size < 1:
            raise ValueError("TransformerModel needs config.vocab_size >= 1 (set it from data)")
        self.config: TransformerConfig = config
        self.embed = nn.Embedding(config.vocab_size, config.d_model)
        self.drop = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.n_layers))
        self.norm = nn.RMSNorm(config.d_model)
        empty = torch.empty(0, 0)
        self._rope_table: tuple[int, torch.Tensor, torch.Tensor] = (0, empty, empty)
        self._int8: dict[int, int8.Packed] | None = None  # weight id → packed, while decoding
        self.apply(self._init_weights)
        for block in self.blocks:  # GPT-2: scale the residual projections by depth
            for w in (block.attn.proj.weight, block.out.weight):
                nn.init.normal_(w, std=0.02 / math.sqrt(2 * config.n_layers))

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, nn.Linear | nn.Embedding):
            nn.init.normal_(module.weight, std=0.02)

    def init_state(self, batch_size: int) -> KVCache:
        return KVCache()

    def _run(
        self, tokens: torch.Tensor, past: KVCache | None, start: int, keep_cache: bool
    ) -> tuple[torch.Tensor, KVCache | None]:
        T = tokens.shape[1]  # noqa: N806 (nanoGPT shape names)
        c = self.config
        P = len(past) if past is not None else 0  # noqa: N806
        cos, sin = rope_angles(
            start, T, c.d_model // c.n_heads, c.rope_base, tokens.device, self.embed.weight.dtype
        )
        mask = None
        if (P > 0 and T > 1) or c.max_seq_len < T:
            mask = window_mask(P, T, c.max_seq_len, tokens.device)
        x = self.drop(self.embed(tokens))  # [B, T, C]
        keys, values = [], []
        keep = c.max_seq_len - 1  # the next query sees these plus itself
        for i, block in enumerate(self.blocks):
            layer_past = (past.keys[i], past.values[i]) if P > 0 else None
            x, (k, v) = block(x, cos, sin, layer_past, mask)
            if keep_cache:
                n = k.shape[2]
                keys.append(k[:, :, max(0, n - keep) :])  # [B, H, min(n, keep), D]
                values.append(v[:, :, max(0, n - keep) :])
        x = self.norm(x)
        logits = F.linear(x, self.embed.weight)  # [B, T, V]
        cache = KVCache(keys, values, start + T) if keep_cache else None
        return logits, cache

    def forward(self, tokens: torch.Tensor, start_pos: int = 0) -> torch.Tensor:
        """Logits [B, T, V] for tokens [B, T] placed at absolute positions start_pos..."""
        logits, _ = self._run(tokens, None, start_pos, keep_cache=False)
        return logits

    def forward_state(
        self, tokens: torch.Tensor, state: KVCache | None
    ) -> tuple[torch.Tensor, KVCache]:
        state = state if state is not None else KVCache()
        logits, cache = self._run(tokens, state, state.pos, keep_cache=True)
        assert cache is not None
        return logits, cache

    # ---- decoding: one token per stream -------------------------------------------------
    def step(self, tokens: torch.Tensor, state: KVCache | None) -> tuple[torch.Tensor, KVCache]:
        """One token per stream: the arithmetic of ``forward_state`` on a length-1 chunk
        (bit for bit), without its per-token overhead: functional calls instead of modules,
        cached RoPE angles, rotary applied to queries and keys at once in four ops, and
        keys/values appended in place to a preallocated buffer. Falls back to it while training."""
        if self.training:
            return super().step(tokens, state)
        with torch.no_grad():
            return self._decode(tokens, state if state is not None else KVCache())

    @contextmanager
    def int8_decoding(self) -> Iterator[bool]:
        """Within this block, eval-mode ``step`` multiplies by int8 copies of the weights
        (:mod:`cadence.models.int8`); ``forward_state`` on longer chunks stays float32. Yields
        whether int8 is in use (not on GPU, while training, or without fbgemm)."""
        if self.training or self.device.type != "cpu" or not int8.available():
            yield False
            return
        weights = [self.embed.weight]
        for block in self.blocks:
            weights += [block.attn.qkv.weight, block.attn.proj.weight]
            weights += [block.fc.weight, block.out.weight]
        self._int8 = {id(w): int8.pack(w, None) for w in weights}
        try:
            yield True
        finally:
            self._int8 = None

    def _linear(self, x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        """``F.linear(x, weight)`` for x [B, 1, in] or [B, in]; int8 inside ``int8_decoding``."""
        if self._int8 is None:
            return F.linear(x, weight)
        y = int8.linear(x.reshape(x.shape[0], -1), self._int8[id(weight)])
        return y.view(*x.shape[:-1], -1)

    def _rope_at(self, pos: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Rows [1, D] at ``pos`` of ``cat(cos, cos)`` and ``cat(-sin, sin)``, from a table of
        ROPE_BLOCK positions made by ``rope_angles`` (the same float64 arithmetic, element by
        element), so that ``x * cos + roll(x, D/2) * sin`` equals ``apply_rope`` bit for bit:
        the first half is x1·cos + x2·(−sin) = x1·cos − x2·sin exactly, the second x2·cos +
        x1·sin, a sum in the other order."""
        start, cos, sin = self._rope_table
        c, w = self.config, self.embed.weight
        if not start <= pos < start + cos.shape[0] or (cos.dtype, cos.device) != (
            w.dtype,
            w.device,
        ):
            start = pos
            half_cos, half_sin = rope_angles(
                pos, ROPE_BLOCK, c.d_model // c.n_heads, c.rope_base, w.device, w.dtype
            )
            cos = torch.cat((half_cos, half_cos), dim=-1)  # [ROPE_BLOCK, D]
            sin = torch.cat((-half_sin, half_sin), dim=-1)
            self._rope_table = (start, cos, sin)
        i = pos - start
        return cos[i : i + 1], sin[i : i + 1]

    def _buffer_for(self, state: KVCache, batch: int) -> tuple[KVBuffer, int, int]:
        """The buffer to append to and the valid range ``lo, hi`` in it: the state's own when
        it is at the frontier with room left, else a fresh one holding a copy of its cache."""
        buf = state.buffer
        if buf is not None and state.hi == buf.frontier < buf.capacity:
            return buf, state.lo, state.hi
        c = self.config
        w = self.embed.weight
        p = len(state)
        shape = (c.n_layers, batch, c.n_heads, c.max_seq_len + KV_SLACK, c.d_model // c.n_heads)
        buf = KVBuffer(w.new_empty(shape), w.new_empty(shape))
        for i in range(len(state.keys)):
            buf.keys[i, :, :, :p] = state.keys[i]
            buf.values[i, :, :, :p] = state.values[i]
        buf.frontier = p
        return buf, 0, p

    def _decode(self, tokens: torch.Tensor, state: KVCache) -> tuple[torch.Tensor, KVCache]:
        B, C = tokens.shape[0], self.config.d_model  # noqa: N806 (nanoGPT shape names)
        H = self.config.n_heads  # noqa: N806
        D = C // H  # noqa: N806
        cos, sin = self._rope_at(state.pos)  # [1, D] each
        buf, lo, hi = self._buffer_for(state, B)
        n = hi + 1 - lo  # keys attended: the cache and the new one
        x = F.embedding(tokens[:, None], self.embed.weight)  # [B, 1, C]
        for block, k_buf, v_buf in zip(self.blocks, buf.layer_keys, buf.layer_values, strict=True):
            attn, n1, n2 = block.attn, block.norm1, block.norm2
            qkv = self._linear(
                F.rms_norm(x, n1.normalized_shape, n1.weight, n1.eps), attn.qkv.weight
            )
            qk = qkv.narrow(2, 0, 2 * C).view(B, 1, 2 * H, D)  # queries and keys, [B, 1, 2H, D]
            qk = (qk * cos).add_(torch.roll(qk, D // 2, dims=-1) * sin)  # = apply_rope(qk)
            k_buf.select(2, hi).copy_(qk.select(1, 0).narrow(1, H, H))  # [B, H, D]
            v_buf.select(2, hi).copy_(qkv.select(1, 0).narrow(1, 2 * C, C).view(B, H, D))
            y = F.scaled_dot_product_attention(
                qk.narrow(2, 0, H).transpose(1, 2),  # [B, H, 1, D]
                k_buf.narrow(2, lo, n),  # [B, H, P + 1, D]
                v_buf.narrow(2, lo, n),
            )
            x = x + self._linear(y.transpose(1, 2).contiguous().view(B, 1, C), attn.proj.weight)
            h = self._linear(F.rms_norm(x, n2.normalized_shape, n2.weight, n2.eps), block.fc.weight)
            x = x + self._linear(F.gelu(h), block.out.weight)  # [B, 1, C]
        x = F.rms_norm(x, self.norm.normalized_shape, self.norm.weight, self.norm.eps)
        logits = self._linear(x.select(1, 0), self.embed.weight)  # [B, V]
        hi += 1
        buf.frontier = hi
        lo = max(lo, hi - (self.config.max_seq_len - 1))  # the next query sees these + itself
        keys = [k.narrow(2, lo, hi - lo) for k in buf.layer_keys]
        values = [v.narrow(2, lo, hi - lo) for v in buf.layer_values]
        return logits, KVCache(keys, values, state.pos + 1, buf, lo, hi)
