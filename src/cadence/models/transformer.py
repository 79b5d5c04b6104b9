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
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from cadence.models import int8
from cadence.models.base import CadenceModel
from cadence.models.config import Config
from cadence.models.decoding import DecodeWeights, KVBuffer, KVCache, decode_blocks

ROPE_BLOCK = 512  # decoding caches RoPE angles for this many positions at a time
DECODE_CHUNK = 16  # forward_state on chunks up to this long (eval, no autograd) decodes
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
        self._float_weights: DecodeWeights | None = None  # folded float32, rebuilt on change
        self._int8_packs: DecodeWeights | None = None  # kept between ``int8_decoding`` blocks
        self._int8: DecodeWeights | None = None  # the packs in use, inside such a block
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
        past_keys = past.keys if past is not None and P > 0 else []
        past_values = past.values if past is not None and P > 0 else []
        for i, block in enumerate(self.blocks):
            layer_past = (past_keys[i], past_values[i]) if P > 0 else None
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
        """Logits [B, T, V] for tokens [B, T] continuing ``state``. Without autograd, in eval
        mode, chunks of up to ``DECODE_CHUNK`` tokens (a bar header, a prompt) take the
        decoding path of :meth:`step`; longer ones run the blocks as in training."""
        state = state if state is not None else KVCache()
        short = 1 <= tokens.shape[1] <= DECODE_CHUNK
        if short and not self.training and not torch.is_grad_enabled():
            return self._decode(tokens, state)
        logits, cache = self._run(tokens, state, state.pos, keep_cache=True)
        assert cache is not None
        return logits, cache

    # The folded float32 decoding weights and the int8 packs are remade when a parameter
    # changes in place (versions), and dropped when parameters may be replaced (train, .to,
    # load_state_dict).
    def train(self, mode: bool = True) -> TransformerModel:
        self._float_weights = self._int8_packs = None
        return super().train(mode)

    def _apply(self, fn: Any, recurse: bool = True) -> TransformerModel:
        self._float_weights = self._int8_packs = None
        return super()._apply(fn, recurse)

    def load_state_dict(self, *args: Any, **kwargs: Any) -> Any:
        self._float_weights = self._int8_packs = None
        return super().load_state_dict(*args, **kwargs)

    # ---- decoding: a few tokens per stream, against a preallocated KV buffer -----------
    def step(self, tokens: torch.Tensor, state: KVCache | None) -> tuple[torch.Tensor, KVCache]:
        """One token per stream: ``forward_state`` on a length-1 chunk, through the decoding
        path (see :meth:`_decode`). Falls back to the training path while training."""
        if self.training:
            return super().step(tokens, state)
        with torch.no_grad():
            logits, state = self._decode(tokens[:, None], state if state is not None else KVCache())
        return logits[:, 0], state

    @contextmanager
    def int8_decoding(self) -> Iterator[bool]:
        """Within this block, the eval-mode decoding path (``step``, and ``forward_state`` on
        chunks of up to ``DECODE_CHUNK`` tokens) multiplies by int8 copies of the weights
        (:mod:`cadence.models.int8`); longer chunks stay float32. Yields whether int8 is in
        use (not on GPU, while training, or without fbgemm)."""
        if self.training or self.device.type != "cpu" or not int8.available():
            yield False
            return
        packs = self._int8_packs
        if packs is None or packs.stale():  # packing takes about 70 ms: once per weights
            folded = self._fold_weights()
            packs = DecodeWeights(
                [int8.pack(w, None) for w in folded.matrices],
                folded.eps,
                int8=True,
                params=folded.params,
                versions=folded.versions,
            )
            self._int8_packs = packs
        self._int8 = packs
        try:
            yield True
        finally:
            self._int8 = None

    def _fold_weights(self) -> DecodeWeights:
        """Float32 decoding weights (:class:`DecodeWeights`), made from the parameters."""
        default_eps = torch.finfo(self.embed.weight.dtype).eps

        def eps(norm: nn.RMSNorm) -> float:
            return default_eps if norm.eps is None else norm.eps

        half = math.sqrt(0.5)
        matrices, norm_eps = [], []
        with torch.no_grad():
            for block in self.blocks:
                g1, g2 = block.norm1.weight, block.norm2.weight
                matrices += [
                    block.attn.qkv.weight * g1,
                    block.attn.proj.weight.detach().clone(),
                    block.fc.weight * (g2 * half),
                    block.out.weight * half,
                ]
                norm_eps += [eps(block.norm1), eps(block.norm2)]
            matrices.append(self.embed.weight * self.norm.weight)
        params = list(self.parameters())
        return DecodeWeights(
            matrices,
            [*norm_eps, eps(self.norm)],
            params=params,
            versions=[p._version for p in params],
        )

    def _decode_weights(self) -> DecodeWeights:
        if self._int8 is not None:
            return self._int8
        if self._float_weights is None or self._float_weights.stale():
            self._float_weights = self._fold_weights()
        return self._float_weights

    def _rope_rows(self, pos: int, length: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Rows [T, 3H, D] for positions pos..pos+T-1 of ``cos`` and ``sin`` tables such that
        ``x * cos + roll(x, D/2) * sin`` rotates the query and key heads of a step's
        [q | k | v] exactly as ``apply_rope`` does and leaves the value heads as they are
        (cos 1, sin 0). The tables hold ROPE_BLOCK positions made by ``rope_angles`` (the same
        float64 arithmetic, element by element). Bit for bit: the first half of a head is
        x1·cos + x2·(−sin) = x1·cos − x2·sin exactly, the second x2·cos + x1·sin, a sum in
        the other order."""
        start, cos, sin = self._rope_table
        c, w = self.config, self.embed.weight
        fits = start <= pos and pos + length <= start + cos.shape[0]
        if not fits or cos.dtype != w.dtype or cos.device != w.device:
            start = pos
            H, D = c.n_heads, c.d_model // c.n_heads  # noqa: N806 (nanoGPT shape names)
            half_cos, half_sin = rope_angles(
                pos, max(ROPE_BLOCK, length), D, c.rope_base, w.device, w.dtype
            )
            n = half_cos.shape[0]
            cos = torch.ones(n, 3 * H, D, dtype=w.dtype, device=w.device)
            sin = torch.zeros(n, 3 * H, D, dtype=w.dtype, device=w.device)
            cos[:, : 2 * H] = torch.cat((half_cos, half_cos), dim=-1)[:, None]
            sin[:, : 2 * H] = torch.cat((-half_sin, half_sin), dim=-1)[:, None]
            self._rope_table = (start, cos, sin)
        i = pos - start
        return cos[i : i + length], sin[i : i + length]

    def _buffer_for(self, state: KVCache, batch: int, length: int) -> tuple[KVBuffer, int, int]:
        """The buffer to append ``length`` positions to and the valid range ``lo, hi`` in it:
        the state's own when it is at the frontier with room left, else a fresh one holding
        a copy of its cache."""
        buf = state.buffer
        if buf is not None and state.hi == buf.frontier and buf.frontier + length <= buf.capacity:
            return buf, state.lo, state.hi
        c = self.config
        w = self.embed.weight
        p = len(state)
        capacity = c.max_seq_len + max(KV_SLACK, length)
        shape = (c.n_layers, batch, 2 * c.n_heads, capacity, c.d_model // c.n_heads)
        fresh = KVBuffer(w.new_empty(shape), c.n_heads)
        if buf is not None:
            fresh.kv[:, :, :, :p] = buf.kv[:, :, :, state.lo : state.hi]
        else:
            for i in range(len(state.keys)):
                fresh.keys[i][:, :, :p] = state.keys[i]
                fresh.values[i][:, :, :p] = state.values[i]
        fresh.frontier = p
        return fresh, 0, p

    def _decode(self, tokens: torch.Tensor, state: KVCache) -> tuple[torch.Tensor, KVCache]:
        """Logits [B, T, V] for a few tokens [B, T] after ``state``: the arithmetic of
        ``forward_state`` up to float rounding, with less per-token overhead: functional
        calls; norm gains folded into the matrices (:class:`DecodeWeights`); each RMSNorm as
        one ``layer_norm`` of [x, -x] (whose mean is 0 and variance mean(x²)); RoPE rows from
        a cached table, applied to queries and keys (and, as the identity, values) in four
        operations; keys and values written in place, with one copy per layer, into a
        preallocated buffer (the window plus KV_SLACK slots) that is copied only when the
        window slides past its slack or when an older state is stepped again."""
        c = self.config
        B, T = tokens.shape  # noqa: N806 (nanoGPT shape names)
        H = c.n_heads  # noqa: N806
        weights = self._decode_weights()
        cos, sin = self._rope_rows(state.pos, T)  # [T, 3H, D] each
        buf, lo, hi = self._buffer_for(state, B, T)
        mask = window_mask(hi - lo, T, c.max_seq_len, tokens.device) if T > 1 else None
        x = F.embedding(tokens.reshape(B * T), self.embed.weight)  # [N, C]
        fw, qw = ([], weights.matrices) if weights.int8 else (weights.matrices, [])
        logits = decode_blocks()(x, cos, sin, buf.layers, fw, qw, weights.eps, mask, B, H, lo, hi)
        logits = logits.view(B, T, -1)  # [B, T, V]
        hi += T
        buf.frontier = hi
        lo = max(lo, hi - (c.max_seq_len - 1))  # the next query sees these + itself
        return logits, KVCache(pos=state.pos + T, buffer=buf, lo=lo, hi=hi)
