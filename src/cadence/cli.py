"""The `cadence` command line: one subcommand per user task, thin over the layers.

User errors (:class:`cadence.errors.CadenceError`) print one line and exit 2.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from cadence import __version__
from cadence.errors import CadenceError

app = typer.Typer(
    name="cadence",
    help="Therapeutic music generation under a measurable prescription.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(stderr=True)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"cadence {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    """Cadence: composes, renders and measures therapeutic music."""


@app.command()
def ingest(
    sources: list[str] = typer.Argument(
        ..., help="Files, folders, or music21:<collection> (e.g. music21:essenFolksong)."
    ),
    out: Path = typer.Option(..., "--out", help="Dataset folder to write or extend."),
    workers: int = typer.Option(0, "--workers", help="Worker processes (0: all cores)."),
    timeout: float = typer.Option(30.0, "--timeout", help="Per-file time limit in seconds."),
) -> None:
    """Read music from SOURCES into a tokenized dataset in OUT."""
    from cadence.tokens.ingest import ingest as run_ingest

    with _progress() as bar:
        task = bar.add_task("ingest", total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        summary = run_ingest(
            sources, out, workers=workers or None, timeout=timeout, on_progress=update
        )
    if summary.skipped:
        console.print(f"skipped {summary.skipped} already ingested", highlight=False)
    if summary.duplicates:
        console.print(f"{summary.duplicates} duplicates stored once", highlight=False)
    typer.echo(f"{summary.pieces} pieces, {summary.rejected} rejected")


@app.command()
def train(
    config: str = typer.Option(..., "--config", help="TOML config file, or a name in configs/."),
    data: Path = typer.Option(..., "--data", help="Dataset folder from `cadence ingest`."),
    out: Path = typer.Option(..., "--out", help="Folder for checkpoints (best/, last/) and logs."),
    resume: bool = typer.Option(False, "--resume", help="Continue from OUT/last."),
    init_from: Path | None = typer.Option(None, "--init-from", help="Checkpoint to fine-tune."),
) -> None:
    """Train a model; under `torchrun --nproc_per_node=N -m cadence train ...` it runs DDP."""
    import os

    from cadence.training.trainer import train as run_train

    main_rank = os.environ.get("RANK", "0") == "0"
    with _progress(disable=not main_rank) as bar:
        task = bar.add_task("train", total=None)

        def update(p) -> None:  # type: ignore[no-untyped-def]
            desc = f"epoch {p.epoch}/{p.epochs} loss {p.train_loss:.3f}"
            if p.valid_nll is not None:
                desc += f" valid {p.valid_nll:.3f}"
            bar.update(task, completed=p.step, total=p.total_steps, description=desc)

        try:
            result = run_train(
                config, data, out, resume=resume, on_progress=update, init_from=init_from
            )
        except KeyboardInterrupt:
            console.print(f"interrupted; saved {out / 'last'}; continue with --resume")
            raise typer.Exit(130) from None
    if main_rank:
        typer.echo(
            f"best valid NLL {result.best_valid_nll:.4f} nats/token, test NLL "
            f"{result.test_nll:.4f}; checkpoints in {out}"
        )


def _sampling(temperature: float, top_k: int, top_p: float):  # type: ignore[no-untyped-def]
    from cadence.generation.sampling import SamplingConfig

    try:
        return SamplingConfig(temperature=temperature, top_k=top_k, top_p=top_p)
    except ValueError as err:
        raise CadenceError(str(err)) from None


@app.command()
def session(
    goal: str = typer.Option(..., "--goal", help="sleep, anxiety, mood, gait, cognition or pain."),
    minutes: float = typer.Option(..., "--minutes", help="Session length, 0 < N <= 180."),
    out: Path = typer.Option(..., "--out", help="Folder for the session's files."),
    cadence: float | None = typer.Option(
        None, "--cadence", help="Gait: walking cadence, steps/min."
    ),
    heart_rate: float | None = typer.Option(
        None, "--heart-rate", help="Start state: heart rate, BPM."
    ),
    arousal: float | None = typer.Option(
        None, "--arousal", help="Start (or, for pain, preferred) arousal, -1..1."
    ),
    valence: float | None = typer.Option(
        None, "--valence", help="Start (or preferred) valence, -1..1."
    ),
    key: str | None = typer.Option(None, "--key", help="Key, e.g. C, F#, Bb, 'A minor'."),
    mode: str | None = typer.Option(None, "--mode", help="major or minor."),
    instrument: str | None = typer.Option(
        None, "--instrument", help="Melody instrument: GM name or 0-127."
    ),
    fall_risk: bool = typer.Option(False, "--fall-risk", help="Gait: never raise the tempo."),
    gait_step: float | None = typer.Option(
        None, "--gait-step", help="Gait: tempo step, 0.05-0.10."
    ),
    gait_target: float | None = typer.Option(
        None, "--gait-target", help="Gait: final change, e.g. 0.10."
    ),
    breathing_rate: float | None = typer.Option(
        None, "--breathing-rate", help="Resting breaths/min."
    ),
    birth_year: int | None = typer.Option(
        None, "--birth-year", help="Cognition: the patient's birth year."
    ),
    seed: int = typer.Option(0, "--seed", help="Random seed; the same seed gives the same music."),
    model: str | None = typer.Option(
        None, "--model", help="Checkpoint folder, or lstm / transformer."
    ),
    primer: Path | None = typer.Option(
        None, "--primer", help="A favourite tune (MIDI, ABC, MusicXML)."
    ),
    primer_mode: str = typer.Option("vary", "--primer-mode", help="vary (theme) or continue."),
    patient: str | None = typer.Option(None, "--patient", help="Patient code (clinic records)."),
    temperature: float = typer.Option(0.9, "--temperature"),
    top_k: int = typer.Option(0, "--top-k"),
    top_p: float = typer.Option(0.95, "--top-p"),
    audio_format: list[str] = typer.Option(
        ["wav"], "--format", help="Audio: wav, flac, ogg (repeatable)."
    ),
) -> None:
    """Compose, render and measure one therapy session (the main job)."""
    from cadence.therapy import Prescription
    from cadence.therapy.session import run_session

    if primer_mode not in ("vary", "continue"):
        raise CadenceError(f"--primer-mode must be 'vary' or 'continue', got {primer_mode!r}")
    if patient is not None:  # personalised from the clinic records (commands/personal.py)
        from cadence.commands.personal import patient_session

        options = {
            "cadence_spm": cadence, "heart_rate": heart_rate, "arousal": arousal,
            "valence": valence, "key": key, "mode": mode, "instrument": instrument,
            "fall_risk": fall_risk, "gait_step": gait_step, "gait_target": gait_target,
            "breathing_rate": breathing_rate, "birth_year": birth_year,
        }  # fmt: skip
        run = {
            "primer_mode": primer_mode,
            "sampling": _sampling(temperature, top_k, top_p),
            "formats": tuple(audio_format),
        }
        patient_session(
            patient, goal, minutes, out, options, seed=seed, model=model, primer=primer,
            run_kwargs=run,
        )  # fmt: skip
        return
    prescription = Prescription.for_goal(
        goal,
        minutes,
        cadence_spm=cadence,
        heart_rate=heart_rate,
        arousal=arousal,
        valence=valence,
        key=key,
        mode=mode,
        instrument=instrument,
        fall_risk=fall_risk,
        seed=seed,
        gait_step=gait_step,
        gait_target=gait_target,
        breathing_rate=breathing_rate,
        birth_year=birth_year,
    )
    sampling = _sampling(temperature, top_k, top_p)
    stages = {"render": "render audio and score", "measure": "measure adherence"}
    with _progress() as bar:
        task = bar.add_task("compose", total=len(prescription.bars))

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        def stage(name: str) -> None:
            nonlocal task
            bar.update(task, visible=False)
            task = bar.add_task(stages.get(name, name), total=None)

        result = run_session(
            prescription,
            out,
            model=model,
            primer=primer,
            primer_mode=primer_mode,
            sampling=sampling,
            formats=tuple(audio_format),
            on_bar=update,
            on_stage=stage,
        )
    for warning in result.warnings:
        console.print(f"[yellow]warning:[/] {warning}", highlight=False, soft_wrap=True)
    r = result.report
    typer.echo(
        f"{goal}: {r['bars']} bars, {r['duration_s']:.1f} s; max tempo deviation "
        f"{r['max_tempo_deviation_bpm']} BPM; in scale {r['in_scale_share']:.3f}; "
        f"loudness {r['loudness_lufs']} LUFS (target {prescription.target_lufs}); files in {out}"
    )


@app.command()
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
    temperature: float = typer.Option(0.9, "--temperature"),
    top_k: int = typer.Option(0, "--top-k"),
    top_p: float = typer.Option(0.95, "--top-p"),
    audio: bool = typer.Option(True, "--audio/--no-audio", help="Also render piece.wav."),
) -> None:
    """Generate a plain piece (no therapy goal) at a fixed tempo, key and meter."""
    from cadence.generation.plan import BarControl, ControlPlan
    from cadence.therapy.instruments import parse_key
    from cadence.therapy.piece import write_piece

    if not 1 <= bars <= 4000:
        raise CadenceError(f"--bars must be 1..4000, got {bars}")
    if not 20 <= tempo <= 300:
        raise CadenceError(f"--tempo must be 20..300 quarter notes per minute, got {tempo}")
    try:
        num, den = (int(x) for x in meter.split("/"))
        tonic, key_mode = parse_key(key)
        plan = ControlPlan(
            bars=tuple(BarControl(tempo_bpm=tempo, velocity_max=100) for _ in range(bars)),
            key_tonic=tonic,
            mode=mode or key_mode or "major",
            meter=(num, den),
        )
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


@app.command()
def evaluate(
    generated: Path = typer.Argument(..., help="Folder of generated MIDI files or sessions."),
    reference: Path = typer.Option(..., "--reference", help="Dataset folder (its test split)."),
    out: Path = typer.Option(Path("out/evaluation"), "--out", help="Folder for JSON and PNG."),
    limit: int = typer.Option(300, "--limit", help="At most this many reference pieces."),
) -> None:
    """Compare generated music with held-out real music, metric by metric."""
    import warnings

    from cadence.evaluation.compare import evaluate as run_evaluate

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # nan means over empty metric lists
        result = run_evaluate(generated, reference, out, limit=limit)
    table = Table(
        title=f"{result['generated_pieces']} generated vs "
        f"{result['reference_pieces']} reference pieces"
    )
    for col in ("metric", "generated", "reference", "overlap", "KL"):
        table.add_column(col)
    for name, m in result["metrics"].items():
        table.add_row(
            name,
            *(
                str(m[k])
                for k in ("generated_mean", "reference_mean", "overlap_area", "kl_divergence")
            ),
        )
    Console().print(table)
    if result["adherence"]:
        adh = Table(title="prescription adherence over sessions")
        for col in ("figure", "mean", "worst", "sessions"):
            adh.add_column(col)
        for name, row in result["adherence"].items():
            adh.add_row(name, str(row["mean"]), str(row["worst"]), str(row["sessions"]))
        Console().print(adh)
    typer.echo(f"wrote {out / 'evaluation.json'} and {out / 'metrics.png'}")


@app.command()
def polybench(
    dataset: str = typer.Option(..., "--dataset", help="jsb, nottingham, musedata or piano."),
    model: str = typer.Option("bernoulli", "--model", help="bernoulli or autoregressive (NADE)."),
    config: Path | None = typer.Option(None, "--config", help="TOML config (default: shipped)."),
    root: Path | None = typer.Option(None, "--root", help="Folder of the .mat files."),
    max_minutes: float | None = typer.Option(None, "--max-minutes", help="Training time limit."),
    seed: int | None = typer.Option(None, "--seed"),
    threads: int = typer.Option(0, "--threads", help="torch CPU threads (0: default)."),
    json_out: Path | None = typer.Option(None, "--json", help="Also write the result row here."),
) -> None:
    """Train and score a piano-roll model on a classic polyphonic benchmark (nats/frame)."""
    import json

    import torch

    from cadence.evaluation.polybench.run import format_table, run

    if model not in ("bernoulli", "autoregressive"):
        raise CadenceError(f"--model must be bernoulli or autoregressive, got {model!r}")
    if threads:
        torch.set_num_threads(threads)
    with _progress() as bar:
        task = bar.add_task(f"{dataset} {model}", total=None)

        def update(p: dict) -> None:
            bar.update(
                task,
                completed=p["epoch"],
                description=f"{dataset} {model} epoch {p['epoch']} valid {p['valid']:.3f}",
            )

        row = run(
            dataset,
            model,
            config=config,
            root=root,
            max_minutes=max_minutes,
            seed=seed,
            on_progress=update,
        )
    typer.echo(format_table([row]))
    if json_out:
        json_out.write_text(json.dumps(row, indent=2, default=str))


from cadence.commands.bench import bench as _bench  # noqa: E402 (registered after the others)

app.command(name="bench")(_bench)

from cadence.commands.web import serve as _serve  # noqa: E402
from cadence.commands.web import worker as _worker  # noqa: E402

app.command(name="serve")(_serve)
app.command(name="worker")(_worker)

from cadence.commands import clinic as _clinic  # noqa: E402

app.add_typer(_clinic.patient_app, name="patient")
app.add_typer(_clinic.clinician_app, name="clinician")
app.add_typer(_clinic.db_app, name="db")
app.command(name="feedback")(_clinic.feedback)
app.command(name="outcome")(_clinic.outcome)

from cadence.commands import personal as _personal  # noqa: E402

app.command(name="finetune")(_personal.finetune)
app.command(name="report")(_personal.report)
app.command(name="analyze-audio")(_personal.analyze_audio)


def _progress(disable: bool = False) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=disable,
    )


def main() -> None:
    """Entry point: run the app, turning user errors into one line and exit code 2."""
    try:
        app()
    except CadenceError as err:
        console.print(f"[bold red]error:[/] {err}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except KeyboardInterrupt:
        console.print("interrupted")
        sys.exit(130)
