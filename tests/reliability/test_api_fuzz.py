"""API fuzzing with schemathesis against the app's own OpenAPI schema (ASGI, no server), as an
authenticated therapist who owns a patient with a finished session: 0 server errors and 0
responses that break the schema (body, content type, headers).

Half the generated cases keep schemathesis's random path parameters (mostly unknown records:
404), half use the real patient code, session, job and link, so the handlers behind the
lookups run too. Statuses the schema does not declare (401/404/409/...) are counted and
reported, not failed: FastAPI documents only 2xx and 422 unless a route lists more.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import checks
from schemathesis.core.errors import InvalidSchema
from schemathesis.core.failures import FailureGroup

from tests.reliability.conftest import Clinic, write_report
from tests.reliability.test_hostile_input import tiny_midi
from tests.web.conftest import PASSWORD, wait_job

CHECKS = [
    checks.not_a_server_error,
    checks.response_schema_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
]


def _real_world(clinic: Clinic) -> dict[str, Any]:
    c, owner = clinic.client, clinic.owner
    code = c.post("/api/v1/patients", json={"name": "Api Fuzz"}, headers=owner).json()["code"]
    c.post(f"/api/v1/patients/{code}/consent", json={"given": True}, headers=owner)
    c.post(f"/api/v1/patients/{code}/favourites", files={"file": ("t.mid", tiny_midi())},
           headers=owner)  # fmt: skip
    job = c.post(f"/api/v1/patients/{code}/sessions", headers=owner,
                 json={"goal": "sleep", "minutes": 0.1, "seed": 1}).json()  # fmt: skip
    done = wait_job(c, owner, job["id"])
    assert done["status"] == "done", done
    for phase, value in (("before", 50), ("after", 40)):
        c.post(f"/api/v1/patients/{code}/outcomes", headers=owner,
               json={"measure": "stai6", "phase": phase, "value": value,
                     "session_id": done["session_id"]})  # fmt: skip
    link = c.post("/api/v1/patient-links", json={"session_id": done["session_id"]},
                  headers=owner).json()  # fmt: skip
    return {"code": code, "session_id": done["session_id"], "job_id": job["id"],
            "link_id": link["id"], "goal": "sleep", "kind": "mid", "name": "stats.csv"}  # fmt: skip


def run_api_fuzz(clinic: Clinic, max_examples: int, report: str) -> None:
    app = clinic.client.app
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    real = _real_world(clinic)
    statuses: Counter = Counter()
    undeclared: Counter = Counter()
    failures: list[str] = []
    operations = 0

    def headers_for(label: str) -> dict[str, str]:
        if label.startswith("DELETE /api/v1/auth/tokens"):  # revoking: a spare token
            login = {"username": "theo", "password": PASSWORD}
            r = clinic.client.post("/api/v1/auth/tokens", json=login)
            return {"Authorization": f"Bearer {r.json()['token']}"}
        return dict(clinic.owner)

    def fuzz_operation(op: Any) -> None:
        label = f"{op.method.upper()} {op.path}"

        @settings(max_examples=max_examples, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))  # fmt: skip
        @given(case=op.as_strategy(), use_real=st.booleans())
        def exercise(case: Any, use_real: bool) -> None:
            if use_real and case.path_parameters:
                for name in case.path_parameters:
                    if name in real:
                        case.path_parameters[name] = real[name]
            minutes = case.body.get("minutes") if isinstance(case.body, dict) else None
            if label.endswith("/sessions") and isinstance(minutes, int | float) and minutes > 0.2:
                # Generation is real work: fuzzed sessions stay short (bounds still checked).
                case.body["minutes"] = 0.1
            response = case.call(headers=headers_for(label))
            statuses[f"{response.status_code // 100}xx"] += 1
            declared = op.definition.raw.get("responses", {})
            if str(response.status_code) not in declared and "default" not in declared:
                undeclared[f"{label} -> {response.status_code}"] += 1
            try:
                case.validate_response(response, checks=CHECKS)
            except FailureGroup as err:  # record every failing case, keep fuzzing
                failures.append(f"{label}: {err}"[:1500])
            except InvalidSchema as err:  # the app's own schema cannot check this answer
                failures.append(f"{label} -> {response.status_code}: invalid schema: {err}"[:1500])

        exercise()

    for result in schema.get_all_operations():
        fuzz_operation(result.ok())
        operations += 1

    write_report(report, {"operations": operations, "max_examples_per_operation": max_examples,
                          "responses": dict(statuses), "failures": failures,
                          "undeclared_statuses": dict(undeclared.most_common())})  # fmt: skip
    assert operations >= 30
    assert not failures, "\n\n".join(failures[:5])
    assert statuses["5xx"] == 0


def test_api_schema_fuzz(clinic: Clinic) -> None:
    run_api_fuzz(clinic, 4, "api_fuzz_default")


@pytest.mark.reliability
def test_api_schema_fuzz_many(clinic: Clinic) -> None:
    run_api_fuzz(clinic, 60, "api_fuzz")


HUGE = 2**63  # one past SQLite's and PostgreSQL's largest integer


def test_ids_beyond_the_database_range_are_422_not_500(clinic: Clinic) -> None:
    """Found by the fuzzer: /api/v1/jobs/9223372036854775808 was a 500 (OverflowError)."""
    c, owner = clinic.client, clinic.owner
    for url in (f"/api/v1/jobs/{HUGE}", f"/api/v1/sessions/{HUGE}",
                f"/api/v1/sessions/{HUGE}/files/wav"):  # fmt: skip
        r = c.get(url, headers=owner)
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["path"], (url, r.text)
    r = c.post("/api/v1/patient-links", json={"session_id": HUGE}, headers=owner)
    assert r.status_code == 422, r.text
    assert c.delete(f"/api/v1/patient-links/{HUGE}", headers=owner).status_code == 422
    from tests.reliability.test_hostile_input import sign_in

    sign_in(c, "theo")
    page = c.get(f"/sessions/{HUGE}")
    assert page.status_code == 422 and "out of the range" in page.text
