"""The shipped models load with nothing beside them and still score what they recorded."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from cadence.models import Model
from cadence.models.shipped import SHIPPED, default_model_dir
from cadence.training.evaluate import evaluate_nll


@pytest.mark.parametrize("family", sorted(SHIPPED))
def test_shipped_model_recomputes_its_recorded_nll(family: str) -> None:
    folder = SHIPPED[family]
    if not (folder / "model.safetensors").exists():
        pytest.skip(f"{family} model not shipped")
    size_mb = sum(f.stat().st_size for f in folder.iterdir()) / 1e6
    assert size_mb <= 25.0
    model = Model.from_pretrained(folder).eval()
    recorded = json.loads((folder / "config.json").read_text())["extra"]
    with np.load(folder / "valid_slice.npz") as archive:
        pieces = [archive[k].astype(np.int64) for k in archive.files]
    nll = evaluate_nll(model, pieces)
    assert nll == pytest.approx(recorded["valid_slice_nll"], rel=0.01)
    assert recorded["test_nll"] < 3.0  # far below an untrained model's ln(vocab) ≈ 5.8
    assert (folder / "training_log.csv").read_text().startswith("epoch,step")


def test_default_model_is_the_shipped_transformer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CADENCE_MODEL", raising=False)
    assert default_model_dir() == SHIPPED["transformer"]
    assert (SHIPPED["transformer"] / "model.safetensors").exists()


def test_int8_decoding_keeps_the_shipped_lstm_score() -> None:
    folder = SHIPPED["lstm"]
    model = Model.from_pretrained(folder).eval()
    with np.load(folder / "valid_slice.npz") as archive:
        pieces = [archive[k].astype(np.int64)[:300] for k in archive.files[:3]]
    fp32 = evaluate_nll(model, pieces)
    with model.int8_decoding() as on:
        assert on
        quantized = evaluate_nll(model, pieces)
    assert quantized == pytest.approx(fp32, rel=0.01)
    assert quantized != fp32  # the int8 path really ran
    assert evaluate_nll(model, pieces) == fp32  # and the float weights are untouched


def test_int8_decoding_keeps_the_shipped_transformer_score() -> None:
    """Token by token through the decoding path (the Transformer's ``evaluate_nll`` runs
    long chunks, which stay float32): int8 within 0.1% of float32."""
    folder = SHIPPED["transformer"]
    if not (folder / "model.safetensors").exists():
        pytest.skip("transformer model not shipped")
    model = Model.from_pretrained(folder).eval()
    with np.load(folder / "valid_slice.npz") as archive:
        pieces = [torch.from_numpy(archive[k].astype(np.int64)[:300]) for k in archive.files[:3]]

    def stepped_nll() -> float:
        total, count = 0.0, 0
        with torch.inference_mode():
            for ids in pieces:
                state = None
                for t in range(len(ids) - 1):
                    logits, state = model.step(ids[t : t + 1], state)
                    total += float(F.cross_entropy(logits, ids[t + 1 : t + 2], reduction="sum"))
                    count += 1
        return total / count

    fp32 = stepped_nll()
    with model.int8_decoding() as on:
        assert on
        quantized = stepped_nll()
    assert quantized == pytest.approx(fp32, rel=0.001)
    assert quantized != fp32  # the int8 path really ran
    assert stepped_nll() == fp32  # and the float weights are untouched
