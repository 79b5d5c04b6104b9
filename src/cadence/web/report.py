"""A patient's report for the web: per outcome measure, the before/after pairs of each session,
their paired statistics (:func:`cadence.evaluation.outcomes.paired_stats`), and a plot.

Built from clinic's views only (``list_outcomes``, ``list_sessions``), so every read is audited.
"""

from __future__ import annotations

import io
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from cadence.evaluation.outcomes import paired_stats


@dataclass
class MeasureReport:
    measure: str
    pairs: list[tuple[int, float, float]] = field(default_factory=list)  # session, before, after
    singles: list[tuple[int | None, str, float]] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)


@dataclass
class PatientReport:
    code: str
    sessions: int
    goals: dict[str, int]
    ratings: list[tuple[int, int]]  # session id, rating
    measures: list[MeasureReport]

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "sessions": self.sessions,
            "goals": self.goals,
            "ratings": [{"session_id": s, "rating": r} for s, r in self.ratings],
            "measures": [
                {
                    "measure": m.measure,
                    "pairs": [{"session_id": s, "before": b, "after": a} for s, b, a in m.pairs],
                    "stats": m.stats,
                }
                for m in self.measures
            ],
        }


def build_report(
    code: str, sessions: list[Any], outcomes: list[Any], ratings: dict[int, list[int]]
) -> PatientReport:
    """``sessions``: clinic SessionViews; ``outcomes``: OutcomeViews; ``ratings``: session id
    -> its feedback ratings (the report shows the latest)."""
    goals: dict[str, int] = defaultdict(int)
    latest: list[tuple[int, int]] = []
    for s in sessions:
        goals[s.goal] += 1
        if ratings.get(s.id):
            latest.append((s.id, int(ratings[s.id][-1])))
    by_measure: dict[str, dict[int | None, dict[str, float]]] = defaultdict(dict)
    reports: dict[str, MeasureReport] = {}
    for o in sorted(outcomes, key=lambda o: (o.measure, o.id)):
        rep = reports.setdefault(o.measure, MeasureReport(o.measure))
        if o.session_id is None:
            rep.singles.append((None, o.phase, float(o.value)))
            continue
        by_measure[o.measure].setdefault(o.session_id, {})[o.phase] = float(o.value)
    for measure, per_session in by_measure.items():
        rep = reports[measure]
        for sid, phases in sorted(per_session.items(), key=lambda kv: kv[0] or 0):
            if "before" in phases and "after" in phases and sid is not None:
                rep.pairs.append((sid, phases["before"], phases["after"]))
            else:
                for phase, value in phases.items():
                    rep.singles.append((sid, phase, value))
    for rep in reports.values():
        before = [b for _, b, _ in rep.pairs]
        after = [a for _, _, a in rep.pairs]
        rep.stats = paired_stats(before, after, n_resamples=2000).to_dict()
    return PatientReport(code, len(sessions), dict(goals), latest, list(reports.values()))


def plot_png(report: PatientReport) -> bytes:
    """One panel per measure with pairs: before and after per session; PNG bytes."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    shown = [m for m in report.measures if m.pairs] or report.measures[:1]
    n = max(1, len(shown))
    fig = Figure(figsize=(7, 2.6 * n), dpi=96)
    axes = fig.subplots(n, 1, squeeze=False)[:, 0]
    for ax, m in zip(axes, shown, strict=False):
        xs = list(range(1, len(m.pairs) + 1))
        ax.plot(xs, [b for _, b, _ in m.pairs], "o--", label="before", color="#8899aa")
        ax.plot(xs, [a for _, _, a in m.pairs], "o-", label="after", color="#2a6f97")
        ax.set_title(m.measure)
        ax.set_xlabel("session")
        ax.set_xticks(xs, [f"#{s}" for s, _, _ in m.pairs])
        ax.legend(loc="best", fontsize=8)
    if not shown:
        axes[0].text(0.5, 0.5, "no outcomes recorded yet", ha="center", va="center")
        axes[0].set_axis_off()
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()
