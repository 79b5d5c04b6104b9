"""Musical form for long pieces: regular phrases, and themes that return and vary.

Bars come in blocks of four phrases, A A' B A'': A is new material, A' repeats A with a new
ending (its last quarter recomposed), B contrasts, and A'' keeps A's first half and recomposes
the rest. Every other block opens with the previous block's A, varied, so themes come back
across a long session instead of wandering (phrase-level repetition and variation as in
classical and folk forms; see Caplin 1998, Classical Form, on the sentence and period).

Inside every newly composed phrase, the second half (the consequent) may open with the first
few bars of the first half (the antecedent): the parallel period, whose consequent restates
the antecedent's basic idea and then closes differently (Caplin 1998, ch. 4). How many bars
each new phrase restates cycles through ``answers`` (e.g. (0, 0, 1, 3)): real tunes mix
phrases that restate nothing with ones that restate nearly all (the mean bar similarity at the
4-bar lag is 0.34-0.42 in the reference styles, spread from 0 to 1; docs/musicality.md). The
cycle is fixed, not random, so that the harmony plan and the generator derive the same form.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

PHRASE_BARS = 8  # bars per phrase: the 8-bar period and sentence (Caplin 1998)


@dataclass(frozen=True)
class BarSource:
    """How to make one bar: sample it (``copy_of`` None) or copy an earlier bar's notes."""

    section: str
    copy_of: int | None = None


def plan_form(
    n_bars: int, phrase: int = PHRASE_BARS, answers: Sequence[int] = (0,)
) -> list[BarSource]:
    """One BarSource per bar for a piece of ``n_bars`` bars with ``phrase``-bar phrases; the
    consequent of the k-th new phrase restates the antecedent's first ``answers[k % len]``
    bars."""
    if phrase < 2:
        raise ValueError(f"plan_form.phrase: must be >= 2, got {phrase}")
    check_answers(answers, phrase)
    out: list[BarSource] = []
    new_phrases: list[int] = []  # start bar of each phrase composed anew, in order

    def composed(section: str, start: int, i: int) -> BarSource:
        """Bar ``i`` of a new phrase from bar ``start``: sampled, or the period's answer."""
        if not new_phrases or new_phrases[-1] != start:
            new_phrases.append(start)
        answer = answers[(len(new_phrases) - 1) % len(answers)]
        half = phrase // 2
        if half <= i < half + answer:
            return BarSource(section, start + i - half)
        return BarSource(section)

    block = 0
    previous_a: int | None = None
    while len(out) < n_bars:
        start = len(out)
        a0 = start
        for i in range(phrase):  # A (new, or the previous block's A varied)
            if previous_a is not None and block % 2 == 1 and i < phrase // 2:
                out.append(BarSource(f"A{block}", previous_a + i))
            else:
                out.append(composed(f"A{block}", start, i))
        keep = phrase - max(1, phrase // 4)
        for i in range(phrase):  # A': same opening, new ending
            out.append(BarSource(f"A{block}'", a0 + i if i < keep else None))
        b0 = len(out)
        for i in range(phrase):  # B: contrast
            out.append(composed(f"B{block}", b0, i))
        for i in range(phrase):  # A'': first half returns, second half varies
            if i < phrase // 2:
                out.append(BarSource(f"A{block}''", a0 + i))
            else:
                out.append(composed(f"A{block}''", len(out) - i, i))
        previous_a = a0
        block += 1
    return out[:n_bars]


def max_answer(phrase: int) -> int:
    """The most bars a consequent may restate: it keeps its last bar for the cadence."""
    return max(0, phrase // 2 - 1)


def check_answers(answers: Sequence[int], phrase: int = PHRASE_BARS) -> None:
    """ValueError unless ``answers`` is a non-empty cycle of 0..max_answer(phrase) bars."""
    top = max_answer(phrase)
    if not answers or not all(isinstance(a, int) and 0 <= a <= top for a in answers):
        raise ValueError(
            f"answers: must be one or more bar counts of 0..{top} for {phrase}-bar phrases, "
            f"got {tuple(answers)!r}"
        )


def section_starts(labels: list[str]) -> list[int]:
    """Bars where a new section of the form begins (A, B, or a returning A), as a score marks
    them: a change of the label's letter or block, not of its primes (A' continues A)."""
    return [i for i, label in enumerate(labels) if i == 0 or label[:2] != labels[i - 1][:2]]
