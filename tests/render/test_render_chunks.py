"""Segment rendering: tempo-map seconds, cutting at bar lines, parallel renders mixed back."""

from __future__ import annotations

import itertools
import shutil

import numpy as np
import pyloudnorm
import pytest
import symusic

from cadence.render import audio, chunks
from cadence.render.synth import DEBIAN_SOUNDFONTS

needs_fluidsynth = pytest.mark.skipif(
    shutil.which("fluidsynth") is None or not any(p.is_file() for p in DEBIAN_SOUNDFONTS),
    reason="fluidsynth and fluid-soundfont-gm are installed by `make test`",
)
TPQ = 480


def _piece(bars: int = 8) -> symusic.Score:
    """A melody, held chords and a beat; the tempo slows from 120 to 90 BPM halfway."""
    score = symusic.Score(TPQ)
    score.tempos.extend([symusic.Tempo(0, 120.0), symusic.Tempo(bars // 2 * 4 * TPQ, 90.0)])
    melody = symusic.Track("melody", 0, False)
    chords = symusic.Track("accompaniment", 48, False)
    drums = symusic.Track("beat", 0, True)
    for b in range(bars):
        for k in range(4):
            t = (b * 4 + k) * TPQ
            melody.notes.append(symusic.Note(t, TPQ, 72 + (k * 2 + b) % 7, 90))
            drums.notes.append(symusic.Note(t, TPQ // 4, 37, 70))
        for p in (48, 52, 55):  # held over the bar line into the next bar
            chords.notes.append(symusic.Note(b * 4 * TPQ + 2 * TPQ, 4 * TPQ, p, 60))
    score.tracks.extend([melody, chords, drums])
    return score


def test_tick_seconds_follow_the_tempo_map() -> None:
    score = _piece()
    ticks = np.array([0, TPQ, 16 * TPQ, 20 * TPQ, 32 * TPQ])
    # 120 BPM: 0.5 s a beat for 16 beats, then 90 BPM: 2/3 s a beat.
    expected = [0.0, 0.5, 8.0, 8.0 + 4 * 60 / 90, 8.0 + 16 * 60 / 90]
    assert chunks.tick_seconds(score, ticks) == pytest.approx(expected, abs=1e-5)  # integer µs
    seconds = score.to(symusic.TimeUnit.second)
    assert chunks.tick_seconds(score, np.array([score.end()]))[0] == pytest.approx(
        seconds.end(), abs=1e-3
    )


def test_cut_keeps_notes_that_start_inside_with_their_tempo() -> None:
    score = _piece()
    seg = chunks.Segment(5 * 4 * TPQ, 6 * 4 * TPQ, 0.0)  # bar 5, after the tempo change
    part = chunks.cut(score, seg)
    onsets = [n.time for t in part.tracks for n in t.notes]
    assert min(onsets) == 0 and max(onsets) < 4 * TPQ
    assert sum(len(t.notes) for t in part.tracks) == 4 + 4 + 3
    held = part.tracks[1].notes[0]
    assert held.time == 2 * TPQ and held.duration == 4 * TPQ  # rings past the segment, whole
    assert part.tempos[0].mspq == symusic.Tempo(0, 90.0).mspq
    marker = part.tracks[0].controls[-1]
    assert marker.number == chunks.MARKER_CC
    assert marker.time >= 6 * TPQ + round(chunks.TAIL_S * 90 / 60 * TPQ) - 1


def test_even_segments_cut_on_beats_near_the_length() -> None:
    score = _piece(bars=40)  # 80 beats at 120 BPM then 80 at 90 BPM: 40 s + 53.3 s
    segs = chunks.even_segments(score, 20.0)
    assert segs[0].start == 0 and all(s.start % TPQ == 0 for s in segs)
    assert [round(s.offset_s) for s in segs] == [0, 20, 40, 60, 80]
    assert all(a.end == b.start for a, b in itertools.pairwise(segs))
    with pytest.raises(ValueError, match="segment_s"):
        chunks.even_segments(score, 0.0)


@needs_fluidsynth
def test_segments_mix_to_the_whole_render() -> None:
    score = _piece(bars=12)
    sf2 = audio.find_soundfont()
    n = audio.frames(score, 44100)
    whole_seg = chunks.segments(score, [0])
    cut_segs = chunks.segments(score, [0, 3 * 4 * TPQ, 7 * 4 * TPQ])
    with chunks.SegmentRenderer(sample_rate=44100, soundfont=sf2, workers=2) as r:
        whole = r.mix(score, whole_seg, n)
    with chunks.SegmentRenderer(sample_rate=44100, soundfont=sf2, workers=2) as r:
        mixed = r.mix(score, cut_segs, n)
    meter = pyloudnorm.Meter(44100)
    assert meter.integrated_loudness(mixed) == pytest.approx(
        meter.integrated_loudness(whole), abs=0.1
    )
    # Sample by sample they differ: FluidSynth times events on a millisecond clock and a
    # 64-sample block grid, so notes after a cut may sound up to ~2 ms apart. What a listener
    # hears, the loudness envelope in 100 ms windows, agrees.
    ew, em = _envelope_db(whole), _envelope_db(mixed)
    diff = np.abs(ew - em)[ew > ew.max() - 40.0]
    assert np.median(diff) < 0.1
    assert np.percentile(diff, 95) < 0.5
    assert diff.max() < 1.5


def _envelope_db(x: np.ndarray, window: int = 4410) -> np.ndarray:
    m = len(x) // window * window
    power = (x[:m] ** 2).reshape(-1, window, x.shape[1]).mean(axis=(1, 2))
    return 10.0 * np.log10(power + 1e-12)


@needs_fluidsynth
def test_mix_rerenders_segments_that_changed() -> None:
    score = _piece(bars=6)
    sf2 = audio.find_soundfont()
    segs = chunks.segments(score, [0, 3 * 4 * TPQ])
    n = audio.frames(score, 44100)
    draft = score.copy()
    draft.tracks[0].notes[-1].pitch += 1  # the last bar changed after it was submitted
    with chunks.SegmentRenderer(sample_rate=44100, soundfont=sf2, workers=1) as r:
        expected = r.mix(score, segs, n)
    with chunks.SegmentRenderer(sample_rate=44100, soundfont=sf2, workers=1) as r:
        for seg in segs:
            r.submit(draft, seg)
        mixed = r.mix(score, segs, n)
    # the stale segment was subtracted and the new one added: equal to float32 rounding
    assert np.abs(mixed - expected).max() < 1e-6


def test_a_part_not_yet_used_does_not_change_a_segment() -> None:
    """A segment cut while a part had no notes yet sounds the same once the part appears
    later (an empty track is silent); a changed note or tempo still counts."""
    score = _piece(bars=6)
    seg = chunks.segments(score, [0, 3 * 4 * TPQ])[0]
    later = symusic.Track("bass", 32, False)
    later.notes.append(symusic.Note(4 * 4 * TPQ, TPQ, 40, 80))  # only in the second segment
    final = score.copy()
    final.tracks.insert(1, later)
    assert chunks.same_notes(chunks.cut(score, seg), chunks.cut(final, seg))
    moved = final.copy()
    moved.tracks[0].notes[0].pitch += 1
    assert not chunks.same_notes(chunks.cut(score, seg), chunks.cut(moved, seg))
    slower = final.copy()
    slower.tempos[0].mspq += 1
    assert not chunks.same_notes(chunks.cut(score, seg), chunks.cut(slower, seg))
