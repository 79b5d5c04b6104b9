"""`cadence bench`: every benchmark side by side in one process, with ratios."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

DOCS = Path("docs/benchmarks.md")


def bench(
    json_path: Path = typer.Option(Path("out/bench.json"), "--json", help="Write results here."),
    quick: bool = typer.Option(False, "--quick", help="Short budgets (seconds; for tests)."),
    only: str | None = typer.Option(
        None, "--only", help="Comma-separated stages: ingest,train,generate,render."
    ),
    data: Path | None = typer.Option(
        None, "--data", help="Folder of MIDI files (default ../shared/data/nottingham/midi)."
    ),
    train_data: Path | None = typer.Option(
        None, "--train-data", help="Dataset folder for training (default: ingest --data)."
    ),
    train_budget: float | None = typer.Option(
        None, "--train-budget", help="Seconds of training per side (default 60; quick 2)."
    ),
    threads: int = typer.Option(1, "--threads", help="torch threads for every stage."),
    docs: Path | None = typer.Option(
        None,
        "--docs",
        help="Markdown file whose bench section is regenerated (default docs/benchmarks.md "
        "when it exists; never by default with --quick).",
    ),
) -> None:
    """Run the benchmarks side by side (ingest, training, generation, audio) and print ratios."""
    from cadence.evaluation.bench import BenchSettings, parse_only, run_bench
    from cadence.evaluation.bench.report import (
        markdown,
        number,
        ratio_text,
        update_docs,
        write_json,
    )

    settings = BenchSettings.for_mode(
        quick,
        only=parse_only(only),
        data=data,
        train_data=train_data,
        train_budget_s=train_budget,
        threads=threads,
    )
    settings.check()
    err = Console(stderr=True)
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    )
    with progress:
        tasks = {s: progress.add_task(s, total=None, start=False) for s in settings.only}

        def update(stage: str, done: int, total: int, description: str) -> None:
            task = tasks[stage]
            progress.start_task(task)
            progress.update(task, completed=done, total=total or None, description=description)

        results = run_bench(settings, update)

    table = Table(title="cadence bench" + (" (quick)" if quick else ""))
    for col in ("what", "Cadence", "baseline", "ratio", "target", "met?"):
        table.add_column(col)
    for r in results["comparisons"]:
        target = "—" if r["target"] is None else f"≥ {number(r['target'])}×"
        met = "—" if r["met"] is None else ("yes" if r["met"] else "no")
        table.add_row(
            r["what"],
            f"{number(r['cadence'])} {r['unit']}",
            f"{number(r['baseline'])} ({r['baseline_name']})",
            f"{ratio_text(r)}×",
            target,
            met,
        )
    Console().print(table)
    for stage, why in results["skipped"].items():
        err.print(f"[yellow]warning:[/] {stage} skipped: {why}", highlight=False)
    write_json(json_path, results)
    written = [str(json_path)]
    if docs is None and not quick and DOCS.is_file():
        docs = DOCS
    if docs is not None:
        update_docs(docs, markdown(results))
        written.append(str(docs))
    typer.echo(f"wrote {' and '.join(written)}")
