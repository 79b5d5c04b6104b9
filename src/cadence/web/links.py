"""Patient links: an expiring URL to a patient's listening page, for one session or for the
patient's current course (their latest sessions), used as often as they like until it expires
or is revoked.

A link is bound to the patient and the session it was made from: it answers only while that
session exists and is that patient's, and erasing the patient deletes the link (clinic's
erasure deletes every row naming the patient's code). The URL's token is 256 random bits; only
its SHA-256 is stored.

Opening the link (a GET) changes nothing, so an e-mail scanner that fetches it neither spends
nor claims it. The patient's explicit "Start listening" (a POST from the page's button) binds
the link to that browser by a random visitor cookie (hash stored); from then on other browsers
are refused (403). Everything the patient's page reads or writes goes through clinic's
services as the patient (:meth:`Actor.patient`), who sees only their own record, so the audit
log shows each listen and rating under the patient, not under a clinician's role.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from cadence.clinic import audit, listening, sessions
from cadence.clinic.actors import Actor
from cadence.web.security import new_token, token_hash
from cadence.web.settings import WebSettings
from cadence.web.store import LINK_SCOPES, PatientLink, aware, utcnow

VISITOR_COOKIE = "cadence_listener"
EXPIRED = "This link has expired. Please ask your therapist for a new one."


class LinkRefused(Exception):
    """The link may not be used here; ``status`` is the page's HTTP status and the message
    says why in the patient's words."""

    status = 403


class LinkGone(LinkRefused):
    """Unknown, expired or revoked, or its session is gone (410)."""

    status = 410


class InUseElsewhere(LinkRefused):
    """Started on another browser (403)."""


class NotStarted(LinkRefused):
    """Nobody has pressed "Start listening" yet (403)."""


@dataclass(frozen=True)
class Listening:
    link: PatientLink
    actor: Actor
    new_visitor: str | None = None  # a visitor key to set as a cookie (on start only)


def link_actor(link: PatientLink) -> Actor:
    """The patient using the link: audited as a patient (not the clinician who made it), and
    able to reach only their own record."""
    return Actor.patient(link.patient_code, via=f"link {link.id}")


def create_link(
    db: Session, actor: Actor, session_id: int, hours: float, scope: str = "session"
) -> tuple[str, PatientLink]:
    """A new link to ``session_id`` (which the actor must be able to see), or to its patient's
    current course; the plain token is returned once."""
    if scope not in LINK_SCOPES:
        raise ValueError(f"scope: got {scope!r}; must be one of {', '.join(LINK_SCOPES)}")
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
        scope=scope,
    )
    db.add(link)
    db.flush()
    audit.record(db, actor, "create", "patient_link", link.id, patient_code=view.patient_code,
                 detail=f"session={session_id}")
    return token, link


def link_hours(settings: WebSettings, scope: str) -> float:
    """How long a new link lasts unless its maker says: a course lasts the course."""
    return settings.course_link_days * 24 if scope == "course" else settings.link_hours


def validity_in_words(settings: WebSettings) -> dict[str, str]:
    """Scope -> how long a new link of that scope lasts, for the clinician's page."""
    def words(hours: float) -> str:
        if hours >= 48 and hours % 24 == 0:
            return f"{hours / 24:g} days"
        return f"{hours:g} hours"

    return {scope: words(link_hours(settings, scope)) for scope in LINK_SCOPES}


def link_url(settings: WebSettings, request_base: str, token: str) -> str:
    """The listening page's address: under CADENCE_PUBLIC_URL when set (never the request's
    Host header), else under the address this request came to (a Host the TrustedHost
    middleware allowed)."""
    base = settings.public_url or request_base.rstrip("/")
    return f"{base}/listen/{token}"


def live_link(db: Session, token: str) -> PatientLink:
    """The link for ``token`` if it may still be used at all; LinkGone otherwise. Reads only."""
    link = db.scalar(select(PatientLink).where(PatientLink.token_hash == token_hash(token)))
    if link is None or link.revoked_at is not None or aware(link.expires_at) <= utcnow():
        raise LinkGone(EXPIRED)
    if not sessions.belongs_to(db, link.session_id, link.patient_code):
        # The session (or its patient) is gone: a link is bound to both, never to a bare id.
        raise LinkGone(EXPIRED)
    return link


def is_started_here(link: PatientLink, visitor: str | None) -> bool:
    return link.visitor_hash is not None and visitor is not None \
        and token_hash(visitor) == link.visitor_hash


def open_link(db: Session, token: str, visitor: str | None) -> Listening:
    """The live link for ``token``, for the browser that started it (holding ``visitor``)."""
    link = live_link(db, token)
    if link.visitor_hash is None:
        raise NotStarted("Please open your link and press “Start listening” first.")
    if not is_started_here(link, visitor):
        raise InUseElsewhere(
            "This link is already in use on another phone or computer. Please listen there, "
            "or ask your therapist for a new link."
        )
    return Listening(link, link_actor(link))


def start_link(db: Session, token: str, visitor: str | None) -> Listening:
    """"Start listening": bind an unbound link to this browser (a new visitor key to set as a
    cookie); the browser it is bound to may press it again; anyone else is refused."""
    link = live_link(db, token)
    if link.visitor_hash is None:
        new_visitor = new_token()
        link.visitor_hash = token_hash(new_visitor)
        link.opened_at = utcnow()
        actor = link_actor(link)
        audit.record(db, actor, "use", "patient_link", link.id, patient_code=link.patient_code,
                     detail="started listening")
        return Listening(link, actor, new_visitor)
    return open_link(db, token, visitor)


def session_ids(db: Session, link: PatientLink, actor: Actor) -> list[int]:
    """The sessions the link serves, newest first: its own, or the patient's current course."""
    if link.scope == "course":
        return [s.id for s in listening.course(db, actor, link.patient_code)]
    return [link.session_id]


def mark_used(link: PatientLink) -> None:
    link.used_at = utcnow()
