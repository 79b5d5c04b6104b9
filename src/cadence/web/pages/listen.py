"""The patient's listening page, reached by an expiring link: start, listen (as often as the
patient likes), rate. A GET only shows the page; "Start listening" (a POST) claims the link for
this browser. The rules are in :mod:`cadence.web.links`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from cadence.clinic import feedback, listening, sessions
from cadence.clinic.errors import NotFound
from cadence.clinic.views import SessionView
from cadence.render import opus
from cadence.therapy import guidance
from cadence.web.deps import Db, State
from cadence.web.files import file_response
from cadence.web.links import (
    VISITOR_COOKIE,
    LinkRefused,
    Listening,
    is_started_here,
    link_actor,
    live_link,
    mark_used,
    open_link,
    session_ids,
    start_link,
)
from cadence.web.pages.forms import FormErrors
from cadence.web.pages.render import redirect, render, set_cookie
from cadence.web.security import csrf_ok
from cadence.web.state import WebState
from cadence.web.store import PatientLink, aware, utcnow

router = APIRouter(include_in_schema=False)
THANKS = "Thank you. Your rating has been sent to your therapist."


class NotInLink(LinkRefused):
    """A session this link does not serve (404)."""

    status = 404


def _refused(request: Request, state: State, refused: LinkRefused) -> Response:
    return render(request, state, "listen_gone.html", {"message": str(refused)},
                  status_code=refused.status)


def _start_binding(token: str) -> str:
    """What the Start form's CSRF token is bound to before the browser has a visitor key."""
    return f"listen-start:{token}"


def _chosen(db: Session, visit: Listening, raw: str | None) -> tuple[int, list[int]]:
    """The session asked for (``?session=``; else the newest the link serves) and them all."""
    served = session_ids(db, visit.link, visit.actor)
    if raw in (None, ""):
        if not served:
            raise NotInLink("There is no music on this link yet.")
        return served[0], served
    if not str(raw).isdigit() or int(str(raw)) not in served:
        raise NotInLink("This music is not part of your link.")
    return int(str(raw)), served


def titled(view: SessionView) -> dict[str, Any]:
    """The session as the patient reads it: title, length in words, listening advice."""
    guide = guidance.guide(view.goal)
    minutes = view.prescription.get("minutes")
    length = (guidance.length_in_words(float(minutes))
              if isinstance(minutes, int | float) and minutes > 0 else None)
    return {"id": view.id, "title": guide.title, "length": length,
            "advice": [a.text for a in guidance.advice(view.goal)],
            "date": view.created_at.strftime("%-d %B %Y")}


def _page(request: Request, db: Session, state: WebState, token: str, visit: Listening,
          raw: str | None, *, started: bool, binding: str, errors: FormErrors | None = None,
          form: dict[str, str] | None = None, status_code: int = 200) -> Response:
    chosen, served = _chosen(db, visit, raw)
    view = sessions.get_session(db, visit.actor, chosen)
    course = [titled(sessions.get_session(db, visit.actor, sid)) for sid in served]
    return render(request, state, "listen.html", {
        "token": token,
        "started": started,
        "course": course if visit.link.scope == "course" else [],
        "session": titled(view),
        "audio": any(k in view.files for k in (listening.RENDITION, *listening.SOURCE_AUDIO)),
        "therapist": listening.therapist_name(db, visit.actor, chosen),
        "clinic": state.settings.clinic_name,
        "errors": errors or {},
        "form": form or {},
    }, binding=binding, status_code=status_code)


@router.get("/listen/{token}", response_class=HTMLResponse)
def listen(token: str, request: Request, db: Db, state: State, session: str | None = None
           ) -> Response:
    """The page; changes nothing (a link scanner's GET neither spends nor claims the link)."""
    visitor = request.cookies.get(VISITOR_COOKIE)
    try:
        link: PatientLink = live_link(db, token)
        if is_started_here(link, visitor):
            visit = open_link(db, token, visitor)
            return _page(request, db, state, token, visit, session, started=True,
                         binding=visitor or "")
        if link.visitor_hash is not None:
            visit = open_link(db, token, visitor)  # refuses: started on another browser
        visit = Listening(link, link_actor(link))
        return _page(request, db, state, token, visit, session, started=False,
                     binding=_start_binding(token))
    except LinkRefused as refused:
        return _refused(request, state, refused)


@router.post("/listen/{token}/start")
def start(token: str, request: Request, db: Db, state: State,
          csrf_token: Annotated[str, Form()] = "") -> Response:
    """"Start listening": claim the link for this browser, then show the player."""
    visitor = request.cookies.get(VISITOR_COOKIE)
    # The Start form (bound to the link), or the player page's forms (bound to the visitor).
    if not (csrf_ok(state.key, _start_binding(token), csrf_token)
            or csrf_ok(state.key, visitor, csrf_token)):
        return _refused(request, state, LinkRefused(
            "The page was out of date. Please open your link again."))
    try:
        visit = start_link(db, token, visitor)
    except LinkRefused as refused:
        return _refused(request, state, refused)
    response = redirect(f"/listen/{token}")
    if visit.new_visitor:
        set_cookie(
            response,
            state,
            VISITOR_COOKIE,
            visit.new_visitor,
            max_age=int((aware(visit.link.expires_at) - utcnow()).total_seconds()) + 1,
            path=f"/listen/{token}",
            samesite="strict",
        )
    return response


def _from_start(request: Request) -> bool:
    """Whether this audio request starts at the first byte: a listen, not a seek."""
    sent = request.headers.get("range", "").replace(" ", "").lower()
    return sent in ("", "bytes=0-") or sent.startswith("bytes=0-")


@router.get("/listen/{token}/audio")
def listen_audio(token: str, request: Request, db: Db, state: State, session: str | None = None
                 ) -> Response:
    """The session's compressed rendition for phones, with Range (206) for seeking."""
    try:
        visit = open_link(db, token, request.cookies.get(VISITOR_COOKIE))
        chosen, _ = _chosen(db, visit, session)
        try:
            path, kind = listening.rendition(db, visit.actor, chosen, opus.to_opus_if_possible)
        except NotFound:
            raise NotInLink("This session has no music to play.") from None
    except LinkRefused as refused:
        return _refused(request, state, refused)
    if _from_start(request):
        listening.record_listen(db, visit.actor, chosen, via=f"link {visit.link.id}")
        mark_used(visit.link)
    return file_response(path, kind)


@router.post("/listen/{token}", response_class=HTMLResponse)
def rate(
    token: str,
    request: Request,
    db: Db,
    state: State,
    csrf_token: Annotated[str, Form()] = "",
    session: Annotated[str, Form()] = "",
    rating: Annotated[str, Form()] = "",
    liked: Annotated[str, Form()] = "",
    comment: Annotated[str, Form()] = "",
) -> Response:
    """A rating of one session; the link stays usable (a course is rated session by session)."""
    visitor = request.cookies.get(VISITOR_COOKIE)
    try:
        visit = open_link(db, token, visitor)
        if not csrf_ok(state.key, visitor, csrf_token):
            raise LinkRefused("The page was out of date. Please open your link again.")
        chosen, _ = _chosen(db, visit, session)
    except LinkRefused as refused:
        return _refused(request, state, refused)
    errors = FormErrors()
    stars = errors.whole("rating", rating, 1, 5, "Rating")
    if stars is None and "rating" not in errors:
        errors["rating"] = "Please choose 1 to 5 stars"
    text = errors.text("comment", comment, "Comment", max_length=2000)
    if errors or stars is None:
        return _page(request, db, state, token, visit, str(chosen), started=True,
                     binding=visitor or "", errors=errors,
                     form={"rating": rating, "comment": comment}, status_code=422)
    feedback.add_feedback(
        db,
        visit.actor,
        chosen,
        rating=stars,
        liked={"yes": True, "no": False}.get(liked),
        comment=text,
    )
    mark_used(visit.link)
    return redirect(f"/listen/{token}?session={chosen}", state, THANKS)
