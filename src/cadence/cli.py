"""The `cadence` command line: one subcommand per user task, thin over the layers.

User errors (:class:`cadence.errors.CadenceError`) print one line and exit 2.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from cadence import __version__
from cadence.commands import session as _session
from cadence.commands.ui import console
from cadence.commands.ui import progress as _progress
from cadence.errors import CadenceError

app = typer.Typer(
    name="cadence",
    help="Therapeutic music generation under a measurable prescription.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


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


app.command(name="session")(_session.session)
app.command(name="generate")(_session.generate)


@app.command()
def evaluate(
    generated: Path = typer.Argument(..., help="Folder of generated MIDI files or sessions."),
    reference: Path = typer.Option(..., "--reference", help="Dataset folder (its test split)."),
    out: Path = typer.Option(Path("out/evaluation"), "--out", help="Folder for JSON and PNG."),
    limit: int = typer.Option(300, "--limit", help="At most this many reference pieces."),
    musicality: bool = typer.Option(
        False, "--musicality", help="The musicality benchmark, per goal (docs/musicality.md)."
    ),
    style: list[str] | None = typer.Option(
        None, "--style", help="Musicality: reference collection(s); default: the goal's styles."
    ),
    reference_from: str = typer.Option(
        "tokens", "--reference-from", help="Musicality: reference notes from tokens or sources."
    ),
    seed: int = typer.Option(0, "--seed", help="Musicality: seed of subsampling and folds."),
) -> None:
    """Compare generated music with held-out real music, metric by metric."""
    import warnings

    from cadence.evaluation.compare import evaluate as run_evaluate

    if musicality:
        _evaluate_musicality(generated, reference, out, limit, style, reference_from, seed)
        return
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


def _evaluate_musicality(
    generated: Path,
    reference: Path,
    out: Path,
    limit: int,
    styles: list[str] | None,
    source: str,
    seed: int,
) -> None:
    """`cadence evaluate --musicality`: the benchmark per goal, as tables and JSON."""
    import json

    from cadence.evaluation.musicality.benchmark import to_json_data
    from cadence.evaluation.musicality.folders import evaluate_folders
    from cadence.evaluation.musicality.report import tables

    goal_styles = None
    if not styles and next(generated.rglob("prescription.json"), None) is not None:
        from cadence.therapy.goals import GOAL_STYLES

        goal_styles = GOAL_STYLES
    with _progress() as bar:
        task = bar.add_task("musicality", total=None)

        def update(stage: str, done: int, total: int) -> None:
            bar.update(task, description=stage, completed=done, total=total)

        result = evaluate_folders(
            generated, reference, styles=styles, goal_styles=goal_styles, source=source,
            limit=limit, seed=seed, on_progress=update,
        )  # fmt: skip
    for title, columns, rows in tables(result):
        table = Table(title=title)
        for col in columns:
            table.add_column(col)
        for row in rows:
            table.add_row(*row)
        Console().print(table)
    out.mkdir(parents=True, exist_ok=True)
    (out / "musicality.json").write_text(json.dumps(to_json_data(result), indent=2))
    typer.echo(f"wrote {out / 'musicality.json'}")


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


def os_error_line(err: OSError) -> str:
    """One line for a failed file operation: what failed, on which path."""
    what = err.strerror or type(err).__name__
    paths = [str(p) for p in (err.filename, err.filename2) if p is not None]
    if not paths:
        return f"{what} ({err})" if str(err) and str(err) != what else what
    return f"{what}: {' -> '.join(paths)}; give a folder or file you can write (or read)"


def _option_hint(err: CadenceError) -> str:
    """' (option --cadence)' for an error naming a session input, so the line says what to
    type; the message itself is the same on every interface."""
    from cadence.therapy.request import BY_NAME

    spec = BY_NAME.get(str(getattr(err, "field", "") or ""))
    return f" (option {spec.option})" if spec is not None and spec.option not in str(err) else ""


def main() -> None:
    """Entry point: run the app, turning user errors into one line and exit code 2."""
    try:
        app()
    except CadenceError as err:
        console.print(f"[bold red]error:[/] {err}{_option_hint(err)}", highlight=False,
                      soft_wrap=True)
        sys.exit(2)
    except OSError as err:  # a path the user gave that cannot be written or read
        console.print(f"[bold red]error:[/] {os_error_line(err)}", highlight=False,
                      soft_wrap=True)
        sys.exit(2)
    except KeyboardInterrupt:
        console.print("interrupted")
        sys.exit(130)
