"""Expand user sources (files, folders, ``music21:<collection>``) into pieces to read.

An ABC file holding several tunes expands into one item per tune (its ``X:`` number), so a
single slow tune cannot hold up or time out a whole collection.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from music21 import corpus

from cadence.errors import CadenceError
from cadence.music.formats import ABC_SUFFIXES
from cadence.music.io import abc_reference_numbers

MUSIC21_PREFIX = "music21:"
# music21 corpus files that are analyses, not scores.
_SKIP_CORPUS_SUFFIXES = frozenset({".rntxt", ".txt", ".py", ".json"})
# Files of a music21 collection that form a style of their own: the Essen collection's
# children's songs and lullabies (213 tunes, 47 of them titled "Schlaf ..."/"Eia ...").
SUBCOLLECTIONS = {("essenFolksong", "kinder0"): "essenKinder"}


@dataclass(frozen=True)
class SourceItem:
    """One piece to read: a file, optionally one tune of a multi-tune ABC file."""

    path: str
    collection: str
    abc_number: int | None = None

    @property
    def source_id(self) -> str:
        return self.path if self.abc_number is None else f"{self.path}#X={self.abc_number}"


def music21_collections() -> dict[str, list[Path]]:
    """music21's bundled corpus, grouped by top-level folder (the collection name)."""
    groups: dict[str, list[Path]] = {}
    for p in corpus.getPaths():
        rel = str(p).split("/corpus/", 1)[-1]
        if p.suffix.lower() in _SKIP_CORPUS_SUFFIXES:
            continue
        groups.setdefault(rel.split("/", 1)[0], []).append(Path(p))
    return groups


def _collection_of_folder(folder: Path) -> str:
    generic = {"midi", "abc", "xml", "musicxml", "kern", "data", "files"}
    return folder.parent.name if folder.name.lower() in generic else folder.name


def _expand_file(path: Path, collection: str) -> list[SourceItem]:
    if path.suffix.lower() in ABC_SUFFIXES:
        text = path.read_text(encoding="utf-8", errors="replace")
        numbers = list(dict.fromkeys(abc_reference_numbers(text)))
        if len(numbers) > 1:
            return [SourceItem(str(path), collection, n) for n in numbers]
    return [SourceItem(str(path), collection)]


def expand_sources(sources: list[str]) -> list[SourceItem]:
    """All items of all sources. Raises CadenceError (nothing read) for a bad source."""
    if not sources:
        raise CadenceError("no sources given; pass files, folders or music21:<collection>")
    items: list[SourceItem] = []
    collections: dict[str, list[Path]] | None = None
    for src in sources:
        if src.startswith(MUSIC21_PREFIX):
            name = src[len(MUSIC21_PREFIX) :]
            collections = collections or music21_collections()
            if name not in collections:
                known = ", ".join(sorted(collections))
                raise CadenceError(f"unknown music21 collection {name!r}; known: {known}")
            for p in sorted(collections[name]):
                items += _expand_file(p, SUBCOLLECTIONS.get((name, p.stem), name))
            continue
        path = Path(src)
        if not path.exists():
            raise CadenceError(f"source {src} does not exist; check the path")
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
            if not files:
                raise CadenceError(f"folder {src} holds no files; point at a folder of music files")
            for p in files:
                items += _expand_file(p.resolve(), _collection_of_folder(path.resolve()))
        else:
            items += _expand_file(path.resolve(), _collection_of_folder(path.resolve().parent))
    return items
