"""Patient links: a single-use, expiring URL to one session's listening page.

A link is bound to the patient and the session: it answers only while that session exists and
is that patient's, and erasing the patient deletes the link (clinic's erasure deletes every row
naming the patient's code). The URL's token is 256 random bits; only its SHA-256 is stored.
The first browser to open the link is bound to it by a random visitor cookie (hash stored);
other browsers get 410. Rating the session spends the link. Everything the patient's page
reads or writes goes through clinic's services as an Actor named after the link, with the
rights of the clinician who made it, so the audit log shows each access.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from cadence.clinic import audit, sessions
from cadence.clinic.actors import Actor
from cadence.web.security import new_token, token_hash
from cadence.web.settings import WebSettings
from cadence.web.store import PatientLink, aware, utcnow

VISITOR_COOKIE = "cadence_listener"


class LinkGone(Exception):
    """The link is unknown, expired, revoked, spent, or bound to another browser (410)."""


@dataclass(frozen=True)
class Listening:
    link: PatientLink
    actor: Actor
    new_visitor: str | None  # a visitor key to set as a cookie (first open only)


def link_actor(link: PatientLink) -> Actor:
    """The patient using the link: audited as a patient (not the clinician who made it), and
    able to reach only their own record."""
    return Actor.patient(link.patient_code, via=f"link {link.id}")


def create_link(
    db: Session, actor: Actor, session_id: int, hours: float
) -> tuple[str, PatientLink]:
    """A new link to ``session_id`` (which the actor must be able to see); the plain token is
    returned once."""
    view = sessions.get_session(db, actor, session_id)
    token = new_token()
    link = PatientLink(
        token_hash=token_hash(token),
        patient_code=view.patient_code,
        session_id=session_id,
        clinician_id=actor.clinician_id,
        role=actor.role,
        created_by=actor.username,
        expires_at=utcnow() + timedelta(hours=hours),
    )
    db.add(link)
    db.flush()
    audit.record(db, actor, "create", "patient_link", link.id, patient_code=view.patient_code,
                 detail=f"session={session_id}")
    return token, link


def link_url(settings: WebSettings, request_base: str, token: str) -> str:
    """The listening page's address: under CADENCE_PUBLIC_URL when set (never the request's
    Host header), else under the address this request came to (a Host the TrustedHost
    middleware allowed)."""
    base = settings.public_url or request_base.rstrip("/")
    return f"{base}/listen/{token}"


def open_link(db: Session, token: str, visitor: str | None, *, bind: bool) -> Listening:
    """The live link for ``token`` as seen by the browser holding ``visitor``; LinkGone if it
    may not be used. With ``bind``, the first browser to open it is bound to it."""
    link = db.scalar(select(PatientLink).where(PatientLink.token_hash == token_hash(token)))
    if link is None or link.revoked_at is not None or aware(link.expires_at) <= utcnow():
        raise LinkGone("this link has expired; ask your therapist for a new one")
    if link.used_at is not None:
        raise LinkGone("this link has been used; thank you for your rating")
    if not sessions.belongs_to(db, link.session_id, link.patient_code):
        # The session (or its patient) is gone: a link is bound to both, never to a bare id.
        raise LinkGone("this link has expired; ask your therapist for a new one")
    new_visitor = None
    if link.visitor_hash is None:
        if not bind:
            raise LinkGone("open the link itself first")
        new_visitor = new_token()
        link.visitor_hash = token_hash(new_visitor)
        link.opened_at = utcnow()
    elif visitor is None or token_hash(visitor) != link.visitor_hash:
        raise LinkGone("this link was opened on another device; ask your therapist for a new one")
    listener = link_actor(link)
    if bind:  # the listening page itself (not each audio request): one use per page view
        audit.record(db, listener, "use", "patient_link", link.id,
                     patient_code=link.patient_code, detail=f"session={link.session_id}")
    return Listening(link, listener, new_visitor)
