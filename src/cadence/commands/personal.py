"""Personalisation commands: `cadence finetune`, `cadence report` and `cadence analyze-audio`
(`cadence session --patient ID` plans through ``clinic/planning.py``).

They run as the machine's operator (``Actor.system()``) on the clinic in ``CADENCE_HOME`` /
``CADENCE_DATABASE_URL`` (:meth:`ClinicConfig.from_env`). A patient's fine-tuned adapter lives
in ``<CADENCE_HOME>/adapters/<code>/`` (``adapter.safetensors`` + ``adapter.json``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

from cadence.commands.ui import progress as _progress
from cadence.errors import CadenceError

if TYPE_CHECKING:
    from cadence.clinic.db import Clinic


def _clinic() -> Clinic:
    from cadence.clinic.config import ClinicConfig
    from cadence.clinic.db import open_clinic

    return open_clinic(ClinicConfig.from_env())


# ---- cadence finetune ------------------------------------------------------------------------
def finetune(
    patient: str = typer.Option(..., "--patient", help="Patient code."),
    model: str | None = typer.Option(
        None, "--model", help="Base checkpoint folder, or lstm (default: the shipped LSTM)."
    ),
    steps: int = typer.Option(300, "--steps", help="Training steps (full batch)."),
    seconds: float = typer.Option(30.0, "--seconds", help="Time budget in seconds."),
    seed: int = typer.Option(0, "--seed"),
) -> None:
    """Adapt the model to the patient's favourite tunes (MIDI, ABC, MusicXML) with a small
    adapter, kept for `cadence session --patient`."""
    from cadence.clinic.actors import Actor
    from cadence.clinic.planning import session_history
    from cadence.models import Model
    from cadence.models.shipped import resolve_model_dir
    from cadence.music.bounded import load_score_within
    from cadence.music.formats import LOADING_ERRORS, SUPPORTED_SUFFIXES
    from cadence.training.finetune import (
        anchor_tokens,
        encode_tunes,
        weights_hash,
    )
    from cadence.training.finetune import finetune as run_finetune

    clinic = _clinic()
    with clinic.session() as db:
        history = session_history(db, Actor.system(), patient)
    tunes_files = [f for f in history.favourites if f.suffix.lower() in SUPPORTED_SUFFIXES]
    if not tunes_files:
        raise CadenceError(
            f"patient {history.code} has no favourite tunes as MIDI, ABC or MusicXML to "
            "fine-tune on; add one first (audio favourites seed key and mood, not the model)"
        )
    scores = []
    for fav in tunes_files:
        try:
            scores.append(load_score_within(fav.path))
        except LOADING_ERRORS as err:
            name = fav.title or fav.sha256[:12]
            raise CadenceError(f"favourite {name}: unreadable ({err})") from None
    model_dir = resolve_model_dir(model)
    net = Model.from_pretrained(model_dir)
    assert net.tokenizer is not None
    tunes = encode_tunes(net.tokenizer, scores)
    with _progress() as bar:
        task = bar.add_task("finetune", total=steps)

        def update(step: int, total: int, loss: float) -> None:
            bar.update(task, completed=step, total=total, description=f"finetune loss {loss:.3f}")

        adapter = run_finetune(
            net,
            tunes,
            steps=steps,
            max_seconds=seconds,
            seed=seed,
            anchor=anchor_tokens(model_dir),
            on_progress=update,
        )
    adapter.meta.update(
        {
            "patient_code": history.code,
            "base_model": str(model_dir),
            "base_sha256": weights_hash(model_dir),
            "favourites": [f.sha256 for f in tunes_files],
        }
    )
    out = adapter.save(clinic.config.adapter_dir(history.code))
    m = adapter.meta
    typer.echo(
        f"{history.code}: {len(tunes)} tunes, {m['tokens']} tokens; NLL {m['nll_before']:.3f} -> "
        f"{m['nll_after']:.3f} nats/token in {m['steps']} steps ({m['seconds']:.1f} s); "
        f"adapter in {out}"
    )


# ---- cadence report --------------------------------------------------------------------------
def report(
    patient: str | None = typer.Option(None, "--patient", help="Patient code."),
    goal: str | None = typer.Option(None, "--goal", help="A goal, across patients."),
    out: Path | None = typer.Option(None, "--out", help="Folder (default out/report-<subject>)."),
    csv_out: bool = typer.Option(False, "--csv", help="Also write outcomes.csv and stats.csv."),
    fhir: bool = typer.Option(False, "--fhir", help="Also write a FHIR R4 Observation bundle."),
    seed: int = typer.Option(0, "--seed", help="Bootstrap seed."),
) -> None:
    """Outcome trends and paired before/after statistics for a patient or a goal."""
    from cadence.clinic.actors import Actor
    from cadence.clinic.reports import goal_report, patient_report

    if (patient is None) == (goal is None):
        raise CadenceError("give exactly one of --patient ID or --goal GOAL")
    clinic = _clinic()
    actor = Actor.system()
    subject = patient if patient is not None else str(goal)
    folder = out or Path("out") / f"report-{subject}"
    with clinic.session() as db:
        if patient is not None:
            rep = patient_report(db, actor, patient, folder, csv_out=csv_out, fhir=fhir, seed=seed)
        else:
            rep = goal_report(db, actor, str(goal), folder, csv_out=csv_out, fhir=fhir, seed=seed)
    table = Table(title=f"outcomes: {rep.subject}")
    for col in ("measure", "n", "before", "after", "change", "95% CI", "p", "note"):
        table.add_column(col)

    def fmt(x: float | None) -> str:
        return "-" if x is None else f"{x:.3g}"

    for measure, s in rep.stats.items():
        ci = "-" if s.ci_low is None else f"{s.ci_low:.3g} .. {fmt(s.ci_high)}"
        table.add_row(
            measure,
            str(s.n),
            fmt(s.mean_before),
            fmt(s.mean_after),
            fmt(s.mean_change),
            ci,
            fmt(s.p_value),
            s.note,
        )
    Console().print(table)
    typer.echo(f"wrote {', '.join(sorted(p.name for p in rep.files.values()))} in {folder}")


# ---- cadence analyze-audio -------------------------------------------------------------------
def analyze_audio(
    file: Path = typer.Argument(..., help="An audio file: WAV, FLAC, OGG or MP3."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Tempo, key and mode, loudness and an arousal estimate of a song."""
    from cadence.music.audio_analysis import analyze_audio as run
    from cadence.music.audio_analysis import prescription_seeds

    a = run(file)
    if as_json:
        typer.echo(json.dumps({**a.to_dict(), "seeds": prescription_seeds(a)}, indent=2))
        return
    typer.echo(
        f"{file.name}: tempo {a.tempo_bpm:.1f} BPM ({a.beats} beats), key {a.key} "
        f"(correlation {a.key_correlation:.2f}), loudness {a.loudness_lufs:.1f} LUFS, "
        f"RMS {a.rms_dbfs:.1f} dBFS, {a.onsets_per_beat:.2f} onsets/beat, arousal {a.arousal:+.2f}"
    )
