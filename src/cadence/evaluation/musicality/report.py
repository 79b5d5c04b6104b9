"""The benchmark's result as tables: for the terminal (rich, in the CLI) and for Markdown.

:func:`tables` turns a result of ``benchmark.run`` (or its JSON form) into plain tables,
(title, columns, rows of strings), which both renderers share.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from cadence.evaluation.musicality.features import FEATURE_GROUPS, PIECE_FEATURES

Table = tuple[str, list[str], list[list[str]]]


def _num(value: object, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _met(flag: object) -> str:
    return "–" if flag is None else ("✓" if flag else "✗")


def summary_table(result: Mapping) -> Table:
    """One row per goal: the headline figures, with the sanity row's beside them."""
    rows = []
    for goal, g in result["goals"].items():
        comp, sane, tex, met = g["comparison"], g["sanity"], g["texture"], g["targets"]
        worst = [p["sounding_share_min"] for p in tex["parts"].values()]
        worst = [w for w in worst if w is not None and math.isfinite(w)]
        rows.append([
            goal,
            ", ".join(g["styles"] or g["reference_collections"]),
            f"{comp['pieces'][0]} / {comp['pieces'][1]}",
            f"{_num(comp['c2st']['accuracy'])} {_met(met['c2st'])}",
            _num(sane["c2st"]["accuracy"]),
            f"{_num(comp['mean_overlap'])} {_met(met['mean_overlap'])}",
            _num(sane["mean_overlap"]),
            f"{_num(min(worst) if worst else None)} {_met(met['parts_sounding'])}",
            f"{tex['overlapping_melody_notes_total']} {_met(met['monophonic_melody'])}",
        ])  # fmt: skip
    columns = [
        "goal", "reference styles", "pieces (gen / ref)", "C2ST accuracy",
        "sanity C2ST", "mean overlap", "sanity overlap", "worst part sounding",
        "overlapping melody notes",
    ]  # fmt: skip
    return "Musicality per goal (✓/✗: issue 15 target met)", columns, rows


def comparison_table(goal: str, g: Mapping) -> Table:
    """Generated against reference, and the sanity row (reference half against half)."""
    rows = []
    for label, comp in (
        ("generated vs reference", g["comparison"]),
        ("sanity: half vs half", g["sanity"]),
    ):
        test = comp["c2st"]
        rows.append([
            label,
            f"{comp['pieces'][0]} / {comp['pieces'][1]}",
            f"{comp['excerpts'][0]} / {comp['excerpts'][1]}",
            f"{_num(test['accuracy'])} ± {_num(test['accuracy_sd'])}",
            _num(comp["mean_overlap"]),
            str(len(test["features"])),
        ])  # fmt: skip
    columns = ["comparison", "pieces", "excerpts", "C2ST accuracy (± sd over runs)",
               "mean overlap", "features"]  # fmt: skip
    return f"{goal}: two-sample test and overlap", columns, rows


def feature_table(goal: str, g: Mapping) -> Table:
    """Per feature: generated and reference means, overlap, and the sanity row's overlap."""
    comp, sane = g["comparison"], g["sanity"]
    used = set(comp["c2st"]["features"])
    rows = []
    groups = {**FEATURE_GROUPS, "structure (whole pieces)": tuple(PIECE_FEATURES)}
    for group, names in groups.items():
        for name in names:
            mean = comp["means"][name]
            flag = "" if name in used or name in PIECE_FEATURES else " (not in test)"
            rows.append([
                group, name + flag, _num(mean["generated"]), _num(mean["reference"]),
                _num(comp["overlap"][name]), _num(sane["overlap"][name]),
            ])  # fmt: skip
    columns = ["kind", "feature", "generated", "reference", "overlap", "sanity overlap"]
    return f"{goal}: features (means; overlap with the reference)", columns, rows


def texture_table(goal: str, g: Mapping) -> Table:
    """Per prescribed part: bars sounding (mean, worst piece), polyphony; the reference's."""
    tex, ref = g["texture"], g["reference_texture"]
    rows = []
    for part, p in tex["parts"].items():
        r = ref["parts"].get(part, {})
        rows.append([
            part, str(p["pieces"]), _num(p["sounding_share_mean"]), _num(p["sounding_share_min"]),
            _num(p["polyphony_mean"]), _num(r.get("sounding_share_mean")),
            _num(r.get("polyphony_mean")),
        ])  # fmt: skip
    rows.append([
        "overlapping melody notes", "", str(tex["overlapping_melody_notes_total"]),
        f"{tex['overlapping_melody_notes_max']} (worst piece)", "",
        str(ref["overlapping_melody_notes_total"]), "",
    ])  # fmt: skip
    rows.append([
        "distinct phrases / 5 min", "", _num(tex["distinct_phrases_per_5min_mean"], 1), "", "",
        _num(ref["distinct_phrases_per_5min_mean"], 1), "",
    ])  # fmt: skip
    columns = ["part", "pieces", "bars sounding", "worst piece", "polyphony",
               "reference bars sounding", "reference polyphony"]  # fmt: skip
    return f"{goal}: texture", columns, rows


def tables(result: Mapping) -> list[Table]:
    """The summary, then per goal its comparison, feature and texture tables."""
    out = [summary_table(result)]
    for goal, g in result["goals"].items():
        out += [comparison_table(goal, g), feature_table(goal, g), texture_table(goal, g)]
    return out


def markdown_table(table: Table) -> str:
    title, columns, rows = table
    lines = [f"**{title}**", "", "| " + " | ".join(columns) + " |"]
    lines.append("|" + "|".join("---" for _ in columns) + "|")
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def markdown(result: Mapping, *, level: int = 3) -> str:
    """All of :func:`tables` as Markdown, one heading per goal at ``level``."""
    parts = [markdown_table(summary_table(result))]
    for goal, g in result["goals"].items():
        parts.append(f"{'#' * level} {goal}\n")
        parts += [
            markdown_table(t(goal, g)) for t in (comparison_table, feature_table, texture_table)
        ]
    return "\n".join(parts)
