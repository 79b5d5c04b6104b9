"""A small real dataset (120 Nottingham tunes, ingested once per session) and tiny configs."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import torch

NOTTINGHAM_MIDI = Path(__file__).resolve().parents[3] / "shared" / "data" / "nottingham" / "midi"

TINY_FILES = 120


@pytest.fixture(autouse=True)
def one_torch_thread() -> Iterator[None]:
    """Tiny models gain nothing from threads, and on a shared 2-core machine OpenMP threads
    that outnumber free cores spin and make every test many times slower."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A dataset folder: the first 120 Nottingham MIDI files, ingested with one worker."""
    from cadence.tokens.ingest import ingest

    if not NOTTINGHAM_MIDI.is_dir():
        pytest.skip(f"{NOTTINGHAM_MIDI} is not available")
    src = tmp_path_factory.mktemp("nottingham-subset")
    for path in sorted(NOTTINGHAM_MIDI.glob("*.mid"))[:TINY_FILES]:
        shutil.copy(path, src / path.name)
    out = tmp_path_factory.mktemp("tiny-data")
    ingest([str(src)], out, workers=1)
    return out


def make_tiny_config(family: str = "lstm", **changes: object) -> dict:
    """A config dict that trains in about a second."""
    model: dict = {
        "lstm": {"family": "lstm", "embed_dim": 32, "hidden_size": 48, "num_layers": 2},
        "transformer": {
            "family": "transformer", "d_model": 32, "n_layers": 2, "n_heads": 2,
            "d_ff": 64, "max_seq_len": 32,
        },
    }[family]  # fmt: skip
    model["dropout"] = changes.pop("dropout", 0.1)
    config = {
        "seed": 0,
        "seq_len": 32,
        "batch_size": 8,
        "epochs": 2,
        "steps_per_epoch": 8,
        "lr": 1e-2,
        "min_lr": 1e-3,
        "warmup_steps": 2,
        "log_every": 1,
        "eval_max_tokens": 3000,
        "model": model,
    }
    config.update(changes)
    return config


@pytest.fixture
def tiny_config() -> Callable[..., dict]:
    """The factory :func:`make_tiny_config`: ``tiny_config("transformer", lr=1e-3)``."""
    return make_tiny_config
