"""The session pipeline: prescription → plan → generation → render → evaluation.

``run_session`` writes, into one folder:
``session.mid``, ``session.wav`` (and FLAC, OGG Vorbis or Opus on request), ``session.musicxml``,
``session.svg`` (first pages), ``prescription.json``, ``plan.png`` (planned and measured tempo
and arousal) and ``report.json`` (adherence measured from the written files).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import symusic

from cadence.errors import CadenceError
from cadence.evaluation import adherence
from cadence.generation.form import section_starts
from cadence.generation.generator import generate
from cadence.generation.plan import ControlPlan
from cadence.generation.sampling import SamplingConfig
from cadence.models import Model
from cadence.models.shipped import resolve_model_dir
from cadence.music.bounded import load_score_within
from cadence.music.formats import LOADING_ERRORS
from cadence.render import arrange, audio, chunks, midi, opus, plot, score
from cadence.therapy.prescription import Prescription
from cadence.therapy.primer import encode_primer

log = logging.getLogger(__name__)
AUDIO_FORMATS = ("wav", "flac", "ogg", "opus")  # opus: the rendition patients stream
SAMPLE_RATE = 44100


@dataclass
class SessionResult:
    out: Path
    files: dict[str, Path]
    report: dict
    warnings: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)


def load_primer(path: str | Path | None) -> symusic.Score | None:
    """The patient's favourite tune as a Score, or a CadenceError naming the file."""
    if path is None:
        return None

    path = Path(path)
    if not path.is_file():
        raise CadenceError(f"primer {path} does not exist; give a MIDI, ABC or MusicXML file")
    try:
        primer = load_score_within(path)
    except LOADING_ERRORS as err:
        raise CadenceError(
            f"primer {path} could not be read ({err}); give a MIDI, ABC or MusicXML file"
        ) from None
    if sum(len(t.notes) for t in primer.tracks) == 0:
        raise CadenceError(f"primer {path} holds no notes")
    return primer


class _AudioPipeline:
    """Renders the session's audio in segments, starting while the model still composes.

    Segments are whole groups of bars (about :data:`chunks.SEGMENT_S` seconds). While the
    model composes (one core), finished segments render one at a time on the other core;
    afterwards the rest render in parallel, and :meth:`finish` mixes, fades, normalises and
    writes the WAV (and FLAC/OGG). Without FluidSynth or a soundfont it does nothing and
    :attr:`missing` says why.
    """

    def __init__(self, plan: ControlPlan, prescription: Prescription) -> None:
        self.plan = plan
        self.prescription = prescription
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
        if self.renderer is None:
            return {}
        self.renderer.set_parallel(audio.RENDER_WORKERS)
        data = self.renderer.mix(
            arranged, self.segments(arranged, final=True), audio.frames(arranged, SAMPLE_RATE)
        )
        wav = out / "session.wav"
        audio.finish(
            data,
            SAMPLE_RATE,
            wav,
            target_lufs=self.prescription.target_lufs,
            fade_in_s=self.prescription.fade_in_s,
            fade_out_s=self.prescription.fade_out_s,
        )
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


def run_session(
    prescription: Prescription,
    out: str | Path,
    *,
    model: str | Path | None = None,
    primer: str | Path | None = None,
    primer_mode: str = "vary",
    sampling: SamplingConfig | None = None,
    formats: tuple[str, ...] = ("wav",),
    svg_pages: int = 2,
    on_bar: Callable[[int, int], None] | None = None,
    on_stage: Callable[[str], None] | None = None,
) -> SessionResult:
    """Run one session; every input is checked before anything is written.

    on_bar(done, total) reports composition bar by bar; on_stage("render") and
    on_stage("measure") announce the stages after it (audio, score, then adherence).
    """
    unknown = [f for f in formats if f not in AUDIO_FORMATS]
    if unknown:
        raise CadenceError(f"unknown audio format {unknown[0]!r}; use {', '.join(AUDIO_FORMATS)}")
    primer_score = load_primer(primer)
    net = Model.from_pretrained(resolve_model_dir(model))
    net.eval()
    _check_meter(prescription, net)
    plan = prescription.to_control_plan()
    primer_ids = encode_primer(net.tokenizer, primer_score) if primer_score is not None else None

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    pipeline = _AudioPipeline(plan, prescription)
    try:
        return _compose_and_render(
            prescription, plan, net, model, out, pipeline, primer_ids, primer_mode, sampling,
            formats, svg_pages, on_bar, on_stage or (lambda _stage: None),
        )  # fmt: skip
    finally:
        pipeline.close()


def _check_meter(prescription: Prescription, net: Model) -> None:
    """A meter the model's tokenizer has no time-signature token for is the user's error, said
    before anything is written (it used to surface as a ValueError deep in generation)."""
    known = [t.split("_", 1)[1] for t in net.tokenizer.vocab if t.startswith("TimeSig_")]
    meter = f"{prescription.meter[0]}/{prescription.meter[1]}"
    if meter not in known:
        raise CadenceError(
            f"meter: got {meter}; this model composes in {', '.join(sorted(known))} only"
        )


def _compose_and_render(
    prescription: Prescription,
    plan: ControlPlan,
    net: Model,
    model: str | Path | None,
    out: Path,
    pipeline: _AudioPipeline,
    primer_ids: list[int] | None,
    primer_mode: str,
    sampling: SamplingConfig | None,
    formats: tuple[str, ...],
    svg_pages: int,
    on_bar: Callable[[int, int], None] | None,
    on_stage: Callable[[str], None],
) -> SessionResult:
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    result = generate(
        net,
        plan,
        sampling=sampling,
        seed=prescription.seed or 0,
        primer_ids=primer_ids,
        primer_mode=primer_mode,
        on_bar=on_bar,
        on_partial=pipeline.on_partial,
        partial_bars=pipeline.bars_per_segment,
    )
    timings["generate_s"] = time.perf_counter() - t0
    on_stage("render")

    t0 = time.perf_counter()
    files = {"prescription": out / "prescription.json", "midi": out / "session.mid"}
    files["prescription"].write_text(prescription.to_json())
    arranged = arrange.arrange(result.score, plan)
    midi.to_midi(arranged, files["midi"])
    warnings: list[str] = []
    files["musicxml"] = out / "session.musicxml"
    files["svg"] = out / "session.svg"
    if pipeline.missing:
        warnings.append(f"no audio: {pipeline.missing}")
    # FluidSynth runs in subprocesses, so the score is engraved, and the MIDI file measured
    # and plotted, meanwhile; only the WAV's measurement waits for the audio.
    n_bars = len(plan.bars)
    with ThreadPoolExecutor(max_workers=1) as pool:
        audio_job = pool.submit(pipeline.finish, arranged, out, formats)
        score.to_musicxml(
            arranged,
            files["musicxml"],
            title=score.session_title(prescription.goal, prescription.minutes, date.today()),
            sections=section_starts(result.sections),
        )
        score.to_svg(files["musicxml"], files["svg"], max_pages=svg_pages)
        timings["render_score_s"] = time.perf_counter() - t0
        from_midi = adherence.midi_figures(
            files["midi"], planned_bpm=[b.tempo_bpm for b in plan.bars], meter=plan.meter,
            scale_pcs=plan.scale,
        )  # fmt: skip
        files["plan"] = out / "plan.png"
        plot.plot_plan(
            files["plan"],
            planned_tempo=[b.tempo_bpm for b in plan.bars],
            planned_arousal=[b.arousal for b in plan.bars],
            measured_tempo=adherence.tempo_per_bar(files["midi"], n_bars, plan.meter),
            measured_arousal=adherence.arousal_per_bar(files["midi"], n_bars, plan.meter),
            bar_seconds=plan.bar_seconds(),
        )
        timings["measure_midi_s"] = time.perf_counter() - t0 - timings["render_score_s"]
        files.update(audio_job.result())
    timings["render_s"] = time.perf_counter() - t0
    on_stage("measure")

    t0 = time.perf_counter()
    report = adherence.measure(
        files["midi"],
        files.get("wav"),
        planned_bpm=[b.tempo_bpm for b in plan.bars],
        meter=plan.meter,
        scale_pcs=plan.scale,
        target_lufs=prescription.target_lufs,
        requested_seconds=prescription.minutes * 60.0,
        bar_seconds=max(plan.bar_seconds()),
        undecodable=result.undecodable,
        midi=from_midi,
    ).to_dict()
    report.update(
        {
            "goal": prescription.goal,
            "bars": n_bars,
            "copied_bars": result.copied_bars,
            "model": str(resolve_model_dir(model)),
            "seed": prescription.seed or 0,
        }
    )
    timings["evaluate_s"] = time.perf_counter() - t0
    report["timings"] = {k: round(v, 3) for k, v in timings.items()}
    report["warnings"] = warnings
    files["report"] = out / "report.json"
    files["report"].write_text(json.dumps(report, indent=2))
    return SessionResult(out, files, report, warnings, timings)
