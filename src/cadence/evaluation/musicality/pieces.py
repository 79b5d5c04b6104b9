"""The two sides of the benchmark, read from disk: generated pieces and reference pieces.

Generated: every MIDI file under a folder. A file beside a ``prescription.json`` (a session
folder written by ``cadence session``) takes its goal from it, and its prescribed parts from
the keys of ``programs`` other than "percussion".

Reference: the held-out test split of a dataset folder written by ``cadence ingest``,
filtered to the collections (styles) asked for. Two ways to get each piece's notes:

- ``"tokens"`` (the default): decode its token ids with the dataset's own tokenizer. This is
  exactly the music the model learns from; with the melody-only tokens (token format 2) it is
  the melody alone, so the harmony features are undefined on this side and the two-sample
  test leaves them out (``twosample.py``).
- ``"sources"``: re-read the source file named in the manifest and normalise it as ingest
  does (roles, then C major / A minor; ``tokens.normalize``): the real arrangement, so the
  harmony and texture of real music are there to compare with. Slower (music21 parses kern
  and MusicXML in seconds), and it needs the source files where they were at ingest.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import symusic

from cadence.errors import CadenceError
from cadence.evaluation.musicality.parts import part_names
from cadence.music.formats import LOADING_ERRORS, MIDI_SUFFIXES
from cadence.music.io import load_score
from cadence.tokens.dataset import SPLITS, TokenDataset
from cadence.tokens.normalize import normalize

PRESCRIPTION = "prescription.json"
REFERENCE_FROM = ("tokens", "sources")

ProgressFn = Callable[[int, int], None]


@dataclass(frozen=True)
class Piece:
    """One piece of music with what the benchmark needs to know about it."""

    name: str  # a path (generated) or a manifest id (reference)
    score: symusic.Score
    parts: tuple[str, ...]  # prescribed parts (sessions), else the score's own parts
    goal: str | None = None  # sessions only
    collection: str | None = None  # reference only


def _prescription(folder: Path) -> tuple[str | None, tuple[str, ...] | None]:
    path = folder / PRESCRIPTION
    if not path.exists():
        return None, None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise CadenceError(f"{path} is not readable JSON ({err})") from None
    if not isinstance(data, dict) or not isinstance(data.get("goal"), str):
        raise CadenceError(f"{path} names no goal; is it a prescription from `cadence session`?")
    programs = data.get("programs")
    parts = tuple(p for p in programs if p != "percussion") if isinstance(programs, dict) else None
    return data["goal"], parts


def load_generated(folder: str | Path) -> list[Piece]:
    """Every MIDI file under ``folder`` (recursively, in path order) as a :class:`Piece`.

    Raises CadenceError when the folder does not exist, holds no MIDI file, or holds one that
    cannot be read, or a session's ``prescription.json`` that is not a prescription.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise CadenceError(f"generated folder {folder} does not exist")
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in MIDI_SUFFIXES)
    if not files:
        raise CadenceError(
            f"{folder} holds no MIDI files; point at generated pieces or session folders"
        )
    pieces = []
    for path in files:
        try:
            score = symusic.Score(str(path))
        except LOADING_ERRORS as err:
            raise CadenceError(f"{path} is not a readable MIDI file ({err})") from None
        goal, parts = _prescription(path.parent)
        pieces.append(Piece(str(path), score, parts or tuple(part_names(score)), goal))
    return pieces


def open_dataset(dataset: str | Path) -> TokenDataset:
    """The dataset at ``dataset``; CadenceError (one line) if it is missing or unreadable,
    including one written for another token format."""
    try:
        return TokenDataset(dataset)
    except CadenceError:
        raise
    except ValueError as err:  # a tokenizer file of another format or version
        raise CadenceError(f"reference dataset {dataset}: {err}") from None


def _entries(data: TokenDataset, split: str | Sequence[str]) -> tuple[str, list[dict]]:
    """The label ("test", "test+valid") and manifest rows of one split or several."""
    splits = (split,) if isinstance(split, str) else tuple(split)
    unknown = [s for s in splits if s not in SPLITS]
    if unknown or not splits:
        raise CadenceError(f"unknown split {unknown[0] if unknown else ''!r}; use {SPLITS}")
    return "+".join(splits), [e for e in data.entries if e["split"] in splits]


def split_collections(dataset: str | Path, split: str | Sequence[str] = "test") -> dict[str, int]:
    """Number of pieces per collection in one split (or several) of the dataset."""
    _, entries = _entries(open_dataset(dataset), split)
    return dict(sorted(Counter(e["collection"] for e in entries).items()))


def _from_source(entry: dict) -> symusic.Score:
    source = str(entry["source"])
    path, _, number = source.partition("#X=")
    try:
        score = load_score(path, abc_number=int(number) if number else None)
    except (*LOADING_ERRORS, OSError) as err:
        raise CadenceError(
            f"reference source {source} cannot be read ({type(err).__name__}: {err}); "
            "use the dataset's tokens instead (reference from 'tokens')"
        ) from None
    return normalize(score).score


def load_reference(
    dataset: str | Path,
    styles: Sequence[str] | None = None,
    *,
    split: str | Sequence[str] = "test",
    source: str = "tokens",
    limit: int | None = None,
    on_piece: ProgressFn | None = None,
) -> list[Piece]:
    """The pieces of ``split`` (one name, or several such as ("test", "valid"): the valid
    split is held out of training too) whose collection is one of ``styles`` (all when None), in
    manifest order, at most ``limit``; their notes from ``source`` (see the module doc).

    Raises CadenceError for a folder that is not a dataset, an unknown ``source``, or when no
    piece of the split has one of the styles (the message lists the styles it has).
    """
    if source not in REFERENCE_FROM:
        raise CadenceError(f"reference from {source!r}: use one of {', '.join(REFERENCE_FROM)}")
    data = open_dataset(dataset)
    label, entries = _entries(data, split)
    wanted = set(styles) if styles is not None else None
    chosen = [e for e in entries if wanted is None or e["collection"] in wanted]
    if limit is not None:
        chosen = chosen[:limit]
    if not chosen:
        have = Counter(e["collection"] for e in entries)
        held = ", ".join(f"{c} ({n})" for c, n in sorted(have.items())) or "nothing"
        asked = ", ".join(sorted(wanted)) if wanted is not None else "any style"
        asked = asked or "no style (an empty list of styles)"
        raise CadenceError(
            f"dataset {dataset} has no {label} pieces of {asked}; its {label} split holds "
            f"{held}. Ingest music of that style, or choose a style it has"
        )
    pieces = []
    for i, entry in enumerate(chosen, start=1):
        if source == "tokens":
            score = data.tokenizer.decode(data.ids(entry))
        else:
            score = _from_source(entry)
        name = str(entry.get("id", entry.get("source", i)))
        pieces.append(Piece(name, score, tuple(part_names(score)), None, entry["collection"]))
        if on_piece:
            on_piece(i, len(chosen))
    return pieces
