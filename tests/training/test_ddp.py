"""torchrun DDP on 2 CPU processes (gloo) matches one process with the same global batch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from cadence.training import train


def to_toml(config: dict) -> str:
    """The flat settings and the [model] table of a tiny config dict, as TOML."""

    def value(v: object) -> str:
        return json.dumps(v) if not isinstance(v, bool) else str(v).lower()

    lines = [f"{k} = {value(v)}" for k, v in config.items() if k != "model"]
    lines += ["[model]", *(f"{k} = {value(v)}" for k, v in config["model"].items())]
    return "\n".join(lines) + "\n"


def test_torchrun_two_processes_match_one(
    tiny_data: Path, tiny_config: Callable, tmp_path: Path
) -> None:
    # No dropout: each rank draws its own masks, which one process cannot reproduce.
    config = tiny_config("lstm", dropout=0.0, epochs=2, steps_per_epoch=5, batch_size=8)
    config_path = tmp_path / "ddp.toml"
    config_path.write_text(to_toml(config))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
        "-m", "cadence.training", "--config", str(config_path), "--data", str(tiny_data),
        "--out", str(tmp_path / "ddp"),
    ]  # fmt: skip
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    ddp = json.loads((tmp_path / "ddp" / "result.json").read_text())
    single = train(config, tiny_data, tmp_path / "single")
    assert ddp["steps"] == single.steps == 10
    assert ddp["best_valid_nll"] == pytest.approx(single.best_valid_nll, rel=1e-6)
    assert ddp["test_nll"] == pytest.approx(single.test_nll, rel=1e-6)
    a = load_file(str(tmp_path / "ddp" / "last" / "model.safetensors"))
    b = load_file(str(single.last_dir / "model.safetensors"))
    for name in b:
        torch.testing.assert_close(a[name], b[name], atol=1e-5, rtol=1e-4)
    state = torch.load(tmp_path / "ddp" / "last" / "trainer_state.pt", weights_only=True)
    assert state["world_size"] == 2 and len(state["ranks"]) == 2
