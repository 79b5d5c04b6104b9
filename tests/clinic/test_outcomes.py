"""Outcome measures: the ranges of THERAPY.md's scales, STAI-6 scoring, session links."""

from __future__ import annotations

from pathlib import Path

import pytest

from cadence.clinic import outcomes, patients, sessions
from cadence.clinic.actors import Actor
from cadence.clinic.db import Clinic
from cadence.clinic.errors import InvalidValue, NotFound
from cadence.clinic.outcomes import MEASURES, stai6_score
from cadence.clinic.views import PatientView


def test_stai6_score_is_total_times_20_over_6() -> None:
    assert stai6_score([1, 1, 1, 1, 1, 1]) == 20
    assert stai6_score([4, 4, 4, 4, 4, 4]) == 80
    assert stai6_score([1, 2, 3, 4, 1, 2]) == pytest.approx(13 * 20 / 6)
    with pytest.raises(InvalidValue, match="six"):
        stai6_score([1, 2, 3])
    with pytest.raises(InvalidValue, match="item 3"):
        stai6_score([1, 2, 5, 1, 1, 1])


def test_every_measure_cites_therapy_md() -> None:
    assert set(MEASURES) == {"mood_vas", "stai6", "pain_nrs", "heart_rate", "cadence_spm",
                             "gait_speed", "sleep_onset_min", "sleep_quality", "engagement",
                             "liking"}
    assert all("THERAPY.md" in m.source for m in MEASURES.values())


@pytest.mark.parametrize(
    ("measure", "good", "bad"),
    [
        ("mood_vas", [0, 55.5, 100], [-1, 100.5]),
        ("stai6", [20, 80], [19.9, 81]),
        ("pain_nrs", [0, 10], [11, -1, 4.5]),
        ("heart_rate", [30, 220], [29, 221]),
        ("cadence_spm", [30, 200], [201]),
        ("gait_speed", [0, 1.2, 3], [3.1, -0.1]),
        ("sleep_onset_min", [0, 240], [241]),
        ("sleep_quality", [1, 5], [0, 6]),
        ("engagement", [1, 5], [0, 6, 2.5]),
        ("liking", [1, 5], [6, float("nan"), float("inf")]),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_ranges(measure: str, good: list[float], bad: list[float]) -> None:
    for value in good:
        assert outcomes.check_value(measure, value) == value
    for value in bad:
        with pytest.raises(InvalidValue, match=measure):
            outcomes.check_value(measure, value)


def test_record_before_and_after(clinic: Clinic, therapist: Actor, patient: PatientView,
                                 session_files: dict[str, Path]) -> None:
    with clinic.session() as db:
        sid = sessions.record_session(db, therapist, patient.code, goal="anxiety",
                                      prescription={}, files=session_files, report={}).id
        before = outcomes.add_outcome(db, therapist, patient.code, measure="stai6",
                                      phase="before", items=[3, 3, 3, 3, 3, 3], session_id=sid)
        after = outcomes.add_outcome(db, therapist, patient.code, measure="stai6",
                                     phase="after", value=40, session_id=sid)
        outcomes.add_outcome(db, therapist, patient.code, measure="mood_vas", phase="before",
                             value=35)
        listed = outcomes.list_outcomes(db, therapist, patient.code)
    assert before.value == 60 and before.items == (3, 3, 3, 3, 3, 3)
    assert before.unit == "STAI-6 prorated score"
    assert [o.measure for o in listed] == ["stai6", "stai6", "mood_vas"]
    assert outcomes.changes(listed) == {"stai6": after.value - before.value}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"measure": "mood_vas", "phase": "during", "value": 50}, "phase"),
        ({"measure": "iq", "phase": "before", "value": 100}, "measure: got 'iq'"),
        ({"measure": "pain_nrs", "phase": "before", "value": 12}, "pain_nrs: got 12"),
        ({"measure": "pain_nrs", "phase": "before", "items": [1] * 6}, "only stai6"),
        ({"measure": "stai6", "phase": "before", "value": 50, "items": [1] * 6}, "disagrees"),
        ({"measure": "mood_vas", "phase": "after"}, "give a value"),
    ],
    ids=["phase", "measure", "range", "items-not-stai", "disagree", "no-value"],
)
def test_nothing_written_for_bad_values(clinic: Clinic, therapist: Actor,
                                        patient: PatientView, args: dict[str, object],
                                        message: str) -> None:
    with pytest.raises(InvalidValue, match=message), clinic.session() as db:
        outcomes.add_outcome(db, therapist, patient.code, **args)  # type: ignore[arg-type]
    with clinic.session() as db:
        assert outcomes.list_outcomes(db, therapist, patient.code) == []


def test_session_must_be_the_patients(clinic: Clinic, therapist: Actor, patient: PatientView,
                                      session_files: dict[str, Path]) -> None:
    with clinic.session() as db:
        other = patients.add_patient(db, therapist, name="Someone else")
        patients.record_consent(db, therapist, other.code, given=True)
        sid = sessions.record_session(db, therapist, other.code, goal="mood", prescription={},
                                      files=session_files, report={}).id
    with pytest.raises(NotFound, match=f"no session {sid}"), clinic.session() as db:
        outcomes.add_outcome(db, therapist, patient.code, measure="mood_vas", phase="after",
                             value=70, session_id=sid)
