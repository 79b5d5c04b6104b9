"""The plan plot: planned and measured tempo and arousal over the session, as a PNG.

Drawn on a bare :class:`~matplotlib.figure.Figure` with the Agg canvas, so pyplot's global
backend and figure list are never touched (safe in servers, threads and notebooks).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

PLANNED_STYLE = {"color": "tab:blue", "linewidth": 2.0, "label": "planned"}
MEASURED_STYLE = {"color": "tab:orange", "linewidth": 1.2, "linestyle": "--", "label": "measured"}


def _bar_starts_minutes(n_bars: int, bar_seconds: float | Sequence[float]) -> np.ndarray:
    """Start and end times (minutes) of ``n_bars`` bars: n_bars + 1 edges."""
    if isinstance(bar_seconds, int | float):
        lengths = np.full(n_bars, float(bar_seconds))
    else:
        lengths = np.asarray(bar_seconds, dtype=float)
        if len(lengths) != n_bars:
            raise ValueError(f"bar_seconds: expected {n_bars} values, got {len(lengths)}")
    return np.concatenate([[0.0], np.cumsum(lengths)]) / 60.0


def _steps(ax, edges: np.ndarray, values: Sequence[float], style: dict) -> None:
    """Draw one value per bar as a step line spanning each bar."""
    vals = np.asarray(values, dtype=float)
    ax.stairs(vals, edges[: len(vals) + 1], baseline=None, **style)


def plot_plan(
    path: str | Path,
    planned_tempo: Sequence[float],
    planned_arousal: Sequence[float],
    measured_tempo: Sequence[float] | None = None,
    measured_arousal: Sequence[float] | None = None,
    bar_seconds: float | Sequence[float] = 2.0,
    title: str = "Session plan: tempo and arousal",
) -> Path:
    """Write a PNG with two stacked panels, tempo (BPM) and arousal (-1..1), over minutes.

    One value per bar; ``bar_seconds`` is each bar's length (or one length for all), so the
    time axis follows the planned tempo path. Measured series are drawn dashed when given and
    may be shorter than the plan. Raises ValueError when the planned series differ in
    length, are empty, or a measured series is longer than the plan.
    """
    n = len(planned_tempo)
    if n == 0 or len(planned_arousal) != n:
        raise ValueError(
            f"planned_tempo/planned_arousal: need equal, non-zero lengths, got {n} and "
            f"{len(planned_arousal)}"
        )
    measured = {"measured_tempo": measured_tempo, "measured_arousal": measured_arousal}
    for name, series in measured.items():
        if series is not None and len(series) > n:
            raise ValueError(f"{name}: {len(series)} values for {n} planned bars")
    edges = _bar_starts_minutes(n, bar_seconds)
    fig = Figure(figsize=(9.0, 6.0), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    tempo_ax, arousal_ax = fig.subplots(2, 1, sharex=True)
    _steps(tempo_ax, edges, planned_tempo, PLANNED_STYLE)
    _steps(arousal_ax, edges, planned_arousal, PLANNED_STYLE)
    if measured_tempo is not None and len(measured_tempo):
        _steps(tempo_ax, edges, measured_tempo, MEASURED_STYLE)
    if measured_arousal is not None and len(measured_arousal):
        _steps(arousal_ax, edges, measured_arousal, MEASURED_STYLE)
    tempo_ax.set_ylabel("tempo (BPM, quarter notes)")
    arousal_ax.set_ylabel("arousal (-1 calm .. 1 excited)")
    arousal_ax.set_ylim(-1.05, 1.05)
    arousal_ax.set_xlabel("time (minutes)")
    arousal_ax.set_xlim(0.0, edges[-1])
    for ax in (tempo_ax, arousal_ax):
        ax.grid(True, alpha=0.3)
        ax.legend(loc="best")
    fig.suptitle(title)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png")
    return path
