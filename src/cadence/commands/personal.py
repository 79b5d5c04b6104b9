"""Personalisation commands: `cadence finetune`, `cadence report`, `cadence analyze-audio`, and
the patient half of `cadence session --patient ID`.

They run as the machine's operator (``Actor.system()``) on the clinic in ``CADENCE_HOME`` /
``CADENCE_DATABASE_URL`` (:meth:`ClinicConfig.from_env`). A patient's fine-tuned adapter lives
in ``<CADENCE_HOME>/adapters/<code>/`` (``adapter.safetensors`` + ``adapter.json``).
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.table import Table

from cadence.commands.ui import adherence_summary, console
from cadence.commands.ui import progress as _progress
from cadence.errors import CadenceError

if TYPE_CHECKING:
    from cadence.clinic.db import Clinic
    from cadence.clinic.views import FileView, PatientHistory
    from cadence.therapy.prescription import Prescription

SYMBOLIC_SUFFIXES = (".mid", ".midi", ".abc", ".xml", ".musicxml", ".mxl", ".krn")
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3")
# Session output kinds as the clinic names them (docs/dev/clinic-services.md).
FILE_KINDS = {"midi": "mid", "plan": "png"}


def _clinic() -> Clinic:
    from cadence.clinic.config import ClinicConfig
    from cadence.clinic.db import open_clinic

    return open_clinic(ClinicConfig.from_env())


def adapter_dir(home: Path, code: str) -> Path:
    """Where patient ``code``'s fine-tuned adapter lives."""
    return Path(home) / "adapters" / code


def _history(clinic: Clinic, code: str, *, need_consent: bool) -> PatientHistory:
    from cadence.clinic.actors import Actor
    from cadence.clinic.errors import ConsentRequired
    from cadence.clinic.history import patient_history
    from cadence.clinic.patients import get_patient

    actor = Actor.system()
    with clinic.session() as db:
        if need_consent and not get_patient(db, actor, code).consent:
            raise ConsentRequired(
                f"patient {code} has not consented to sessions; record consent first"
            )
        return patient_history(db, actor, code)


def _symbolic(favourites: tuple[FileView, ...]) -> list[FileView]:
    return [f for f in favourites if f.suffix.lower() in SYMBOLIC_SUFFIXES]


def _audio(favourites: tuple[FileView, ...]) -> list[FileView]:
    return [f for f in favourites if f.suffix.lower() in AUDIO_SUFFIXES]


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
    from cadence.models import Model
    from cadence.models.shipped import resolve_model_dir
    from cadence.music.bounded import load_score_within
    from cadence.music.formats import LOADING_ERRORS
    from cadence.training.finetune import (
        anchor_tokens,
        encode_tunes,
        weights_hash,
    )
    from cadence.training.finetune import finetune as run_finetune

    clinic = _clinic()
    history = _history(clinic, patient, need_consent=True)
    tunes_files = _symbolic(history.favourites)
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
    out = adapter.save(adapter_dir(clinic.config.home, history.code))
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


# ---- cadence session --patient ---------------------------------------------------------------
@dataclass
class PatientPlan:
    """What the patient's records add to a session."""

    code: str
    variant: dict[str, Any]
    kwargs: dict[str, Any]
    primer: Path | None
    adapter: Path | None
    notes: list[str]


def plan_patient_session(
    clinic: Clinic,
    code: str,
    goal: str,
    kwargs: dict[str, Any],
    *,
    seed: int,
    primer: Path | None,
) -> PatientPlan:
    """Read the history (consent required), let the preference model suggest a variant, and
    gather the favourite-song seeds, the primer (cognition) and the adapter."""
    import numpy as np

    from cadence.music.audio_analysis import analyze_audio as run_analysis
    from cadence.music.audio_analysis import prescription_seeds
    from cadence.therapy.instruments import parse_instrument, parse_key
    from cadence.therapy.preferences import (
        FIXED_MODE,
        PreferenceModel,
        favourite_kwargs,
        known_instruments,
    )

    history = _history(clinic, code, need_consent=True)
    prefs = history.preferences
    liked = known_instruments(prefs.liked_instruments) if prefs else ()
    disliked = known_instruments(prefs.disliked_instruments) if prefs else ()
    model = PreferenceModel.from_history(
        history.sessions, liked_instruments=liked, disliked_instruments=disliked
    )
    notes: list[str] = []
    kwargs = dict(kwargs)
    if goal == "cognition" and kwargs.get("birth_year") is None and history.birth_year:
        kwargs["birth_year"] = history.birth_year
    if goal == "gait" and kwargs.get("cadence_spm") is None and history.baseline:
        kwargs["cadence_spm"] = history.baseline.cadence_spm
    audio = _audio(history.favourites)
    if audio:
        try:
            seeds = prescription_seeds(run_analysis(audio[0].path))
        except CadenceError:
            notes.append("favourite song unreadable, not used")  # never blocks a session
        else:
            for name, value in favourite_kwargs(goal, seeds).items():
                if kwargs.get(name) is None:
                    kwargs[name] = value
            notes.append(f"favourite song: {seeds['key']}, {seeds['tempo_bpm']:.0f} BPM")
    fixed: dict[str, Any] = {}
    if kwargs.get("instrument") is not None:
        fixed["instrument"] = parse_instrument(kwargs["instrument"])
    key_mode = parse_key(kwargs["key"])[1] if kwargs.get("key") is not None else None
    if (kwargs.get("mode") is not None or key_mode is not None) and goal not in FIXED_MODE:
        fixed["mode"] = kwargs.get("mode") or key_mode
    if goal == "gait" and kwargs.get("gait_target") is not None:
        fixed["tempo_offset"] = 0.0  # the clinician set the RAS target
    rng = np.random.default_rng([seed, len(history.sessions)])
    variant = model.suggest(goal, rng, fall_risk=bool(kwargs.get("fall_risk")), fixed=fixed)
    if primer is None and goal == "cognition":
        tunes = _symbolic(history.favourites)
        if tunes:
            primer = tunes[0].path
            notes.append("primer: the patient's favourite tune")
    adapter = adapter_dir(clinic.config.home, history.code)
    return PatientPlan(
        code=history.code,
        variant=variant,
        kwargs=kwargs,
        primer=primer,
        adapter=adapter if (adapter / "adapter.json").is_file() else None,
        notes=notes,
    )


def played_variant(variant: dict[str, Any], prescription: Prescription) -> dict[str, Any]:
    """The variant as played: the clinician's explicit instrument or mode (which win over the
    suggestion) replace the suggested ones, so the learner learns from what the patient heard."""
    return {**variant, "instrument": prescription.programs["melody"], "mode": prescription.mode}


@contextmanager
def model_for(model: str | None, adapter: Path | None) -> Iterator[tuple[str | None, str | None]]:
    """(model to run, note): the base model, or a temporary checkpoint with the patient's
    adapter merged when it was made for this base model."""
    if adapter is None:
        yield model, None
        return
    from cadence.models.shipped import resolve_model_dir
    from cadence.training.finetune import Adapter, adapted_checkpoint, weights_hash

    base = resolve_model_dir(model)
    meta = Adapter.load(adapter).meta
    if meta.get("base_sha256") != weights_hash(base):
        yield model, f"the patient's adapter was made for another model; not used with {base}"
        return
    with tempfile.TemporaryDirectory(prefix="cadence-adapted-") as tmp:
        merged = adapted_checkpoint(base, adapter, Path(tmp) / "model")
        yield str(merged), None


def patient_session(
    code: str,
    goal: str,
    minutes: float,
    out: Path,
    kwargs: dict[str, Any],
    *,
    seed: int,
    model: str | None,
    primer: Path | None,
    run_kwargs: dict[str, Any],
) -> None:
    """`cadence session --patient ID`: personalise, run, record, print the session id."""
    from cadence.clinic.actors import Actor
    from cadence.clinic.sessions import record_session
    from cadence.models.shipped import resolve_model_dir
    from cadence.therapy.preferences import prescribe
    from cadence.therapy.session import run_session

    clinic = _clinic()
    plan = plan_patient_session(clinic, code, goal, kwargs, seed=seed, primer=primer)
    prescription = prescribe(goal, minutes, plan.variant, seed=seed, **plan.kwargs)
    plan.variant = played_variant(plan.variant, prescription)
    with model_for(model, plan.adapter) as (run_model, warning), _progress() as bar:
        if warning:
            console.print(f"[yellow]warning:[/] {warning}", highlight=False, soft_wrap=True)
        task = bar.add_task("compose", total=len(prescription.bars))

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        result = run_session(
            prescription, out, model=run_model, primer=plan.primer, on_bar=update, **run_kwargs
        )
    report = dict(result.report)
    report["model"] = str(resolve_model_dir(model))
    report["adapter"] = bool(plan.adapter) and warning is None
    report["variant"] = plan.variant
    result.files["report"].write_text(json.dumps(report, indent=2))
    files = {FILE_KINDS.get(kind, kind): path for kind, path in result.files.items()}
    with clinic.session() as db:
        view = record_session(
            db,
            Actor.system(),
            plan.code,
            goal=goal,
            prescription=prescription.to_dict(),
            files=files,
            report=report,
            variant=plan.variant,
        )
    for w in result.warnings:
        console.print(f"[yellow]warning:[/] {w}", highlight=False, soft_wrap=True)
    v = plan.variant
    typer.echo(
        f"{goal} for {plan.code}: {adherence_summary(report, prescription.target_lufs)}; variant "
        f"instrument {v['instrument']}, tempo {v['tempo_offset']:+.0%}, {v['mode']}, density "
        f"x{v['density']:g}{'; fine-tuned model' if report['adapter'] else ''}"
        f"{''.join('; ' + n for n in plan.notes)}; files in {out}"
    )
    typer.echo(f"session {view.id}")
