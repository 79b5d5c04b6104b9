"""The four classic piano-roll benchmarks (Boulanger-Lewandowski, Bengio and Vincent, ICML 2012).

Each ``.mat`` file holds ``traindata``, ``validdata`` and ``testdata``: 1×N object arrays whose
elements are ``uint8`` 0/1 arrays of shape (T, 88), time steps × piano keys (column ``i`` is MIDI
pitch ``21 + i``). See ``shared/data/README.md``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

import numpy as np
import scipy.io
import torch

from cadence.errors import CadenceError

KEYS = 88
DATASETS: dict[str, str] = {
    "jsb": "JSB_Chorales.mat",
    "nottingham": "Nottingham.mat",
    "musedata": "MuseData.mat",
    "piano": "Piano_midi.mat",
}
SPLITS: dict[str, str] = {"train": "traindata", "valid": "validdata", "test": "testdata"}
Split = Literal["train", "valid", "test"]

#: ``<repo>/../shared/data/polyphonic``; the ``CADENCE_POLYPHONIC`` variable overrides it.
DEFAULT_ROOT = Path(__file__).resolve().parents[5] / "shared" / "data" / "polyphonic"


def default_root() -> Path:
    """The folder of ``.mat`` files: ``$CADENCE_POLYPHONIC`` if set, else :data:`DEFAULT_ROOT`."""
    env = os.environ.get("CADENCE_POLYPHONIC")
    return Path(env) if env else DEFAULT_ROOT


def dataset_path(dataset: str, root: str | Path | None = None) -> Path:
    """The ``.mat`` file of ``dataset``; a CadenceError for an unknown name or a missing file."""
    if dataset not in DATASETS:
        raise CadenceError(
            f"unknown polyphonic dataset {dataset!r}; choose one of {', '.join(DATASETS)}"
        )
    folder = Path(root) if root is not None else default_root()
    if not folder.is_dir():
        raise CadenceError(
            f"polyphonic data folder {str(folder)!r} not found; pass --root with the folder "
            "holding JSB_Chorales.mat, Nottingham.mat, MuseData.mat and Piano_midi.mat"
        )
    path = folder / DATASETS[dataset]
    if not path.is_file():
        raise CadenceError(f"{DATASETS[dataset]} not found in {str(folder)!r}; check --root")
    return path


def load_dataset(dataset: str, root: str | Path | None = None) -> dict[str, list[np.ndarray]]:
    """All three splits of ``dataset``: ``{"train"|"valid"|"test": [uint8 (T, 88), ...]}``."""
    path = dataset_path(dataset, root)
    try:
        mat = scipy.io.loadmat(str(path))
    except (OSError, ValueError, TypeError) as exc:
        raise CadenceError(f"cannot read {str(path)!r} as a MATLAB file: {exc}") from exc
    out: dict[str, list[np.ndarray]] = {}
    for split, key in SPLITS.items():
        if key not in mat:
            raise CadenceError(f"{str(path)!r} has no {key!r} array; is it a polyphonic benchmark?")
        seqs = [np.asarray(s, dtype=np.uint8) for s in np.ravel(mat[key])]
        for s in seqs:
            if s.ndim != 2 or s.shape[1] != KEYS:
                raise CadenceError(
                    f"{str(path)!r}: {key} holds an array of shape {s.shape}, expected (T, {KEYS})"
                )
        out[split] = seqs
    return out


def load_split(dataset: str, split: str, root: str | Path | None = None) -> list[np.ndarray]:
    """One split (``train``, ``valid`` or ``test``) as a list of ``uint8`` (T, 88) rolls."""
    if split not in SPLITS:
        raise CadenceError(f"unknown split {split!r}; choose one of {', '.join(SPLITS)}")
    return load_dataset(dataset, root)[split]


def batches(
    seqs: list[np.ndarray],
    batch_size: int,
    *,
    shuffle: bool = False,
    generator: torch.Generator | None = None,
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Padded batches ``(rolls, mask)``: rolls (B, Tmax, 88) float, mask (B, Tmax-1) of targets.

    ``mask[b, t]`` is true where frame ``t + 1`` of sequence ``b`` is a real predicted frame.
    Without ``shuffle`` the sequences go longest first, to keep padding small.
    Sequences shorter than two frames have nothing to predict and are skipped.
    """
    order = [i for i in range(len(seqs)) if len(seqs[i]) >= 2]
    if shuffle:
        perm = torch.randperm(len(order), generator=generator).tolist()
        order = [order[i] for i in perm]
    else:
        order.sort(key=lambda i: -len(seqs[i]))
    out = []
    for start in range(0, len(order), batch_size):
        chunk = [seqs[i] for i in order[start : start + batch_size]]
        tmax = max(len(s) for s in chunk)
        rolls = torch.zeros(len(chunk), tmax, KEYS)
        mask = torch.zeros(len(chunk), tmax - 1, dtype=torch.bool)
        for b, s in enumerate(chunk):
            rolls[b, : len(s)] = torch.from_numpy(s.astype(np.float32))
            mask[b, : len(s) - 1] = True
        out.append((rolls, mask))
    return out


def transpose(rolls: torch.Tensor, shift: int) -> torch.Tensor:
    """``rolls`` (..., 88) moved up ``shift`` keys (down if negative); notes off the edge drop."""
    if shift == 0:
        return rolls
    out = torch.zeros_like(rolls)
    if shift > 0:
        out[..., shift:] = rolls[..., :-shift]
    else:
        out[..., :shift] = rolls[..., -shift:]
    return out
