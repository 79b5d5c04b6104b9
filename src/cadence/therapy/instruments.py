"""General MIDI instrument names and key names, parsed from what a clinician types.

The program numbers are the General MIDI Level 1 sound set (MIDI Manufacturers Association,
1991), numbered 0-127 as they are sent on the wire.
"""

from __future__ import annotations

import re

from cadence.therapy.checks import FieldError

# General MIDI Level 1 program names, index = program number (0-based).
# fmt: off
GM_PROGRAMS: tuple[str, ...] = (
    "acoustic grand piano", "bright acoustic piano", "electric grand piano", "honky tonk piano",
    "electric piano 1", "electric piano 2", "harpsichord", "clavinet",
    "celesta", "glockenspiel", "music box", "vibraphone",
    "marimba", "xylophone", "tubular bells", "dulcimer",
    "drawbar organ", "percussive organ", "rock organ", "church organ",
    "reed organ", "accordion", "harmonica", "tango accordion",
    "acoustic guitar nylon", "acoustic guitar steel", "electric guitar jazz",
    "electric guitar clean", "electric guitar muted", "overdriven guitar",
    "distortion guitar", "guitar harmonics",
    "acoustic bass", "electric bass finger", "electric bass pick", "fretless bass",
    "slap bass 1", "slap bass 2", "synth bass 1", "synth bass 2",
    "violin", "viola", "cello", "contrabass",
    "tremolo strings", "pizzicato strings", "orchestral harp", "timpani",
    "string ensemble 1", "string ensemble 2", "synth strings 1", "synth strings 2",
    "choir aahs", "voice oohs", "synth voice", "orchestra hit",
    "trumpet", "trombone", "tuba", "muted trumpet",
    "french horn", "brass section", "synth brass 1", "synth brass 2",
    "soprano sax", "alto sax", "tenor sax", "baritone sax",
    "oboe", "english horn", "bassoon", "clarinet",
    "piccolo", "flute", "recorder", "pan flute",
    "blown bottle", "shakuhachi", "whistle", "ocarina",
    "lead 1 square", "lead 2 sawtooth", "lead 3 calliope", "lead 4 chiff",
    "lead 5 charang", "lead 6 voice", "lead 7 fifths", "lead 8 bass lead",
    "pad 1 new age", "pad 2 warm", "pad 3 polysynth", "pad 4 choir",
    "pad 5 bowed", "pad 6 metallic", "pad 7 halo", "pad 8 sweep",
    "fx 1 rain", "fx 2 soundtrack", "fx 3 crystal", "fx 4 atmosphere",
    "fx 5 brightness", "fx 6 goblins", "fx 7 echoes", "fx 8 sci fi",
    "sitar", "banjo", "shamisen", "koto",
    "kalimba", "bagpipe", "fiddle", "shanai",
    "tinkle bell", "agogo", "steel drums", "woodblock",
    "taiko drum", "melodic tom", "synth drum", "reverse cymbal",
    "guitar fret noise", "breath noise", "seashore", "bird tweet",
    "telephone ring", "helicopter", "applause", "gunshot",
)
# fmt: on

# Short names clinicians use, mapped to the usual General MIDI program.
GM_ALIASES: dict[str, int] = {
    "piano": 0,
    "grand piano": 0,
    "electric piano": 4,
    "organ": 19,
    "guitar": 24,
    "nylon guitar": 24,
    "classical guitar": 24,
    "steel guitar": 25,
    "bass": 32,
    "double bass": 43,
    "harp": 46,
    "strings": 48,
    "string ensemble": 48,
    "choir": 52,
    "horn": 60,
    "sax": 65,
    "saxophone": 65,
    "pad": 89,
    "warm pad": 89,
}

_BY_NAME: dict[str, int] = {name: i for i, name in enumerate(GM_PROGRAMS)} | GM_ALIASES


def _normalise(text: str) -> str:
    """Lower case, punctuation to spaces, single spaces: "Acoustic Guitar (nylon)" matches."""
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text.lower()).split())


def parse_instrument(value: str | int) -> int:
    """General MIDI program 0-127 from a number or a name such as "flute" or "harp"."""
    if isinstance(value, bool):
        raise FieldError(
            "instrument", f"instrument: got {value!r}; give a General MIDI name or 0-127"
        )
    if isinstance(value, int):
        if 0 <= value <= 127:
            return value
        raise FieldError(
            "instrument", f"instrument: got {value}; a General MIDI program must be 0-127"
        )
    name = _normalise(str(value))
    if name.isdigit():
        return parse_instrument(int(name))
    if name in _BY_NAME:
        return _BY_NAME[name]
    raise FieldError("instrument",
        f"instrument: unknown name {value!r}; give a General MIDI program 0-127 or a name "
        "such as 'piano', 'flute', 'strings', 'harp', 'nylon guitar'"
    )


def program_name(program: int) -> str:
    """The General MIDI name of a program number."""
    return GM_PROGRAMS[program]


# Key names: tonic letter, optional accidental, optional mode word.
PITCH_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
_LETTER = {"c": 0, "d": 2, "e": 4, "f": 5, "g": 7, "a": 9, "b": 11}
_ACCIDENTAL = {"": 0, "#": 1, "♯": 1, "sharp": 1, "b": -1, "♭": -1, "flat": -1}
_MODE_WORD = {
    "": None,
    "major": "major",
    "maj": "major",
    "minor": "minor",
    "min": "minor",
    "m": "minor",
}
_KEY_RE = re.compile(r"^([a-g])\s*(#|♯|b|♭|sharp|flat)?\s*(major|maj|minor|min|m)?$")


def parse_key(value: str | int) -> tuple[int, str | None]:
    """(tonic pitch class 0-11, mode or None) from "C", "F#", "Bb", "A minor", "Am" or 0-11."""
    if isinstance(value, int) and not isinstance(value, bool):
        if 0 <= value <= 11:
            return value, None
        raise FieldError("key", f"key: got {value}; a tonic pitch class must be 0-11 (0 = C)")
    text = str(value).strip()
    if text.isdigit():
        return parse_key(int(text))
    match = _KEY_RE.match(" ".join(text.lower().replace("-", " ").split()))
    if match is None:
        raise FieldError("key",
            f"key: cannot read {value!r}; write a tonic with an optional mode, e.g. 'C', "
            "'F#', 'Bb', 'A minor'"
        )
    letter, accidental, mode_word = match.groups()
    # "bm" reads as B minor and "bb" as B flat: the accidental group never takes an "m".
    tonic = (_LETTER[letter] + _ACCIDENTAL[accidental or ""]) % 12
    return tonic, _MODE_WORD[mode_word or ""]


def key_label(tonic: int, mode: str) -> str:
    """Readable key name, e.g. "F# minor"."""
    return f"{PITCH_NAMES[tonic % 12]} {mode}"
