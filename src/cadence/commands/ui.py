"""What every command shares on the terminal: the error console (stderr) and progress bars."""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

console = Console(stderr=True)


def progress(disable: bool = False) -> Progress:
    """A transient progress bar on :data:`console`."""
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


def lufs(value: float | None) -> str:
    """A measured loudness for a summary line: two decimals, or why there is none."""
    return "no audio" if value is None else f"{value:.2f} LUFS"
