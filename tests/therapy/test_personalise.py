"""plan_session: a request plus a patient's history (plain data) → the plan of one session;
and run_session's fallback when the patient's adapter cannot be used."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from cadence.therapy.checks import FieldError
from cadence.therapy.personalise import explain, plan_session
from cadence.therapy.request import SessionRequest
from cadence.therapy.session import run_session


def _history(baseline: dict[str, Any] | None = None, sessions: tuple = (), **extra: Any) -> Any:
    """A history as clinic/history.py hands it over, built by hand (therapy never imports
    clinic)."""
    base = SimpleNamespace(**{"resting_heart_rate": None, "cadence_spm": None,
                              "fall_risk": None, **(baseline or {})})  # fmt: skip
    return SimpleNamespace(code="P-TEST234", birth_year=extra.get("birth_year"),
                           preferences=None, baseline=base if baseline else None,
                           favourites=(), sessions=sessions)  # fmt: skip


def _record(instrument: int, rating: float | None) -> Any:
    variant = {"instrument": instrument, "tempo_offset": 0.0, "mode": "major", "density": 1.0}
    return SimpleNamespace(goal="sleep", variant=variant, rating=rating, liked=None,
                           outcome_changes={})  # fmt: skip


def test_baseline_gives_the_start_states() -> None:
    plan = plan_session(SessionRequest("sleep", 1.0), _history({"resting_heart_rate": 84.0}))
    assert plan.prescription.heart_rate == 84.0
    assert plan.prescription.bars[0].tempo_bpm > plan.prescription.bars[-1].tempo_bpm
    unplanned = plan_session(SessionRequest("sleep", 1.0)).prescription
    assert plan.prescription.bars[0].tempo_bpm > unplanned.bars[0].tempo_bpm  # 84, not 72
    gait = plan_session(SessionRequest("gait", 1.0), _history({"cadence_spm": 92.0}))
    assert gait.prescription.cadence_spm == 92.0 and "baseline cadence 92 steps/min" in gait.notes
    asked = plan_session(SessionRequest("gait", 1.0, {"cadence_spm": 100.0}),
                         _history({"cadence_spm": 92.0}))  # fmt: skip
    assert asked.prescription.cadence_spm == 100.0  # the clinician's value wins


def test_a_recorded_fall_risk_is_never_lifted() -> None:
    plan = plan_session(SessionRequest("gait", 1.0), _history({"cadence_spm": 92.0,
                                                               "fall_risk": True}))
    assert plan.prescription.fall_risk
    assert max(b.tempo_bpm for b in plan.prescription.bars) <= 92.0
    assert plan.variant is not None and plan.variant["tempo_offset"] <= 0.0


def test_a_baseline_out_of_range_names_the_field() -> None:
    with pytest.raises(FieldError) as err:
        plan_session(SessionRequest("sleep", 1.0), _history({"resting_heart_rate": 250.0}))
    assert err.value.field == "heart_rate" and "baseline" in str(err.value)


def test_the_reason_says_how_the_instrument_was_rated() -> None:
    piano = {"instrument": 0}
    rated = (_record(0, 5.0), _record(0, 4.0), _record(46, 2.0), _record(0, None))
    assert explain(piano, rated) == (
        "acoustic grand piano preferred: 4.5 average over 2 rated sessions "
        "(others: 2.0 over 1 rated session)"
    )
    assert "no rated sessions yet" in explain(piano, ())
    plan = plan_session(SessionRequest("sleep", 1.0), _history(sessions=rated))
    assert plan.reason == explain(plan.variant, rated)  # type: ignore[arg-type]


def test_a_damaged_adapter_falls_back_to_the_base_model(tmp_path: Path, tiny_model: Path) -> None:
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "adapter.json").write_text("{not json")
    request = SessionRequest("sleep", 0.25, model=str(tiny_model))
    plan = plan_session(request, _history(), adapter=adapter)
    result = run_session(plan, tmp_path / "out", svg_pages=1)
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["adapter"] is False and report["patient"] == "P-TEST234"
    assert any("adapter was not used" in w for w in report["warnings"])
    assert result.report == report
