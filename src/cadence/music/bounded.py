"""Reading one untrusted file within a time limit.

music21's work grows with what a file asks for (repeats, meters, long notes); the loaders
refuse the absurd cases they know of (cadence.music.io, cadence.music.musicxml_checks), and
this module bounds the rest: ABC, MusicXML and kern files are read in a child process, which
is killed when the limit passes. The child is forked from a forkserver that has already
imported the loaders, so a read costs a fork, not a music21 import, and a server's threads are
never forked. MIDI is read in process: symusic parses it in C++ in linear time.

Batch ingest has its own per-file limit (cadence.tokens.ingest); this is for single files a
person hands in, such as a patient's favourite tune used as a primer.
"""

from __future__ import annotations

import multiprocessing
from multiprocessing.connection import Connection
from pathlib import Path

import symusic

from cadence.music.formats import LOADING_ERRORS, MIDI_SUFFIXES, UnreadableMusic
from cadence.music.io import load_score

# Seconds one file may take (engineering limit: every Nottingham tune reads in under 2 s on the
# development machine; 30 s is also batch ingest's per-file limit).
READ_LIMIT_S = 30.0

_CONTEXT = multiprocessing.get_context("forkserver")
_CONTEXT.set_forkserver_preload(["cadence.music.io"])


def load_score_within(
    path: str | Path, seconds: float = READ_LIMIT_S, *, abc_number: int | None = None
) -> symusic.Score:
    """:func:`cadence.music.io.load_score`, refused with ``UnreadableMusic("too slow")`` when
    it takes longer than ``seconds``. Loading errors come back as they were raised (as
    ``UnreadableMusic`` carrying the original type's name for the others)."""
    path = Path(path)
    if path.suffix.lower() in MIDI_SUFFIXES:
        return load_score(path, abc_number=abc_number)
    receiver, sender = _CONTEXT.Pipe(duplex=False)
    child = _CONTEXT.Process(target=_read, args=(str(path), abc_number, sender), daemon=True)
    child.start()
    sender.close()
    try:
        if not receiver.poll(seconds):
            raise UnreadableMusic("too slow", f"not read within {seconds:g} s")
        kind, payload = receiver.recv()
    except EOFError:
        raise UnreadableMusic("corrupt", "the reader stopped without an answer") from None
    finally:
        if child.is_alive():
            child.kill()
        child.join()
        receiver.close()
    if kind == "score":
        return symusic.Score.from_midi(payload)
    raise UnreadableMusic(*payload)


def _read(path: str, abc_number: int | None, sender: Connection) -> None:
    try:
        score = load_score(path, abc_number=abc_number)
        message: tuple = ("score", score.dumps_midi())
    except UnreadableMusic as err:
        message = ("error", (err.reason, err.detail))
    except LOADING_ERRORS as err:  # the reason is the error's type
        message = ("error", (type(err).__name__, str(err)))
    sender.send(message)
    sender.close()
