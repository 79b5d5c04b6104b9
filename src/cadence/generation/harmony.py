"""Chord progressions for a plan: phrases that close with cadences, following the form.

Each phrase (``phrase`` bars) is a period (Caplin 1998, *Classical Form*, ch. 4): an
antecedent that ends on the dominant (a half cadence) and a consequent that ends dominant →
tonic (an authentic cadence). Progressions are drawn from common diatonic patterns built on
the tonic, predominant (ii, IV) and dominant functions (Aldwell & Schachter, *Harmony and
Voice Leading*, ch. 7–9); the choices are seeded. Minor keys stay in the natural minor scale
(v, not V), so every chord tone is in the prescribed scale.

The harmonic rhythm is ``bars_per_chord``: 0.5 (two chords a bar), 1, 2 or 4 (slow harmony,
as for sleep). Triple meters never change chord inside a bar. Bars the form copies
(``BarSource.copy_of``) copy their source's chords, so a returning theme returns with its
harmony. With harmony slower than a chord a bar, a phrase's last two bars still close
dominant → tonic, a bar each (the cadence quickens the harmonic rhythm, as real cadences do),
so a consequent that restates its antecedent's opening still ends on an authentic cadence.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import replace

from cadence.generation.form import PHRASE_BARS, BarSource, plan_form
from cadence.generation.plan import BARS_PER_CHORD, ControlPlan
from cadence.music.harmony import chord_name
from cadence.tokens.controls import TRIPLE_METERS

# Degrees: (semitones above the tonic, quality), per mode.
_MAJOR = {
    "I": (0, "maj"), "ii": (2, "min"), "iii": (4, "min"), "IV": (5, "maj"),
    "V": (7, "maj"), "V7": (7, "dom7"), "vi": (9, "min"),
}  # fmt: skip
_MINOR = {
    "i": (0, "min"), "III": (3, "maj"), "iv": (5, "min"), "v": (7, "min"),
    "VI": (8, "maj"), "VII": (10, "maj"),
}  # fmt: skip
# Four-chord units. Antecedents end on the dominant, consequents on the tonic after it
# (or, in minor, after VII or iv: the natural-minor cadences).
_UNITS = {
    "major": {
        "antecedent": (
            ("I", "IV", "I", "V"), ("I", "vi", "IV", "V"), ("I", "ii", "I", "V"),
            ("I", "I", "IV", "V"), ("I", "V", "IV", "V"), ("I", "iii", "IV", "V"),
        ),
        "consequent": (
            ("I", "IV", "V7", "I"), ("I", "vi", "V7", "I"), ("I", "ii", "V7", "I"),
            ("IV", "I", "V7", "I"), ("vi", "IV", "V7", "I"), ("I", "IV", "V", "I"),
        ),
    },
    "minor": {
        "antecedent": (
            ("i", "iv", "i", "v"), ("i", "VI", "iv", "v"), ("i", "VII", "VI", "v"),
            ("i", "III", "iv", "v"), ("i", "i", "iv", "v"),
        ),
        "consequent": (
            ("i", "iv", "v", "i"), ("i", "VI", "VII", "i"), ("VI", "iv", "v", "i"),
            ("i", "VII", "iv", "i"), ("III", "VI", "v", "i"),
        ),
    },
}  # fmt: skip


def _chord(degree: str, tonic: int, mode: str) -> str:
    offset, quality = (_MAJOR if mode == "major" else _MINOR)[degree]
    return chord_name(tonic + offset, quality)


def _phrase_slots(slots: int, mode: str, rng: random.Random) -> list[str]:
    """Degrees for ``slots`` chords: periods of antecedent + consequent units; a phrase too
    short for a period is one consequent unit, cut or stretched to fit."""
    units = _UNITS[mode]
    if slots < 8:
        unit = list(rng.choice(units["consequent"]))
        if slots < 4:  # keep the cadence: the unit's last chords
            return unit[4 - slots :]
        return unit
    out: list[str] = []
    while len(out) < slots:
        out += rng.choice(units["antecedent"]) + rng.choice(units["consequent"])
    out = out[:slots]
    out[-1] = "I" if mode == "major" else "i"  # a phrase always closes on the tonic
    return out


def progression(
    form: Sequence[BarSource],
    *,
    tonic: int,
    mode: str,
    meter: tuple[int, int],
    bars_per_chord: float = 1.0,
    phrase: int = 8,
    seed: int = 0,
) -> tuple[tuple[str, str], ...]:
    """Chords (first half, second half) of every bar of ``form``, in the plan's key."""
    if bars_per_chord not in BARS_PER_CHORD:
        raise ValueError(
            f"progression.bars_per_chord: must be one of {BARS_PER_CHORD}, got {bars_per_chord!r}"
        )
    if mode not in _UNITS:
        raise ValueError(f"progression.mode: must be 'major' or 'minor', got {mode!r}")
    if f"{meter[0]}/{meter[1]}" in TRIPLE_METERS:
        bars_per_chord = max(1.0, bars_per_chord)
    rng = random.Random(seed)
    by_section: dict[str, list[str]] = {}
    halves_per_phrase = 2 * phrase
    step = round(2 * bars_per_chord)  # halves per chord
    out: list[tuple[str, str]] = []
    for start in range(0, len(form), phrase):
        # A, A' and A'' of a block share their harmony; B contrasts.
        section = form[start].section.rstrip("'")
        if section not in by_section:
            by_section[section] = _phrase_slots(
                max(1, halves_per_phrase // step), mode, rng
            )
        degrees = by_section[section]
        for bar in range(start, min(start + phrase, len(form))):
            halves = []
            for half in (0, 1):
                index = ((bar - start) * 2 + half) // step
                halves.append(_chord(degrees[min(index, len(degrees) - 1)], tonic, mode))
            out.append((halves[0], halves[1]))
    if step > 2:  # slow harmony: the cadence still moves a bar each, V then I
        dominant = _chord("V" if mode == "major" else "v", tonic, mode)
        home = _chord("I" if mode == "major" else "i", tonic, mode)
        for end in range(phrase - 1, len(form), phrase):
            out[end - 1], out[end] = (dominant, dominant), (home, home)
    for i, source in enumerate(form):
        if source.copy_of is not None:
            out[i] = out[source.copy_of]
    return tuple(out)


def with_chords(plan: ControlPlan, seed: int = 0) -> ControlPlan:
    """``plan`` with a chord progression along the form generation follows (its key, mode,
    meter and idiom's harmonic rhythm), seeded."""
    chords = progression(
        plan_form(len(plan.bars), PHRASE_BARS, plan.idiom.answers),
        tonic=plan.key_tonic,
        mode=plan.mode,
        meter=plan.meter,
        bars_per_chord=plan.idiom.bars_per_chord,
        phrase=PHRASE_BARS,
        seed=seed,
    )
    return replace(plan, chords=chords)
