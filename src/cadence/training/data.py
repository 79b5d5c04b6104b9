"""Training batches: pieces packed into parallel streams, read in consecutive windows.

Each epoch shuffles the pieces (seeded by ``(seed, epoch)``), concatenates them (each piece
already runs BOS ... EOS, so pieces stay separated) and cuts the result into ``batch_size``
equal streams. Batch ``k`` is window ``k`` of every stream, so window ``k + 1`` continues
window ``k`` row by row: a recurrent model carries its state across them (truncated BPTT).
Under DDP, rank ``r`` of ``W`` reads rows ``r·B/W .. (r+1)·B/W`` of the same global batch.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from cadence.errors import CadenceError


class PackedWindows:
    """Consecutive ``seq_len`` windows over ``batch_size`` packed streams of the pieces."""

    def __init__(
        self,
        pieces: Sequence[np.ndarray],
        *,
        batch_size: int,
        seq_len: int,
        seed: int,
        bos_id: int,
        eos_id: int,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        if batch_size % world_size:
            raise CadenceError(
                f"batch_size {batch_size} does not split over {world_size} processes; "
                "use a multiple of the number of processes"
            )
        self.pieces = [self._delimit(np.asarray(p, dtype=np.int64), bos_id, eos_id) for p in pieces]
        self.total = sum(len(p) for p in self.pieces)
        self.batch_size, self.seq_len, self.seed = batch_size, seq_len, seed
        self.stream_len = self.total // batch_size
        self.steps = (self.stream_len - 1) // seq_len  # full windows per epoch
        if self.steps < 1:
            raise CadenceError(
                f"the training split has {self.total} tokens, fewer than one batch needs "
                f"({batch_size} × {seq_len + 1}); lower batch_size or seq_len, or add data"
            )
        local = batch_size // world_size
        self.rows = slice(rank * local, (rank + 1) * local)
        self._epoch = -1
        self._streams = np.empty((0, 0), dtype=np.int64)

    @staticmethod
    def _delimit(ids: np.ndarray, bos_id: int, eos_id: int) -> np.ndarray:
        """The piece framed by BOS ... EOS (added only where missing)."""
        if len(ids) == 0 or ids[0] != bos_id:
            ids = np.concatenate(([bos_id], ids))
        if ids[-1] != eos_id:
            ids = np.concatenate((ids, [eos_id]))
        return ids

    def streams(self, epoch: int) -> np.ndarray:
        """This rank's streams [B_local, stream_len] for ``epoch`` (same on every call)."""
        if epoch != self._epoch:
            order = np.random.default_rng([self.seed, epoch]).permutation(len(self.pieces))
            flat = np.concatenate([self.pieces[i] for i in order])
            grid = flat[: self.batch_size * self.stream_len].reshape(self.batch_size, -1)
            self._streams = np.ascontiguousarray(grid[self.rows])
            self._epoch = epoch
        return self._streams

    def batch(self, epoch: int, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Inputs and next-token targets, each LongTensor [B_local, seq_len], of window k."""
        s = self.streams(epoch)
        start = k * self.seq_len
        x = torch.from_numpy(s[:, start : start + self.seq_len].copy())
        y = torch.from_numpy(s[:, start + 1 : start + self.seq_len + 1].copy())
        return x, y

    @property
    def tokens_per_step(self) -> int:
        """Predicted tokens per optimiser step, over all processes."""
        return self.batch_size * self.seq_len
