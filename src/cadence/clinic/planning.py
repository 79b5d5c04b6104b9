"""A patient's session, from request to record, the same for the CLI, the API and the web.

:func:`plan_for_patient` reads the history (consent required) and hands it, as plain data, to
:func:`cadence.therapy.personalise.plan_session` with the patient's adapter folder;
:func:`record_planned` stores the finished session with the variant it played, so that a
rating given anywhere teaches the preference learner.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from cadence.clinic.actors import Actor
from cadence.clinic.config import ClinicConfig
from cadence.clinic.errors import ConsentRequired
from cadence.clinic.history import patient_history
from cadence.clinic.patients import get_patient
from cadence.clinic.sessions import record_session
from cadence.clinic.views import PatientHistory, SessionView
from cadence.therapy.personalise import plan_session
from cadence.therapy.request import SessionRequest
from cadence.therapy.session_plan import SessionPlan

if TYPE_CHECKING:
    from cadence.therapy.session import SessionResult

# run_session's file names -> the kinds the clinic stores them by (docs/dev/clinic-services.md).
FILE_KINDS = {"midi": "mid", "plan": "png"}


def session_history(db: Session, actor: Actor, code: str) -> PatientHistory:
    """The history a new session is planned from; ConsentRequired without consent."""
    if not get_patient(db, actor, code).consent:
        raise ConsentRequired(f"patient {code}: record consent before creating sessions")
    return patient_history(db, actor, code)


def plan_for_patient(
    db: Session, actor: Actor, config: ClinicConfig, request: SessionRequest
) -> SessionPlan:
    """The personalised plan of ``request`` (its ``patient`` must be set). An adapter folder
    that exists is passed on even when damaged: the session then warns and uses the base
    model."""
    if request.patient is None:
        raise ValueError("plan_for_patient needs a request with a patient")
    history = session_history(db, actor, request.patient)
    adapter = config.adapter_dir(history.code)
    return plan_session(request, history, adapter=adapter if adapter.exists() else None)


def stored_files(files: dict[str, Path]) -> dict[str, Path]:
    """run_session's files under the kinds the clinic stores them by."""
    return {FILE_KINDS.get(name, name): path for name, path in files.items()}


def record_planned(
    db: Session, actor: Actor, plan: SessionPlan, result: SessionResult
) -> SessionView:
    """Store the finished session of ``plan`` (a patient's) with the variant it played."""
    assert plan.patient is not None
    return record_session(
        db, actor, plan.patient, goal=plan.prescription.goal,
        prescription=json.loads(plan.prescription.to_json()), files=stored_files(result.files),
        report=result.report, variant=plan.variant,
    )  # fmt: skip
