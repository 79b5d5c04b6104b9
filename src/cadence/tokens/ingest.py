"""``cadence ingest``: many sources → one tokenized dataset, in parallel, never stopped by a
bad file.

Each worker loads a piece (music/), checks it, assigns track roles, transposes it to C major
or A minor, computes features and tokenizes its melody with control tokens (chords from all
parts). The parent process
deduplicates by content, assigns the split and writes shards and the manifest.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import signal
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from cadence.music import features as feat
from cadence.music.formats import LOADING_ERRORS, UnreadableMusic
from cadence.music.io import load_score
from cadence.music.keys import key_name
from cadence.music.sources import SourceItem, expand_sources
from cadence.tokens import dataset as ds
from cadence.tokens.normalize import normalize
from cadence.tokens.tokenizer import CadenceTokenizer

MAX_BEATS = 20_000.0  # longer than ~2.5 h at 120 BPM: not a piece (engineering limit)
MAX_NOTES = 200_000
MIN_TEMPO, MAX_TEMPO = 20.0, 400.0  # quarter notes per minute; outside is a broken file
FLUSH_EVERY = 2_000

ProgressFn = Callable[[int, int], None]


@dataclass(frozen=True)
class IngestSummary:
    pieces: int  # newly stored
    rejected: int  # newly rejected
    duplicates: int
    skipped: int  # already ingested in an earlier run
    total_pieces: int  # stored in the dataset after this run


class _Timeout(Exception):
    """Raised by the alarm inside a worker when one file takes too long."""


def _on_alarm(signum: int, frame: Any) -> None:
    raise _Timeout


_TOKENIZER: CadenceTokenizer | None = None
_TIMEOUT = 30.0


def _init_worker(tokenizer_path: str, timeout: float) -> None:
    global _TOKENIZER, _TIMEOUT
    _TOKENIZER = CadenceTokenizer.load(tokenizer_path)
    _TIMEOUT = timeout
    signal.signal(signal.SIGALRM, _on_alarm)


def prepare(item: SourceItem, tokenizer: CadenceTokenizer) -> dict:
    """Load, check, normalise and tokenize one item. Raises UnreadableMusic for bad input."""
    score = load_score(item.path, abc_number=item.abc_number)
    n_notes = sum(len(t.notes) for t in score.tracks)
    if n_notes == 0:
        raise UnreadableMusic("no notes")
    if n_notes > MAX_NOTES or score.end() / max(score.ticks_per_quarter, 1) > MAX_BEATS:
        raise UnreadableMusic("absurd length", f"{n_notes} notes, {score.end()} ticks")
    for tempo in score.tempos:
        if not MIN_TEMPO <= tempo.qpm <= MAX_TEMPO:
            raise UnreadableMusic("absurd tempo", f"{tempo.qpm:.1f} quarter notes per minute")
    original_programs = [-1 if t.is_drum else int(t.program) for t in score.tracks]
    norm = normalize(score)
    score, roles, shift = norm.score, norm.roles, norm.shift
    piece = feat.piece_features(score)
    ids = tokenizer.encode_piece(score, item.collection, piece)
    if int(np.isin(ids, tokenizer.ids_of_type("Pitch")).sum()) == 0:
        raise UnreadableMusic("no notes", "no note inside the tokenizer's pitch range")
    return {
        "ids": ids.astype(np.uint16),
        "meta": {
            "source": item.source_id,
            "collection": item.collection,
            "key_original": key_name((piece.key_tonic - shift) % 12, piece.mode),
            "transpose": shift,
            "roles": roles,
            "programs_original": original_programs,
            "features": piece.to_dict(),
        },
    }


def _work(item: SourceItem) -> dict:
    assert _TOKENIZER is not None
    signal.setitimer(signal.ITIMER_REAL, _TIMEOUT)
    try:
        return {"ok": True, **prepare(item, _TOKENIZER)}
    except _Timeout:
        return _reject(item, "time limit exceeded", f"over {_TIMEOUT:g} s")
    except UnreadableMusic as err:
        return _reject(item, err.reason, err.detail)
    except LOADING_ERRORS as err:
        return _reject(item, "corrupt", f"{type(err).__name__}: {err}"[:300])
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def _reject(item: SourceItem, reason: str, detail: str) -> dict:
    return {"ok": False, "source": item.source_id, "reason": reason, "detail": detail}


class _Writer:
    """Appends pieces to shards and the manifest of a dataset folder."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.known_ids = {e["id"] for e in ds.read_jsonl(out / ds.MANIFEST)}
        self.total = len(self.known_ids)
        self.shard_no = len(list(out.glob("tokens-*.npy")))
        self.pending: list[tuple[np.ndarray, dict]] = []

    def add(self, ids: np.ndarray, meta: dict) -> str | None:
        """Queue a piece; returns the id of an identical stored piece instead, if any."""
        pid = ds.content_id(ids)
        if pid in self.known_ids:
            return pid
        self.known_ids.add(pid)
        self.pending.append((ids, {"id": pid, "split": ds.split_of(pid), **meta}))
        if len(self.pending) >= FLUSH_EVERY:
            self.flush()
        return None

    def flush(self) -> None:
        if not self.pending:
            return
        name = f"tokens-{self.shard_no:05d}.npy"
        offset, rows = 0, []
        for ids, meta in self.pending:
            rows.append({**meta, "shard": name, "offset": offset, "length": len(ids)})
            offset += len(ids)
        np.save(self.out / name, np.concatenate([ids for ids, _ in self.pending]))
        with (self.out / ds.MANIFEST).open("a", encoding="utf-8") as fh:
            fh.writelines(json.dumps(r) + "\n" for r in rows)
        self.total += len(rows)
        self.shard_no += 1
        self.pending = []


def _append_jsonl(path: Path, row: dict) -> None:
    with path.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(row) + "\n")


def _done_sources(out: Path) -> set[str]:
    done = set()
    for name in (ds.MANIFEST, ds.REJECTED, ds.DUPLICATES):
        done |= {r["source"] for r in ds.read_jsonl(out / name)}
    return done


def ingest(
    sources: list[str],
    out: str | Path,
    *,
    workers: int | None = None,
    timeout: float = 30.0,
    on_progress: ProgressFn | None = None,
) -> IngestSummary:
    """Ingest ``sources`` into the dataset folder ``out`` (created or extended)."""
    items = expand_sources(sources)  # raises CadenceError before anything is written
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    tok_path = out / ds.TOKENIZER
    if tok_path.exists():
        CadenceTokenizer.load(tok_path)  # fails early on a dataset from another version
    else:
        CadenceTokenizer().save(tok_path)
    done = _done_sources(out)
    todo = [it for it in items if it.source_id not in done]
    writer = _Writer(out)
    stored = rejected = duplicates = 0
    n_workers = max(1, workers or os.cpu_count() or 1)
    ctx = mp.get_context("fork")
    with ctx.Pool(
        n_workers, initializer=_init_worker, initargs=(str(tok_path), timeout), maxtasksperchild=500
    ) as pool:
        for i, result in enumerate(pool.imap_unordered(_work, todo, chunksize=8), start=1):
            if result["ok"]:
                same = writer.add(result["ids"], result["meta"])
                if same is None:
                    stored += 1
                else:
                    duplicates += 1
                    _append_jsonl(
                        out / ds.DUPLICATES, {"source": result["meta"]["source"], "same_as": same}
                    )
            else:
                rejected += 1
                _append_jsonl(
                    out / ds.REJECTED, {k: result[k] for k in ("source", "reason", "detail")}
                )
            if on_progress:
                on_progress(i, len(todo))
    writer.flush()
    return IngestSummary(stored, rejected, duplicates, len(items) - len(todo), writer.total)
