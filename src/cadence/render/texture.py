"""Texture by role: the accompaniment and bass the arrangement plays on the plan's chords.

The model composes the melody; every other prescribed part is written here from the plan's
chord progression, in a pattern fit for the goal (``ControlPlan.idiom.texture``, one of
``generation.plan.TEXTURES``):

- ``pad``: sustained chords, held for as long as the chord lasts (up to two bars), and the
  root held beneath: little rhythmic change, for sleep (THERAPY.md);
- ``arpeggio``: a slow broken chord, one chord tone per beat, each left ringing to the end of
  the chord, over a held root: gentle motion, for anxiety and pain;
- ``block``: a chord on every beat, the root on the first beat and the fifth half-way: a
  clear, steady pulse, for gait, mood and cognition. In triple meters it is a waltz: the
  bass on the first beat, the chord on the others.

Every note is a chord tone (so, in the plan's scale: its chords are diatonic), inside the
role's pitch range. Chords are voiced in close position nearest the previous voicing, so
parts move smoothly (the voice-leading rule of the smallest motion; Aldwell & Schachter,
*Harmony and Voice Leading*, ch. 5). Patterns depend on the plan only, so every render of a
segment writes the same notes.
"""

from __future__ import annotations

import symusic

from cadence.generation.plan import ControlPlan
from cadence.music.harmony import QUALITIES, parse_chord
from cadence.tokens.controls import TRIPLE_METERS

TEXTURE_ROLES = ("accompaniment", "bass")
# Velocity of each part as a share of the bar's cap: the melody leads (engineering choice).
ROLE_LEVEL = {"accompaniment": 0.72, "bass": 0.8}
MAX_HOLD_BARS = 2  # a pad re-strikes at least every two bars (engineering choice)
# A block chord sounds for its whole beat: legato under the melody, and a score of plain
# beats rather than dotted notes and rests (engineering choice).
ARTICULATION = 1.0
# The bass sits in the upper part of its range, near C3, not at the bottom, and the chords
# above it, clear of the bass and under the melody (engineering choices).
BASS_CENTRE = 0.65
CHORD_CENTRE = 0.65


def beat_quarters(meter: tuple[int, int]) -> float:
    """The beat in quarter notes: a dotted quarter in compound meters (6/8, 9/8, 12/8)."""
    num, den = meter
    if den == 8 and num % 3 == 0 and num > 3:
        return 1.5
    return 4.0 / den


def _spans(plan: ControlPlan) -> list[tuple[float, float, str]]:
    """(start, end, chord) in quarter notes: each run of the same chord, cut at most every
    :data:`MAX_HOLD_BARS` bars and at every bar a pattern restarts."""
    bar = plan.beats_per_bar
    halves: list[tuple[float, float, str]] = []
    triple = f"{plan.meter[0]}/{plan.meter[1]}" in TRIPLE_METERS
    for i, (first, second) in enumerate(plan.chords):
        start = i * bar
        if triple or first == second:
            halves.append((start, start + bar, first))
        else:
            halves += [(start, start + bar / 2, first), (start + bar / 2, start + bar, second)]
    spans: list[tuple[float, float, str]] = []
    for start, end, chord in halves:
        if spans and spans[-1][2] == chord and end - spans[-1][0] <= MAX_HOLD_BARS * bar + 1e-9:
            spans[-1] = (spans[-1][0], end, chord)
        else:
            spans.append((start, end, chord))
    return spans


def _voicing(chord: str, low: int, high: int, previous: list[int] | None) -> list[int]:
    """Close-position voicing of ``chord`` inside [low, high], nearest ``previous`` and pulled
    toward :data:`CHORD_CENTRE` of the range (no drift to an edge)."""
    parsed = parse_chord(chord)
    if parsed is None:
        return []
    root, quality = parsed
    intervals = QUALITIES[quality]
    home = low + CHORD_CENTRE * (high - low)
    centre = home if not previous else (sum(previous) / len(previous) + home) / 2
    best: list[int] = []
    best_cost = float("inf")
    for base in range(low - 12, high + 1):
        if base % 12 != root:
            continue
        for inversion in range(len(intervals)):
            n = len(intervals)
            notes = sorted(
                base + intervals[(inversion + k) % n] + 12 * ((inversion + k) // n)
                for k in range(n)
            )
            if notes[0] < low or notes[-1] > high:
                continue
            cost = abs(sum(notes) / len(notes) - centre)
            if cost < best_cost:
                best, best_cost = notes, cost
    return best


def _bass_note(chord: str, low: int, high: int, previous: int | None, fifth: bool = False) -> int:
    """The chord's root (or fifth, above the root it follows) near ``previous``, pulled toward
    :data:`BASS_CENTRE` of the range so the line does not drift to an edge."""
    parsed = parse_chord(chord)
    if parsed is None:
        return -1
    pc = (parsed[0] + (QUALITIES[parsed[1]][2] if fifth else 0)) % 12
    centre = low + BASS_CENTRE * (high - low)
    target = centre if previous is None else (previous + centre) / 2  # near, without drifting
    options = [p for p in range(low, high + 1) if p % 12 == pc]
    if fifth and previous is not None:
        options = [p for p in options if p > previous] or options
    return min(options, key=lambda p: (abs(p - target), p)) if options else -1


def _velocity(plan: ControlPlan, quarters: float, role: str) -> int:
    index = min(int(quarters // plan.beats_per_bar), len(plan.bars) - 1)
    return max(1, round(plan.bars[index].velocity_max * ROLE_LEVEL[role]))


def texture_notes(plan: ControlPlan) -> dict[str, list[tuple[float, float, int, int]]]:
    """(time, duration, pitch, velocity) in quarter notes for each textural role the plan
    lists in ``programs``; empty without chords."""
    roles = [r for r in TEXTURE_ROLES if r in plan.programs]
    out: dict[str, list[tuple[float, float, int, int]]] = {r: [] for r in roles}
    if not plan.chords or not roles:
        return out
    beat = beat_quarters(plan.meter)
    bar = plan.beats_per_bar
    triple = round(bar / beat) == 3
    acc_range = plan.pitch_range.get("accompaniment", (43, 72))
    bass_range = plan.pitch_range.get("bass", (28, 55))
    voicing: list[int] | None = None
    bass: int | None = None
    for start, end, chord in _spans(plan):
        voicing = _voicing(chord, *acc_range, voicing) or voicing
        root = _bass_note(chord, *bass_range, bass)
        bass = root if root >= 0 else bass
        beats = [start + k * beat for k in range(round((end - start) / beat))] or [start]
        if "accompaniment" in out and voicing:
            acc = out["accompaniment"]
            if plan.idiom.texture == "pad":
                v = _velocity(plan, start, "accompaniment")
                acc += [(start, end - start, p, v) for p in voicing]
            elif plan.idiom.texture == "arpeggio":
                order = voicing + voicing[1:-1][::-1]
                for k, t in enumerate(beats):
                    v = _velocity(plan, t, "accompaniment")
                    acc.append((t, end - t, order[k % len(order)], v))
            else:
                for t in beats:
                    if triple and abs(t % bar) < 1e-9:
                        continue  # waltz: the bass takes the downbeat alone
                    v = _velocity(plan, t, "accompaniment")
                    acc += [(t, beat * ARTICULATION, p, v) for p in voicing]
        if "bass" in out and root >= 0:
            low = out["bass"]
            if plan.idiom.texture == "block" and not triple:
                # root on the downbeat; half-way, the fifth if the chord goes on, else its root
                for t in beats:
                    mid = abs(t % bar - bar / 2) < 1e-9
                    if abs(t % bar) < 1e-9 or mid:
                        p = _bass_note(chord, *bass_range, root, fifth=mid and t > start)
                        low.append((t, min(bar / 2, end - t), p, _velocity(plan, t, "bass")))
            elif plan.idiom.texture == "block":
                for t in beats:
                    if abs(t % bar) < 1e-9:
                        low.append((t, beat * ARTICULATION, root, _velocity(plan, t, "bass")))
            else:
                low.append((start, end - start, root, _velocity(plan, start, "bass")))
    return out


def texture_tracks(plan: ControlPlan, tpq: int) -> list[symusic.Track]:
    """The textural parts as tracks named by role, in ticks of ``tpq`` per quarter note."""
    tracks = []
    for role, notes in texture_notes(plan).items():
        track = symusic.Track(role, int(plan.programs.get(role, 0)), False)
        for time, duration, pitch, velocity in notes:
            track.notes.append(
                symusic.Note(round(time * tpq), max(1, round(duration * tpq)), pitch, velocity)
            )
        tracks.append(track)
    return tracks
