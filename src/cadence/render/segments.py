"""A session's audio, rendered in segments while the model still composes.

:class:`SegmentedAudio` is the small interface the session pipeline (``therapy/session.py``)
calls: :meth:`~SegmentedAudio.on_partial` as bars arrive, :meth:`~SegmentedAudio.finish` at the
end, :meth:`~SegmentedAudio.close` always. Segments are whole groups of bars (about
:data:`chunks.SEGMENT_S` seconds). While the model composes (one core), finished segments render
one at a time on the other core; afterwards the rest render in parallel, and ``finish`` mixes,
fades, normalises and writes the WAV (and FLAC/OGG). Without FluidSynth or a soundfont it does
nothing and :attr:`~SegmentedAudio.missing` says why.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import symusic

from cadence.generation.plan import ControlPlan
from cadence.render import arrange, audio, chunks, opus

SAMPLE_RATE = 44100


@dataclass(frozen=True)
class Mastering:
    """The finished WAV's loudness target (LUFS) and fades (seconds)."""

    target_lufs: float
    fade_in_s: float = 0.0
    fade_out_s: float = 0.0


class SegmentedAudio:
    """The audio of one plan, rendered segment by segment (module docstring)."""

    def __init__(self, plan: ControlPlan, mastering: Mastering) -> None:
        self.plan = plan
        self.mastering = mastering
        self.missing: str | None = None
        self.renderer: chunks.SegmentRenderer | None = None
        self.bars_per_segment = 0  # 0: nothing to render while composing
        try:
            sf2 = audio.find_soundfont()
            audio.find_fluidsynth()
        except audio.AudioUnavailable as err:
            self.missing = str(err)
            return
        seconds = plan.bar_seconds()
        hint = round(sum(seconds) * SAMPLE_RATE)  # the planned length sizes the mix buffer
        self.renderer = chunks.SegmentRenderer(
            sample_rate=SAMPLE_RATE, soundfont=sf2, workers=audio.RENDER_WORKERS, frames_hint=hint
        )
        self.renderer.set_parallel(1)
        self.bars_per_segment = max(1, round(chunks.SEGMENT_S / (sum(seconds) / len(seconds))))

    def segments(self, arranged: symusic.Score, final: bool = False) -> list[chunks.Segment]:
        """Segments of whole bars. ``final``: of the bars after those already submitted, the
        last two segments' worth are cut into half-length segments, so that the last renders,
        which run on both cores once composing is over, end closer together (each segment
        costs a FluidSynth start and a tail, so only the end is cut finer)."""
        bar = arrange.bar_ticks(arranged, self.plan.meter)
        n_bars, size = len(self.plan.bars), self.bars_per_segment
        starts = list(range(0, n_bars, size))
        if final:
            sent = self.renderer.submitted() if self.renderer is not None else set()
            done = max((seg.end for seg in sent), default=0) // bar
            tail = max(done, n_bars - 2 * size)
            rest = [*range(done, tail, size), *range(tail, n_bars, max(1, size // 2))]
            starts = [i for i in starts if i < done] + rest
        return chunks.segments(arranged, [i * bar for i in starts])

    def on_partial(self, bars_done: int, score: symusic.Score) -> None:
        """Submit the next segments whose bars, and the bar after, are composed, keeping at most
        one waiting behind the one rendering: what is left when composing ends is cut finer
        (segments)."""
        if self.renderer is None or self.renderer.unfinished() >= 2:
            return
        arranged = arrange.arrange(score, self.plan)
        bar = arrange.bar_ticks(arranged, self.plan.meter)
        for seg in self.segments(arranged):
            # A segment waits for the bar after it: that bar's first note cuts a melody note
            # still sounding at the segment's end (the melody is monophonic).
            if self.renderer.unfinished() >= 2 or seg.end >= bars_done * bar:
                break
            if seg not in self.renderer.submitted():
                self.renderer.submit(arranged, seg)

    def finish(self, arranged: symusic.Score, out: Path, formats: tuple[str, ...]) -> dict:
        """Mix, master and write ``out/session.wav`` (and each other format); the files by
        format ({} without FluidSynth)."""
        if self.renderer is None:
            return {}
        self.renderer.set_parallel(audio.RENDER_WORKERS)
        data = self.renderer.mix(
            arranged, self.segments(arranged, final=True), audio.frames(arranged, SAMPLE_RATE)
        )
        wav = out / "session.wav"
        m = self.mastering
        audio.finish(
            data, SAMPLE_RATE, wav, target_lufs=m.target_lufs, fade_in_s=m.fade_in_s,
            fade_out_s=m.fade_out_s,
        )  # fmt: skip
        del data
        self.renderer.close()  # frees the mix: the measurement reads the WAV into that memory
        written = {"wav": wav}
        for fmt in formats:
            if fmt == "opus":
                written[fmt] = opus.to_opus(wav, out / f"session{opus.SUFFIX}")
            elif fmt != "wav":
                written[fmt] = audio.to_format(wav, out / f"session.{fmt}")
        return written

    def close(self) -> None:
        if self.renderer is not None:
            self.renderer.close()
