"""Patient links: an expiring listening page for one session or the patient's current course."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, status
from sqlalchemy import select

from cadence.clinic import sessions
from cadence.web.deps import ApiCaller, Db, State
from cadence.web.links import create_link, link_hours, link_url
from cadence.web.schemas import LinkIn, LinkInfoOut, LinkOut
from cadence.web.store import PatientLink, utcnow

router = APIRouter(prefix="/patient-links", tags=["patient-links"])


@router.post("", response_model=LinkOut, status_code=status.HTTP_201_CREATED)
def create(body: LinkIn, request: Request, caller: ApiCaller, db: Db, state: State) -> LinkOut:
    """A link the patient opens to listen and rate; the URL is shown once."""
    hours = body.hours or link_hours(state.settings, body.scope)
    token, link = create_link(db, caller.actor, body.session_id, hours, body.scope)
    url = link_url(state.settings, str(request.base_url), token)
    return LinkOut(id=link.id, session_id=link.session_id, scope=link.scope, url=url,
                   expires_at=link.expires_at)


@router.get("", response_model=list[LinkInfoOut])
def list_links(session_id: int, caller: ApiCaller, db: Db) -> list[LinkInfoOut]:
    view = sessions.get_session(db, caller.actor, session_id)  # 404 unless visible
    rows = db.scalars(
        select(PatientLink)
        .where(PatientLink.session_id == session_id,
               PatientLink.patient_code == view.patient_code)
        .order_by(PatientLink.id)
    ).all()
    return [LinkInfoOut.model_validate(r) for r in rows]


@router.delete("/{link_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke(link_id: int, caller: ApiCaller, db: Db) -> None:
    link = db.get(PatientLink, link_id)
    if link is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "not found")
    view = sessions.get_session(db, caller.actor, link.session_id)  # 404 unless visible
    if view.patient_code != link.patient_code:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "not found")
    link.revoked_at = utcnow()
