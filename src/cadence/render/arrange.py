"""Arrangement: turn a generated Score into the Score that gets written and heard.

:func:`arrange` applies the parts of a :class:`~cadence.generation.plan.ControlPlan` that
belong to rendering rather than to composition: the accompaniment and bass on the plan's
chords, General MIDI programs by role, the per-bar velocity cap, the beat (metronome) layer,
the exact tempo map, the meter and the key.

Bars are counted on the plan's meter from tick 0: bar ``i`` starts at
``i · numerator · 4 / denominator`` quarter notes. Notes past the last planned bar follow
the last bar's controls.
"""

from __future__ import annotations

import numpy as np
import symusic

from cadence.generation.plan import ControlPlan
from cadence.render.texture import TEXTURE_ROLES, texture_tracks

PERCUSSION_ROLE = "percussion"
BEAT_TRACK_NAME = "beat"
# General MIDI percussion keys (channel 10): 75 claves on the strongest beats, 37 side stick
# on the others. Both are short, dry and clearly pitched apart. Engineering choice.
STRONG_BEAT_KEY = 75
WEAK_BEAT_KEY = 37
DEFAULT_ACCENT = (1.0, 0.6)  # without plan.accents: beat 1 strongest, the rest softer
HIT_QUARTERS = 0.25  # length of a beat-layer hit in quarter notes (drums ignore note-off)
# Major-key signature by tonic pitch class, in sharps (+) or flats (−); minor keys use the
# relative major (tonic + 3 semitones). Flat spellings for Db, Eb, Ab, Bb, F.
_MAJOR_SHARPS = (0, -5, 2, -3, 4, -1, 6, 1, -4, 3, -2, 5)


def bar_ticks(score: symusic.Score, meter: tuple[int, int]) -> int:
    """Length of one bar of ``meter`` in the score's ticks (rounded to a whole tick)."""
    num, den = meter
    return round(score.ticks_per_quarter * num * 4 / den)


def key_signature(tonic: int, mode: str) -> tuple[int, int]:
    """(sharps (+) or flats (−), tonality 0 major / 1 minor) for a tonic pitch class."""
    if mode == "minor":
        return _MAJOR_SHARPS[(tonic + 3) % 12], 1
    return _MAJOR_SHARPS[tonic % 12], 0


def _accents(plan: ControlPlan) -> list[float]:
    """One accent in (0, 1] per beat of the bar; missing entries take the default pattern."""
    num = plan.meter[0]
    out = []
    for j in range(num):
        if j < len(plan.accents):
            out.append(float(plan.accents[j]))
        else:
            out.append(DEFAULT_ACCENT[0] if j == 0 else DEFAULT_ACCENT[1])
    return out


def _cap_velocities(track: symusic.Track, caps: np.ndarray, bar: int) -> None:
    """Clamp each note's velocity to the cap of the bar its onset falls in (in place)."""
    if not len(track.notes):
        return
    arr = track.notes.numpy()
    idx = np.minimum(arr["time"] // bar, len(caps) - 1)
    arr["velocity"] = np.minimum(arr["velocity"], caps[idx]).astype(arr["velocity"].dtype)
    track.notes = symusic.Note.from_numpy(
        arr["time"], arr["duration"], arr["pitch"], arr["velocity"], track.ttype
    )


def beat_layer(score: symusic.Score, plan: ControlPlan) -> symusic.Track:
    """A drum track (channel 10) with one hit on every beat of every planned bar.

    A beat lasts ``4 / denominator`` quarter notes and a bar holds ``numerator`` beats, so
    6/8 gives six eighth-note hits a bar. The hit velocity is ``accent × velocity_max`` of
    its bar (at least 1), so the layer never breaks the cap; the strongest-accent beats use
    claves, the others side stick.
    """
    den = plan.meter[1]
    tpq = score.ticks_per_quarter
    bar = bar_ticks(score, plan.meter)
    beat = tpq * 4 / den
    accents = _accents(plan)
    strongest = max(accents)
    hit = max(1, round(tpq * HIT_QUARTERS))
    track = symusic.Track(BEAT_TRACK_NAME, int(plan.programs.get(PERCUSSION_ROLE, 0)), True)
    for i, ctl in enumerate(plan.bars):
        for j, accent in enumerate(accents):
            key = STRONG_BEAT_KEY if accent >= strongest else WEAK_BEAT_KEY
            velocity = max(1, min(127, round(accent * ctl.velocity_max)))
            track.notes.append(symusic.Note(i * bar + round(j * beat), hit, key, velocity))
    return track


def tempo_events(score: symusic.Score, plan: ControlPlan) -> list[symusic.Tempo]:
    """One Tempo at the start of bar 0 and of every bar whose tempo differs from the last."""
    bar = bar_ticks(score, plan.meter)
    events = []
    previous = None
    for i, ctl in enumerate(plan.bars):
        if ctl.tempo_bpm != previous:
            events.append(symusic.Tempo(i * bar, float(ctl.tempo_bpm)))
            previous = ctl.tempo_bpm
    return events


def arrange(score: symusic.Score, plan: ControlPlan) -> symusic.Score:
    """A copy of ``score``, in ticks, arranged for rendering under ``plan`` (``score`` is not
    changed).

    - texture: with ``plan.chords``, the accompaniment and bass the plan lists are written
      from its chords in its texture pattern (``render.texture``), replacing any such tracks.
    - programs: each track named after a role in ``plan.programs`` gets that General MIDI
      program; drum tracks take ``programs["percussion"]`` when given. Other tracks keep
      theirs.
    - velocity: every note's velocity is clamped to ``velocity_max`` of the bar holding its
      onset (the last bar's cap past the plan's end).
    - beat layer: when ``plan.beat_layer``, a drum track from :func:`beat_layer` is added
      (an existing track named "beat" is replaced).
    - tempo: all tempo events are replaced by :func:`tempo_events` (exactly the plan's map).
    - meter and key: one time signature (``plan.meter``) and one key signature (the plan's
      tonic and mode) at tick 0 replace any others.
    """
    if score.ticks_per_quarter <= 0:
        raise ValueError(f"score.ticks_per_quarter: must be positive, got {score.tpq}")
    out = score.copy() if score.ttype == symusic.TimeUnit.tick else score.to(symusic.TimeUnit.tick)
    bar = bar_ticks(out, plan.meter)
    caps = np.array([b.velocity_max for b in plan.bars], dtype=np.int64)
    tracks = [t for t in out.tracks if not (plan.beat_layer and t.name == BEAT_TRACK_NAME)]
    if plan.chords:  # the textural parts come from the plan's chords, not the score
        tracks = [t for t in tracks if t.name not in TEXTURE_ROLES]
        tracks += texture_tracks(plan, out.ticks_per_quarter)
    for track in tracks:
        role = PERCUSSION_ROLE if track.is_drum else track.name
        if role in plan.programs:
            track.program = int(plan.programs[role])
        _cap_velocities(track, caps, bar)
    if plan.beat_layer:
        tracks.append(beat_layer(out, plan))
    out.tracks = tracks
    out.tempos = tempo_events(out, plan)
    out.time_signatures = [symusic.TimeSignature(0, plan.meter[0], plan.meter[1])]
    sharps, tonality = key_signature(plan.key_tonic, plan.mode)
    out.key_signatures = [symusic.KeySignature(0, sharps, tonality)]
    return out
