"""Clinic records from the command line: ``cadence patient ...``, ``cadence clinician add``,
``cadence feedback``, ``cadence outcome``, ``cadence db audit|backup|restore|rotate-key``.

Every command runs as the machine's operator (``Actor.system()``) on the clinic in
``CADENCE_HOME`` / ``CADENCE_DATABASE_URL`` with the key from ``CADENCE_SECRET_KEY`` or
``<home>/secret.key``, and each is one transaction: bad input (an out-of-range score, an
unknown patient, a session without consent, a wrong key) raises a clinic error, which the CLI
prints as one line with exit code 2, and nothing is written.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from cadence.errors import CadenceError

if TYPE_CHECKING:  # the clinic needs the web extra (SQLAlchemy...): import it when a command runs
    from sqlalchemy.orm import Session

    from cadence.clinic.actors import Actor
    from cadence.clinic.db import Clinic

patient_app = typer.Typer(
    help="Patients: add, list, show, consent, preferences, baselines, export, erase.",
    no_args_is_help=True,
)
clinician_app = typer.Typer(help="Clinician accounts (admins and therapists).",
                            no_args_is_help=True)
db_app = typer.Typer(help="The clinic database: audit log, backup, restore, key rotation.",
                     no_args_is_help=True)


@contextlib.contextmanager
def _clinic() -> Iterator[Clinic]:
    from cadence.clinic.config import ClinicConfig
    from cadence.clinic.db import open_clinic

    clinic = open_clinic(ClinicConfig.from_env())
    try:
        yield clinic
    finally:
        clinic.close()


@contextlib.contextmanager
def _transaction() -> Iterator[tuple[Session, Actor]]:
    """One transaction on the clinic, as the system actor."""
    from cadence.clinic.actors import Actor

    with _clinic() as clinic, clinic.session() as db:
        yield db, Actor.system()


def _therapist_id(db: Session, username: str | None) -> int | None:
    if username is None:
        return None
    from sqlalchemy import select

    from cadence.clinic.models import Clinician

    found = db.scalar(select(Clinician.id).where(Clinician.username == username))
    if found is None:
        raise CadenceError(f"--therapist: no clinician {username!r} (cadence clinician add)")
    return found


# --- patient -----------------------------------------------------------------------------


@patient_app.command("add")
def patient_add(
    name: str = typer.Argument(..., help="Full name (stored encrypted)."),
    birth_year: int | None = typer.Option(None, "--birth-year", help="Year of birth."),
    contact: str | None = typer.Option(None, "--contact", help="Contact details (encrypted)."),
    notes: str | None = typer.Option(None, "--notes", help="Clinical notes (encrypted)."),
    code: str | None = typer.Option(None, "--code", help="Pseudonymous code (default P-XXXXXX)."),
    therapist: str | None = typer.Option(None, "--therapist",
                                         help="Username of the responsible clinician."),
) -> None:
    """Add a patient; prints the patient's pseudonymous code."""
    from cadence.clinic import patients

    with _transaction() as (db, actor):
        view = patients.add_patient(db, actor, name=name, birth_year=birth_year, contact=contact,
                                    notes=notes, therapist_id=_therapist_id(db, therapist),
                                    code=code)
    typer.echo(view.code)


@patient_app.command("list")
def patient_list() -> None:
    """List patients: code, name, birth year, consent, number of sessions."""
    from cadence.clinic import patients

    with _transaction() as (db, actor):
        rows = patients.list_patients(db, actor)
    if not rows:
        typer.echo("no patients (add one with: cadence patient add NAME)")
        return
    for p in rows:
        consent = "consent" if p.consent else "no consent"
        year = p.birth_year if p.birth_year is not None else "-"
        typer.echo(f"{p.code}\t{p.name}\t{year}\t{consent}\t{p.sessions} sessions")


@patient_app.command("show")
def patient_show(code: str = typer.Argument(..., help="Patient code.")) -> None:
    """Show one patient: identity, consent, preferences, baseline, sessions, outcomes."""
    from cadence.clinic import history, outcomes, patients

    with _transaction() as (db, actor):
        view = patients.get_patient(db, actor, code)
        past = history.patient_history(db, actor, code)
        measured = outcomes.list_outcomes(db, actor, code)
    lines = [
        f"code:        {view.code}",
        f"name:        {view.name}",
        f"birth year:  {view.birth_year if view.birth_year is not None else '-'}",
        f"contact:     {view.contact or '-'}",
        f"notes:       {view.notes or '-'}",
        f"consent:     {'given' if view.consent else 'not given'} (sessions)",
    ]
    if past.preferences is not None:
        p = past.preferences
        lines.append(f"likes:       {', '.join(p.liked_instruments + p.liked_styles) or '-'}")
        lines.append(f"dislikes:    {', '.join(p.disliked_instruments + p.disliked_styles) or '-'}")
    if past.youth_years is not None:
        lines.append(f"youth:       {past.youth_years[0]}-{past.youth_years[1]}")
    if past.baseline is not None:
        b = past.baseline
        lines.append(f"baseline:    resting heart rate {_num(b.resting_heart_rate)} bpm, "
                     f"cadence {_num(b.cadence_spm)} steps/min, fall risk {_risk(b.fall_risk)}")
    for fav in past.favourites:
        lines.append(f"favourite:   {fav.title or '(untitled)'} ({fav.suffix})")
    for s in past.sessions:
        rating = f"rating {s.rating:.1f}" if s.rating is not None else "not rated"
        lines.append(f"session {s.session_id}:  {s.goal}, {s.created_at:%Y-%m-%d %H:%M}, {rating}")
    for o in measured:
        where = f" (session {o.session_id})" if o.session_id is not None else ""
        lines.append(f"outcome:     {o.measure} {o.phase} {o.value:g}{where}")
    typer.echo("\n".join(lines))


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


@patient_app.command("export")
def patient_export(
    code: str = typer.Argument(..., help="Patient code."),
    out: Path = typer.Option(..., "--out", help="Folder to write CODE/ into."),
) -> None:
    """Export all of one patient's data (decrypted JSON plus files) to OUT/CODE/."""
    from cadence.clinic import privacy

    with _transaction() as (db, actor):
        folder = privacy.export_patient(db, actor, code, out)
    typer.echo(str(folder))


@patient_app.command("erase")
def patient_erase(
    code: str = typer.Argument(..., help="Patient code."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
) -> None:
    """Erase a patient for good: records, their files and their key material."""
    from cadence.clinic import privacy
    from cadence.clinic.access import patient_row

    with _transaction() as (db, actor):  # an unknown code fails before the question
        patient_row(db, actor, code)
    if not yes and not typer.confirm(
        f"Erase patient {code} and all their records? This cannot be undone"
    ):
        typer.echo("not erased")
        raise typer.Exit(1)
    with _transaction() as (db, actor):
        report = privacy.erase_patient(db, actor, code)
    typer.echo(f"erased {report.code}: {sum(report.rows.values())} records, "
               f"{report.files_removed} files")


@patient_app.command("consent")
def patient_consent(
    code: str = typer.Argument(..., help="Patient code."),
    given: bool = typer.Option(..., "--given/--withdrawn", help="Consent given or withdrawn."),
    scope: str = typer.Option("sessions", "--scope", help="sessions or research."),
) -> None:
    """Record the patient's consent (sessions are stored only with consent)."""
    from cadence.clinic import patients

    with _transaction() as (db, actor):
        view = patients.record_consent(db, actor, code, given=given, scope=scope)
    state = "given" if view.given else "withdrawn"
    typer.echo(f"{view.patient_code}: {view.scope} consent {state}")


def _youth(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    try:
        start, end = (int(part) for part in text.split("-"))
    except ValueError:
        raise CadenceError(f"--youth: got {text!r}; write FIRST-LAST, e.g. 1961-1967") from None
    return start, end


@patient_app.command("prefs")
def patient_prefs(
    code: str = typer.Argument(..., help="Patient code."),
    like_instrument: list[str] | None = typer.Option(None, "--like-instrument",
                                                     help="Liked instrument (repeat)."),
    dislike_instrument: list[str] | None = typer.Option(None, "--dislike-instrument",
                                                        help="Disliked instrument (repeat)."),
    like_style: list[str] | None = typer.Option(None, "--like-style", help="Liked style."),
    dislike_style: list[str] | None = typer.Option(None, "--dislike-style",
                                                   help="Disliked style."),
    youth: str | None = typer.Option(None, "--youth", help="Years of their youth, e.g. 1961-1967."),
    favourite: list[Path] | None = typer.Option(None, "--favourite",
                                                help="A favourite tune file (repeat)."),
) -> None:
    """Show or change preferences; options given replace those lists, others stay."""
    from cadence.clinic import patients

    with _transaction() as (db, actor):
        current = patients.get_preferences(db, actor, code)
        changing = any(v is not None for v in (like_instrument, dislike_instrument, like_style,
                                               dislike_style, youth))
        if changing:
            was = current

            def pick(new: list[str] | None, field: str) -> tuple[str, ...]:
                if new is not None:
                    return tuple(new)
                return tuple(getattr(was, field)) if was is not None else ()

            current = patients.set_preferences(
                db, actor, code,
                liked_instruments=pick(like_instrument, "liked_instruments"),
                disliked_instruments=pick(dislike_instrument, "disliked_instruments"),
                liked_styles=pick(like_style, "liked_styles"),
                disliked_styles=pick(dislike_style, "disliked_styles"),
                youth_years=_youth(youth) if youth is not None else (
                    was.youth_years if was is not None else None),
            )
        for path in favourite or []:
            patients.add_favourite(db, actor, code, path, title=path.stem)
        favourites = patients.list_favourites(db, actor, code)
    if current is None:
        typer.echo(f"{code}: no preferences recorded")
    else:
        typer.echo(f"liked instruments:    {', '.join(current.liked_instruments) or '-'}")
        typer.echo(f"disliked instruments: {', '.join(current.disliked_instruments) or '-'}")
        typer.echo(f"liked styles:         {', '.join(current.liked_styles) or '-'}")
        typer.echo(f"disliked styles:      {', '.join(current.disliked_styles) or '-'}")
        years = current.youth_years
        typer.echo(f"youth:                {f'{years[0]}-{years[1]}' if years else '-'}")
    for fav in favourites:
        typer.echo(f"favourite:            {fav.title or '(untitled)'} ({fav.sha256[:12]})")


@patient_app.command("baseline")
def patient_baseline(
    code: str = typer.Argument(..., help="Patient code."),
    heart_rate: float | None = typer.Option(None, "--heart-rate",
                                            help="Resting heart rate, beats/min (30-220)."),
    cadence_spm: float | None = typer.Option(None, "--cadence",
                                             help="Walking cadence, steps/min (30-200)."),
    fall_risk: bool | None = typer.Option(None, "--fall-risk/--no-fall-risk",
                                          help="At risk of falling: gait never raises the tempo."),
) -> None:
    """Record a baseline (resting heart rate, walking cadence, fall risk); without options,
    show it."""
    from cadence.clinic import patients

    with _transaction() as (db, actor):
        if heart_rate is None and cadence_spm is None and fall_risk is None:
            view = patients.get_baseline(db, actor, code)
        else:
            view = patients.set_baseline(db, actor, code, resting_heart_rate=heart_rate,
                                         cadence_spm=cadence_spm, fall_risk=fall_risk)
    if view is None:
        typer.echo(f"{code}: no baseline recorded")
        return
    typer.echo(f"{view.patient_code}: resting heart rate {_num(view.resting_heart_rate)} bpm, "
               f"cadence {_num(view.cadence_spm)} steps/min, fall risk {_risk(view.fall_risk)}")


def _risk(value: bool | None) -> str:
    return "not recorded" if value is None else ("yes" if value else "no")


# --- feedback and outcomes ---------------------------------------------------------------


def feedback(
    session_id: int = typer.Argument(..., help="Session id (cadence patient show CODE)."),
    rating: int = typer.Option(..., "--rating", help="1 (poor) to 5 (excellent)."),
    liked: bool | None = typer.Option(None, "--liked/--disliked", help="Liked it or not."),
    comment: str | None = typer.Option(None, "--comment", help="Free text (encrypted)."),
) -> None:
    """Record feedback on a session: a 1-5 rating, liked or not, a comment."""
    from cadence.clinic import feedback as service

    with _transaction() as (db, actor):
        view = service.add_feedback(db, actor, session_id, rating=rating, liked=liked,
                                    comment=comment)
    typer.echo(f"session {view.session_id}: rating {view.rating} recorded")


def outcome(
    patient: str = typer.Argument(..., help="Patient code."),
    measure: str = typer.Option(..., "--measure", help="mood_vas, stai6, pain_nrs, heart_rate, "
                                "cadence_spm, gait_speed, sleep_onset_min, sleep_quality, "
                                "engagement or liking."),
    phase: str = typer.Option(..., "--phase", help="before or after."),
    value: float | None = typer.Option(None, "--value", help="The measured value."),
    stai_items: str | None = typer.Option(None, "--stai-items",
                                          help="STAI-6: six item scores 1-4, e.g. 1,2,3,4,1,2."),
    session: int | None = typer.Option(None, "--session", help="The session it belongs to."),
) -> None:
    """Record an outcome measure before or after a session (ranges from THERAPY.md)."""
    from cadence.clinic import outcomes

    items = None
    if stai_items is not None:
        try:
            items = [int(x) for x in stai_items.split(",")]
        except ValueError:
            raise CadenceError(
                f"--stai-items: got {stai_items!r}; give six whole numbers 1-4, comma-separated"
            ) from None
    with _transaction() as (db, actor):
        view = outcomes.add_outcome(db, actor, patient, measure=measure, phase=phase,
                                    value=value, session_id=session, items=items)
    typer.echo(f"{view.patient_code}: {view.measure} {view.phase} = {view.value:g} ({view.unit})")


# --- clinicians --------------------------------------------------------------------------


@clinician_app.command("add")
def clinician_add(
    username: str = typer.Argument(..., help="Sign-in name."),
    role: str = typer.Option("therapist", "--role", help="admin or therapist."),
    password: str = typer.Option(..., "--password", prompt=True, hide_input=True,
                                 confirmation_prompt=True,
                                 help="At least 12 characters, not a common password "
                                 "(asked when left out)."),
) -> None:
    """Add a clinician account (for the web app)."""
    from cadence.clinic import accounts

    with _transaction() as (db, actor):
        view = accounts.create_clinician(db, actor, username, password, role)
    typer.echo(f"clinician {view.username} ({view.role}) added, id {view.id}")


def _set_active(username: str, active: bool):  # type: ignore[no-untyped-def]
    from cadence.clinic import accounts

    with _transaction() as (db, actor):
        clinician = accounts.find_clinician(db, actor, username)
        return accounts.set_active(db, actor, clinician.id, active)


@clinician_app.command("disable")
def clinician_disable(username: str = typer.Argument(..., help="Sign-in name.")) -> None:
    """Disable an account: it can no longer sign in, and its sign-ins and tokens end now."""
    view = _set_active(username, False)
    typer.echo(f"clinician {view.username} disabled; their sign-ins and tokens have ended")


@clinician_app.command("enable")
def clinician_enable(username: str = typer.Argument(..., help="Sign-in name.")) -> None:
    """Enable a disabled account again (its old sign-ins and tokens stay ended)."""
    view = _set_active(username, True)
    typer.echo(f"clinician {view.username} enabled")


@clinician_app.command("passwd")
def clinician_passwd(
    username: str = typer.Argument(..., help="Sign-in name."),
    password: str = typer.Option(..., "--password", prompt="New password", hide_input=True,
                                 confirmation_prompt=True,
                                 help="At least 12 characters, not a common password "
                                 "(asked when left out)."),
) -> None:
    """Set a clinician's password; their sign-ins and tokens made before it end."""
    from cadence.clinic import accounts

    with _transaction() as (db, actor):
        view = accounts.set_password(db, actor, accounts.find_clinician(db, actor, username).id,
                                     password)
    typer.echo(f"password of {view.username} changed; their earlier sign-ins have ended")


@clinician_app.command("list")
def clinician_list() -> None:
    """List clinician accounts: id, username, role, active."""
    from cadence.clinic import accounts

    with _transaction() as (db, actor):
        rows = accounts.list_clinicians(db, actor)
    if not rows:
        typer.echo("no clinicians (add one with: cadence clinician add NAME --role admin)")
    for c in rows:
        typer.echo(f"{c.id}\t{c.username}\t{c.role}\t{'active' if c.active else 'inactive'}")


# --- database ----------------------------------------------------------------------------


@db_app.command("audit")
def db_audit(
    patient: str | None = typer.Option(None, "--patient", help="Only entries about this code."),
    limit: int = typer.Option(50, "--limit", help="The newest N entries (0: all)."),
) -> None:
    """Show the audit log: when, who, what, which record (never patient data)."""
    from cadence.clinic import audit

    if limit < 0:
        raise CadenceError(f"--limit: got {limit}; must be 0 (all) or more")
    with _transaction() as (db, actor):
        entries = audit.list_audit(db, actor, patient, limit=limit or None)
    for e in entries:
        target = f"{e.entity}#{e.entity_id}" if e.entity_id is not None else e.entity
        typer.echo(f"{e.at:%Y-%m-%d %H:%M:%S}\t{e.actor_name}\t{e.action}\t{target}\t"
                   f"{e.patient_code or '-'}\t{e.detail or ''}".rstrip())


@db_app.command("backup")
def db_backup(dest: Path = typer.Argument(..., help="A new (or empty) folder.")) -> None:
    """Back up the database and files (the data stays encrypted: keep the key apart)."""
    from cadence.clinic.backup import backup

    with _clinic() as clinic:
        folder = backup(clinic, dest)
    typer.echo(f"backup written to {folder}")


@db_app.command("restore")
def db_restore(
    src: Path = typer.Argument(..., help="A folder written by cadence db backup."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
) -> None:
    """Replace all current records and files with a backup (stop the web app first)."""
    from cadence.clinic.backup import restore

    if not src.is_dir():
        raise CadenceError(f"{src} is not a folder written by cadence db backup")
    if not yes and not typer.confirm("Replace ALL current records with the backup?"):
        typer.echo("not restored")
        raise typer.Exit(1)
    with _clinic() as clinic:
        restore(clinic, src)
    typer.echo(f"restored from {src}")


@db_app.command("rotate-key")
def db_rotate_key() -> None:
    """Re-wrap every patient key under a new master key (stop the web app first)."""
    from cadence.clinic.backup import rotate_key

    with _clinic() as clinic:
        report = rotate_key(clinic)
    typer.echo(f"re-wrapped {report.rewrapped} patient keys")
    if report.key_file is not None:
        typer.echo(f"new key in {report.key_file}; backups made before need the old key")
    else:
        typer.echo("the database no longer opens with the old CADENCE_SECRET_KEY; set:")
        typer.echo(f"CADENCE_SECRET_KEY={report.new_key}")
