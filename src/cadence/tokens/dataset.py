"""The tokenized dataset on disk, and its reader.

Layout of a dataset folder::

    tokenizer.json      the CadenceTokenizer (MidiTok parameters + control tokens)
    manifest.jsonl      one JSON object per stored piece: id, source, collection, split,
                        shard, offset, length, original key, transposition, roles,
                        original programs, features
    tokens-NNNNN.npy    uint16 token ids of many pieces, concatenated (one file per flush)
    rejected.jsonl      {source, reason, detail} for every file that could not be used
    duplicates.jsonl    {source, same_as} for inputs whose content was already stored

Splits are decided by the piece's content hash (90/5/5), so they never change between runs.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from cadence.errors import CadenceError
from cadence.tokens.controls import collection_token
from cadence.tokens.tokenizer import CadenceTokenizer

MANIFEST = "manifest.jsonl"
REJECTED = "rejected.jsonl"
DUPLICATES = "duplicates.jsonl"
TOKENIZER = "tokenizer.json"
SPLITS = ("train", "valid", "test")
ALL_STYLES = "all"  # control_counts' key for the counts over every style


def content_id(ids: np.ndarray) -> str:
    """A stable 16-hex-digit id of a token sequence (identical content, identical id)."""
    return hashlib.sha1(np.asarray(ids, dtype=np.uint16).tobytes()).hexdigest()[:16]


def split_of(piece_id: str) -> str:
    """train / valid / test, 90/5/5, from the content hash (stable from run to run)."""
    bucket = int(piece_id, 16) % 100
    return "train" if bucket < 90 else "valid" if bucket < 95 else "test"


def read_jsonl(path: Path) -> Iterator[dict]:
    if not path.exists():
        return
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


class TokenDataset:
    """Read-only view of a dataset folder written by ``cadence ingest``."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise CadenceError(
                f"dataset folder {self.root} does not exist; run `cadence ingest` first"
            )
        if not (self.root / TOKENIZER).exists() or not (self.root / MANIFEST).exists():
            raise CadenceError(
                f"{self.root} is not a Cadence dataset (no {TOKENIZER} or {MANIFEST}); "
                "create one with `cadence ingest SRC --out DIR`"
            )
        self.tokenizer = CadenceTokenizer.load(self.root / TOKENIZER)
        self.entries: list[dict] = list(read_jsonl(self.root / MANIFEST))
        if not self.entries:
            raise CadenceError(f"dataset {self.root} holds no pieces; ingest some music first")
        self._shards: dict[str, np.ndarray] = {}

    def __len__(self) -> int:
        return len(self.entries)

    def _shard(self, name: str) -> np.ndarray:
        if name not in self._shards:
            self._shards[name] = np.load(self.root / name, mmap_mode="r")
        return self._shards[name]

    def ids(self, entry: dict) -> np.ndarray:
        """Token ids (int64) of one manifest entry."""
        shard = self._shard(entry["shard"])
        return np.asarray(
            shard[entry["offset"] : entry["offset"] + entry["length"]], dtype=np.int64
        )

    def split(self, name: str) -> list[np.ndarray]:
        """All sequences of one split, in manifest order."""
        if name not in SPLITS:
            raise CadenceError(f"unknown split {name!r}; use one of {', '.join(SPLITS)}")
        return [self.ids(e) for e in self.entries if e["split"] == name]

    def split_entries(self, name: str) -> list[dict]:
        return [e for e in self.entries if e["split"] == name]

    def control_counts(self, split: str = "train") -> dict[str, dict[str, int]]:
        """How often each control token occurs in ``split``, per style (collection token),
        and over every style (key ``"all"``).

        Generation reads these from the checkpoint so that it never forces a control value
        that is rare in training (``tokens.controls.frequent``).
        """
        tok = self.tokenizer
        control = np.array(sorted(tok.control_ids))
        by_style: dict[str, np.ndarray] = {}
        for entry in self.split_entries(split):
            ids = self.ids(entry)
            style = collection_token(entry.get("collection", "other"))
            counts = np.bincount(ids, minlength=tok.vocab_size)
            by_style[style] = by_style.get(style, 0) + counts
            by_style[ALL_STYLES] = by_style.get(ALL_STYLES, 0) + counts
        return {
            style: {tok.id_to_token[int(i)]: int(c[i]) for i in control if c[i]}
            for style, c in sorted(by_style.items())
        }
