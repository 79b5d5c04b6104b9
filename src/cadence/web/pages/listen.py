"""The patient's listening page, reached by a single-use, expiring link: listen and rate."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from cadence.clinic import feedback, sessions
from cadence.web.deps import Db, State
from cadence.web.files import AUDIO, file_response
from cadence.web.links import VISITOR_COOKIE, LinkGone, open_link
from cadence.web.pages.forms import FormErrors
from cadence.web.pages.render import render, set_cookie
from cadence.web.security import csrf_ok
from cadence.web.store import utcnow

router = APIRouter(include_in_schema=False)


def _gone(request: Request, state: State, message: str) -> Response:
    return render(request, state, "listen_gone.html", {"message": message}, status_code=410)


def _audio_kind(files: object) -> str | None:
    return next((k for k in AUDIO if k in (files or {})), None)  # type: ignore[operator]


@router.get("/listen/{token}", response_class=HTMLResponse)
def listen(token: str, request: Request, db: Db, state: State) -> Response:
    try:
        visit = open_link(db, token, request.cookies.get(VISITOR_COOKIE), bind=True)
    except LinkGone as gone:
        return _gone(request, state, str(gone))
    view = sessions.get_session(db, visit.actor, visit.link.session_id)
    visitor = visit.new_visitor or request.cookies.get(VISITOR_COOKIE) or ""
    response = render(
        request,
        state,
        "listen.html",
        {
            "token": token,
            "session": view,
            "audio": _audio_kind(getattr(view, "files", {})),
            "errors": {},
            "form": {},
        },
        binding=visitor,
    )
    if visit.new_visitor:
        hours = state.settings.link_hours
        set_cookie(
            response,
            state,
            VISITOR_COOKIE,
            visit.new_visitor,
            max_age=int(hours * 3600),
            path=f"/listen/{token}",
            samesite="strict",
        )
    return response


@router.get("/listen/{token}/audio")
def listen_audio(token: str, request: Request, db: Db, state: State) -> Response:
    try:
        visit = open_link(db, token, request.cookies.get(VISITOR_COOKIE), bind=False)
    except LinkGone as gone:
        return _gone(request, state, str(gone))
    view = sessions.get_session(db, visit.actor, visit.link.session_id)
    kind = _audio_kind(getattr(view, "files", {}))
    if kind is None:
        return _gone(request, state, "this session has no audio")
    path = sessions.session_file(db, visit.actor, visit.link.session_id, kind)
    return file_response(path, kind)


@router.post("/listen/{token}", response_class=HTMLResponse)
def rate(
    token: str,
    request: Request,
    db: Db,
    state: State,
    csrf_token: Annotated[str, Form()] = "",
    rating: Annotated[str, Form()] = "",
    liked: Annotated[str, Form()] = "",
    comment: Annotated[str, Form()] = "",
) -> Response:
    visitor = request.cookies.get(VISITOR_COOKIE)
    try:
        visit = open_link(db, token, visitor, bind=False)
    except LinkGone as gone:
        return _gone(request, state, str(gone))
    if not csrf_ok(state.key, visitor, csrf_token):
        return _gone(request, state, "the form expired; open the link again")
    errors = FormErrors()
    stars = errors.whole("rating", rating, 1, 5, "Rating")
    if stars is None and "rating" not in errors:
        errors["rating"] = "Please choose 1 to 5 stars"
    text = errors.text("comment", comment, "Comment", max_length=2000)
    if errors or stars is None:
        view = sessions.get_session(db, visit.actor, visit.link.session_id)
        return render(
            request,
            state,
            "listen.html",
            {
                "token": token,
                "session": view,
                "audio": _audio_kind(getattr(view, "files", {})),
                "errors": errors,
                "form": {"rating": rating, "comment": comment},
            },
            binding=visitor,
            status_code=422,
        )
    feedback.add_feedback(
        db,
        visit.actor,
        visit.link.session_id,
        rating=stars,
        liked={"yes": True, "no": False}.get(liked),
        comment=text,
    )
    visit.link.used_at = utcnow()
    return render(request, state, "listen_done.html", {}, binding=visitor)
