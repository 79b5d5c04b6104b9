"""The session pipeline: plan → generation → render → evaluation.

``run_session(plan, out)`` is the one path from a :class:`~cadence.therapy.session_plan.
SessionPlan` to a finished folder, for the CLI, the API and the web. It writes:
``session.mid``, ``session.wav`` (and FLAC, OGG Vorbis or Opus on request),
``session.musicxml``, ``session.svg`` (first pages), ``prescription.json``, ``plan.png``
(planned and measured tempo and arousal) and ``report.json`` (adherence measured from the
written files, with the plan's patient variant and notes), written once. Rendering itself
lives in ``render/``: the audio behind :class:`~cadence.render.segments.SegmentedAudio`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import symusic

from cadence.errors import CadenceError
from cadence.evaluation import adherence
from cadence.generation.form import section_starts
from cadence.generation.generator import GenerationResult, generate
from cadence.generation.plan import ControlPlan
from cadence.models import Model
from cadence.models.shipped import resolve_model_dir
from cadence.music.bounded import load_score_within
from cadence.music.formats import LOADING_ERRORS
from cadence.render import arrange, midi, plot, score
from cadence.render.segments import Mastering, SegmentedAudio
from cadence.therapy.prescription import Prescription
from cadence.therapy.primer import encode_primer
from cadence.therapy.session_plan import SessionPlan


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


def run_session(
    plan: SessionPlan,
    out: str | Path,
    *,
    svg_pages: int = 2,
    on_bar: Callable[[int, int], None] | None = None,
    on_stage: Callable[[str], None] | None = None,
) -> SessionResult:
    """Play ``plan`` into the folder ``out``. Every input is checked before anything is
    written; a patient adapter that cannot be used falls back to the base model with a
    warning in the report.

    on_bar(done, total) reports composition bar by bar; on_stage("render") and
    on_stage("measure") announce the stages after it (audio, score, then adherence).
    """
    prescription = plan.prescription
    primer_score = load_primer(plan.primer)
    base = resolve_model_dir(plan.model)
    net = Model.from_pretrained(base)
    net.eval()
    warnings: list[str] = []
    adapted = _apply_adapter(net, base, plan.adapter, warnings)
    _check_meter(prescription, net)
    control = prescription.to_control_plan()
    primer_ids = encode_primer(net.tokenizer, primer_score) if primer_score is not None else None

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    mastering = Mastering(prescription.target_lufs, prescription.fade_in_s, prescription.fade_out_s)
    run = _Run(plan, control, net, out, SegmentedAudio(control, mastering), warnings)
    stage = on_stage or (lambda _stage: None)
    try:
        result = _compose(run, primer_ids, on_bar)
        stage("render")
        files = _render(run, result, svg_pages)
        stage("measure")
        report = _measure(run, result, files, {"model": str(base), "adapter": adapted})
    finally:
        run.audio.close()
    return SessionResult(out, files, report, warnings, run.timings)


@dataclass
class _Run:
    """One session in progress: what its stages share."""

    plan: SessionPlan
    control: ControlPlan
    net: Model
    out: Path
    audio: SegmentedAudio
    warnings: list[str]
    timings: dict[str, float] = field(default_factory=dict)
    midi_figures: dict[str, float] | None = None  # measured while the audio renders


def _apply_adapter(net: Model, base: Path, adapter: Path | None, warnings: list[str]) -> bool:
    """Merge the patient's adapter into ``net``; False, with a warning, when it cannot be used
    (missing, damaged, or made for other weights): the base model plays instead."""
    if adapter is None:
        return False
    from cadence.training.finetune import Adapter, apply_adapter, weights_hash

    try:
        apply_adapter(net, Adapter.load(adapter), base_sha256=weights_hash(base))
    except CadenceError as err:
        warnings.append(f"the patient's adapter was not used ({err}); the base model played")
        return False
    return True


def _check_meter(prescription: Prescription, net: Model) -> None:
    """A meter the model's tokenizer has no time-signature token for is the user's error, said
    before anything is written (it used to surface as a ValueError deep in generation)."""
    known = [t.split("_", 1)[1] for t in net.tokenizer.vocab if t.startswith("TimeSig_")]
    meter = f"{prescription.meter[0]}/{prescription.meter[1]}"
    if meter not in known:
        raise CadenceError(
            f"meter: got {meter}; this model composes in {', '.join(sorted(known))} only"
        )


def _compose(
    run: _Run, primer_ids: list[int] | None, on_bar: Callable[[int, int], None] | None
) -> GenerationResult:
    t0 = time.perf_counter()
    plan = run.plan
    result = generate(
        run.net,
        run.control,
        sampling=plan.sampling,
        seed=plan.prescription.seed or 0,
        primer_ids=primer_ids,
        primer_mode=plan.primer_mode,
        on_bar=on_bar,
        on_partial=run.audio.on_partial,
        partial_bars=run.audio.bars_per_segment,
    )
    run.timings["generate_s"] = time.perf_counter() - t0
    return result


def _render(run: _Run, result: GenerationResult, svg_pages: int) -> dict[str, Path]:
    """The MIDI, score, plot and audio files. FluidSynth runs in subprocesses, so the score is
    engraved, and the MIDI file measured and plotted, meanwhile."""
    t0 = time.perf_counter()
    out, control, prescription = run.out, run.control, run.plan.prescription
    files = {"prescription": out / "prescription.json", "midi": out / "session.mid"}
    files["prescription"].write_text(prescription.to_json())
    arranged = arrange.arrange(result.score, control)
    midi.to_midi(arranged, files["midi"])
    files["musicxml"] = out / "session.musicxml"
    files["svg"] = out / "session.svg"
    if run.audio.missing:
        run.warnings.append(f"no audio: {run.audio.missing}")
    n_bars = len(control.bars)
    with ThreadPoolExecutor(max_workers=1) as pool:
        audio_job = pool.submit(run.audio.finish, arranged, out, run.plan.formats)
        score.to_musicxml(
            arranged,
            files["musicxml"],
            title=score.session_title(prescription.goal, prescription.minutes, date.today()),
            sections=section_starts(result.sections),
        )
        score.to_svg(files["musicxml"], files["svg"], max_pages=svg_pages)
        run.timings["render_score_s"] = time.perf_counter() - t0
        run.midi_figures = adherence.midi_figures(
            files["midi"], planned_bpm=[b.tempo_bpm for b in control.bars], meter=control.meter,
            scale_pcs=control.scale,
        )  # fmt: skip
        files["plan"] = out / "plan.png"
        plot.plot_plan(
            files["plan"],
            planned_tempo=[b.tempo_bpm for b in control.bars],
            planned_arousal=[b.arousal for b in control.bars],
            measured_tempo=adherence.tempo_per_bar(files["midi"], n_bars, control.meter),
            measured_arousal=adherence.arousal_per_bar(files["midi"], n_bars, control.meter),
            bar_seconds=control.bar_seconds(),
        )
        run.timings["measure_midi_s"] = time.perf_counter() - t0 - run.timings["render_score_s"]
        files.update(audio_job.result())
    run.timings["render_s"] = time.perf_counter() - t0
    return files


def _measure(
    run: _Run, result: GenerationResult, files: dict[str, Path], model: dict[str, Any]
) -> dict:
    """Adherence measured from the written files, with what the plan adds, written once to
    report.json."""
    t0 = time.perf_counter()
    control, prescription = run.control, run.plan.prescription
    report = adherence.measure(
        files["midi"],
        files.get("wav"),
        planned_bpm=[b.tempo_bpm for b in control.bars],
        meter=control.meter,
        scale_pcs=control.scale,
        target_lufs=prescription.target_lufs,
        requested_seconds=prescription.minutes * 60.0,
        bar_seconds=max(control.bar_seconds()),
        undecodable=result.undecodable,
        midi=run.midi_figures,
    ).to_dict()
    report.update({
        "goal": prescription.goal, "bars": len(control.bars), "copied_bars": result.copied_bars,
        **model, "seed": prescription.seed or 0, **run.plan.report_fields(),
    })  # fmt: skip
    run.timings["evaluate_s"] = time.perf_counter() - t0
    report["timings"] = {k: round(v, 3) for k, v in run.timings.items()}
    report["warnings"] = run.warnings
    files["report"] = run.out / "report.json"
    files["report"].write_text(json.dumps(report, indent=2))
    return report
