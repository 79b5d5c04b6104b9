"""Int8 decoding: close to float32, the same through step and forward_state, scoped."""

from __future__ import annotations

import pytest
import torch

from cadence.models import LSTMConfig, TransformerConfig, build_model, int8
from cadence.tokens.tokenizer import CadenceTokenizer

pytestmark = pytest.mark.skipif(not int8.available(), reason="needs fbgemm (x86 CPU)")


@pytest.fixture(scope="module")
def lstm() -> torch.nn.Module:
    torch.manual_seed(0)
    cfg = LSTMConfig(embed_dim=32, hidden_size=64, num_layers=2, dropout=0.0)
    return build_model(cfg, CadenceTokenizer()).eval()


def test_packed_linear_is_close_to_the_float_product() -> None:
    torch.manual_seed(1)
    w, b, x = torch.randn(96, 40), torch.randn(96), torch.randn(2, 40)
    got = int8.linear(x, int8.pack(w, b))
    want = x @ w.T + b
    assert (got - want).abs().max() < 0.03 * want.abs().max()


def test_int8_steps_track_float_steps_and_forward_state(lstm: torch.nn.Module) -> None:
    ids = torch.randint(
        0, lstm.config.vocab_size, (1, 40), generator=torch.Generator().manual_seed(2)
    )
    with torch.inference_mode():
        ref, _ = lstm.forward_state(ids, None)
        with lstm.int8_decoding() as on:
            assert on
            whole, state_a = lstm.forward_state(ids, None)
            steps, state = [], None
            for t in range(ids.shape[1]):
                logits, state = lstm.step(ids[:, t], state)
                steps.append(logits)
        after, _ = lstm.forward_state(ids, None)
    assert torch.equal(torch.stack(steps, 1), whole)  # one int8 path
    assert torch.equal(state[0], state_a[0])
    assert (whole - ref).abs().max() < 0.05 * ref.abs().max()
    assert not torch.equal(whole, ref)
    assert torch.equal(after, ref)  # leaving the block restores float32 decoding


def test_transformer_int8_steps_track_float_steps() -> None:
    torch.manual_seed(0)
    tok = CadenceTokenizer()
    cfg = TransformerConfig(d_model=32, n_layers=2, n_heads=4, d_ff=64, max_seq_len=8)
    model = build_model(cfg, tok).eval()
    ids = torch.randint(0, tok.vocab_size, (20,), generator=torch.Generator().manual_seed(3))

    def run() -> torch.Tensor:
        chunk, state = model.forward_state(ids[None, :4], None)  # a short chunk decodes too
        out = [chunk[0]]
        for t in range(4, len(ids)):  # past the 8-position window: the cache slides
            logits, state = model.step(ids[t : t + 1], state)
            out.append(logits)
        return torch.cat(out)

    with torch.inference_mode():
        ref = run()
        with model.int8_decoding() as on:
            assert on
            quantized = run()
        after = run()
    assert (quantized - ref).abs().max() < 0.05 * ref.abs().max()
    assert not torch.equal(quantized, ref)
    assert torch.equal(after, ref)


def test_training_decodes_in_float() -> None:
    tok = CadenceTokenizer()
    model = build_model(LSTMConfig(embed_dim=8, hidden_size=8, num_layers=1), tok).train()
    with model.int8_decoding() as on:
        assert on is False


def test_transformer_int8_packs_are_kept_until_the_weights_change() -> None:
    torch.manual_seed(0)
    cfg = TransformerConfig(d_model=16, n_layers=1, n_heads=2, d_ff=32, max_seq_len=8)
    model = build_model(cfg, CadenceTokenizer()).eval()
    ids = torch.tensor([[3, 4, 5]])
    with model.int8_decoding(), torch.inference_mode():
        first = model._int8
        before, _ = model.forward_state(ids, None)
    with model.int8_decoding():
        assert model._int8 is first  # packing is the slow part of entering the block
    with torch.no_grad():
        model.blocks[0].fc.weight.mul_(3.0)
    with model.int8_decoding(), torch.inference_mode():
        assert model._int8 is not first
        after, _ = model.forward_state(ids, None)
        reference = model(ids)
    assert not torch.equal(after, before)
    assert (after - reference).abs().max() < 0.05 * reference.abs().max()
