"""The benchmark library: ratio arithmetic, stage selection, bad input, GPT-2 twins and the
generated docs section (the quick end-to-end run is in tests/commands)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from cadence.errors import CadenceError
from cadence.evaluation.bench import STAGES, BenchSettings, Comparison, parse_only, ratio
from cadence.evaluation.bench.generate import gpt2_dims, gpt2_twin
from cadence.evaluation.bench.report import (
    BEGIN,
    END,
    comparisons_table,
    ratio_text,
    update_docs,
)
from cadence.models import LSTMConfig, TransformerConfig, build_model
from cadence.tokens.tokenizer import CadenceTokenizer


@pytest.mark.parametrize(
    ("cadence", "baseline", "higher", "expected"),
    [(300.0, 100.0, True, 3.0), (100.0, 400.0, True, 0.25), (2.0, 10.0, False, 5.0)],
    ids=["rate-3x", "rate-slower", "time-5x"],
)
def test_ratio(cadence: float, baseline: float, higher: bool, expected: float) -> None:
    assert ratio(cadence, baseline, higher_is_better=higher) == pytest.approx(expected)


@pytest.mark.parametrize("bad", [0.0, -1.0, math.nan, math.inf], ids=["zero", "neg", "nan", "inf"])
def test_ratio_rejects_non_positive(bad: float) -> None:
    with pytest.raises(ValueError, match="positive finite"):
        ratio(1.0, bad)
    with pytest.raises(ValueError, match="positive finite"):
        ratio(bad, 1.0)


def test_comparison_met_against_target() -> None:
    row = Comparison("k", "what", 900.0, 300.0, "tokens/s", "base", target=3.0)
    assert row.ratio == pytest.approx(3.0) and row.met is True
    assert Comparison("k", "w", 899.0, 300.0, "tokens/s", "b", target=3.0).met is False
    assert Comparison("k", "w", 1.0, 2.0, "x", "b").met is None
    d = row.to_dict()
    assert d["ratio"] == pytest.approx(3.0) and d["baseline_name"] == "base"


def test_parse_only_keeps_run_order_and_rejects_unknown_names() -> None:
    assert parse_only(None) == STAGES
    assert parse_only("render, ingest") == ("ingest", "render")
    with pytest.raises(CadenceError, match="unknown stage 'gpu'"):
        parse_only("ingest,gpu")
    with pytest.raises(CadenceError, match="unknown stage"):
        parse_only(",")


def test_missing_or_empty_data_folder_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CadenceError, match="no such folder"):
        BenchSettings.for_mode(True, data=tmp_path / "missing").check()
    with pytest.raises(CadenceError, match=r"no \.mid files"):
        BenchSettings.for_mode(True, data=tmp_path, only=("ingest",)).check()
    with pytest.raises(CadenceError, match="not a dataset folder"):
        BenchSettings.for_mode(True, only=("train",), train_data=tmp_path).check()
    # generate and render need no data folder
    BenchSettings.for_mode(True, data=tmp_path / "missing", only=("generate",)).check()


def test_update_docs_replaces_only_the_marked_section(tmp_path: Path) -> None:
    doc = tmp_path / "benchmarks.md"
    doc.write_text("# Benchmarks\n\nHand-written text.\n")
    update_docs(doc, "first")
    text = doc.read_text()
    assert text.startswith("# Benchmarks\n\nHand-written text.\n")
    assert f"{BEGIN}\nfirst\n{END}" in text
    doc.write_text(text + "\nMore text after.\n")
    update_docs(doc, "second")
    text = doc.read_text()
    assert "first" not in text and f"{BEGIN}\nsecond\n{END}" in text
    assert text.count(BEGIN) == 1 and text.endswith("More text after.\n")
    assert "Hand-written text." in text


def test_table_marks_targets() -> None:
    rows = [
        Comparison("a", "gen", 900.0, 300.0, "tokens/s", "long words", "GPT-2", target=3.0),
        Comparison("b", "render", 50.0, 100.0, "× real time", "plain"),
    ]
    table = comparisons_table([r.to_dict() for r in rows])
    assert "| gen | 900 tokens/s | 300 (GPT-2) | **3.00×** | ≥ 3.00× | yes |" in table
    assert "| render | 50.0 × real time | 100 (plain) | **0.50×** | — | — |" in table
    assert "- GPT-2: long words." in table


def test_gpt2_twin_has_the_models_dimensions() -> None:
    tok = CadenceTokenizer()
    torch.manual_seed(0)
    tf = build_model(
        TransformerConfig(d_model=32, n_layers=2, n_heads=4, d_ff=48, max_seq_len=16), tok
    )
    assert gpt2_dims(tf) == {
        "n_layer": 2, "n_embd": 32, "n_head": 4, "n_inner": 48,
        "vocab_size": tok.vocab_size, "n_positions": 16,
    }  # fmt: skip
    twin = gpt2_twin(tf)
    c = twin.config
    assert (c.n_layer, c.n_embd, c.n_head, c.vocab_size, c.n_positions) == (
        2, 32, 4, tok.vocab_size, 16,
    )  # fmt: skip
    lstm = build_model(LSTMConfig(embed_dim=16, hidden_size=128, num_layers=3), tok)
    dims = gpt2_dims(lstm)
    assert (dims["n_layer"], dims["n_embd"], dims["n_head"]) == (3, 128, 2)


def test_ratio_text_never_rounds_a_missed_target_up() -> None:
    missed = Comparison("k", "w", 2.9991, 1.0, "x", "b", target=3.0).to_dict()
    assert ratio_text(missed) == "2.9991"
    met = Comparison("k", "w", 3.004, 1.0, "x", "b", target=3.0).to_dict()
    assert ratio_text(met) == "3.00"
