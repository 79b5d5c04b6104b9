"""The Transformer's decoding path (``step``, and ``forward_state`` on short chunks without
autograd) gives the logits of the full-sequence ``forward`` up to float rounding: through the
window's wrap, the KV buffer's compaction, chunks, batches, and when an older state is
stepped again; and its TorchScript compilation changes nothing."""

from __future__ import annotations

import itertools

import pytest
import torch
import torch.nn.functional as F

from cadence.models import TransformerConfig, build_model, decoding
from cadence.models import transformer as tr
from cadence.models.transformer import KV_SLACK, apply_rope, rope_angles
from cadence.tokens.tokenizer import CadenceTokenizer

WINDOW = 8


@pytest.fixture(scope="module")
def model() -> tr.TransformerModel:
    torch.manual_seed(0)
    cfg = TransformerConfig(d_model=32, n_layers=2, n_heads=4, d_ff=64, max_seq_len=WINDOW)
    m = build_model(cfg, CadenceTokenizer()).eval()
    with torch.no_grad():  # gains away from 1, so that folding them into matrices matters
        for p in m.parameters():
            if p.dim() == 1:
                p.uniform_(0.5, 1.5)
    return m


def reference(model: tr.TransformerModel, x: torch.Tensor, t: int) -> torch.Tensor:
    """Logits [B, V] at position t from the full-sequence forward (sliding-window mask)."""
    return model(x[:, : t + 1])[:, -1]


def close(a: torch.Tensor, b: torch.Tensor) -> bool:
    return torch.allclose(a, b, rtol=1e-4, atol=1e-5 * float(b.abs().max()))


def tokens(batch: int, length: int, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.randint(0, CadenceTokenizer().vocab_size, (batch, length), generator=gen)


def test_steps_equal_the_full_forward(model: tr.TransformerModel) -> None:
    x = tokens(2, WINDOW + 2 * KV_SLACK + 20)  # past the window and two buffer compactions
    with torch.no_grad():
        state = model.init_state(2)
        states = []
        for t in range(x.shape[1]):
            logits, state = model.step(x[:, t], state)
            assert close(logits, reference(model, x, t)), t
            assert len(state) == min(t + 1, WINDOW - 1) and state.pos == t + 1
            states.append(state)
        # an older state stepped again copies its cache and leaves the newer stream intact
        branched = x.clone()
        branched[:, 6] = x[:, 0]
        logits, _ = model.step(x[:, 0], states[5])
        assert close(logits, reference(model, branched, 6))
        logits, _ = model.step(x[:, -1], states[-1])
        extended = torch.cat((x, x[:, -1:]), 1)
        assert close(logits, reference(model, extended, x.shape[1]))


def test_short_chunks_decode_and_long_ones_run_the_blocks(model: tr.TransformerModel) -> None:
    x = tokens(2, 60, seed=1)
    cuts = [0, 3, 4, 20, 21, 26, 42, 60]  # chunks of 3, 1, 16 (decoding), 1, 5, 16, 18 (blocks)
    with torch.no_grad():
        state = None
        for a, b in itertools.pairwise(cuts):
            logits, state = model.forward_state(x[:, a:b], state)
            assert (state.buffer is not None) == (b - a <= tr.DECODE_CHUNK)
            for t in range(a, b):
                assert close(logits[:, t - a], reference(model, x, t)), (a, t)
        logits, _ = model.step(x[:, 0], state)  # a step after a long chunk copies its cache
        extended = torch.cat((x, x[:, :1]), 1)
        assert close(logits, reference(model, extended, x.shape[1]))


def test_torchscript_changes_no_bit(
    model: tr.TransformerModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert isinstance(tr.decode_blocks(), torch.jit.ScriptFunction)
    x = tokens(2, 30, seed=2)

    def run() -> torch.Tensor:
        out, state = [], None
        with torch.no_grad():
            logits, state = model.forward_state(x[:, :5], state)
            out.append(logits)
            for t in range(5, x.shape[1]):
                logits, state = model.step(x[:, t], state)
                out.append(logits[:, None])
        return torch.cat(out, 1)

    scripted = run()
    monkeypatch.setattr(tr, "decode_blocks", lambda: decoding._decode_blocks)
    assert torch.equal(run(), scripted)


def test_decoding_weights_follow_parameter_changes() -> None:
    torch.manual_seed(3)
    cfg = TransformerConfig(d_model=16, n_layers=1, n_heads=2, d_ff=32, max_seq_len=WINDOW)
    model = build_model(cfg, CadenceTokenizer()).eval()
    x = tokens(1, 4, seed=3)
    with torch.no_grad():
        before, _ = model.forward_state(x, None)
        model.blocks[0].fc.weight.mul_(3.0)  # in place: the version check sees it
        after, _ = model.forward_state(x, None)
        assert not close(after, before)
        assert close(after, model(x))
        model.load_state_dict({k: v * 0.5 for k, v in model.state_dict().items()})
        assert close(model.forward_state(x, None)[0], model(x))


def test_rope_table_rotates_queries_and_keys_and_keeps_values(
    model: tr.TransformerModel,
) -> None:
    H, D = 4, 8  # the fixture's heads and head size
    qkv = torch.randn(2, 3, 3 * H, D)  # [B, T, 3H, D]
    for pos in (0, 5, tr.ROPE_BLOCK - 2, 123_457):
        cos, sin = model._rope_rows(pos, 3)
        rotated = qkv * cos + torch.roll(qkv, D // 2, dims=-1) * sin
        c, s = rope_angles(pos, 3, D, 10000.0, qkv.device, qkv.dtype)
        qk = qkv[:, :, : 2 * H].transpose(1, 2)  # [B, 2H, T, D]
        assert torch.equal(rotated[:, :, : 2 * H].transpose(1, 2), apply_rope(qk, c, s))
        assert torch.equal(rotated[:, :, 2 * H :], qkv[:, :, 2 * H :])


def test_rms_as_layer_norm_equals_rms_norm() -> None:
    x = torch.randn(5, 256) * torch.logspace(-2, 1, 5)[:, None]
    eps = torch.finfo(x.dtype).eps
    assert torch.allclose(decoding._rms(x, eps), F.rms_norm(x, (256,), None, eps), rtol=1e-5)


def test_rolled_rotary_equals_apply_rope() -> None:
    for head_dim in (8, 16, 64):
        x = torch.randn(3, 5, 4, head_dim)
        for pos in (0, 7, 4095, 123_457):
            cos, sin = rope_angles(pos, 1, head_dim, 10000.0, x.device, x.dtype)
            full_cos, full_sin = torch.cat((cos, cos), -1), torch.cat((-sin, sin), -1)
            rolled = x * full_cos + torch.roll(x, head_dim // 2, dims=-1) * full_sin
            assert torch.equal(rolled, apply_rope(x, cos, sin))
