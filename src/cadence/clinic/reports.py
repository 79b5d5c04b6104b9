"""Outcome reports: per patient and per goal, as plots, tables, CSV and FHIR R4 JSON.

A report pairs each session's ``before`` and ``after`` measurement of a measure (the latest of
each phase recorded for that session) and summarises the pairs with
:func:`cadence.evaluation.outcomes.paired_stats` (mean change, seeded bootstrap 95% CI,
Wilcoxon signed-rank). Which direction is an improvement comes from
:data:`cadence.clinic.outcomes.MEASURES` (``better``).

- Per patient: every paired session of every measure; trends over sessions (PNG and SVG).
- Per goal, across the patients the actor may see: each patient contributes one pair per
  measure, the mean of their before and after values over that goal's sessions, so the test's
  pairs are independent (sessions of one patient are not).

Exports: ``outcomes.csv`` (one row per measurement) and ``stats.csv`` (one row per measure), and
a FHIR R4 ``Bundle`` of ``Observation`` resources (:mod:`cadence.clinic.fhir`).

The builders (``pairs_by_measure``, ``fhir_bundle``, ``write_*``, ``plot_*``) take plain
dataclasses and are pure; :func:`patient_report` and :func:`goal_report` read through the
clinic services (which audit every read).
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from cadence.clinic.actors import Actor
from cadence.clinic.errors import InvalidValue, NotFound
from cadence.clinic.fhir import FHIR_CODES, OutcomeLike, fhir_bundle
from cadence.clinic.outcomes import MEASURES, list_outcomes
from cadence.clinic.patients import list_patients
from cadence.clinic.sessions import list_sessions
from cadence.evaluation.outcomes import PairedStats, paired_stats
from cadence.therapy.goals import GOALS


@dataclass(frozen=True)
class Pair:
    """One session's before and after value of one measure."""

    patient_code: str
    session_id: int | None
    measure: str
    before: float
    after: float
    at: datetime  # when the 'after' value was recorded
    goal: str | None = None

    @property
    def change(self) -> float:
        return self.after - self.before


@dataclass
class Report:
    """What a report wrote: its subject, per-measure statistics and files."""

    subject: str
    stats: dict[str, PairedStats]
    pairs: dict[str, list[Pair]]
    files: dict[str, Path] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "measures": {m: judged(m, s) for m, s in self.stats.items()},
            "files": {k: str(v) for k, v in self.files.items()},
        }


# Fewer pairs than this and a report gives no verdict, no confidence interval and no p-value:
# with n = 2 a bootstrap interval is two points and no signed-rank p can fall below 0.5.
MIN_PAIRS = 5


def judged(measure: str, s: PairedStats) -> dict[str, Any]:
    """``s`` as a report shows it: the means always; the CI, the test and the verdict
    ("improved") only from MIN_PAIRS pairs on, else a note saying there are too few."""
    out: dict[str, Any] = {
        **s.to_dict(),
        "title": MEASURES[measure].title if measure in MEASURES else measure,
        "unit": MEASURES[measure].unit if measure in MEASURES else "",
        "better": _better_word(measure),
        "improved": _improved(measure, s),
        "judged": s.n >= MIN_PAIRS,
    }
    if s.n < MIN_PAIRS:
        out.update(ci_low=None, ci_high=None, statistic=None, p_value=None, method=None,
                   improved=None, note=f"too few sessions to judge (n = {s.n})")
    return out


def _better_word(measure: str) -> str:
    better = MEASURES[measure].better if measure in MEASURES else 0
    return {1: "higher", -1: "lower"}.get(better, "neither")


def _improved(measure: str, s: PairedStats) -> bool | None:
    """Whether the mean change went the good way (None when the measure has no direction)."""
    better = MEASURES[measure].better if measure in MEASURES else 0
    if not better or s.mean_change is None:
        return None
    return better * s.mean_change > 0


def pairs_by_measure(
    outcomes: Iterable[OutcomeLike], goals: Mapping[int, str] | None = None
) -> dict[str, list[Pair]]:
    """Before/after pairs per measure, one per session that has both (the latest of each
    phase counts), in session order. Outcomes without a session are not paired."""
    latest: dict[tuple[str, int, str], dict[str, OutcomeLike]] = defaultdict(dict)
    for o in sorted(outcomes, key=lambda o: (o.recorded_at, o.id)):
        if o.session_id is not None:
            latest[(o.patient_code, o.session_id, o.measure)][o.phase] = o
    out: dict[str, list[Pair]] = defaultdict(list)
    for (code, sid, measure), phases in sorted(latest.items(), key=lambda kv: kv[0][1]):
        if "before" in phases and "after" in phases:
            out[measure].append(
                Pair(
                    patient_code=code,
                    session_id=sid,
                    measure=measure,
                    before=float(phases["before"].value),
                    after=float(phases["after"].value),
                    at=phases["after"].recorded_at,
                    goal=(goals or {}).get(sid),
                )
            )
    return dict(sorted(out.items()))


def stats_of(pairs: Mapping[str, Sequence[Pair]], *, seed: int = 0) -> dict[str, PairedStats]:
    """Paired statistics per measure."""
    return {
        m: paired_stats([p.before for p in ps], [p.after for p in ps], seed=seed)
        for m, ps in pairs.items()
    }


def per_patient_means(pairs: Mapping[str, Sequence[Pair]]) -> dict[str, list[Pair]]:
    """One pair per patient and measure: the mean before and mean after over their sessions
    (for statistics across patients, whose units must be independent)."""
    out: dict[str, list[Pair]] = {}
    for measure, ps in pairs.items():
        by_patient: dict[str, list[Pair]] = defaultdict(list)
        for p in ps:
            by_patient[p.patient_code].append(p)
        out[measure] = [
            Pair(
                patient_code=code,
                session_id=None,
                measure=measure,
                before=sum(p.before for p in group) / len(group),
                after=sum(p.after for p in group) / len(group),
                at=max(p.at for p in group),
                goal=group[0].goal,
            )
            for code, group in sorted(by_patient.items())
        ]
    return out


# ---- exports ---------------------------------------------------------------------------------
def write_outcomes_csv(
    path: Path, outcomes: Iterable[OutcomeLike], goals: Mapping[int, str]
) -> Path:
    """One row per measurement: patient code, session, goal, measure, phase, value, unit, time."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(
            [
                "patient_code",
                "session_id",
                "goal",
                "measure",
                "phase",
                "value",
                "unit",
                "recorded_at",
            ]
        )
        for o in sorted(outcomes, key=lambda o: (o.patient_code, o.recorded_at, o.id)):
            w.writerow(
                [
                    o.patient_code,
                    "" if o.session_id is None else o.session_id,
                    goals.get(o.session_id, "") if o.session_id is not None else "",
                    o.measure,
                    o.phase,
                    repr(float(o.value)),
                    MEASURES[o.measure].unit if o.measure in MEASURES else "",
                    o.recorded_at.isoformat(),
                ]
            )
    return path


STATS_COLUMNS = (
    "n",
    "n_nonzero",
    "mean_before",
    "mean_after",
    "mean_change",
    "ci_low",
    "ci_high",
    "statistic",
    "p_value",
    "method",
    "note",
)


def write_stats_csv(path: Path, stats: Mapping[str, PairedStats]) -> Path:
    """One row per measure with its paired statistics."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["measure", "better", *STATS_COLUMNS])
        for measure, s in stats.items():
            d = judged(measure, s)
            w.writerow(
                [measure, _better_word(measure)]
                + ["" if d[c] is None else d[c] for c in STATS_COLUMNS]
            )
    return path


# ---- plots -----------------------------------------------------------------------------------
def plot_trends(stem: Path, pairs: Mapping[str, Sequence[Pair]], title: str) -> list[Path]:
    """Before and after values per session, one panel per measure; ``stem``.png and .svg."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    measures = [m for m, ps in pairs.items() if ps]
    n = max(len(measures), 1)
    fig = Figure(figsize=(10.0, 3.6 * n))
    FigureCanvasAgg(fig)
    axes = fig.subplots(n, 1, squeeze=False)[:, 0]
    for ax, measure in zip(axes, measures, strict=False):
        ps = pairs[measure]
        x = list(range(1, len(ps) + 1))
        ax.plot(x, [p.before for p in ps], "o-", color="#555555", label="before", ms=7, lw=2)
        ax.plot(x, [p.after for p in ps], "s-", color="tab:blue", label="after", ms=7, lw=2)
        for xi, p in zip(x, ps, strict=True):
            ax.annotate(
                "",
                (xi, p.after),
                (xi, p.before),
                arrowprops={"arrowstyle": "->", "color": "tab:orange", "lw": 1.5},
            )
        spec = MEASURES.get(measure)
        ax.set_title(spec.label if spec else measure, fontsize=14, loc="left")
        ax.set_ylabel(f"{_better_word(measure)} is better" if spec else "", fontsize=12)
        ax.set_xticks(x)
        ax.set_xticklabels([f"#{p.session_id}" if p.session_id else str(i)
                            for i, p in zip(x, ps, strict=True)], fontsize=12)
        ax.tick_params(axis="y", labelsize=12)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=12, loc="best")
    if not measures:
        axes[0].text(0.5, 0.5, "no paired outcomes yet", ha="center", va="center")
        axes[0].set_axis_off()
    axes[-1].set_xlabel("session", fontsize=12)
    fig.suptitle(title, fontsize=14)
    fig.tight_layout()
    return _save(fig, stem)


def plot_changes(stem: Path, pairs: Mapping[str, Sequence[Pair]], title: str) -> list[Path]:
    """Per measure, each pair's change (after - before) as points, with the mean."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    measures = [m for m, ps in pairs.items() if ps]
    fig = Figure(figsize=(max(3.0, 1.6 * max(len(measures), 1) + 1.5), 3.6))
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    for i, measure in enumerate(measures):
        changes = [p.change for p in pairs[measure]]
        ax.plot([i] * len(changes), changes, "o", alpha=0.6, color="tab:blue")
        ax.plot([i - 0.25, i + 0.25], [sum(changes) / len(changes)] * 2, color="tab:red")
    ax.axhline(0.0, color="black", linewidth=0.6)
    ax.set_xticks(range(len(measures)))
    ax.set_xticklabels([f"{m}\n({_better_word(m)} is better)" for m in measures], fontsize=7)
    ax.set_ylabel("change (after - before)")
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return _save(fig, stem)


def _save(fig: Any, stem: Path) -> list[Path]:
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = [stem.with_suffix(".png"), stem.with_suffix(".svg")]
    fig.savefig(paths[0], dpi=120)
    fig.savefig(paths[1])
    return paths


# ---- reports through the services ------------------------------------------------------------
def _write(
    report: Report,
    out: Path,
    outcomes: Sequence[OutcomeLike],
    goals: Mapping[int, str],
    *,
    trends: bool,
    csv_out: bool,
    fhir: bool,
) -> Report:
    out.mkdir(parents=True, exist_ok=True)
    if trends:
        png, svg = plot_trends(out / "trends", report.pairs, f"outcomes: {report.subject}")
        report.files.update({"trends_png": png, "trends_svg": svg})
    png, svg = plot_changes(out / "changes", report.pairs, f"changes: {report.subject}")
    report.files.update({"changes_png": png, "changes_svg": svg})
    if csv_out:
        report.files["outcomes_csv"] = write_outcomes_csv(out / "outcomes.csv", outcomes, goals)
        report.files["stats_csv"] = write_stats_csv(out / "stats.csv", report.stats)
    if fhir:
        bundle = fhir_bundle([o for o in outcomes if o.measure in FHIR_CODES], goals)
        report.files["fhir"] = out / "observations.fhir.json"
        report.files["fhir"].write_text(json.dumps(bundle, indent=1))
    report.files["report"] = out / "report.json"
    report.files["report"].write_text(json.dumps(report.to_dict(), indent=2))
    return report


def patient_report(
    db: Session,
    actor: Actor,
    code: str,
    out: Path,
    *,
    csv_out: bool = True,
    fhir: bool = True,
    seed: int = 0,
) -> Report:
    """Trends, paired statistics and exports of one patient's outcomes into ``out``."""
    outcomes = list_outcomes(db, actor, code)
    goals = {s.id: s.goal for s in list_sessions(db, actor, code)}
    pairs = pairs_by_measure(outcomes, goals)
    report = Report(subject=f"patient {code}", stats=stats_of(pairs, seed=seed), pairs=pairs)
    return _write(report, Path(out), outcomes, goals, trends=True, csv_out=csv_out, fhir=fhir)


def goal_report(
    db: Session,
    actor: Actor,
    goal: str,
    out: Path,
    *,
    csv_out: bool = True,
    fhir: bool = True,
    seed: int = 0,
) -> Report:
    """Outcomes of every session with ``goal`` across the patients ``actor`` may see; the
    statistics take one mean pair per patient (module docstring)."""
    if goal not in GOALS:
        raise InvalidValue(f"goal: got {goal!r}; must be one of {', '.join(GOALS)}")
    outcomes: list[OutcomeLike] = []
    goals: dict[int, str] = {}
    for patient in list_patients(db, actor):
        sessions = {s.id: s.goal for s in list_sessions(db, actor, patient.code)}
        mine = {sid for sid, g in sessions.items() if g == goal}
        if not mine:
            continue
        goals.update(dict.fromkeys(mine, goal))
        outcomes += [o for o in list_outcomes(db, actor, patient.code) if o.session_id in mine]
    if not goals:
        raise NotFound(f"no sessions with goal {goal!r} among the patients you can see")
    pairs = per_patient_means(pairs_by_measure(outcomes, goals))
    report = Report(
        subject=f"goal {goal} ({len({o.patient_code for o in outcomes})} patients)",
        stats=stats_of(pairs, seed=seed),
        pairs=pairs,
    )
    return _write(report, Path(out), outcomes, goals, trends=False, csv_out=csv_out, fhir=fhir)
