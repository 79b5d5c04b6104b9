"""`cadence session` (the main job) and `cadence generate` (free composition)."""

from __future__ import annotations

from pathlib import Path

import typer

from cadence.commands.ui import adherence_summary, console
from cadence.commands.ui import progress as _progress
from cadence.errors import CadenceError
from cadence.generation.sampling_config import DEFAULT_SAMPLING


def _sampling(temperature: float, top_k: int, top_p: float):  # type: ignore[no-untyped-def]
    from cadence.generation.sampling_config import SamplingConfig

    try:
        return SamplingConfig(temperature=temperature, top_k=top_k, top_p=top_p)
    except ValueError as err:
        raise CadenceError(str(err)) from None


def session(
    goal: str = typer.Option(..., "--goal", help="sleep, anxiety, mood, gait, cognition or pain."),
    minutes: float = typer.Option(..., "--minutes", help="Session length, 0 < N <= 180."),
    out: Path = typer.Option(..., "--out", help="Folder for the session's files."),
    cadence: float | None = typer.Option(
        None, "--cadence", help="Gait: walking cadence, steps/min."
    ),
    heart_rate: float | None = typer.Option(
        None, "--heart-rate", help="Start state: heart rate, BPM."
    ),
    arousal: float | None = typer.Option(
        None, "--arousal", help="Start (or, for pain, preferred) arousal, -1..1."
    ),
    valence: float | None = typer.Option(
        None, "--valence", help="Start (or preferred) valence, -1..1."
    ),
    key: str | None = typer.Option(None, "--key", help="Key, e.g. C, F#, Bb, 'A minor'."),
    mode: str | None = typer.Option(None, "--mode", help="major or minor."),
    instrument: str | None = typer.Option(
        None, "--instrument", help="Melody instrument: GM name or 0-127."
    ),
    fall_risk: bool = typer.Option(False, "--fall-risk", help="Gait: never raise the tempo."),
    gait_step: float | None = typer.Option(
        None, "--gait-step", help="Gait: tempo step, 0.05-0.10."
    ),
    gait_target: float | None = typer.Option(
        None, "--gait-target", help="Gait: final change, e.g. 0.10."
    ),
    breathing_rate: float | None = typer.Option(
        None, "--breathing-rate", help="Resting breaths/min."
    ),
    birth_year: int | None = typer.Option(
        None, "--birth-year", help="Cognition: the patient's birth year."
    ),
    seed: int = typer.Option(0, "--seed", help="Random seed; the same seed gives the same music."),
    model: str | None = typer.Option(
        None, "--model", help="Checkpoint folder, or lstm / transformer."
    ),
    primer: Path | None = typer.Option(
        None, "--primer", help="A favourite tune (MIDI, ABC, MusicXML)."
    ),
    primer_mode: str = typer.Option("vary", "--primer-mode", help="vary (theme) or continue."),
    patient: str | None = typer.Option(None, "--patient", help="Patient code (clinic records)."),
    temperature: float = typer.Option(DEFAULT_SAMPLING.temperature, "--temperature"),
    top_k: int = typer.Option(DEFAULT_SAMPLING.top_k, "--top-k"),
    top_p: float = typer.Option(DEFAULT_SAMPLING.top_p, "--top-p"),
    audio_format: list[str] = typer.Option(
        ["wav"], "--format", help="Audio: wav, flac, ogg, opus (repeatable)."
    ),
) -> None:
    """Compose, render and measure one therapy session (the main job)."""
    from cadence.therapy import Prescription
    from cadence.therapy.session import run_session

    if primer_mode not in ("vary", "continue"):
        raise CadenceError(f"--primer-mode must be 'vary' or 'continue', got {primer_mode!r}")
    if patient is not None:  # personalised from the clinic records (commands/personal.py)
        from cadence.commands.personal import patient_session

        options = {
            "cadence_spm": cadence, "heart_rate": heart_rate, "arousal": arousal,
            "valence": valence, "key": key, "mode": mode, "instrument": instrument,
            "fall_risk": fall_risk, "gait_step": gait_step, "gait_target": gait_target,
            "breathing_rate": breathing_rate, "birth_year": birth_year,
        }  # fmt: skip
        run = {
            "primer_mode": primer_mode,
            "sampling": _sampling(temperature, top_k, top_p),
            "formats": tuple(audio_format),
        }
        patient_session(
            patient, goal, minutes, out, options, seed=seed, model=model, primer=primer,
            run_kwargs=run,
        )  # fmt: skip
        return
    prescription = Prescription.for_goal(
        goal,
        minutes,
        cadence_spm=cadence,
        heart_rate=heart_rate,
        arousal=arousal,
        valence=valence,
        key=key,
        mode=mode,
        instrument=instrument,
        fall_risk=fall_risk,
        seed=seed,
        gait_step=gait_step,
        gait_target=gait_target,
        breathing_rate=breathing_rate,
        birth_year=birth_year,
    )
    sampling = _sampling(temperature, top_k, top_p)
    stages = {"render": "render audio and score", "measure": "measure adherence"}
    with _progress() as bar:
        task = bar.add_task("compose", total=len(prescription.bars))

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        def stage(name: str) -> None:
            nonlocal task
            bar.update(task, visible=False)
            task = bar.add_task(stages.get(name, name), total=None)

        result = run_session(
            prescription,
            out,
            model=model,
            primer=primer,
            primer_mode=primer_mode,
            sampling=sampling,
            formats=tuple(audio_format),
            on_bar=update,
            on_stage=stage,
        )
    for warning in result.warnings:
        console.print(f"[yellow]warning:[/] {warning}", highlight=False, soft_wrap=True)
    summary = adherence_summary(result.report, prescription.target_lufs)
    typer.echo(f"{goal}: {summary}; files in {out}")


def generate(
    out: Path = typer.Option(..., "--out", help="Folder for piece.mid (and piece.wav)."),
    bars: int = typer.Option(32, "--bars", help="Number of bars."),
    tempo: float = typer.Option(100.0, "--tempo", help="Quarter notes per minute."),
    key: str = typer.Option("C", "--key", help="Key, e.g. C, F#, Bb, 'A minor'."),
    mode: str | None = typer.Option(None, "--mode", help="major or minor."),
    meter: str = typer.Option("4/4", "--meter", help="Time signature, e.g. 3/4, 6/8."),
    seed: int = typer.Option(0, "--seed"),
    model: str | None = typer.Option(
        None, "--model", help="Checkpoint folder, or lstm / transformer."
    ),
    primer: Path | None = typer.Option(
        None, "--primer", help="A tune to continue (MIDI, ABC, MusicXML)."
    ),
    temperature: float = typer.Option(DEFAULT_SAMPLING.temperature, "--temperature"),
    top_k: int = typer.Option(DEFAULT_SAMPLING.top_k, "--top-k"),
    top_p: float = typer.Option(DEFAULT_SAMPLING.top_p, "--top-p"),
    audio: bool = typer.Option(True, "--audio/--no-audio", help="Also render piece.wav."),
) -> None:
    """Generate a plain piece (no therapy goal) at a fixed tempo, key and meter."""
    from cadence.therapy.instruments import parse_key
    from cadence.therapy.piece import plain_plan, write_piece

    if not 1 <= bars <= 4000:
        raise CadenceError(f"--bars must be 1..4000, got {bars}")
    if not 20 <= tempo <= 300:
        raise CadenceError(f"--tempo must be 20..300 quarter notes per minute, got {tempo}")
    try:
        num, den = (int(x) for x in meter.split("/"))
        tonic, key_mode = parse_key(key)
        plan = plain_plan(bars, tempo, tonic, mode or key_mode or "major", (num, den), seed)
    except ValueError as err:
        raise CadenceError(f"bad --key, --mode or --meter: {err}") from None
    paths = write_piece(
        plan,
        out,
        model=model,
        primer=primer,
        seed=seed,
        sampling=_sampling(temperature, top_k, top_p),
        audio_out=audio,
    )
    typer.echo(f"wrote {', '.join(str(p) for p in paths)}")
