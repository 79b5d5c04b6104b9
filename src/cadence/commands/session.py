"""`cadence session` (the main job) and `cadence generate` (free composition)."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from cadence.commands.ui import adherence_summary, console
from cadence.commands.ui import progress as _progress
from cadence.errors import CadenceError
from cadence.generation.sampling_config import DEFAULT_SAMPLING
from cadence.therapy.request import AUDIO_FORMATS, FIELDS, Input

if TYPE_CHECKING:
    from cadence.therapy.session import SessionResult
    from cadence.therapy.session_plan import SessionPlan


def _sampling(temperature: float, top_k: int, top_p: float):  # type: ignore[no-untyped-def]
    from cadence.generation.sampling_config import SamplingConfig

    try:
        return SamplingConfig(temperature=temperature, top_k=top_k, top_p=top_p)
    except ValueError as err:
        raise CadenceError(str(err)) from None


RUN_OPTIONS = (
    ("out", Path, typer.Option(..., "--out", help="Folder for the session's files.")),
    ("model", str | None,
     typer.Option(None, "--model", help="Checkpoint folder, or lstm / transformer.")),
    ("primer", Path | None,
     typer.Option(None, "--primer", help="A favourite tune (MIDI, ABC, MusicXML).")),
    ("patient", str | None, typer.Option(
        None, "--patient", help="Patient code: personalised from the clinic records.")),
    ("audio_format", list[str], typer.Option(
        ["wav"], "--format", help=f"Audio: {', '.join(AUDIO_FORMATS)} (repeatable).")),
)  # fmt: skip
_TYPES = {"number": float, "int": int, "text": str, "choice": str}


def _option(f: Input) -> tuple[Any, Any]:
    """(annotation, typer.Option) of one request field: its flag, help, unit and bounds."""
    detail = "; ".join(x for x in (f.help, f.bounds) if x)
    text = f"{f.label}{' (' + f.unit + ')' if f.unit else ''}: {detail}."
    if f.kind == "bool":
        return bool, typer.Option(False, f.option, help=text)
    required = f.name in ("goal", "minutes")
    default = ... if required else f.default
    kind = _TYPES[f.kind]
    return (kind if required or default is not None else kind | None), typer.Option(
        default, f.option, help=text
    )


def session(**given: Any) -> None:
    """Compose, render and measure one therapy session (the main job)."""
    from cadence.therapy.personalise import plan_session
    from cadence.therapy.request import SessionRequest

    values = {f.name: given[f.name] for f in FIELDS if given.get(f.name) not in (None, False)}
    request = SessionRequest.from_values(
        values, primer=given["primer"], formats=tuple(given["audio_format"]),
        patient=given["patient"], model=given["model"],
    )  # fmt: skip
    if request.patient is None:
        plan = plan_session(request)
        result = _run(plan, given["out"])
    else:  # personalised from the clinic records, and recorded there
        from cadence.clinic.actors import Actor
        from cadence.clinic.config import ClinicConfig
        from cadence.clinic.db import open_clinic
        from cadence.clinic.planning import plan_for_patient, record_planned

        clinic = open_clinic(ClinicConfig.from_env())
        with clinic.session() as db:
            plan = plan_for_patient(db, Actor.system(), clinic.config, request)
        result = _run(plan, given["out"])
        with clinic.session() as db:
            view = record_planned(db, Actor.system(), plan, result)
    for warning in result.warnings:
        console.print(f"[yellow]warning:[/] {warning}", highlight=False, soft_wrap=True)
    summary = adherence_summary(result.report, plan.prescription.target_lufs)
    typer.echo(f"{request.goal}: {summary}; files in {given['out']}")
    if request.patient is not None:
        v = plan.variant or {}
        typer.echo(
            f"{plan.patient}: variant instrument {v['instrument']}, tempo "
            f"{v['tempo_offset']:+.0%}, {v['mode']}, density x{v['density']:g} "
            f"({plan.reason}){'; fine-tuned model' if result.report.get('adapter') else ''}"
            f"{''.join('; ' + n for n in plan.notes)}"
        )
        typer.echo(f"session {view.id}")


def _signature() -> inspect.Signature:
    """session's parameters: every field of therapy/request.py's FIELDS (its CLI option, help,
    unit and bounds), then how to run it."""
    params = []
    for f in FIELDS:
        annotation, option = _option(f)
        params.append(inspect.Parameter(
            f.name, inspect.Parameter.KEYWORD_ONLY, default=option, annotation=annotation))
    for name, annotation, option in RUN_OPTIONS:
        params.append(inspect.Parameter(
            name, inspect.Parameter.KEYWORD_ONLY, default=option, annotation=annotation))
    return inspect.Signature(params)  # fmt: skip


session.__signature__ = _signature()  # type: ignore[attr-defined]
session.__annotations__ = {p.name: p.annotation for p in session.__signature__.parameters.values()}


def _run(plan: SessionPlan, out: Path) -> SessionResult:
    """run_session with a progress bar: composing bar by bar, then rendering and measuring."""
    from cadence.therapy.session import run_session

    stages = {"render": "render audio and score", "measure": "measure adherence"}
    with _progress() as bar:
        task = bar.add_task("compose", total=len(plan.prescription.bars))

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        def stage(name: str) -> None:
            nonlocal task
            bar.update(task, visible=False)
            task = bar.add_task(stages.get(name, name), total=None)

        return run_session(plan, out, on_bar=update, on_stage=stage)


def generate(
    out: Path = typer.Option(..., "--out", help="Folder for piece.mid (and piece.wav)."),
    bars: int = typer.Option(32, "--bars", help="Number of bars."),
    tempo: float = typer.Option(100.0, "--tempo", help="Quarter notes per minute."),
    key: str = typer.Option("C", "--key", help="Key, e.g. C, F#, Bb, 'A minor'."),
    mode: str | None = typer.Option(None, "--mode", help="major or minor."),
    meter: str = typer.Option("4/4", "--meter", help="Time signature, e.g. 3/4, 6/8."),
    seed: int = typer.Option(0, "--seed"),
    model: str | None = typer.Option(
        None, "--model", help="Checkpoint folder, or lstm / transformer."
    ),
    primer: Path | None = typer.Option(
        None, "--primer", help="A tune to continue (MIDI, ABC, MusicXML)."
    ),
    temperature: float = typer.Option(DEFAULT_SAMPLING.temperature, "--temperature"),
    top_k: int = typer.Option(DEFAULT_SAMPLING.top_k, "--top-k"),
    top_p: float = typer.Option(DEFAULT_SAMPLING.top_p, "--top-p"),
    audio: bool = typer.Option(True, "--audio/--no-audio", help="Also render piece.wav."),
) -> None:
    """Generate a plain piece (no therapy goal) at a fixed tempo, key and meter."""
    from cadence.therapy.instruments import parse_key
    from cadence.therapy.piece import plain_plan, write_piece

    if not 1 <= bars <= 4000:
        raise CadenceError(f"--bars must be 1..4000, got {bars}")
    if not 20 <= tempo <= 300:
        raise CadenceError(f"--tempo must be 20..300 quarter notes per minute, got {tempo}")
    try:
        num, den = (int(x) for x in meter.split("/"))
        tonic, key_mode = parse_key(key)
        plan = plain_plan(bars, tempo, tonic, mode or key_mode or "major", (num, den), seed)
    except ValueError as err:
        raise CadenceError(f"bad --key, --mode or --meter: {err}") from None
    paths = write_piece(
        plan,
        out,
        model=model,
        primer=primer,
        seed=seed,
        sampling=_sampling(temperature, top_k, top_p),
        audio_out=audio,
    )
    typer.echo(f"wrote {', '.join(str(p) for p in paths)}")
