"""`cadence evaluate`: generated pieces against held-out real pieces, metric by metric.

For every metric the distribution over the generated pieces is compared with the distribution
over the reference dataset's test split, by overlapping area and KL divergence of the
KDE-smoothed densities (Yang & Lerch 2018, "On the evaluation of generative models in
music", Neural Computing and Applications 32). Session folders (with ``report.json``) add a
prescription-adherence table.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import symusic
from matplotlib.figure import Figure

from cadence.errors import CadenceError
from cadence.evaluation import metrics
from cadence.evaluation.distribution import kl_divergence, overlap_area
from cadence.music.formats import LOADING_ERRORS, MIDI_SUFFIXES
from cadence.tokens.dataset import TokenDataset

METRICS: dict[str, Callable[[symusic.Score], float]] = {
    "pitch_range": metrics.pitch_range,
    "n_pitch_classes_used": metrics.n_pitch_classes_used,
    "pitch_class_entropy": metrics.pitch_class_entropy,
    "scale_consistency": metrics.scale_consistency,
    "polyphony": metrics.polyphony,
    "empty_beat_rate": metrics.empty_beat_rate,
    "groove_consistency": metrics.groove_consistency,
    "ioi_mean": metrics.ioi_mean,
    "ioi_std": metrics.ioi_std,
    "note_density": metrics.note_density,
    "repeated_material_share": metrics.repeated_material_share,
}
ADHERENCE_KEYS = (
    "max_tempo_deviation_bpm",
    "in_scale_share",
    "max_velocity",
    "loudness_error_lu",
    "duration_error_s",
    "beat_jitter_ms",
    "undecodable_sequences",
)


def _without_drums(score: symusic.Score) -> symusic.Score:
    out = score.copy()
    out.tracks = [t for t in out.tracks if not t.is_drum]  # the beat layer is not composition
    return out


def generated_scores(folder: Path) -> list[symusic.Score]:
    """Every MIDI file under ``folder``, read with symusic (unreadable files are an error)."""
    if not folder.is_dir():
        raise CadenceError(f"generated folder {folder} does not exist")
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in MIDI_SUFFIXES)
    if not files:
        raise CadenceError(f"{folder} holds no MIDI files; point at generated pieces or sessions")
    scores = []
    for path in files:
        try:
            scores.append(_without_drums(symusic.Score(str(path))))
        except LOADING_ERRORS as err:
            raise CadenceError(f"{path} is not a readable MIDI file ({err})") from None
    return scores


def reference_scores(dataset: Path, limit: int = 300) -> list[symusic.Score]:
    """Up to ``limit`` pieces of the dataset's test split, decoded from their tokens."""
    data = TokenDataset(dataset)
    entries = data.split_entries("test")[:limit]
    if not entries:
        raise CadenceError(f"dataset {dataset} has no test pieces to compare with")
    return [data.tokenizer.decode(data.ids(e)) for e in entries]


def metric_table(scores: list[symusic.Score]) -> dict[str, list[float]]:
    return {name: [float(fn(s)) for s in scores] for name, fn in METRICS.items()}


def _clean(x: float) -> float | None:
    return None if x is None or not math.isfinite(x) else round(float(x), 5)


def adherence_table(folder: Path) -> dict[str, dict[str, float | None]]:
    """Mean and worst value of each adherence figure over the session reports in ``folder``."""
    reports = [json.loads(p.read_text()) for p in sorted(folder.rglob("report.json"))]
    table: dict[str, dict[str, float | None]] = {}
    for key in ADHERENCE_KEYS:
        values = [r[key] for r in reports if isinstance(r.get(key), int | float)]
        if not values:
            continue
        worst = min(values) if key == "in_scale_share" else max(values)
        table[key] = {
            "mean": _clean(float(np.mean(values))),
            "worst": _clean(worst),
            "sessions": len(values),
        }
    return table


def plot_histograms(path: Path, gen: dict[str, list[float]], ref: dict[str, list[float]]) -> None:
    n = len(METRICS)
    cols = 4
    rows = math.ceil(n / cols)
    fig = Figure(figsize=(4 * cols, 2.8 * rows), layout="constrained")
    for i, name in enumerate(METRICS):
        ax = fig.add_subplot(rows, cols, i + 1)
        g = [v for v in gen[name] if math.isfinite(v)]
        r = [v for v in ref[name] if math.isfinite(v)]
        if g or r:
            bins = np.histogram_bin_edges(g + r, bins=20)
            ax.hist(r, bins=bins, density=True, alpha=0.5, label="reference")
            ax.hist(g, bins=bins, density=True, alpha=0.5, label="generated")
        ax.set_title(name, fontsize=9)
        if i == 0:
            ax.legend(fontsize=7)
    fig.savefig(path, dpi=100)


def evaluate(generated: Path, reference: Path, out: Path, *, limit: int = 300) -> dict:
    """Compare, write ``evaluation.json`` and ``metrics.png`` into ``out``; return the result."""
    gen_scores = generated_scores(generated)
    ref_scores = reference_scores(reference, limit)
    gen, ref = metric_table(gen_scores), metric_table(ref_scores)
    result = {
        "generated_pieces": len(gen_scores),
        "reference_pieces": len(ref_scores),
        "metrics": {
            name: {
                "generated_mean": _clean(float(np.nanmean(gen[name])) if gen[name] else math.nan),
                "reference_mean": _clean(float(np.nanmean(ref[name])) if ref[name] else math.nan),
                "overlap_area": _clean(overlap_area(gen[name], ref[name])),
                "kl_divergence": _clean(kl_divergence(gen[name], ref[name])),
            }
            for name in METRICS
        },
        "adherence": adherence_table(generated),
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "evaluation.json").write_text(json.dumps(result, indent=2))
    plot_histograms(out / "metrics.png", gen, ref)
    return result
