"""The benchmark results as JSON and as a Markdown section kept inside docs/benchmarks.md."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

BEGIN = "<!-- cadence-bench:begin (written by `cadence bench`; edits here are replaced) -->"
END = "<!-- cadence-bench:end -->"
HEADING = "## All benchmarks side by side (`cadence bench`)"


def number(x: float) -> str:
    """A figure for a table: thousands separated, about three significant digits."""
    if x >= 100:
        return f"{x:,.0f}"
    if x >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}"


def ratio_text(row: dict[str, Any]) -> str:
    """The row's ratio; with more digits where rounding would hide a missed target."""
    text = number(row["ratio"])
    if row["met"] is False and float(text.replace(",", "")) >= row["target"]:
        text = f"{row['ratio']:.4f}".rstrip("0")
    return text


def comparisons_table(rows: list[dict[str, Any]]) -> str:
    """Markdown table: what, Cadence, baseline, ratio, target, met?"""
    lines = [
        "| what | Cadence | baseline | ratio | target | met? |",
        "|---|---:|---|---:|---:|---|",
    ]
    for r in rows:
        target = "—" if r["target"] is None else f"≥ {number(r['target'])}×"
        met = "—" if r["met"] is None else ("yes" if r["met"] else "**no**")
        lines.append(
            f"| {r['what']} | {number(r['cadence'])} {r['unit']} | "
            f"{number(r['baseline'])} ({r['baseline_name']}) | **{ratio_text(r)}×** | "
            f"{target} | {met} |"
        )
    baselines = {r["baseline_name"]: r["baseline_what"] for r in rows}
    lines += ["", "Baselines:", ""]
    lines += [f"- {name}: {what}." for name, what in baselines.items()]
    return "\n".join(lines)


def generation_table(stage: dict[str, Any]) -> str:
    """Per model: tokens/s and real-time factor of each way of decoding."""
    ways = [
        ("session_path", "Cadence session path (grammar masks, forced controls)"),
        ("step_loop", "Cadence `step` loop (no masks), float32"),
        ("step_loop_int8", "Cadence `step` loop (no masks), int8 weights"),
        ("gpt2_generate", "HF GPT-2 `generate`, same dims"),
        ("naive_loop", "naive loop, no cache"),
    ]
    lines = [
        "| model | way | tokens/s | ms/token | real-time factor |",
        "|---|---|---:|---:|---:|",
    ]
    for name, fig in stage.items():
        for key, label in ways:
            w = fig.get(key)
            if w is None:
                continue
            if key == "session_path":
                label += ", int8 weights" if w.get("int8") else ", float32"
            lines.append(
                f"| {name} | {label} | {number(w['tokens_per_s'])} | "
                f"{1000 / w['tokens_per_s']:.2f} | {number(w['real_time_factor'])}× |"
            )
    return "\n".join(lines)


def markdown(results: dict[str, Any]) -> str:
    """The generated section (without the markers)."""
    meta = results["meta"]
    parts = [
        f"`cadence bench{' --quick' if meta['quick'] else ''}` on {meta['date']}: "
        f"{meta['cpu_count']} CPU cores, load average {meta['load_average']:.1f} at the start, "
        f"{meta['threads']} torch thread(s), torch {meta['torch']}, transformers "
        f"{meta['transformers']}. Both sides of each row ran in this one process, one after the "
        "other, so the ratios compare like with like even when the machine is busy; absolute "
        "figures are lower on a shared machine.",
        "",
        comparisons_table(results["comparisons"]),
    ]
    gen = results["stages"].get("generate")
    if gen:
        parts += [
            "",
            "Generation at batch 1 on CPU, sampling (temperature, top-p) the same way on every "
            "side; each way ran once per round in interleaved rounds and keeps its fastest "
            "(medians are in the JSON). The session path counts every token of its stream (bar "
            "headers are forced, fed in one call per bar); its sampled tokens alone run at "
            + ", ".join(
                f"{number(f['session_path']['sampled_tokens_per_s'])}/s ({n})"
                for n, f in gen.items()
            )
            + ". Real-time factors of the other ways use the session path's tokens per second "
            "of music.",
            "",
            generation_table(gen),
        ]
    for stage, why in results.get("skipped", {}).items():
        parts += ["", f"- `{stage}` skipped: {why}"]
    return "\n".join(parts)


def update_docs(path: Path, section: str) -> None:
    """Replace the text between the markers in ``path`` with ``section``; when the markers
    are missing, append a heading and the marked section. The rest of the file is kept."""
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    block = f"{BEGIN}\n{section.strip()}\n{END}"
    pattern = re.compile(re.escape(BEGIN) + r".*?" + re.escape(END), re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text, count=1)
    else:
        text = text.rstrip("\n") + f"\n\n{HEADING}\n\n{block}\n"
    path.write_text(text)


def write_json(path: Path, results: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=1))
