"""Compressed MusicXML (``.mxl``, a zip archive): checked before anything parses it.

A small archive may hold a huge file (a decompression bomb: 1 MB that unpacks to 1 GiB, issue
17). :func:`check_archive` refuses, before any parser sees it, an archive whose members would
unpack to more than :data:`MAX_UNPACKED_BYTES` in all (each member counted as it streams out,
so a header that understates a member's size is caught too), that holds more than
:data:`MAX_MEMBERS` members, or whose large members are compressed beyond :data:`MAX_RATIO`
(the zip-bomb signature; real MusicXML compresses 5-30x). A corrupt archive (bad CRC, broken
zlib stream) is refused too, with a reason that names the file.
"""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path

from cadence.music.formats import UnreadableMusic

# The largest MusicXML score in music21's bundled corpus unpacks to about 6 MB; 64 MiB leaves
# ten times the room and still parses in a job's memory.
MAX_UNPACKED_BYTES = 64 * 1024 * 1024
MAX_MEMBERS = 1000
MAX_RATIO = 200
# Below this a member's ratio is not judged (tiny files of repeated markup compress very well).
RATIO_FLOOR_BYTES = 1024 * 1024
_CHUNK = 1024 * 1024
TOO_LARGE = "too large once unpacked"


def check_archive(path: Path) -> None:
    """Raise :class:`UnreadableMusic` (reason ``"too large once unpacked"`` or ``"corrupt"``)
    unless ``path`` is a sound zip archive within the limits above. Reads each member as a
    stream, never more than :data:`MAX_UNPACKED_BYTES` in all."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            _check_directory(path, members)
            total = 0
            for member in members:
                with archive.open(member) as stream:
                    while chunk := stream.read(_CHUNK):
                        total += len(chunk)
                        if total > MAX_UNPACKED_BYTES:
                            raise UnreadableMusic(
                                TOO_LARGE, f"{path.name} unpacks to more than "
                                f"{MAX_UNPACKED_BYTES // (1024 * 1024)} MB")
    except UnreadableMusic:
        raise
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError,
            NotImplementedError) as err:
        raise UnreadableMusic("corrupt", f"not a readable .mxl archive ({err})") from None


def _check_directory(path: Path, members: list[zipfile.ZipInfo]) -> None:
    """The sizes the archive declares (cheap, before anything is unpacked)."""
    if len(members) > MAX_MEMBERS:
        raise UnreadableMusic(TOO_LARGE, f"{path.name} holds {len(members)} files; at most "
                              f"{MAX_MEMBERS}")
    declared = sum(m.file_size for m in members)
    if declared > MAX_UNPACKED_BYTES:
        raise UnreadableMusic(TOO_LARGE, f"{path.name} unpacks to {declared} bytes; at most "
                              f"{MAX_UNPACKED_BYTES}")
    for member in members:
        if member.file_size >= RATIO_FLOOR_BYTES and \
                member.file_size > MAX_RATIO * max(member.compress_size, 1):
            raise UnreadableMusic(
                TOO_LARGE, f"{path.name}: {member.filename!r} is compressed "
                f"{member.file_size // max(member.compress_size, 1)}x (at most {MAX_RATIO}x)")
