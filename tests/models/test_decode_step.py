"""The Transformer's fast decoding step is forward_state on one token, bit for bit: through
the window's wrap, the KV buffer's compaction, and when an older state is stepped again."""

from __future__ import annotations

import torch

from cadence.models import TransformerConfig, build_model
from cadence.models.transformer import KV_SLACK, apply_rope, rope_angles
from cadence.tokens.tokenizer import CadenceTokenizer


def test_decode_step_equals_forward_state_bit_for_bit() -> None:
    tok = CadenceTokenizer()
    torch.manual_seed(0)
    cfg = TransformerConfig(d_model=32, n_layers=2, n_heads=4, d_ff=64, max_seq_len=8)
    model = build_model(cfg, tok).eval()
    x = torch.randint(0, tok.vocab_size, (2, 8 + KV_SLACK + 20), generator=torch.Generator())
    with torch.no_grad():
        fast, slow = model.init_state(2), model.init_state(2)
        states = []
        for t in range(x.shape[1]):  # past the window and past one compaction of the buffer
            a, fast = model.step(x[:, t], fast)
            b, slow = model.forward_state(x[:, t : t + 1], slow)
            assert torch.equal(a, b[:, 0]), t
            assert len(fast) == len(slow) and fast.pos == slow.pos
            states.append(fast)
        # an older state stepped again copies its cache and leaves the newer stream intact
        old = states[5]
        branch, _ = model.step(x[:, 0], old)
        expected, _ = model.forward_state(x[:, :1], model.step(x[:, 5], states[4])[1])
        assert torch.equal(branch, expected[:, 0])
        again, _ = model.step(x[:, -1], states[-1])
        reference, _ = model.forward_state(x[:, -1:], states[-1])
        assert torch.equal(again, reference[:, 0])
        # a chunk after steps continues from the buffer's views
        chunk, _ = model.forward_state(x[:, :3], fast)
        assert chunk.shape == (2, 3, tok.vocab_size)


def test_rolled_rotary_equals_apply_rope() -> None:
    for head_dim in (8, 16, 64):
        x = torch.randn(3, 5, 4, head_dim)
        for pos in (0, 7, 4095, 123_457):
            cos, sin = rope_angles(pos, 1, head_dim, 10000.0, x.device, x.dtype)
            full_cos, full_sin = torch.cat((cos, cos), -1), torch.cat((-sin, sin), -1)
            rolled = x * full_cos + torch.roll(x, head_dim // 2, dims=-1) * full_sin
            assert torch.equal(rolled, apply_rope(x, cos, sin))
