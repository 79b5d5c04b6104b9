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


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
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
