"""The trainer on a tiny real dataset: learning, checkpoints, resume, Ctrl-C, bad inputs."""

from __future__ import annotations

import csv
import math
import os
import signal
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from cadence.errors import CadenceError
from cadence.models import LSTMConfig, Model, build_model
from cadence.tokens.tokenizer import CadenceTokenizer, default_config
from cadence.training import Progress, TrainConfig, train
from cadence.training.trainer import Trainer

Losses = dict[int, float]


def recorder(losses: Losses, stop_at: int | None = None) -> Callable[[Progress], None]:
    """A progress hook that keeps each step's loss and raises Ctrl-C after ``stop_at``."""

    def hook(p: Progress) -> None:
        if p.event == "step":
            losses[p.step] = p.train_loss
            if p.step == stop_at:
                raise KeyboardInterrupt

    return hook


@pytest.mark.parametrize("family", ["lstm", "transformer"])
def test_loss_decreases_and_writes_outputs(
    family: str, tiny_data: Path, tiny_config: Callable, tmp_path: Path
) -> None:
    events: list[Progress] = []
    config = tiny_config(family, epochs=3, steps_per_epoch=15)
    result = train(config, tiny_data, tmp_path / "run", on_progress=events.append)
    losses = [p.train_loss for p in events if p.event == "step"]
    valid = [p.valid_nll for p in events if p.event == "valid"]
    assert len(losses) == 45 == result.steps
    assert sum(losses[-5:]) / 5 < sum(losses[:5]) / 5 - 1.0
    assert valid[-1] < valid[0] < math.log(434)
    assert result.stop_reason == "completed" and result.epochs == 3
    assert result.best_valid_nll == min(valid)
    assert result.test_nll is not None and 0 < result.test_nll < math.log(434)
    best = Model.from_pretrained(result.best_dir)
    assert best.family == family
    assert best.extra["test_nll"] == pytest.approx(result.test_nll)
    assert best.extra["valid_nll"] == pytest.approx(result.best_valid_nll)
    assert TrainConfig.from_dict(best.extra["train_config"]).model == best.config
    assert (result.last_dir / "trainer_state.pt").exists()
    assert (result.out_dir / "result.json").exists()
    with result.metrics_path.open() as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == [
        "epoch", "step", "train_loss", "valid_nll", "lr", "tokens_per_s", "elapsed_s",
    ]  # fmt: skip
    assert len([r for r in rows if r["valid_nll"]]) == 3
    assert float(rows[-1]["tokens_per_s"]) > 0


@pytest.mark.parametrize("family", ["lstm", "transformer"])
def test_resume_equals_uninterrupted(
    family: str, tiny_data: Path, tiny_config: Callable, tmp_path: Path
) -> None:
    """12 steps straight vs 5 + Ctrl-C + resume: the same loss at every step.

    Dropout is on, the LSTM carries its state across windows, and an epoch boundary (with a
    validation) falls after the interruption, so RNG, carry and schedule state all matter.
    """
    config = tiny_config(family, epochs=2, steps_per_epoch=6, eval_every=4)
    straight: Losses = {}
    full = train(config, tiny_data, tmp_path / "straight", on_progress=recorder(straight))
    first: Losses = {}
    with pytest.raises(KeyboardInterrupt):
        train(config, tiny_data, tmp_path / "split", on_progress=recorder(first, stop_at=5))
    assert sorted(first) == [1, 2, 3, 4, 5]
    second: Losses = {}
    resumed = train(
        config, tiny_data, tmp_path / "split", resume=True, on_progress=recorder(second)
    )
    assert sorted(second) == list(range(6, 13))
    both = {**first, **second}
    for step, loss in straight.items():
        assert both[step] == pytest.approx(loss, abs=1e-6), f"step {step}"
    assert resumed.best_valid_nll == pytest.approx(full.best_valid_nll, abs=1e-6)
    assert resumed.test_nll == pytest.approx(full.test_nll, abs=1e-6)
    with (tmp_path / "split" / "metrics.csv").open() as fh:
        assert [int(r["step"]) for r in csv.DictReader(fh) if not r["valid_nll"]] == list(
            range(1, 13)
        )


def test_sigint_saves_last_and_resumes(
    tiny_data: Path, tiny_config: Callable, tmp_path: Path
) -> None:
    """A real SIGINT: the step in progress finishes, last/ is saved, KeyboardInterrupt rises."""
    config = tiny_config(epochs=1, steps_per_epoch=6)
    before = signal.getsignal(signal.SIGINT)  # SIG_IGN when the suite runs as a background job

    def hook(p: Progress) -> None:
        if p.event == "step" and p.step == 2:
            os.kill(os.getpid(), signal.SIGINT)

    with pytest.raises(KeyboardInterrupt):
        train(config, tiny_data, tmp_path / "run", on_progress=hook)
    state = torch.load(tmp_path / "run" / "last" / "trainer_state.pt", weights_only=True)
    assert state["position"]["step"] == 3  # the flag is read once the next step is done
    assert signal.getsignal(signal.SIGINT) is before  # the trainer restores what it found
    result = train(config, tiny_data, tmp_path / "run", resume=True)
    assert result.steps == 6 and result.stop_reason == "completed"


def test_max_steps_and_time_budget(tiny_data: Path, tiny_config: Callable, tmp_path: Path) -> None:
    result = train(tiny_config(max_steps=5), tiny_data, tmp_path / "a")
    assert (result.steps, result.stop_reason) == (5, "max_steps")
    assert result.best_valid_nll is not None  # a stop mid-epoch still validates
    result = train(tiny_config(max_minutes=1e-6), tiny_data, tmp_path / "b")
    assert (result.steps, result.stop_reason) == (1, "time_budget")


def test_eval_every(tiny_data: Path, tiny_config: Callable, tmp_path: Path) -> None:
    events: list[Progress] = []
    config = tiny_config(epochs=2, steps_per_epoch=7, eval_every=3)
    train(config, tiny_data, tmp_path / "run", on_progress=events.append)
    valid = [(p.epoch, p.step) for p in events if p.event == "valid"]
    assert valid == [(1, 3), (1, 6), (1, 7), (2, 9), (2, 12), (2, 14)]


def test_early_stopping(
    tiny_data: Path, tiny_config: Callable, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scores = iter([3.0, 2.5, 2.6, 2.55, 2.4, 2.3])
    monkeypatch.setattr(Trainer, "_nll", lambda self, model, seqs, **kw: next(scores))
    config = tiny_config(epochs=6, steps_per_epoch=2, patience=2)
    result = train(config, tiny_data, tmp_path / "run")
    assert result.stop_reason == "early_stopping"
    assert (result.epochs, result.best_valid_nll) == (4, 2.5)
    best = Model.from_pretrained(result.best_dir)
    assert (best.extra["epochs_completed"], best.extra["step"]) == (2, 4)


def test_data_errors(tiny_data: Path, tiny_config: Callable, tmp_path: Path) -> None:
    with pytest.raises(CadenceError, match="does not exist"):
        train(tiny_config(), tmp_path / "nowhere", tmp_path / "out")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(CadenceError, match="not a Cadence dataset"):
        train(tiny_config(), empty, tmp_path / "out")
    with pytest.raises(CadenceError, match="fewer than one batch"):
        train(tiny_config(batch_size=4096, seq_len=512), tiny_data, tmp_path / "out")


def test_resume_errors(tiny_data: Path, tiny_config: Callable, tmp_path: Path) -> None:
    with pytest.raises(CadenceError, match="nothing to resume"):
        train(tiny_config(), tiny_data, tmp_path / "run", resume=True)
    train(tiny_config(max_steps=2), tiny_data, tmp_path / "run")
    with pytest.raises(CadenceError, match="already holds a training run"):
        train(tiny_config(max_steps=2), tiny_data, tmp_path / "run")
    with pytest.raises(
        CadenceError, match=r"config lr = 0\.5 but the run being resumed used 0\.01"
    ):
        train(tiny_config(max_steps=4, lr=0.5), tiny_data, tmp_path / "run", resume=True)
    result = train(tiny_config(max_steps=4), tiny_data, tmp_path / "run", resume=True)
    assert result.steps == 4  # max_steps may grow on resume


def test_fine_tune_checks_tokenizer(tiny_data: Path, tiny_config: Callable, tmp_path: Path) -> None:
    other_config = default_config()
    other_config.num_velocities = 8
    other = CadenceTokenizer(other_config)
    foreign = build_model(LSTMConfig(embed_dim=8, hidden_size=8, num_layers=1), other)
    foreign.save_pretrained(tmp_path / "foreign")
    with pytest.raises(CadenceError, match="tokenized differently"):
        train(tiny_config(), tiny_data, tmp_path / "out", init_from=tmp_path / "foreign")
    base = train(tiny_config(max_steps=3), tiny_data, tmp_path / "base")
    tuned = train(tiny_config(max_steps=3), tiny_data, tmp_path / "tuned", init_from=base.best_dir)
    assert tuned.best_valid_nll < base.best_valid_nll
