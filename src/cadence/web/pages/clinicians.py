"""Clinician accounts (admins only): add, disable or enable, set a password."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from cadence.clinic import accounts
from cadence.clinic.errors import Conflict, Forbidden, InvalidValue, NotFound
from cadence.web.deps import Db, PageCaller, State, require_admin, require_csrf
from cadence.web.pages.forms import FormErrors
from cadence.web.pages.render import redirect, render

router = APIRouter(include_in_schema=False, dependencies=[Depends(require_csrf)])


def _page(
    request: Request,
    caller: PageCaller,
    db: Db,
    state: State,
    errors: FormErrors | None = None,
    form: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    require_admin(caller)
    rows = accounts.list_clinicians(db, caller.actor)
    return render(
        request,
        state,
        "clinicians.html",
        {"clinicians": rows, "errors": errors or {}, "form": form or {}},
        caller=caller,
        status_code=status_code,
    )


@router.get("/clinicians", response_class=HTMLResponse)
def clinicians(request: Request, caller: PageCaller, db: Db, state: State) -> Response:
    return _page(request, caller, db, state)


@router.post("/clinicians", response_class=HTMLResponse)
def add_clinician(
    request: Request,
    caller: PageCaller,
    db: Db,
    state: State,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = "therapist",
) -> Response:
    require_admin(caller)
    errors = FormErrors()
    name = errors.text("username", username, "Username", required=True, max_length=64)
    if role not in ("admin", "therapist"):
        errors["role"] = "Role: admin or therapist"
    if not errors and name is not None:
        try:
            accounts.create_clinician(db, caller.actor, name, password, role)
        except (InvalidValue, Conflict) as err:
            db.rollback()
            errors.add(err, ("username", "password", "role"))
        else:
            return redirect("/clinicians", state, f"Added {role} {name}.")
    return _page(request, caller, db, state, errors, {"username": username, "role": role}, 422)


@router.post("/clinicians/{clinician_id}/active", response_class=HTMLResponse)
def set_active(
    clinician_id: int,
    request: Request,
    caller: PageCaller,
    db: Db,
    state: State,
    active: Annotated[str, Form()] = "",
) -> Response:
    """Disable (``active=no``: their sign-ins and tokens end) or enable an account."""
    require_admin(caller)
    try:
        view = accounts.set_active(db, caller.actor, clinician_id, active == "yes")
    except (InvalidValue, NotFound, Forbidden) as err:
        db.rollback()
        errors = FormErrors()
        errors.add(err)
        return _page(request, caller, db, state, errors, status_code=422)
    done = "enabled" if view.active else "disabled; their sign-ins have ended"
    return redirect("/clinicians", state, f"{view.username} {done}.")


@router.post("/clinicians/{clinician_id}/password", response_class=HTMLResponse)
def set_password(
    clinician_id: int,
    request: Request,
    caller: PageCaller,
    db: Db,
    state: State,
    password: Annotated[str, Form()] = "",
) -> Response:
    """A new password for the account (clinic's rule); its earlier sign-ins end."""
    require_admin(caller)
    try:
        view = accounts.set_password(db, caller.actor, clinician_id, password)
    except (InvalidValue, NotFound, Forbidden) as err:
        db.rollback()
        errors = FormErrors()
        errors.add(err)
        return _page(request, caller, db, state, errors, status_code=422)
    return redirect("/clinicians", state, f"Password of {view.username} changed.")
