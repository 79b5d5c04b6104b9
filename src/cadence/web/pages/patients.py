"""Patient pages: the list (with the add form) and the profile (consent, baseline, favourite
tunes, sessions, outcomes, links to a new session and the report)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import HTMLResponse, Response

from cadence.clinic import feedback, outcomes, patients, sessions
from cadence.clinic.errors import Conflict, InvalidValue
from cadence.therapy.goals import GOALS
from cadence.web.api.outcomes import measures
from cadence.web.deps import Db, PageCaller, State, require_csrf
from cadence.web.flows import has_consent
from cadence.web.pages.forms import FormErrors
from cadence.web.pages.render import redirect, render
from cadence.web.uploads import saved_upload

router = APIRouter(include_in_schema=False, dependencies=[Depends(require_csrf)])

PATIENT_FIELDS = ("name", "birth_year", "contact", "notes", "code")


@router.get("/patients", response_class=HTMLResponse)
def patient_list(request: Request, caller: PageCaller, db: Db, state: State) -> Response:
    rows = patients.list_patients(db, caller.actor)
    context = {"patients": rows, "new": feedback.new_feedback_counts(db, caller.actor),
               "form": {}, "errors": {}}
    return render(request, state, "patients.html", context, caller=caller)


@router.post("/patients", response_class=HTMLResponse)
def add_patient(
    request: Request,
    caller: PageCaller,
    db: Db,
    state: State,
    name: Annotated[str, Form()] = "",
    birth_year: Annotated[str, Form()] = "",
    contact: Annotated[str, Form()] = "",
    notes: Annotated[str, Form()] = "",
) -> Response:
    form = {"name": name, "birth_year": birth_year, "contact": contact, "notes": notes}
    errors = FormErrors()
    name_text = errors.text("name", name, "Name", required=True, max_length=200)
    year = errors.whole("birth_year", birth_year, 1900, 2100, "Birth year")
    contact_text = errors.text("contact", contact, "Contact")
    notes_text = errors.text("notes", notes, "Notes", max_length=5000)
    if not errors and name_text is not None:
        try:
            view = patients.add_patient(
                db,
                caller.actor,
                name=name_text,
                birth_year=year,
                contact=contact_text,
                notes=notes_text,
            )
        except (InvalidValue, Conflict) as err:
            db.rollback()
            errors.add(err, PATIENT_FIELDS)
        else:
            return redirect(f"/patients/{view.code}", state, f"Added patient {view.code}.")
    rows = patients.list_patients(db, caller.actor)
    return render(
        request,
        state,
        "patients.html",
        {"patients": rows, "new": feedback.new_feedback_counts(db, caller.actor), "form": form,
         "errors": errors},
        caller=caller,
        status_code=422,
    )


def _profile(
    request: Request,
    caller: PageCaller,
    db: Db,
    state: State,
    code: str,
    errors: FormErrors | None = None,
    form: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    patient = patients.get_patient(db, caller.actor, code)
    context = {
        "patient": patient,
        "consent": has_consent(patient),
        "sessions": sessions.list_sessions(db, caller.actor, code),
        "outcomes": outcomes.list_outcomes(db, caller.actor, code),
        "favourites": patients.list_favourites(db, caller.actor, code),
        "feedback": feedback.patient_feedback(db, caller.actor, code),
        "consents": list(reversed(patients.list_consents(db, caller.actor, code))),
        "baseline": patients.get_baseline(db, caller.actor, code),
        "max_upload_mb": f"{state.settings.max_upload_mb:g}",
        "measures": measures(),
        "goals": GOALS,
        "errors": errors or {},
        "form": form or {},
    }
    feedback.mark_seen(db, caller.actor, code)  # after listing: the page still flags them new
    return render(request, state, "patient.html", context, caller=caller, status_code=status_code)


@router.get("/patients/{code}", response_class=HTMLResponse)
def patient_page(code: str, request: Request, caller: PageCaller, db: Db, state: State) -> Response:
    return _profile(request, caller, db, state, code)


@router.get("/patients/{code}/consent/withdraw", response_class=HTMLResponse)
def withdraw_page(
    code: str, request: Request, caller: PageCaller, db: Db, state: State
) -> Response:
    """The confirmation step before consent is withdrawn."""
    patient = patients.get_patient(db, caller.actor, code)
    return render(request, state, "consent_withdraw.html", {"patient": patient}, caller=caller)


@router.post("/patients/{code}/consent")
def consent(
    code: str,
    caller: PageCaller,
    db: Db,
    state: State,
    given: Annotated[str, Form()] = "",
    confirm: Annotated[str, Form()] = "",
) -> Response:
    yes = given == "yes"
    if not yes and confirm != "yes":  # withdrawal only from its confirmation page
        return redirect(f"/patients/{code}/consent/withdraw", state)
    patients.record_consent(db, caller.actor, code, given=yes, scope="sessions")
    message = "Consent recorded." if yes else "Consent withdrawn."
    return redirect(f"/patients/{code}", state, message)


@router.post("/patients/{code}/baseline", response_class=HTMLResponse)
def baseline(
    code: str,
    request: Request,
    caller: PageCaller,
    db: Db,
    state: State,
    resting_heart_rate: Annotated[str, Form()] = "",
    cadence_spm: Annotated[str, Form()] = "",
    fall_risk: Annotated[str, Form()] = "",
) -> Response:
    errors = FormErrors()
    hr = errors.number("resting_heart_rate", resting_heart_rate, 30, 220, "Resting heart rate")
    spm = errors.number("cadence_spm", cadence_spm, 30, 200, "Cadence")
    risk = {"yes": True, "no": False}.get(fall_risk)
    if fall_risk not in ("", "yes", "no"):
        errors["fall_risk"] = "choose yes, no or not recorded"
    if not errors and hr is None and spm is None and risk is None:
        errors["resting_heart_rate"] = "give a heart rate, a cadence or the fall risk"
    if errors:
        form = {"resting_heart_rate": resting_heart_rate, "cadence_spm": cadence_spm,
                "fall_risk": fall_risk}
        return _profile(request, caller, db, state, code, errors, form, 422)
    patients.set_baseline(db, caller.actor, code, resting_heart_rate=hr, cadence_spm=spm,
                          fall_risk=risk)
    return redirect(f"/patients/{code}", state, "Baseline recorded.")


@router.post("/patients/{code}/favourites", response_class=HTMLResponse)
def favourite(
    code: str,
    request: Request,
    caller: PageCaller,
    db: Db,
    state: State,
    file: Annotated[UploadFile, File()],
    title: Annotated[str, Form()] = "",
) -> Response:
    try:
        with saved_upload(file, state.settings.max_upload_bytes, state.settings) as path:
            patients.add_favourite(
                db, caller.actor, code, path, title=title.strip() or file.filename
            )
    except HTTPException as err:
        db.rollback()
        errors = FormErrors({"file": str(err.detail)})
        return _profile(request, caller, db, state, code, errors, {"title": title}, err.status_code)
    return redirect(f"/patients/{code}", state, "Favourite tune added.")


@router.post("/patients/{code}/outcomes", response_class=HTMLResponse)
def outcome(
    code: str,
    request: Request,
    caller: PageCaller,
    db: Db,
    state: State,
    measure: Annotated[str, Form()] = "",
    phase: Annotated[str, Form()] = "",
    value: Annotated[str, Form()] = "",
    session_id: Annotated[str, Form()] = "",
    back: Annotated[str, Form()] = "",
) -> Response:
    errors = FormErrors()
    # Kept whole for the re-rendered form, the session too: a corrected value keeps its session.
    form = {"measure": measure, "phase": phase, "value": value, "session_id": session_id,
            "back": back}
    number = errors.number("value", value, -1e9, 1e9, "Value")
    if number is None and "value" not in errors:
        errors["value"] = "Value: required"
    if phase not in ("before", "after"):
        errors["phase"] = "Phase: choose before or after"
    sid = int(session_id) if session_id.isdigit() else None
    if session_id and sid is None:
        errors["session_id"] = "Session: choose one of the patient's sessions"
    if not errors:
        try:
            outcomes.add_outcome(
                db, caller.actor, code, measure=measure, phase=phase, value=number, session_id=sid
            )
        except InvalidValue as err:
            db.rollback()
            errors.add(err, ("measure", "phase", "value", "session_id"))
        else:
            target = f"/sessions/{sid}" if back == "session" and sid else f"/patients/{code}"
            return redirect(target, state, "Outcome recorded.")
    return _profile(request, caller, db, state, code, errors, form, 422)


@router.post("/patients/{code}/edit", response_class=HTMLResponse)
def edit_patient(
    code: str,
    request: Request,
    caller: PageCaller,
    db: Db,
    state: State,
    name: Annotated[str, Form()] = "",
    birth_year: Annotated[str, Form()] = "",
    contact: Annotated[str, Form()] = "",
    notes: Annotated[str, Form()] = "",
) -> Response:
    """Change the patient's details; an empty optional field clears it."""
    errors = FormErrors()
    name_text = errors.text("name", name, "Name", required=True, max_length=200)
    year = errors.whole("birth_year", birth_year, 1900, 2100, "Birth year")
    contact_text = errors.text("contact", contact, "Contact")
    notes_text = errors.text("notes", notes, "Notes", max_length=20_000)
    if not errors:
        try:
            patients.update_patient(
                db,
                caller.actor,
                code,
                name=name_text,
                birth_year=year,
                contact=contact_text,
                notes=notes_text,
            )
        except InvalidValue as err:
            db.rollback()
            errors.add(err, PATIENT_FIELDS)
        else:
            return redirect(f"/patients/{code}", state, "Details saved.")
    form = {"name": name, "birth_year": birth_year, "contact": contact, "notes": notes}
    return _profile(request, caller, db, state, code, errors, form, 422)
