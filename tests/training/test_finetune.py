"""Fine-tuning a model to a patient's favourite tunes with a LoRA on its output layer."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest
import symusic
import torch
from tests.conftest import ABC_TUNE, scale_score

from cadence.errors import CadenceError
from cadence.models import Model, TransformerConfig, build_model
from cadence.models.base import CadenceModel
from cadence.music.io import load_score
from cadence.tokens.tokenizer import CadenceTokenizer
from cadence.training.finetune import (
    Adapter,
    adapted_checkpoint,
    anchor_tokens,
    apply_adapter,
    encode_tunes,
    finetune,
    nll,
    weights_hash,
)


@pytest.fixture(scope="module")
def tune(tmp_path_factory: pytest.TempPathFactory) -> symusic.Score:
    path = tmp_path_factory.mktemp("tune") / "tune.abc"
    path.write_text(ABC_TUNE)
    return load_score(path)


def test_finetuned_model_gives_the_tune_a_lower_nll(tiny_model: Path, tune: symusic.Score) -> None:
    base = Model.from_pretrained(tiny_model)
    tunes = encode_tunes(base.tokenizer, [tune])
    assert tunes and tunes[0][0] == base.tokenizer.bos_id and tunes[0][-1] == base.tokenizer.eos_id
    before = nll(base, tunes)
    adapter = finetune(base, tunes, steps=150, seed=0)
    adapted = apply_adapter(copy.deepcopy(base), adapter)
    after = nll(adapted, tunes)  # scored by the merged model's own forward pass
    assert after < 0.7 * before  # 6.07 -> 3.68 nats/token on this tiny random model
    assert adapter.meta["nll_before"] == pytest.approx(before, rel=1e-4)
    assert adapter.meta["nll_after"] == pytest.approx(after, rel=1e-3)
    assert nll(base, tunes) == before  # the base model itself is untouched
    # Early stopping held out the tune's last 15% of positions and kept the best step.
    assert adapter.meta["held_out_positions"] == int((len(tunes[0]) - 1) * 0.15)
    assert 0 < adapter.meta["best_step"] <= adapter.meta["steps"] <= 150


def test_anchor_limits_forgetting(tiny_model: Path, tune: symusic.Score) -> None:
    base = Model.from_pretrained(tiny_model)
    tunes = encode_tunes(base.tokenizer, [tune])
    other = encode_tunes(base.tokenizer, [scale_score()])
    free = apply_adapter(copy.deepcopy(base), finetune(base, tunes, steps=150))
    held = apply_adapter(
        copy.deepcopy(base), finetune(base, tunes, steps=150, anchor=other, anchor_weight=5.0)
    )
    drift_free = abs(nll(free, other) - nll(base, other))
    drift_held = abs(nll(held, other) - nll(base, other))
    assert drift_held < drift_free
    assert nll(held, tunes) < nll(base, tunes)


def test_seeded_budgeted_and_reports_progress(tiny_model: Path, tune: symusic.Score) -> None:
    base = Model.from_pretrained(tiny_model)
    tunes = encode_tunes(base.tokenizer, [tune])
    seen: list[tuple[int, int, float]] = []
    a = finetune(base, tunes, steps=20, seed=3, on_progress=lambda *p: seen.append(p))
    b = finetune(base, tunes, steps=20, seed=3)
    assert [s[0] for s in seen] == list(range(1, 21)) and seen[-1][1] == 20
    assert all(torch.equal(a.tensors[k], b.tensors[k]) for k in a.tensors)
    quick = finetune(base, tunes, steps=100_000, max_seconds=0.2)
    assert quick.meta["steps"] < 100_000


def test_adapter_round_trip_and_merged_checkpoint(
    tmp_path: Path, tiny_model: Path, tune: symusic.Score
) -> None:
    base = Model.from_pretrained(tiny_model)
    tunes = encode_tunes(base.tokenizer, [tune])
    adapter = finetune(base, tunes, steps=50)
    adapter.meta["base_sha256"] = weights_hash(tiny_model)
    adapter.save(tmp_path / "adapter")
    meta = json.loads((tmp_path / "adapter" / "adapter.json").read_text())
    assert meta["format"] == "cadence-adapter/1" and meta["rank"] == 8
    loaded = Adapter.load(tmp_path / "adapter")
    assert all(torch.equal(loaded.tensors[k], adapter.tensors[k]) for k in adapter.tensors)
    merged_dir = adapted_checkpoint(tiny_model, tmp_path / "adapter", tmp_path / "merged")
    merged = Model.from_pretrained(merged_dir)
    assert nll(merged, tunes) == pytest.approx(adapter.meta["nll_after"], rel=1e-4)
    # A different base model is refused.
    other_dir = tmp_path / "other"
    build_model(base.config.replace(), base.tokenizer).save_pretrained(other_dir)
    with pytest.raises(CadenceError, match="other base weights"):
        adapted_checkpoint(other_dir, tmp_path / "adapter", tmp_path / "merged2")


def test_bad_inputs_are_clear_errors(tmp_path: Path, tiny_model: Path) -> None:
    base = Model.from_pretrained(tiny_model)
    with pytest.raises(CadenceError, match="at least one tune"):
        finetune(base, [])
    with pytest.raises(CadenceError, match="vocabulary"):
        finetune(base, [np.array([1, 10**6])])
    with pytest.raises(CadenceError, match="not an adapter"):
        Adapter.load(tmp_path)
    tok = CadenceTokenizer()
    cfg = TransformerConfig(vocab_size=tok.vocab_size, d_model=32, n_heads=2, n_layers=1)
    transformer: CadenceModel = build_model(cfg, tok)
    with pytest.raises(CadenceError, match="LSTM"):
        finetune(transformer, [np.array([1, 2, 3])])
    assert anchor_tokens(tmp_path) == []
