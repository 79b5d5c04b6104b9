"""Musical form for long pieces: regular phrases, and themes that return and vary.

Bars come in blocks of four phrases, A A' B A'': A is new material, A' repeats A with a new
ending (its last quarter recomposed), B contrasts, and A'' keeps A's first half and recomposes
the rest. Every other block opens with the previous block's A, varied, so themes come back
across a long session instead of wandering (phrase-level repetition and variation as in
classical and folk forms; see Caplin 1998, Classical Form, on the sentence and period).
"""

from __future__ import annotations

from dataclasses import dataclass

PHRASE_BARS = 8  # bars per phrase: the 8-bar period and sentence (Caplin 1998)


@dataclass(frozen=True)
class BarSource:
    """How to make one bar: sample it (``copy_of`` None) or copy an earlier bar's notes."""

    section: str
    copy_of: int | None = None


def plan_form(n_bars: int, phrase: int = PHRASE_BARS) -> list[BarSource]:
    """One BarSource per bar for a piece of ``n_bars`` bars with ``phrase``-bar phrases."""
    if phrase < 2:
        raise ValueError(f"plan_form.phrase: must be >= 2, got {phrase}")
    out: list[BarSource] = []
    block = 0
    previous_a: int | None = None
    while len(out) < n_bars:
        start = len(out)
        a0 = start
        for i in range(phrase):  # A (new, or the previous block's A varied)
            if previous_a is not None and block % 2 == 1 and i < phrase // 2:
                out.append(BarSource(f"A{block}", previous_a + i))
            else:
                out.append(BarSource(f"A{block}"))
        keep = phrase - max(1, phrase // 4)
        for i in range(phrase):  # A': same opening, new ending
            out.append(BarSource(f"A{block}'", a0 + i if i < keep else None))
        for _ in range(phrase):  # B: contrast
            out.append(BarSource(f"B{block}"))
        for i in range(phrase):  # A'': first half returns, second half varies
            out.append(BarSource(f"A{block}''", a0 + i if i < phrase // 2 else None))
        previous_a = a0
        block += 1
    return out[:n_bars]


def section_starts(labels: list[str]) -> list[int]:
    """Bars where a new section of the form begins (A, B, or a returning A), as a score marks
    them: a change of the label's letter or block, not of its primes (A' continues A)."""
    return [i for i, label in enumerate(labels) if i == 0 or label[:2] != labels[i - 1][:2]]
