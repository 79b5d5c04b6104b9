"""File formats Cadence reads, and the loading errors it expects from them.

The list of expected exceptions lives here once (DESIGN.md: "list the expected loading
exceptions once"). Only the dataset layer turns them into rejections; everywhere else they
surface.
"""

from __future__ import annotations

import zipfile
from xml.etree.ElementTree import ParseError

from music21.abcFormat import ABCFileException, ABCHandlerException, ABCTokenException
from music21.converter import ConverterException, ConverterFileException
from music21.exceptions21 import Music21Exception
from music21.midi import MidiException

MIDI_SUFFIXES = frozenset({".mid", ".midi", ".smf"})
ABC_SUFFIXES = frozenset({".abc"})
MUSICXML_SUFFIXES = frozenset({".xml", ".musicxml", ".mxl"})
KERN_SUFFIXES = frozenset({".krn"})
SUPPORTED_SUFFIXES = MIDI_SUFFIXES | ABC_SUFFIXES | MUSICXML_SUFFIXES | KERN_SUFFIXES


class UnreadableMusic(ValueError):
    """A file that cannot be used, with a short machine-readable reason."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


# Errors that a corrupt or unusual file can raise inside symusic and music21. Anything else is
# a bug and must surface.
LOADING_ERRORS: tuple[type[BaseException], ...] = (
    UnreadableMusic,
    RuntimeError,  # symusic raises RuntimeError for malformed MIDI chunks
    ValueError,
    IndexError,
    KeyError,
    TypeError,
    AttributeError,
    ZeroDivisionError,
    OverflowError,
    UnicodeDecodeError,
    LookupError,  # an unknown encoding in an XML declaration (KeyError, IndexError are ones)
    zipfile.BadZipFile,
    ParseError,  # malformed MusicXML (music21 parses it with ElementTree)
    Music21Exception,
    ABCFileException,
    ABCHandlerException,
    ABCTokenException,
    ConverterException,
    ConverterFileException,
    MidiException,
    RecursionError,
)
