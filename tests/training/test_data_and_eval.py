"""Packed training windows and held-out NLL."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from cadence.errors import CadenceError
from cadence.models import LSTMConfig, TransformerConfig, build_model
from cadence.tokens.tokenizer import CadenceTokenizer
from cadence.training import evaluate_nll
from cadence.training.data import PackedWindows

BOS, EOS = 1, 2


def pieces(n: int = 9, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [
        np.concatenate(([BOS], rng.integers(3, 50, rng.integers(5, 40)), [EOS])) for _ in range(n)
    ]


def windows(**kw: int) -> PackedWindows:
    args = {"batch_size": 4, "seq_len": 6, "seed": 0, "bos_id": BOS, "eos_id": EOS, **kw}
    return PackedWindows(pieces(), **args)


def test_windows_are_consecutive_and_shifted() -> None:
    w = windows()
    streams = w.streams(0)
    assert streams.shape == (4, w.stream_len)
    xs, ys = zip(*(w.batch(0, k) for k in range(w.steps)), strict=True)
    x, y = torch.cat(xs, 1), torch.cat(ys, 1)
    assert x.shape == (4, w.steps * 6)
    torch.testing.assert_close(x[:, 1:], y[:, :-1])  # next-token targets
    torch.testing.assert_close(x, torch.from_numpy(streams[:, : w.steps * 6]))


def test_epochs_reshuffle_deterministically() -> None:
    a, b = windows(), windows()
    assert np.array_equal(a.streams(0), b.streams(0))
    assert not np.array_equal(a.streams(0), a.streams(1))
    assert np.array_equal(a.streams(1), b.streams(1))
    flat = a.streams(0).ravel()
    assert (flat == BOS).sum() >= 6  # pieces keep their BOS ... EOS frames
    assert a.tokens_per_step == 24


def test_ranks_split_the_global_batch() -> None:
    whole = windows().streams(3)
    parts = [windows(rank=r, world_size=2).streams(3) for r in range(2)]
    assert np.array_equal(np.concatenate(parts), whole)
    with pytest.raises(CadenceError, match="does not split over 3 processes"):
        windows(world_size=3)


def test_missing_frames_are_added() -> None:
    w = PackedWindows(
        [np.array([5, 6, 7])] * 20, batch_size=2, seq_len=4, seed=0, bos_id=BOS, eos_id=EOS
    )
    assert list(w.pieces[0]) == [BOS, 5, 6, 7, EOS]


@pytest.fixture(scope="module")
def tokenizer() -> CadenceTokenizer:
    return CadenceTokenizer()


@pytest.mark.parametrize(
    "config",
    [
        LSTMConfig(embed_dim=16, hidden_size=16, num_layers=2),
        TransformerConfig(d_model=16, n_layers=2, n_heads=2, d_ff=32, max_seq_len=64),
    ],
    ids=["lstm", "transformer"],
)
def test_evaluate_nll_matches_direct_cross_entropy(config, tokenizer: CadenceTokenizer) -> None:
    torch.manual_seed(0)
    model = build_model(config, tokenizer)
    rng = np.random.default_rng(1)
    seqs = [rng.integers(0, tokenizer.vocab_size, n) for n in (30, 7, 51, 2, 1)]
    with torch.no_grad():
        model.eval()
        total = count = 0.0
        for s in seqs:
            if len(s) < 2:
                continue
            t = torch.from_numpy(s)[None]
            logits = model(t[:, :-1])
            total += F.cross_entropy(logits[0], t[0, 1:], reduction="sum").item()
            count += len(s) - 1
    model.train()
    expected = total / count
    for batch_size, chunk_len in [(1, 1000), (3, 5), (16, 64)]:
        got = evaluate_nll(model, seqs, batch_size=batch_size, chunk_len=chunk_len)
        assert got == pytest.approx(expected, rel=1e-5), (batch_size, chunk_len)
    assert model.training  # the mode is restored
    assert 0 < expected < 2 * math.log(tokenizer.vocab_size)
    first = evaluate_nll(model, seqs, max_tokens=10)  # only the first piece
    t = torch.from_numpy(seqs[0])[None]
    with torch.no_grad():
        model.eval()
        direct = F.cross_entropy(model(t[:, :-1])[0], t[0, 1:]).item()
    assert first == pytest.approx(direct, rel=1e-5)
    with pytest.raises(CadenceError, match="no tokens"):
        evaluate_nll(model, [np.array([5])])
