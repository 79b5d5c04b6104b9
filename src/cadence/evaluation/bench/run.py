"""Run the chosen benchmark stages in one process and collect their results."""

from __future__ import annotations

import dataclasses
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from cadence.errors import CadenceError
from cadence.evaluation.bench.common import Comparison, ProgressFn, no_progress
from cadence.evaluation.bench.generate import GenerateSizes, bench_model
from cadence.evaluation.bench.ingest import cadence_ingest, midi_files, run_ingest
from cadence.evaluation.bench.render import run_render
from cadence.evaluation.bench.train import run_train
from cadence.generation.sampling import SamplingConfig
from cadence.models.base import CadenceModel
from cadence.models.checkpoint import Model
from cadence.models.shipped import SHIPPED
from cadence.render.audio import AudioUnavailable

STAGES = ("ingest", "train", "generate", "render")
DEFAULT_DATA = Path("../shared/data/nottingham/midi")


def parse_only(text: str | None) -> tuple[str, ...]:
    """``"ingest,generate"`` → the stages, in run order; None or "" → all of them."""
    if not text:
        return STAGES
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in STAGES]
    if unknown or not names:
        raise CadenceError(
            f"--only: unknown stage {', '.join(map(repr, unknown)) or repr(text)}; "
            f"choose from {','.join(STAGES)}"
        )
    return tuple(s for s in STAGES if s in names)


@dataclass(frozen=True)
class BenchSettings:
    """What to run and how long. :meth:`for_mode` gives the full or the quick budgets."""

    quick: bool = False
    only: tuple[str, ...] = STAGES
    data: Path = DEFAULT_DATA  # a folder of MIDI files (ingest; train when no train_data)
    train_data: Path | None = None  # a dataset folder from `cadence ingest`
    ingest_files: int = 0  # 0: every MIDI file in data
    baseline_files: int = 60
    train_budget_s: float = 60.0
    train_config: str = "default"
    train_eval_tokens: int = 50_000
    generate: GenerateSizes = field(default_factory=GenerateSizes)
    models: tuple[str, ...] = ("lstm", "transformer")
    sampling: SamplingConfig = field(default_factory=SamplingConfig)
    render_music_s: float = 180.0
    render_repeats: int = 3
    threads: int = 1
    seed: int = 0

    @classmethod
    def for_mode(cls, quick: bool, **changes: Any) -> BenchSettings:
        """Full budgets (a few minutes in all) or ``quick`` ones (seconds, for tests)."""
        base: dict[str, Any] = {"quick": quick}
        if quick:
            base |= {
                "ingest_files": 120,
                "baseline_files": 3,
                "train_budget_s": 2.0,
                "train_config": "tiny",
                "train_eval_tokens": 2_000,
                "generate": GenerateSizes(
                    tokens=24, repeats=1, bars=2, naive_tokens=12, naive_repeats=1
                ),
                "render_music_s": 10.0,
                "render_repeats": 1,
            }
        return cls(**(base | {k: v for k, v in changes.items() if v is not None}))

    def check(self) -> None:
        """Bad input as one :class:`CadenceError` line, before anything runs."""
        needs_midi = "ingest" in self.only or ("train" in self.only and self.train_data is None)
        if needs_midi and not self.data.is_dir():
            raise CadenceError(
                f"--data {self.data}: no such folder; give a folder of MIDI files "
                f"(e.g. ../shared/data/nottingham/midi)"
            )
        if needs_midi and not midi_files(self.data):
            raise CadenceError(f"--data {self.data}: no .mid files in it")
        train_data = self.train_data
        if (
            train_data is not None
            and "train" in self.only
            and not (train_data / "manifest.jsonl").is_file()
        ):
            raise CadenceError(
                f"--train-data {train_data}: not a dataset folder (no manifest.jsonl); "
                "make one with `cadence ingest`"
            )
        if self.train_budget_s <= 0:
            raise CadenceError(f"--train-budget must be > 0 seconds, got {self.train_budget_s}")
        if self.threads < 1:
            raise CadenceError(f"--threads must be >= 1, got {self.threads}")
        unknown = [m for m in self.models if m not in SHIPPED]
        if unknown:
            raise CadenceError(f"unknown model {unknown[0]!r}; choose from {', '.join(SHIPPED)}")

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in d.items()}


def _meta(settings: BenchSettings) -> dict[str, Any]:
    from importlib.metadata import PackageNotFoundError, version

    try:
        hf = version("transformers")
    except PackageNotFoundError:
        hf = "not installed"
    return {
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "quick": settings.quick,
        "cpu_count": os.cpu_count(),
        "load_average": os.getloadavg()[0],
        "threads": settings.threads,
        "torch": torch.__version__,
        "transformers": hf,
    }


def run_bench(settings: BenchSettings, on_progress: ProgressFn = no_progress) -> dict[str, Any]:
    """Run ``settings.only`` in order; returns ``{"meta", "settings", "stages", "skipped",
    "comparisons"}`` (see :mod:`cadence.evaluation.bench`)."""
    settings.check()
    results: dict[str, Any] = {
        "meta": _meta(settings),
        "settings": settings.to_dict(),
        "stages": {},
        "skipped": {},
    }
    rows: list[Comparison] = []
    threads = torch.get_num_threads()
    torch.set_num_threads(settings.threads)
    models: dict[str, CadenceModel] = {}

    def model(name: str) -> CadenceModel:
        if name not in models:
            models[name] = Model.from_pretrained(SHIPPED[name]).eval()
        return models[name]

    try:
        with tempfile.TemporaryDirectory(prefix="cadence-bench-") as tmp:
            work = Path(tmp)
            dataset: Path | None = None
            if "ingest" in settings.only:
                on_progress("ingest", 0, 2, "ingest: cadence ingest, then music21")
                figures, new, dataset = run_ingest(
                    settings.data,
                    work,
                    files=settings.ingest_files,
                    baseline_files=settings.baseline_files,
                )
                results["stages"]["ingest"] = figures
                rows += new
                on_progress("ingest", 2, 2, "ingest")
            if "train" in settings.only:
                data = settings.train_data or dataset
                if data is None:
                    on_progress("train", 0, 3, "train: ingesting the data first (not timed)")
                    data = work / "dataset"
                    source = settings.data
                    cadence_ingest(source, data)
                on_progress(
                    "train",
                    1,
                    3,
                    f"train: naive loop, then trainer ({settings.train_budget_s:g} s each)",
                )
                figures, new = run_train(
                    data,
                    work,
                    budget_s=settings.train_budget_s,
                    config=settings.train_config,
                    eval_tokens=settings.train_eval_tokens,
                    seed=settings.seed,
                    on_status=lambda what: on_progress("train", 1, 3, f"train: {what}"),
                )
                results["stages"]["train"] = figures
                rows += new
                on_progress("train", 3, 3, "train")
            if "generate" in settings.only:
                total = settings.generate.steps * len(settings.models)
                done = 0

                def step(description: str) -> None:
                    nonlocal done
                    on_progress("generate", done, total, f"generate: {description}")
                    done += 1

                gen: dict[str, Any] = {}
                for name in settings.models:
                    gen[name], new = bench_model(
                        name, model(name), settings.generate, settings.sampling, step
                    )
                    rows += new
                results["stages"]["generate"] = gen
                on_progress("generate", total, total, "generate")
            if "render" in settings.only:
                on_progress("render", 0, 1, "render: FluidSynth alone, then Cadence's pipeline")
                try:
                    figures, new = run_render(
                        model("lstm"),
                        work,
                        music_s=settings.render_music_s,
                        repeats=settings.render_repeats,
                    )
                    results["stages"]["render"] = figures
                    rows += new
                except AudioUnavailable as err:
                    results["skipped"]["render"] = str(err)
                on_progress("render", 1, 1, "render")
    finally:
        torch.set_num_threads(threads)
    results["comparisons"] = [r.to_dict() for r in rows]
    return results
