"""Polybench: data loading, the scoring protocol on hand-built rolls, the models, the runner."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pytest
import scipy.io
import torch

from cadence.errors import CadenceError
from cadence.evaluation.polybench import (
    PolyConfig,
    bernoulli_frame_nll,
    format_table,
    load_dataset,
    load_split,
    run,
    score,
)
from cadence.evaluation.polybench.config import CONFIGS_DIR, default_config, load_config
from cadence.evaluation.polybench.data import DATASETS, batches, default_root, transpose
from cadence.evaluation.polybench.models import TCN, Ensemble, NADEHead, PianoRollRNN
from cadence.evaluation.polybench.run import model_label, windows

POLY = default_root()
needs_data = pytest.mark.skipif(
    not (POLY / "JSB_Chorales.mat").is_file(), reason="shared/data/polyphonic not present"
)


class ConstantModel:
    """Every key of every predicted frame sounds with probability ``p``, whatever came before."""

    def __init__(self, p: float) -> None:
        self.logit = math.log(p / (1 - p))

    def frame_nll(self, inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return bernoulli_frame_nll(torch.full_like(targets, self.logit), targets)


def roll(*frames: list[int]) -> np.ndarray:
    """A uint8 (T, 88) roll with the listed keys down in each frame."""
    out = np.zeros((len(frames), 88), dtype=np.uint8)
    for t, keys in enumerate(frames):
        out[t, keys] = 1
    return out


def write_mat(path: Path, rng: np.random.Generator, n: int = 6) -> None:
    """A tiny benchmark file in the published layout (1×N object arrays of (T, 88) uint8)."""
    data = {}
    for key in ("traindata", "validdata", "testdata"):
        arr = np.empty((1, n), dtype=object)
        for i in range(n):
            t = int(rng.integers(5, 12))
            arr[0, i] = roll(*[[40 + (j % 3), 52, 60 + (j % 2)] for j in range(t)])
        data[key] = arr
    scipy.io.savemat(str(path), data)


# --- data -----------------------------------------------------------------------------------


@needs_data
def test_jsb_splits_have_published_sizes_and_shapes() -> None:
    data = load_dataset("jsb", POLY)
    assert {k: len(v) for k, v in data.items()} == {"train": 229, "valid": 76, "test": 77}
    for seq in data["test"]:
        assert seq.dtype == np.uint8 and seq.ndim == 2 and seq.shape[1] == 88
        assert set(np.unique(seq)) <= {0, 1}
    assert len(load_split("jsb", "valid", POLY)) == 76


@pytest.mark.parametrize(
    ("dataset", "split", "root", "needle"),
    [
        ("bach", "test", None, "unknown polyphonic dataset 'bach'"),
        ("jsb", "dev", None, "unknown split 'dev'"),
        ("jsb", "test", "/no/such/folder", "not found; pass --root"),
    ],
    ids=["bad-dataset", "bad-split", "missing-folder"],
)
def test_bad_inputs_raise_one_line(dataset: str, split: str, root: str | None, needle: str) -> None:
    with pytest.raises(CadenceError, match=needle) as err:
        load_split(dataset, split, root)
    assert "\n" not in str(err.value)


def test_missing_file_in_folder(tmp_path: Path) -> None:
    with pytest.raises(CadenceError, match=r"Nottingham\.mat not found"):
        load_split("nottingham", "test", tmp_path)


def test_batches_pad_and_mask() -> None:
    seqs = [roll([1], [2], [3]), roll([4]), roll([5], [6])]  # the 1-frame one predicts nothing
    ((rolls, mask),) = batches(seqs, 8)
    assert rolls.shape == (2, 3, 88)
    assert mask.tolist() == [[True, True], [True, False]]


def test_transpose_and_windows() -> None:
    x = torch.zeros(1, 88)
    x[0, [0, 87]] = 1
    assert transpose(x, 2).nonzero()[:, 1].tolist() == [2]
    assert transpose(x, -1).nonzero()[:, 1].tolist() == [86]
    seq = np.arange(23)[:, None].repeat(88, 1)
    pieces = windows([seq], 6, np.random.default_rng(1))
    pairs = sorted((int(w[i, 0]), int(w[i + 1, 0])) for w in pieces for i in range(len(w) - 1))
    assert pairs == [(t, t + 1) for t in range(22)]  # every transition exactly once
    assert max(len(w) for w in pieces) <= 6


# --- protocol -------------------------------------------------------------------------------


def test_bernoulli_frame_nll_exact() -> None:
    p = torch.tensor([[0.9, 0.2]])
    got = bernoulli_frame_nll(torch.log(p / (1 - p)), torch.tensor([[1.0, 0.0]]))
    assert float(got[0]) == pytest.approx(-math.log(0.9) - math.log(0.8), rel=1e-6)


@pytest.mark.parametrize("batch_size", [1, 2, 8], ids=lambda b: f"batch{b}")
def test_protocol_constant_model_hand_computed(batch_size: int) -> None:
    # Predicted frames: seq A frames 1, 2 (keys down 2, 0); seq B frame 1 (3 keys down).
    # The first frame of each sequence (4 keys down in A) is never scored.
    seqs = [roll([1, 2, 3, 4], [10, 11], []), roll([5], [20, 30, 40])]
    result = score(ConstantModel(0.25), seqs, batch_size)
    down, frames = 2 + 0 + 3, 3
    expected = down * math.log(4) + (frames * 88 - down) * math.log(4 / 3)
    assert result.frames == frames and result.sequences == 2
    assert result.nll_sum == pytest.approx(expected, rel=1e-6)
    assert result.nats_per_frame == pytest.approx(expected / 3, rel=1e-6)


def test_protocol_half_probability_is_88_ln2_per_frame() -> None:
    seqs = [roll([1], [2], [3], [4]), roll([9], [9, 10])]
    assert score(ConstantModel(0.5), seqs).nats_per_frame == pytest.approx(88 * math.log(2))


# --- models ---------------------------------------------------------------------------------


def dense_nade_logits(head: NADEHead, state: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """The textbook NADE: h_d = sigmoid(c + sum_{j<d} v_j W_j), for every key d."""
    contrib = v.unsqueeze(-1) * head.W
    hid = torch.sigmoid(head.c(state).unsqueeze(-2) + torch.cumsum(contrib, -2) - contrib)
    return head.b(state) + (hid * head.V).sum(-1)


def test_nade_is_normalised_and_matches_dense_form() -> None:
    torch.manual_seed(0)
    head = NADEHead(hidden=5, nade_hidden=7, keys=4)
    with torch.no_grad():
        head.W.normal_()
        head.V.normal_()
    frames = torch.tensor(list(itertools.product([0.0, 1.0], repeat=4)))  # all 16 frames
    state = torch.randn(1, 5).expand(16, 5)
    with torch.no_grad():
        total = torch.exp(-head.nll(state, frames)).sum()
        assert float(total) == pytest.approx(1.0, abs=1e-5)
        assert torch.allclose(
            head.logits(state, frames), dense_nade_logits(head, state, frames), atol=1e-5
        )


@pytest.mark.parametrize("arch", ["rnn", "tcn"])
@pytest.mark.parametrize("kind", ["bernoulli", "autoregressive"])
def test_models_are_causal_in_time(arch: str, kind: str) -> None:
    torch.manual_seed(0)
    cfg = PolyConfig(model=kind, arch=arch, hidden_size=16, nade_hidden=8, levels=3, kernel_size=3)
    net = PianoRollRNN(cfg).eval()
    x = (torch.rand(1, 12, 88) < 0.1).float()
    for t in (0, 4, 11):
        y = x.clone()
        y[0, t] = 1 - y[0, t]  # change input frame t only
        with torch.no_grad():
            a, b = net.frame_nll(x, x), net.frame_nll(y, x)
        assert torch.equal(a[0, :t], b[0, :t])  # frames before t cannot see it
        assert not torch.equal(a[0, t], b[0, t])  # frame t does


def test_tcn_shapes_and_receptive_field() -> None:
    torch.manual_seed(0)
    tcn = TCN(88, channels=12, levels=3, kernel=3, dropout=0.0).eval()
    assert tcn.receptive_field == 1 + 2 * 2 * 7  # 29 frames
    x = (torch.rand(2, 40, 88) < 0.1).float()
    with torch.no_grad():
        assert tcn(x).shape == (2, 40, 12)
        for p in tcn.parameters():  # all positive: no ReLU is ever 0, every path carries
            p.fill_(0.05)
        zeros = torch.zeros(1, 40, 88)
        y = zeros.clone()
        y[0, 5] = 1  # frame 5 is seen by frames 5 .. 5 + 28, and by no others
        changed = (tcn(y) - tcn(zeros)).abs().amax(dim=(0, 2)) > 0
    assert changed.nonzero().flatten().tolist() == list(range(5, 34))
    net = PianoRollRNN(PolyConfig(arch="tcn", hidden_size=12, levels=3, kernel_size=3))
    assert net.states(x).shape == (2, 40, 12)
    assert net.frame_nll(x[:, :-1], x[:, 1:]).shape == (2, 39)


def test_ensemble_averages_key_probabilities() -> None:
    torch.manual_seed(0)
    members = [
        PianoRollRNN(PolyConfig(arch=arch, hidden_size=8, levels=2, kernel_size=2)).eval()
        for arch in ("rnn", "tcn", "rnn")
    ]
    ens = Ensemble(members).eval()
    x = (torch.rand(2, 7, 88) < 0.2).float()
    inp, tgt = x[:, :-1], x[:, 1:]
    with torch.no_grad():
        mean = torch.stack([torch.sigmoid(m.head.logits(m.states(inp))) for m in members]).mean(0)
        assert torch.allclose(ens.probs(inp), mean)
        expected = -(tgt * mean.log() + (1 - tgt) * (1 - mean).log()).sum(-1)
        assert torch.allclose(ens.frame_nll(inp, tgt), expected, atol=1e-4)
        # each key is a normalised Bernoulli: p(on) + p(off) = 1
        on = ens.key_log_probs(inp, torch.ones_like(tgt)).exp()
        off = ens.key_log_probs(inp, torch.zeros_like(tgt)).exp()
        assert torch.allclose(on + off, torch.ones_like(on), atol=1e-5)
        # one member alone is that member
        assert torch.allclose(
            Ensemble(members[:1]).frame_nll(inp, tgt), members[0].frame_nll(inp, tgt), atol=1e-5
        )
    with pytest.raises(ValueError, match="bernoulli"):
        Ensemble([PianoRollRNN(PolyConfig(model="autoregressive", hidden_size=8))])


@needs_data
@pytest.mark.parametrize(
    ("kind", "arch"), [("bernoulli", "rnn"), ("autoregressive", "rnn"), ("bernoulli", "tcn")]
)
def test_a_few_steps_reduce_nll_on_jsb_slice(kind: str, arch: str) -> None:
    torch.manual_seed(0)
    seqs = [s[:32] for s in load_split("jsb", "train", POLY)[:8]]
    cfg = PolyConfig(model=kind, arch=arch, hidden_size=24, nade_hidden=16, dropout=0.0, levels=2)
    net = PianoRollRNN(cfg)
    before = score(net, seqs).nats_per_frame
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    net.train()
    for _ in range(8):
        for rolls, mask in batches(seqs, 8):
            loss = net.frame_nll(rolls[:, :-1], rolls[:, 1:]).masked_select(mask).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
    assert score(net, seqs).nats_per_frame < before - 0.5


# --- config and runner ----------------------------------------------------------------------


def test_shipped_configs_load_for_every_dataset_and_model() -> None:
    for dataset in DATASETS:
        for model in ("bernoulli", "autoregressive"):
            assert (CONFIGS_DIR / f"{dataset}-{model}.toml").is_file()
            assert default_config(dataset, model).model == model


def test_config_rejects_unknown_key_and_bad_value(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("hidden = 3\n")
    with pytest.raises(CadenceError, match="hidden"):
        load_config(path)
    with pytest.raises(CadenceError, match="dropout"):
        PolyConfig(dropout=1.5)
    with pytest.raises(CadenceError, match="unknown polybench model"):
        default_config("jsb", "transformer")
    with pytest.raises(CadenceError, match=r"config arch = 'cnn': expected one of"):
        PolyConfig(arch="cnn")
    with pytest.raises(CadenceError, match="kernel_size = 1"):
        PolyConfig(kernel_size=1)
    with pytest.raises(CadenceError, match=r"ema = 1\.0"):
        PolyConfig(ema=1.0)
    with pytest.raises(CadenceError, match="ensemble = 3: expected 1 for the autoregressive"):
        PolyConfig(model="autoregressive", ensemble=3)
    path.write_text('model = "bernoulli"\nrnn = "gru"\n')  # a file from before `arch`
    assert load_config(path).arch == "rnn"


def test_every_shipped_config_file_loads() -> None:
    files = sorted(CONFIGS_DIR.glob("*.toml"))
    assert len(files) >= 8
    for path in files:
        cfg = load_config(path)
        assert path.name.startswith(tuple(DATASETS)) and cfg.model in path.name


@pytest.mark.parametrize("kind", ["bernoulli", "autoregressive"])
def test_run_end_to_end_on_a_tiny_file(tmp_path: Path, kind: str) -> None:
    write_mat(tmp_path / "JSB_Chorales.mat", np.random.default_rng(0))
    cfg = PolyConfig(hidden_size=16, nade_hidden=8, max_epochs=3, batch_size=4, lr=1e-2)
    seen: list[dict] = []
    row = run("jsb", kind, config=cfg, root=tmp_path, on_progress=seen.append)
    assert [s["epoch"] for s in seen] == [1, 2, 3]
    assert row["model"] == kind and row["test_frames"] > 0
    assert 0 < row["test"] < 88 * math.log(2)
    table = format_table([row])
    assert "8.45" in table and "3.07" in table and "2.31" in table
    assert f"{row['test']:.2f}" in table


def test_run_tcn_ensemble_with_ema_end_to_end(tmp_path: Path) -> None:
    write_mat(tmp_path / "JSB_Chorales.mat", np.random.default_rng(0))
    cfg = PolyConfig(
        arch="tcn",
        hidden_size=8,
        levels=2,
        kernel_size=3,
        max_epochs=2,
        batch_size=4,
        lr=1e-2,
        ensemble=2,
        ema=0.9,
        seed=5,
    )
    seen: list[dict] = []
    row = run("jsb", "bernoulli", config=cfg, root=tmp_path, on_progress=seen.append)
    assert [(s["member"], s["epoch"]) for s in seen] == [(0, 1), (0, 2), (1, 1), (1, 2)]
    assert [m["seed"] for m in row["members"]] == [5, 6]
    assert row["arch"] == "tcn" and row["ensemble"] == 2 and model_label(row) == "TCN ×2"
    assert 0 < row["test"] < 88 * math.log(2)
    assert all(0 < m["test"] < 88 * math.log(2) for m in row["members"])
    # the members differ, and the ensemble's valid is not worse than the mean of theirs
    assert row["members"][0]["valid"] != row["members"][1]["valid"]
    assert row["valid"] <= sum(m["valid"] for m in row["members"]) / 2 + 1e-9
    assert row["valid_by_size"] == [row["members"][0]["valid"], row["valid"]]
    table = format_table([row])
    assert f"cadence TCN ×2 bernoulli (measured) | **{row['test']:.2f}**" in table


def test_run_rejects_bad_dataset_before_training() -> None:
    with pytest.raises(CadenceError, match="unknown polyphonic dataset"):
        run("chopin")
