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


def adherence_summary(report: dict, target_lufs: float) -> str:
    """The session summary's measured figures: bars, length, tempo, scale and loudness
    (two decimals, or "no audio") against the target."""
    loudness = report["loudness_lufs"]
    measured = "no audio" if loudness is None else f"{loudness:.2f} LUFS"
    return (
        f"{report['bars']} bars, {report['duration_s']:.1f} s; max tempo deviation "
        f"{report['max_tempo_deviation_bpm']} BPM; in scale {report['in_scale_share']:.3f}; "
        f"loudness {measured} (target {target_lufs})"
    )
