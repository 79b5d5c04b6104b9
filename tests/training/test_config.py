"""TrainConfig: TOML loading, validation errors that name the field, round trips."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from cadence.errors import CadenceError
from cadence.models import LSTMConfig, TransformerConfig
from cadence.training import TrainConfig, load_config
from cadence.training.config import CONFIGS_DIR
from cadence.training.state import lr_factor

SHIPPED = sorted(p.stem for p in CONFIGS_DIR.glob("*.toml"))


def test_shipped_configs_exist() -> None:
    assert {"tiny", "small", "default", "transformer"} <= set(SHIPPED)


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_config_loads_and_round_trips(name: str) -> None:
    config = load_config(CONFIGS_DIR / f"{name}.toml")
    assert load_config(name) == config  # a bare name finds the shipped file
    again = TrainConfig.from_dict(json.loads(json.dumps(config.to_dict())))
    assert again == config
    assert again.family == config.to_dict()["model"]["family"]


def test_defaults_and_family() -> None:
    config = TrainConfig()
    assert isinstance(config.model, LSTMConfig)
    transformer = TrainConfig.from_dict({"model": {"family": "transformer", "d_model": 64}})
    assert isinstance(transformer.model, TransformerConfig)
    assert transformer.model.d_model == 64
    assert transformer.family == "transformer"
    assert TrainConfig.from_dict({"lr": 1}).lr == 1.0  # an integer is a number


@pytest.mark.parametrize(
    ("data", "field", "value"),
    [
        pytest.param({"learning_rate": 0.1}, "learning_rate", "0.1", id="unknown-key"),
        pytest.param({"lr": -0.001}, "lr", "-0.001", id="negative-lr"),
        pytest.param({"lr": 0}, "lr", "0", id="zero-lr"),
        pytest.param({"lr": "fast"}, "lr", "'fast'", id="string-lr"),
        pytest.param({"batch_size": 0}, "batch_size", "0", id="zero-batch"),
        pytest.param({"batch_size": 8.5}, "batch_size", "8.5", id="float-batch"),
        pytest.param({"epochs": True}, "epochs", "True", id="bool-epochs"),
        pytest.param({"max_minutes": -1}, "max_minutes", "-1", id="negative-minutes"),
        pytest.param({"min_lr": 1.0}, "min_lr", "1.0", id="min-lr-above-lr"),
        pytest.param({"betas": [0.9]}, "betas", "[0.9]", id="one-beta"),
        pytest.param({"betas": [0.9, 1.5]}, "betas", "(0.9, 1.5)", id="beta-above-1"),
        pytest.param({"tbptt": "yes"}, "tbptt", "'yes'", id="string-bool"),
        pytest.param({"device": "tpu"}, "device", "'tpu'", id="unknown-device"),
        pytest.param({"grad_clip": float("nan")}, "grad_clip", "nan", id="nan-clip"),
        pytest.param({"model": {"family": "gru"}}, "model.family", "'gru'", id="unknown-family"),
        pytest.param({"model": {"hidden_size": -3}}, "model.hidden_size", "-3", id="bad-model"),
        pytest.param({"model": {"heads": 4}}, "model.heads", "4", id="unknown-model-key"),
        pytest.param({"model": 5}, "model", "5", id="model-not-table"),
    ],
)
def test_bad_config_names_field_and_value(data: dict, field: str, value: str) -> None:
    with pytest.raises(ValueError) as err:
        TrainConfig.from_dict(data)
    message = str(err.value)
    assert isinstance(err.value, CadenceError)
    assert f"config {field} = {value}" in message
    assert "\n" not in message


def test_toml_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("lr = = 3\n")
    with pytest.raises(CadenceError, match="not valid TOML"):
        load_config(bad)
    wrong = tmp_path / "wrong.toml"
    wrong.write_text("lr = -1\n")
    with pytest.raises(CadenceError, match=r"wrong\.toml: config lr = -1"):
        load_config(wrong)
    with pytest.raises(CadenceError, match="does not exist"):
        load_config(tmp_path / "missing.toml")


def test_lr_schedule() -> None:
    f = [lr_factor(s, warmup=4, total=14, min_ratio=0.1) for s in range(16)]
    assert f[:4] == [0.25, 0.5, 0.75, 1.0]
    assert f[4] == pytest.approx(1.0)
    assert all(a >= b for a, b in itertools.pairwise(f[4:]))  # decays monotonically
    assert f[14] == pytest.approx(0.1)
    assert f[15] == pytest.approx(0.1)  # stays at the floor


def test_module_entry_reports_user_errors(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from cadence.training.__main__ import main

    code = main(["--config", str(tmp_path / "none.toml"), "--data", "x", "--out", "y"])
    assert code == 2
    assert capsys.readouterr().err.startswith("error: config file")
