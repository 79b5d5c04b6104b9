"""Model families: shapes, incremental decoding, the sliding KV cache, checkpoints, configs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from cadence.errors import CadenceError
from cadence.models import (
    CadenceModel,
    LSTMConfig,
    Model,
    TransformerConfig,
    build_model,
    model_config_from_dict,
)
from cadence.tokens.tokenizer import CadenceTokenizer

TINY = {
    "lstm": LSTMConfig(embed_dim=16, hidden_size=24, num_layers=2, dropout=0.1),
    "transformer": TransformerConfig(
        d_model=32, n_layers=2, n_heads=4, d_ff=64, max_seq_len=8, dropout=0.1
    ),
}


@pytest.fixture(scope="module")
def tokenizer() -> CadenceTokenizer:
    return CadenceTokenizer()


def tiny(family: str, tokenizer: CadenceTokenizer) -> CadenceModel:
    torch.manual_seed(0)
    return build_model(TINY[family], tokenizer).eval()


def tokens(tokenizer: CadenceTokenizer, batch: int, length: int, seed: int = 1) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, tokenizer.vocab_size, (batch, length), generator=g)


@pytest.mark.parametrize("family", ["lstm", "transformer"])
def test_shapes(family: str, tokenizer: CadenceTokenizer) -> None:
    model = tiny(family, tokenizer)
    x = tokens(tokenizer, 3, 5)
    V = tokenizer.vocab_size
    assert model(x).shape == (3, 5, V)
    logits, state = model.forward_state(x, model.init_state(3))
    assert logits.shape == (3, 5, V)
    step_logits, _ = model.step(x[:, 0], state)
    assert step_logits.shape == (3, V)
    assert not step_logits.requires_grad  # eval mode: generation keeps no autograd graph
    assert model.config.vocab_size == V


@pytest.mark.parametrize("family", ["lstm", "transformer"])
def test_step_matches_forward(family: str, tokenizer: CadenceTokenizer) -> None:
    model = tiny(family, tokenizer)
    x = tokens(tokenizer, 2, 8)  # within the transformer's window of 8
    full = model(x)
    state = model.init_state(2)
    with torch.no_grad():
        for t in range(x.shape[1]):
            logits, state = model.step(x[:, t], state)
            torch.testing.assert_close(logits, full[:, t], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("family", ["lstm", "transformer"])
def test_chunks_match_steps(family: str, tokenizer: CadenceTokenizer) -> None:
    """forward_state over chunks equals token-by-token steps, also past the window."""
    model = tiny(family, tokenizer)
    x = tokens(tokenizer, 2, 27)
    with torch.no_grad():
        state, stepped = model.init_state(2), []
        for t in range(x.shape[1]):
            logits, state = model.step(x[:, t], state)
            stepped.append(logits)
        state, chunked = None, []
        for start in range(0, x.shape[1], 5):
            logits, state = model.forward_state(x[:, start : start + 5], state)
            chunked.append(logits)
    torch.testing.assert_close(torch.cat(chunked, 1), torch.stack(stepped, 1), atol=1e-5, rtol=1e-5)


def test_sliding_cache_matches_window(tokenizer: CadenceTokenizer) -> None:
    """One layer: after the cache wraps, each step equals forward over the last window.

    The window is placed at its absolute positions (RoPE), and at position 0 too: RoPE scores
    depend only on relative offsets.
    """
    torch.manual_seed(0)
    model = build_model(TINY["transformer"].replace(n_layers=1), tokenizer).eval()
    S = model.config.max_seq_len
    x = tokens(tokenizer, 2, 40)
    state = model.init_state(2)
    with torch.no_grad():
        for p in range(x.shape[1]):
            logits, state = model.step(x[:, p], state)
            assert len(state) == min(p + 1, S - 1)  # the cache never grows past the window
            lo = max(0, p - S + 1)
            window = model(x[:, lo : p + 1], start_pos=lo)[:, -1]
            torch.testing.assert_close(logits, window, atol=1e-5, rtol=1e-5)
            shifted = model(x[:, lo : p + 1])[:, -1]
            torch.testing.assert_close(logits, shifted, atol=1e-4, rtol=1e-4)
    assert state.pos == x.shape[1]


def test_sliding_cache_matches_banded_forward(tokenizer: CadenceTokenizer) -> None:
    """Several layers: after the cache wraps, each step equals forward over the whole stream
    with the sliding-window mask (each layer's cached keys saw their own window, so the
    receptive field reaches n_layers windows back, as in Mistral's sliding-window attention).
    """
    model = tiny("transformer", tokenizer)
    S = model.config.max_seq_len
    x = tokens(tokenizer, 2, 30)
    state = model.init_state(2)
    with torch.no_grad():
        full = model(x)  # T > max_seq_len: banded causal mask
        for p in range(x.shape[1]):
            logits, state = model.step(x[:, p], state)
            assert len(state) == min(p + 1, S - 1)
            torch.testing.assert_close(logits, full[:, p], atol=1e-5, rtol=1e-5)
            torch.testing.assert_close(logits, model(x[:, : p + 1])[:, -1], atol=1e-5, rtol=1e-5)


def test_rope_far_positions_stay_finite(tokenizer: CadenceTokenizer) -> None:
    model = tiny("transformer", tokenizer)
    x = tokens(tokenizer, 1, 8)
    with torch.no_grad():
        near, far = model(x, start_pos=0), model(x, start_pos=10_000_000)
    torch.testing.assert_close(near, far, atol=1e-3, rtol=1e-3)


@pytest.mark.parametrize("family", ["lstm", "transformer"])
@pytest.mark.parametrize("dtype", [None, torch.bfloat16], ids=["fp32", "bf16"])
def test_save_load_round_trip(
    family: str, dtype: torch.dtype | None, tokenizer: CadenceTokenizer, tmp_path: Path
) -> None:
    model = tiny(family, tokenizer)
    out = model.save_pretrained(tmp_path / "ckpt", extra={"valid_nll": 1.5}, dtype=dtype)
    assert sorted(p.name for p in out.iterdir()) == [
        "config.json",
        "model.safetensors",
        "tokenizer.json",
    ]
    loaded = Model.from_pretrained(out)
    assert type(loaded) is type(model)
    assert loaded.config == model.config
    assert loaded.tokenizer == tokenizer
    assert loaded.extra == {"valid_nll": 1.5}
    assert not loaded.training
    x = tokens(tokenizer, 2, 6)
    with torch.no_grad():
        if dtype is None:
            torch.testing.assert_close(loaded(x), model(x), atol=0, rtol=0)
        else:
            torch.testing.assert_close(loaded(x), model(x), atol=0.05, rtol=0.05)
    model.save_pretrained(out)  # overwriting an existing checkpoint works
    assert Model.from_pretrained(out).extra == {}


def _break(kind: str, folder: Path) -> None:
    if kind == "no-weights":
        (folder / "model.safetensors").unlink()
    elif kind == "corrupt-weights":
        (folder / "model.safetensors").write_bytes(b"\x00garbage" * 10)
    elif kind == "no-config":
        (folder / "config.json").unlink()
    elif kind == "bad-json":
        (folder / "config.json").write_text("{not json")
    elif kind == "unknown-family":
        meta = json.loads((folder / "config.json").read_text())
        meta["family"] = "gan9000"
        (folder / "config.json").write_text(json.dumps(meta))
    elif kind == "shape-mismatch":
        meta = json.loads((folder / "config.json").read_text())
        meta["model"]["hidden_size"] = 99
        (folder / "config.json").write_text(json.dumps(meta))
    elif kind == "no-tokenizer":
        (folder / "tokenizer.json").unlink()
    elif kind == "bad-tokenizer":
        (folder / "tokenizer.json").write_text('{"format": "nope"}')


@pytest.mark.parametrize(
    "kind",
    [
        "no-weights",
        "corrupt-weights",
        "no-config",
        "bad-json",
        "unknown-family",
        "shape-mismatch",
        "no-tokenizer",
        "bad-tokenizer",
    ],
)
def test_damaged_checkpoint_raises_cadence_error(
    kind: str, tokenizer: CadenceTokenizer, tmp_path: Path
) -> None:
    folder = tiny("lstm", tokenizer).save_pretrained(tmp_path / "ckpt")
    _break(kind, folder)
    with pytest.raises(CadenceError) as err:
        Model.from_pretrained(folder)
    assert "\n" not in str(err.value)


def test_missing_checkpoint_folder(tmp_path: Path) -> None:
    with pytest.raises(CadenceError, match="does not exist"):
        Model.from_pretrained(tmp_path / "nowhere")


@pytest.mark.parametrize("family", ["lstm", "transformer"])
def test_config_dict_round_trip(family: str) -> None:
    config = TINY[family]
    data = {"family": family, **config.to_dict()}
    assert model_config_from_dict(json.loads(json.dumps(data))) == config


@pytest.mark.parametrize(
    ("data", "field"),
    [
        pytest.param({"hidden": 5}, "model.hidden", id="unknown-key"),
        pytest.param({"family": "gru"}, "model.family", id="unknown-family"),
        pytest.param({"hidden_size": "big"}, "model.hidden_size", id="string-for-int"),
        pytest.param({"hidden_size": 2.5}, "model.hidden_size", id="float-for-int"),
        pytest.param({"num_layers": True}, "model.num_layers", id="bool-for-int"),
        pytest.param({"num_layers": 0}, "model.num_layers", id="zero-layers"),
        pytest.param({"dropout": 1.5}, "model.dropout", id="dropout-above-1"),
        pytest.param({"dropout": -0.1}, "model.dropout", id="negative-dropout"),
        pytest.param(
            {"family": "transformer", "d_model": 30, "n_heads": 4},
            "model.n_heads",
            id="heads-do-not-divide",
        ),
        pytest.param(
            {"family": "transformer", "max_seq_len": 1}, "model.max_seq_len", id="window-too-small"
        ),
    ],
)
def test_bad_model_config(data: dict, field: str) -> None:
    with pytest.raises(ValueError, match=field) as err:
        model_config_from_dict(data)
    assert isinstance(err.value, CadenceError)
    assert "\n" not in str(err.value)
