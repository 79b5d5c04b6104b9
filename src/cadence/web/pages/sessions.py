"""Session pages: a new session from a goal (the prescription shown, editable within its safe
bounds, checked on the server), the job's progress, and the session itself: listen, score,
plan, report, feedback, outcomes, and a link for the patient."""

from __future__ import annotations

import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import create_model

from cadence.clinic import feedback, outcomes, patients, sessions
from cadence.clinic.errors import ClinicError, ConsentRequired, InvalidValue
from cadence.clinic.planning import plan_for_patient
from cadence.errors import CadenceError
from cadence.therapy import Prescription
from cadence.therapy.checks import FieldError
from cadence.therapy.goals import GOALS
from cadence.therapy.request import SEED_MAX, SessionRequest
from cadence.therapy.session_plan import SessionPlan
from cadence.web import vocabulary
from cadence.web.api.outcomes import measures
from cadence.web.deps import Db, PageCaller, State, require_csrf
from cadence.web.errors import error_field
from cadence.web.flows import has_consent, submit_session, visible_job
from cadence.web.links import create_link, link_hours, link_url
from cadence.web.pages.forms import FormErrors
from cadence.web.pages.render import redirect, render
from cadence.web.prescribe import field_message, form_fields, form_names, parse_form
from cadence.web.store import LINK_SCOPES
from cadence.web.views import job_out

router = APIRouter(include_in_schema=False, dependencies=[Depends(require_csrf)])

DEFAULT_MINUTES = {
    "sleep": 20.0,
    "anxiety": 20.0,
    "mood": 15.0,
    "gait": 30.0,
    "cognition": 15.0,
    "pain": 20.0,
}


def _new_form(
    request: Request,
    caller: PageCaller,
    db: Db,
    state: State,
    code: str,
    goal: str,
    form: dict[str, str],
    errors: dict[str, str],
    status_code: int = 200,
    *,
    first: bool = False,
) -> Response:
    """The form with ``form``'s values and ``errors``; without errors, the plan they give.
    ``first``: the page has just opened, so what the plan still needs is a hint, not an
    error."""
    patient = patients.get_patient(db, caller.actor, code)
    consent = has_consent(patient)
    plan: SessionPlan | None = None
    needs = ""  # why there is no plan yet, when the page has just opened
    if not errors and consent:
        values, errors = parse_form(form, goal)
        if errors:
            status_code = 422
        else:
            try:  # planned exactly as the job will plan it
                request_ = SessionRequest.from_values({"goal": goal, **values}, patient=code)
                plan = plan_for_patient(db, caller.actor, state.clinic.config, request_)
            except CadenceError as err:
                if first:
                    needs = next(iter(_form_error(err).values()))
                else:
                    errors, status_code = _form_error(err), 422
    context = {
        "patient": patient,
        "consent": consent,
        "goal": goal,
        "goals": GOALS,
        "fields": form_fields(goal),
        "form": form,
        "errors": errors,
        "plan": plan,
        "rows": vocabulary.prescription_rows(plan.prescription) if plan else [],
        "needs": needs,
        "personal": plan.personal if plan else {},
        "favourites": patients.list_favourites(db, caller.actor, code),
    }
    return render(
        request, state, "session_new.html", context, caller=caller, status_code=status_code
    )


def _form_error(err: CadenceError) -> dict[str, str]:
    """The error under the field it names (the form as a whole when it names none). A clinic
    error that is not about the form's values (NotFound, Forbidden) is raised again for the
    app's own error pages."""
    if isinstance(err, ClinicError) and not isinstance(err, InvalidValue | ConsentRequired):
        raise err
    if isinstance(err, FieldError):
        return {err.field: field_message(err)}
    return {error_field(err) or "": str(err)}


def _known_goal(goal: str) -> str:
    """The goal, or a 422 naming the goals there are (never a silent fall-back to sleep)."""
    if goal not in GOALS:
        raise HTTPException(
            status_code=422,
            detail=f"There is no goal {goal[:40]!r}; choose one of {', '.join(GOALS)}.",
        )
    return goal


@router.get("/patients/{code}/sessions/new", response_class=HTMLResponse)
def new_session(
    code: str, request: Request, caller: PageCaller, db: Db, state: State, goal: str = "sleep"
) -> Response:
    """The form opens with the goal's usual length and a fresh seed, and the plan they give
    for this patient (baseline, fall risk, the suggested variant and its reason) beside it;
    submitting it unchanged plays exactly that plan."""
    _known_goal(goal)
    form = {"minutes": f"{DEFAULT_MINUTES[goal]:g}", "seed": str(secrets.randbelow(SEED_MAX))}
    return _new_form(request, caller, db, state, code, goal, form, {}, first=True)


# The new-session form: every field a string, parsed and checked by prescribe.parse_form.
SessionForm = create_model(
    "SessionForm",
    goal=(str, "sleep"),
    action=(str, "start"),
    favourite_id=(str, ""),
    **dict.fromkeys(sorted(form_names()), (str, "")),  # type: ignore[call-overload]
)


@router.post("/patients/{code}/sessions", response_class=HTMLResponse)
def create_session(
    code: str,
    request: Request,
    caller: PageCaller,
    db: Db,
    state: State,
    data: Annotated[SessionForm, Form()],  # type: ignore[valid-type]
) -> Response:
    """Preview (action=preview) or start the session; bad values come back inline."""
    form: dict[str, str] = data.model_dump()  # type: ignore[attr-defined]
    goal = _known_goal(form["goal"])
    if form["action"] == "preview":  # the form parses and plans the values itself
        return _new_form(request, caller, db, state, code, goal, form, {})
    values, errors = parse_form(form, goal)
    if errors:
        return _new_form(request, caller, db, state, code, goal, form, errors, 422)
    favourite = form["favourite_id"]
    try:
        job = submit_session(
            db,
            state,
            caller.actor,
            code,
            {"goal": goal, **values},
            favourite_id=int(favourite) if favourite.isdigit() else None,
        )
    except CadenceError as err:
        errors = _form_error(err)
        db.rollback()
        status = 409 if isinstance(err, ConsentRequired) else 422
        return _new_form(request, caller, db, state, code, goal, form, errors, status)
    return redirect(f"/jobs/{job.id}")


@router.get("/jobs/{job_id}", response_class=HTMLResponse)
def job_page(job_id: int, request: Request, caller: PageCaller, db: Db, state: State) -> Response:
    job = job_out(visible_job(db, caller.actor, job_id))
    if job.status == "done" and job.session_id is not None:
        return redirect(f"/sessions/{job.session_id}")
    return render(request, state, "job.html", {"job": job}, caller=caller)


def _session_context(db: Db, caller: PageCaller, session_id: int) -> dict[str, Any]:
    view = sessions.get_session(db, caller.actor, session_id)
    files = set(getattr(view, "files", {}) or {})
    audio = next((k for k in ("wav", "ogg", "flac") if k in files), None)
    try:
        prescription: Prescription | None = Prescription.from_dict(dict(view.prescription))
    except (CadenceError, KeyError, TypeError):  # a record from an older prescription format
        prescription = None
    report = dict(getattr(view, "report", {}) or {})
    return {
        "session": view,
        "rows": vocabulary.prescription_rows(prescription) if prescription else [],
        "citations": vocabulary.citations(prescription) if prescription else [],
        "checks": vocabulary.adherence_checks(report, prescription),
        "audio": audio,
        "files": sorted(files),
        "measures": measures(),
        "outcomes": [
            o
            for o in outcomes.list_outcomes(db, caller.actor, view.patient_code)
            if getattr(o, "session_id", None) == session_id
        ],
        "feedback": _seen_feedback(db, caller, view.patient_code, session_id),
        "errors": {},
        "form": {},
        "link": None,
    }


def _seen_feedback(db: Db, caller: PageCaller, code: str, session_id: int) -> list[Any]:
    """The session's ratings and comments as the page shows them (new ones flagged), then
    marked seen when the caller is the patient's therapist."""
    rows = feedback.list_feedback(db, caller.actor, session_id)
    feedback.mark_seen(db, caller.actor, code, session_id)
    return rows


@router.get("/sessions/{session_id}", response_class=HTMLResponse)
def session_page(
    session_id: int, request: Request, caller: PageCaller, db: Db, state: State
) -> Response:
    return render(
        request, state, "session.html", _session_context(db, caller, session_id), caller=caller
    )


@router.post("/sessions/{session_id}/feedback", response_class=HTMLResponse)
def add_feedback(
    session_id: int,
    request: Request,
    caller: PageCaller,
    db: Db,
    state: State,
    rating: Annotated[str, Form()] = "",
    liked: Annotated[str, Form()] = "",
    comment: Annotated[str, Form()] = "",
) -> Response:
    errors = FormErrors()
    stars = errors.whole("rating", rating, 1, 5, "Rating")
    if stars is None and "rating" not in errors:
        errors["rating"] = "Rating: choose 1 to 5"
    text = errors.text("comment", comment, "Comment", max_length=2000)
    if errors or stars is None:
        context = _session_context(db, caller, session_id)
        context.update(errors=errors, form={"rating": rating, "comment": comment})
        return render(request, state, "session.html", context, caller=caller, status_code=422)
    feedback.add_feedback(
        db,
        caller.actor,
        session_id,
        rating=stars,
        liked={"yes": True, "no": False}.get(liked),
        comment=text,
    )
    return redirect(f"/sessions/{session_id}", state, "Feedback saved.")


@router.post("/sessions/{session_id}/links", response_class=HTMLResponse)
def add_link(
    session_id: int,
    request: Request,
    caller: PageCaller,
    db: Db,
    state: State,
    scope: Annotated[str, Form()] = "session",
) -> Response:
    """A listening link to this session or to the patient's current course; shown once."""
    if scope not in LINK_SCOPES:
        context = _session_context(db, caller, session_id)
        context["link_error"] = f"Choose one of: {', '.join(LINK_SCOPES)}"
        return render(request, state, "session.html", context, caller=caller, status_code=422)
    hours = link_hours(state.settings, scope)
    token, link = create_link(db, caller.actor, session_id, hours, scope)
    context = _session_context(db, caller, session_id)
    context["link"] = {
        "url": link_url(state.settings, str(request.base_url), token),
        "expires_at": link.expires_at,
        "scope": link.scope,
    }
    return render(request, state, "session.html", context, caller=caller)
