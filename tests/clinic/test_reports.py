"""Outcome reports: pairing, statistics, plots, CSV and the FHIR R4 export."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cadence.clinic import outcomes, patients, sessions
from cadence.clinic.actors import Actor
from cadence.clinic.config import ClinicConfig
from cadence.clinic.db import Clinic, open_clinic
from cadence.clinic.errors import InvalidValue, NotFound
from cadence.clinic.reports import (
    FHIR_CODES,
    fhir_bundle,
    goal_report,
    pairs_by_measure,
    patient_report,
    per_patient_means,
)
from cadence.clinic.views import OutcomeView

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
NAME = "Hildegard Testperson-Qv"


def _o(i: int, measure: str, phase: str, value: float, sid: int | None, code: str = "P-AAA"):
    return OutcomeView(
        id=i,
        patient_code=code,
        measure=measure,
        phase=phase,
        value=value,
        unit="",
        items=None,
        session_id=sid,
        recorded_by="t",
        recorded_at=T0 + timedelta(minutes=i),
    )


def test_pairs_take_the_latest_of_each_phase_and_skip_unpaired() -> None:
    data = [
        _o(1, "stai6", "before", 60.0, 1),
        _o(2, "stai6", "before", 58.0, 1),  # re-measured: the latest counts
        _o(3, "stai6", "after", 40.0, 1),
        _o(4, "stai6", "before", 55.0, 2),  # no after: not paired
        _o(5, "heart_rate", "before", 90.0, None),  # no session: not paired
        _o(6, "heart_rate", "before", 88.0, 3),
        _o(7, "heart_rate", "after", 80.0, 3),
    ]
    pairs = pairs_by_measure(data, {1: "anxiety", 3: "anxiety"})
    assert [(p.session_id, p.before, p.after, p.change) for p in pairs["stai6"]] == [
        (1, 58.0, 40.0, -18.0)
    ]
    assert pairs["heart_rate"][0].goal == "anxiety"
    means = per_patient_means(
        pairs_by_measure(
            [
                _o(1, "pain_nrs", "before", 6, 1),
                _o(2, "pain_nrs", "after", 4, 1),
                _o(3, "pain_nrs", "before", 8, 2),
                _o(4, "pain_nrs", "after", 4, 2),
                _o(5, "pain_nrs", "before", 5, 3, "P-BBB"),
                _o(6, "pain_nrs", "after", 5, 3, "P-BBB"),
            ]
        )
    )
    assert [(p.patient_code, p.before, p.after) for p in means["pain_nrs"]] == [
        ("P-AAA", 7.0, 4.0),
        ("P-BBB", 5.0, 5.0),
    ]


def test_fhir_observation_structure() -> None:
    bundle = fhir_bundle(
        [
            _o(1, "heart_rate", "before", 92.0, 7),
            _o(2, "pain_nrs", "after", 3.0, 7),
            _o(3, "stai6", "after", 40.0, 7),
            _o(4, "gait_speed", "before", 0.9, None),
        ],
        {7: "pain"},
    )
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "collection"
    obs = {e["resource"]["valueQuantity"]["value"]: e["resource"] for e in bundle["entry"]}
    assert all(e["fullUrl"].startswith("urn:uuid:") for e in bundle["entry"])
    hr, pain, stai, gait = obs[92.0], obs[3.0], obs[40.0], obs[0.9]
    for o in (hr, pain, stai, gait):
        assert o["resourceType"] == "Observation"
        assert o["status"] == "final"
        assert o["subject"] == {
            "identifier": {"system": "urn:cadence:fhir:NamingSystem:patient-code", "value": "P-AAA"}
        }
        assert re.fullmatch(
            r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)", o["effectiveDateTime"]
        )
        assert o["valueQuantity"]["system"] == "http://unitsofmeasure.org"
        assert o["code"]["coding"][0]["system"] in ("http://loinc.org", FHIR_CODES["stai6"].system)
    assert hr["code"]["coding"][0] == {
        "system": "http://loinc.org",
        "code": "8867-4",
        "display": "Heart rate",
    }
    assert hr["valueQuantity"]["code"] == "/min"
    assert hr["category"][0]["coding"][0]["code"] == "vital-signs"
    assert pain["code"]["coding"][0]["code"] == "72514-3"
    assert pain["valueQuantity"]["code"] == "{score}"
    assert stai["code"]["coding"][0]["system"].startswith("urn:cadence:")
    assert gait["valueQuantity"]["code"] == "m/s"
    assert hr["extension"] == [
        {"url": "urn:cadence:fhir:StructureDefinition:session-phase", "valueCode": "before"}
    ]
    assert "pain" in pain["note"][0]["text"] and "identifier" not in gait


def test_unknown_measure_has_no_fhir_coding() -> None:
    with pytest.raises(InvalidValue, match="FHIR"):
        fhir_bundle([_o(1, "shoe_size", "before", 42.0, 1)], {})


# ---- through the clinic services -------------------------------------------------------------
@pytest.fixture
def sqlite_clinic(tmp_path: Path) -> Iterator[Clinic]:
    opened = open_clinic(ClinicConfig.at(tmp_path / "home"))
    try:
        yield opened
    finally:
        opened.close()


def _session(db, actor: Actor, code: str, goal: str, files: dict[str, Path]) -> int:
    return sessions.record_session(
        db, actor, code, goal=goal, prescription={"goal": goal}, files=files, report={}
    ).id


def test_patient_and_goal_reports(sqlite_clinic: Clinic, tmp_path: Path) -> None:
    actor = Actor.system()
    (tmp_path / "report.json").write_text("{}")
    files = {"report": tmp_path / "report.json"}
    # Patient A: three anxiety sessions; STAI-6 before/after and heart rate before/after.
    stai = [(60.0, 50.0), (56.0, 44.0), (52.0, 46.0)]  # changes -10, -12, -6: mean -28/3
    with sqlite_clinic.session() as db:
        a = patients.add_patient(db, actor, name=NAME, birth_year=1950).code
        b = patients.add_patient(db, actor, name="Other Person").code
        for code in (a, b):
            patients.record_consent(db, actor, code, given=True)
        for before, after in stai:
            sid = _session(db, actor, a, "anxiety", files)
            outcomes.add_outcome(
                db, actor, a, measure="stai6", phase="before", value=before, session_id=sid
            )
            outcomes.add_outcome(
                db, actor, a, measure="stai6", phase="after", value=after, session_id=sid
            )
            outcomes.add_outcome(
                db, actor, a, measure="heart_rate", phase="before", value=90, session_id=sid
            )
            outcomes.add_outcome(
                db, actor, a, measure="heart_rate", phase="after", value=80, session_id=sid
            )
        sid = _session(db, actor, b, "anxiety", files)
        outcomes.add_outcome(
            db, actor, b, measure="stai6", phase="before", value=50, session_id=sid
        )
        outcomes.add_outcome(db, actor, b, measure="stai6", phase="after", value=48, session_id=sid)
        _session(db, actor, b, "mood", files)

    with sqlite_clinic.session() as db:
        rep = patient_report(db, actor, a, tmp_path / "rep")
    s = rep.stats["stai6"]
    assert s.n == 3 and s.mean_change == pytest.approx(-28 / 3)
    assert s.p_value == pytest.approx(0.25)  # three negative changes: exact 2/2**3
    assert "too small" in s.note
    data = json.loads(rep.files["report"].read_text())
    # Three pairs are under MIN_PAIRS: the report gives no verdict, CI or p, and says why.
    judged = data["measures"]["stai6"]
    assert judged["improved"] is None and judged["judged"] is False
    assert judged["ci_low"] is None and judged["p_value"] is None
    assert judged["note"] == "too few sessions to judge (n = 3)"
    assert judged["mean_change"] == pytest.approx(-28 / 3)
    assert data["measures"]["heart_rate"]["improved"] is None  # no better direction
    for kind in ("trends_png", "trends_svg", "changes_png", "changes_svg"):
        assert rep.files[kind].stat().st_size > 1000
    assert rep.files["trends_png"].read_bytes()[:4] == b"\x89PNG"
    assert b"<svg" in rep.files["trends_svg"].read_bytes()[:500]
    rows = list(csv.DictReader(rep.files["outcomes_csv"].open()))
    assert len(rows) == 12 and {r["goal"] for r in rows} == {"anxiety"}
    stats_rows = {r["measure"]: r for r in csv.DictReader(rep.files["stats_csv"].open())}
    assert float(stats_rows["stai6"]["mean_change"]) == pytest.approx(-28 / 3)
    assert stats_rows["stai6"]["ci_low"] == "" and stats_rows["stai6"]["p_value"] == ""
    bundle = json.loads(rep.files["fhir"].read_text())
    assert len(bundle["entry"]) == 12
    # Pseudonymous: the name never appears in any export.
    for path in rep.files.values():
        if path.suffix in (".json", ".csv", ".svg"):
            assert NAME not in path.read_text()

    with sqlite_clinic.session() as db:
        grp = goal_report(db, actor, "anxiety", tmp_path / "goal")
    g = grp.stats["stai6"]
    # One mean pair per patient: A (56, 140/3), B (50, 48).
    assert g.n == 2
    assert g.mean_change == pytest.approx(((140 / 3 - 56) + (48 - 50)) / 2)
    assert "2 patients" in grp.subject
    with sqlite_clinic.session() as db, pytest.raises(NotFound, match="sleep"):
        goal_report(db, actor, "sleep", tmp_path / "none")


def test_a_verdict_needs_five_pairs() -> None:
    from cadence.clinic.reports import MIN_PAIRS, judged
    from cadence.evaluation.outcomes import paired_stats

    few = judged("stai6", paired_stats([50, 60], [40, 45]))
    assert few["improved"] is None and few["ci_low"] is None and few["p_value"] is None
    assert few["note"] == "too few sessions to judge (n = 2)"
    enough = judged("stai6", paired_stats([50, 60, 55, 52, 58], [40, 45, 44, 41, 50]))
    assert MIN_PAIRS == 5 and enough["judged"] is True
    assert enough["improved"] is True and enough["ci_low"] is not None
