"""General MIDI instrument names as a score prints them beside a staff.

Index = program number (0-127, as sent on the wire). The names are the General MIDI Level 1
sound set (MIDI Manufacturers Association, 1991) with the patch-variant numbers dropped
("String Ensemble 1" -> "String Ensemble", "Lead 1 (square)" -> "Square Lead") and
"Orchestral Harp" printed as "Harp", the way a part is labelled in a score.
"""

from __future__ import annotations

# fmt: off
GM_SCORE_NAMES: tuple[str, ...] = (
    "Piano", "Bright Piano", "Electric Grand Piano", "Honky-tonk Piano",
    "Electric Piano", "Electric Piano", "Harpsichord", "Clavinet",
    "Celesta", "Glockenspiel", "Music Box", "Vibraphone",
    "Marimba", "Xylophone", "Tubular Bells", "Dulcimer",
    "Drawbar Organ", "Percussive Organ", "Rock Organ", "Church Organ",
    "Reed Organ", "Accordion", "Harmonica", "Tango Accordion",
    "Acoustic Guitar (nylon)", "Acoustic Guitar (steel)", "Electric Guitar (jazz)",
    "Electric Guitar (clean)", "Electric Guitar (muted)", "Overdriven Guitar",
    "Distortion Guitar", "Guitar Harmonics",
    "Acoustic Bass", "Electric Bass (finger)", "Electric Bass (pick)", "Fretless Bass",
    "Slap Bass", "Slap Bass", "Synth Bass", "Synth Bass",
    "Violin", "Viola", "Cello", "Contrabass",
    "Tremolo Strings", "Pizzicato Strings", "Harp", "Timpani",
    "String Ensemble", "String Ensemble", "Synth Strings", "Synth Strings",
    "Choir Aahs", "Voice Oohs", "Synth Voice", "Orchestra Hit",
    "Trumpet", "Trombone", "Tuba", "Muted Trumpet",
    "French Horn", "Brass Section", "Synth Brass", "Synth Brass",
    "Soprano Sax", "Alto Sax", "Tenor Sax", "Baritone Sax",
    "Oboe", "English Horn", "Bassoon", "Clarinet",
    "Piccolo", "Flute", "Recorder", "Pan Flute",
    "Blown Bottle", "Shakuhachi", "Whistle", "Ocarina",
    "Square Lead", "Sawtooth Lead", "Calliope Lead", "Chiff Lead",
    "Charang Lead", "Voice Lead", "Fifths Lead", "Bass and Lead",
    "New Age Pad", "Warm Pad", "Polysynth Pad", "Choir Pad",
    "Bowed Pad", "Metallic Pad", "Halo Pad", "Sweep Pad",
    "Rain", "Soundtrack", "Crystal", "Atmosphere",
    "Brightness", "Goblins", "Echoes", "Sci-fi",
    "Sitar", "Banjo", "Shamisen", "Koto",
    "Kalimba", "Bagpipe", "Fiddle", "Shanai",
    "Tinkle Bell", "Agogo", "Steel Drums", "Woodblock",
    "Taiko Drum", "Melodic Tom", "Synth Drum", "Reverse Cymbal",
    "Guitar Fret Noise", "Breath Noise", "Seashore", "Bird Tweet",
    "Telephone Ring", "Helicopter", "Applause", "Gunshot",
)
# fmt: on

# Short labels for the staves after the first system, as orchestral parts abbreviate them;
# any other name is printed in full there too.
ABBREVIATIONS: dict[str, str] = {
    "Piano": "Pno.", "Electric Piano": "E. Pno.", "Harpsichord": "Hpd.", "Celesta": "Cel.",
    "Glockenspiel": "Glock.", "Vibraphone": "Vib.", "Marimba": "Mar.", "Xylophone": "Xyl.",
    "Church Organ": "Org.", "Accordion": "Acc.", "Acoustic Guitar (nylon)": "Gtr.",
    "Acoustic Guitar (steel)": "Gtr.", "Acoustic Bass": "Bass", "Contrabass": "Cb.",
    "Violin": "Vln.", "Viola": "Vla.", "Cello": "Vc.", "Harp": "Hp.", "Timpani": "Timp.",
    "String Ensemble": "Str.", "Choir Aahs": "Ch.", "Voice Oohs": "Ch.", "Trumpet": "Tpt.",
    "Trombone": "Tbn.", "Tuba": "Tba.", "French Horn": "Hn.", "Alto Sax": "A. Sax.",
    "Tenor Sax": "T. Sax.", "Oboe": "Ob.", "English Horn": "E. H.", "Bassoon": "Bsn.",
    "Clarinet": "Cl.", "Piccolo": "Picc.", "Flute": "Fl.", "Recorder": "Rec.",
    "Pan Flute": "Pan Fl.", "Warm Pad": "Pad", "Metronome": "Metr.", "Percussion": "Perc.",
}  # fmt: skip


def abbreviation(name: str) -> str:
    """The label of staff ``name`` on later systems (``name`` itself when it has none)."""
    return ABBREVIATIONS.get(name, name)


def score_name(program: int) -> str:
    """The staff label of General MIDI program ``program`` (0-127); ValueError otherwise."""
    if not 0 <= program < len(GM_SCORE_NAMES):
        raise ValueError(f"program: must be 0..127, got {program}")
    return GM_SCORE_NAMES[program]
