"""Favourite-tune uploads: size and type checked before anything is stored.

Over the limit is 413 (the body limit middleware refuses larger bodies while they stream in;
this checks the file itself); a file that is not MIDI, ABC, MusicXML or kern, by its name AND
its first bytes, is 415.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fastapi import HTTPException, UploadFile

from cadence.web.settings import WebSettings

# suffix -> a check of the first bytes
KINDS = {
    ".mid": "midi",
    ".midi": "midi",
    ".abc": "text",
    ".krn": "text",
    ".xml": "xml",
    ".musicxml": "xml",
    ".mxl": "zip",
}


def _sniff(kind: str, head: bytes) -> bool:
    if kind == "midi":
        return head.startswith(b"MThd") or head.startswith(b"RIFF")
    if kind == "zip":
        return head.startswith(b"PK\x03\x04")
    try:
        text = head.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = head.decode("latin-1")
        except UnicodeDecodeError:
            return False
    if "\x00" in text:
        return False
    if kind == "xml":
        return text.lstrip().startswith("<")
    return True


@contextmanager
def saved_upload(upload: UploadFile, limit: int, settings: WebSettings) -> Iterator[Path]:
    """The upload as a temporary file with its suffix, in the home's scratch space
    (``WebSettings.scratch``); removed afterwards."""
    name = Path(upload.filename or "")
    suffix = name.suffix.lower()
    if suffix not in KINDS:
        raise HTTPException(
            415,
            f"{name.name or 'the file'}: give a MIDI, ABC, MusicXML or kern file "
            f"({', '.join(sorted(KINDS))})",
        )
    if upload.size is not None and upload.size > limit:
        raise HTTPException(413, f"{name.name}: over the {limit // (1024 * 1024)} MB limit")
    upload.file.seek(0)
    head = upload.file.read(512)
    if not head:
        raise HTTPException(415, f"{name.name}: the file is empty")
    if not _sniff(KINDS[suffix], head):
        raise HTTPException(415, f"{name.name}: the content is not {suffix[1:]}")
    upload.file.seek(0)
    with settings.scratch("upload-") as folder:
        path = Path(folder) / f"favourite{suffix}"
        with path.open("wb") as out:
            copied = 0
            while chunk := upload.file.read(1024 * 1024):
                copied += len(chunk)
                if copied > limit:
                    raise HTTPException(
                        413, f"{name.name}: over the {limit // (1024 * 1024)} MB limit"
                    )
                out.write(chunk)
        yield path
