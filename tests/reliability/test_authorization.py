"""The authorization matrix: every route of the app × every role × ownership → the status it
must answer, generated from ``app.routes``. A route nobody classified fails the test.

Roles: ``anonymous`` (no credentials), ``owner`` (the therapist whose patient it is), ``other``
(another therapist), ``admin``, ``link`` (a patient's browser holding a listening link and
nothing else). API routes are called with bearer tokens, pages with the sign-in cookie and the
page's CSRF token. Besides the status, no answer to a role without the right may contain the
patient's name, notes or code.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.routing import Mount, Route

from tests.reliability.conftest import Clinic, write_report
from tests.reliability.test_hostile_input import csrf_of, sign_in, tiny_midi
from tests.web.conftest import wait_job

ROLES = ("anonymous", "link", "other", "owner", "admin")
NAME, NOTES = "Philippa Authzmatrix", "private note 93817"


def walk_routes(routes: list[Any], prefix: str = "") -> Iterator[tuple[str, str]]:
    """(method, path) of every route, into included routers whichever way FastAPI keeps them."""
    for route in routes:
        if isinstance(route, APIRoute):
            for method in sorted(route.methods):
                yield method, prefix + route.path
        elif hasattr(route, "original_router"):  # FastAPI >= 0.16x: lazily included routers
            yield from walk_routes(
                route.original_router.routes, prefix + route.include_context.prefix
            )
        elif isinstance(route, Mount):
            yield "MOUNT", prefix + route.path
        elif isinstance(route, Route):
            for method in sorted(route.methods or {"GET"}):
                yield method, prefix + route.path
        else:
            raise AssertionError(f"unknown route type {type(route).__name__}: classify it")


@dataclass
class World:
    """The records the matrix works on, all belonging to the owner's patient."""

    c: TestClient
    clinic: Clinic
    code: str
    session_id: int
    job_id: int
    link_token: str
    clients: dict[str, TestClient] = field(default_factory=dict)
    csrf: dict[str, str] = field(default_factory=dict)
    counter: Iterator[int] = field(default_factory=itertools.count)

    def headers(self, role: str) -> dict[str, str]:
        return {"owner": self.clinic.owner, "other": self.clinic.other,
                "admin": self.clinic.admin}.get(role, {})  # fmt: skip

    def new_link(self) -> int:
        r = self.c.post("/api/v1/patient-links", json={"session_id": self.session_id},
                        headers=self.clinic.owner)  # fmt: skip
        return int(r.json()["id"])

    def n(self) -> int:
        return next(self.counter)


# A call: (world, role) -> (method, url, request kwargs). Pages get the role's CSRF token.
Call = Callable[[World, str], tuple[str, str, dict[str, Any]]]


@dataclass(frozen=True)
class Rule:
    """Who may call a route: ``public`` (anyone), ``clinician`` (anyone signed in),
    ``patient`` (the patient's therapist and admins; others 404), ``admin`` (admins; therapists
    403), ``listen`` (the browser the link is bound to; anyone else 403). ``ok``: the status of
    an allowed call."""

    access: str
    ok: int
    call: Call


def api(method: str, url: str | Callable[[World], str], **kw: Any) -> Call:
    def call(w: World, role: str) -> tuple[str, str, dict[str, Any]]:
        body = {k: (v(w) if callable(v) else v) for k, v in kw.items()}
        return method, url(w) if callable(url) else url, {"headers": w.headers(role), **body}

    return call


def page(method: str, url: str | Callable[[World], str], **form: Any) -> Call:
    def call(w: World, role: str) -> tuple[str, str, dict[str, Any]]:
        u = url(w) if callable(url) else url
        if method == "GET":
            return method, u, {}
        data = {k: (v(w) if callable(v) else v) for k, v in form.items() if k != "files"}
        data["csrf_token"] = w.csrf.get(role, "")
        kwargs: dict[str, Any] = {"data": data}
        if "files" in form:
            kwargs["files"] = form["files"]
        return method, u, kwargs

    return call


def patient(path: str) -> Callable[[World], str]:
    return lambda w: path.format(code=w.code, sid=w.session_id, job=w.job_id, token=w.link_token)


SESSION = {"goal": "sleep", "minutes": 0.1, "seed": 1}
SPEC: dict[tuple[str, str], Rule] = {
    # --- the API -----------------------------------------------------------------------------
    ("POST", "/api/v1/auth/tokens"): Rule(
        "public",
        201,
        api(
            "POST",
            "/api/v1/auth/tokens",
            json={"username": "theo", "password": "correct horse battery"},
        ),
    ),
    ("GET", "/api/v1/auth/me"): Rule("clinician", 200, api("GET", "/api/v1/auth/me")),
    ("GET", "/api/v1/auth/tokens"): Rule("clinician", 200, api("GET", "/api/v1/auth/tokens")),
    # Revoking one's own token by id: another clinician's token id is a 404 (checked below).
    ("DELETE", "/api/v1/auth/tokens/{token_id}"): Rule(
        "clinician",
        204,
        lambda w, role: (
            "DELETE",
            f"/api/v1/auth/tokens/{own_token(w, role)}",
            {"headers": w.headers(role)},
        ),
    ),
    ("DELETE", "/api/v1/auth/tokens"): Rule(
        "clinician",
        204,
        lambda w, role: ("DELETE", "/api/v1/auth/tokens", {"headers": spare_headers(w, role)}),
    ),
    # A therapist's list holds only themselves (checked below); admins see everyone.
    ("GET", "/api/v1/clinicians"): Rule("clinician", 200, api("GET", "/api/v1/clinicians")),
    ("GET", "/api/v1/audit"): Rule("admin", 200, api("GET", "/api/v1/audit")),
    ("GET", "/audit"): Rule("admin", 200, page("GET", "/audit")),
    ("GET", "/audit.csv"): Rule("admin", 200, page("GET", "/audit.csv")),
    ("GET", "/api/v1/patients/{code}/feedback"): Rule(
        "patient", 200, api("GET", patient("/api/v1/patients/{code}/feedback"))
    ),
    ("GET", "/api/v1/sessions/{session_id}/feedback"): Rule(
        "patient", 200, api("GET", patient("/api/v1/sessions/{sid}/feedback"))
    ),
    ("GET", "/patients/{code}/consent/withdraw"): Rule(
        "patient", 200, page("GET", patient("/patients/{code}/consent/withdraw"))
    ),
    ("GET", "/api/v1/patients/{code}/preferences"): Rule(
        "patient", 200, api("GET", patient("/api/v1/patients/{code}/preferences"))
    ),
    ("PUT", "/api/v1/patients/{code}/preferences"): Rule(
        "patient",
        200,
        api("PUT", patient("/api/v1/patients/{code}/preferences"),
            json={"liked_styles": ["nottingham"]}),
    ),
    ("POST", "/api/v1/clinicians"): Rule(
        "admin",
        201,
        api(
            "POST",
            "/api/v1/clinicians",
            json=lambda w: {"username": f"new{w.n()}", "password": "a long password"},
        ),
    ),
    ("GET", "/api/v1/patients"): Rule("clinician", 200, api("GET", "/api/v1/patients")),
    ("POST", "/api/v1/patients"): Rule(
        "clinician", 201, api("POST", "/api/v1/patients", json={"name": "Someone Else"})
    ),
    ("GET", "/api/v1/patients/{code}"): Rule(
        "patient", 200, api("GET", patient("/api/v1/patients/{code}"))
    ),
    ("PATCH", "/api/v1/patients/{code}"): Rule(
        "patient", 200, api("PATCH", patient("/api/v1/patients/{code}"), json={"contact": "x"})
    ),
    ("POST", "/api/v1/patients/{code}/consent"): Rule(
        "patient",
        201,
        api("POST", patient("/api/v1/patients/{code}/consent"), json={"given": True}),
    ),
    ("PUT", "/api/v1/patients/{code}/baseline"): Rule(
        "patient",
        204,
        api("PUT", patient("/api/v1/patients/{code}/baseline"), json={"resting_heart_rate": 70}),
    ),
    ("GET", "/api/v1/patients/{code}/favourites"): Rule(
        "patient", 200, api("GET", patient("/api/v1/patients/{code}/favourites"))
    ),
    ("POST", "/api/v1/patients/{code}/favourites"): Rule(
        "patient",
        201,
        api(
            "POST",
            patient("/api/v1/patients/{code}/favourites"),
            files=lambda w: {"file": ("t.mid", tiny_midi())},
        ),
    ),
    ("POST", "/api/v1/patients/{code}/sessions"): Rule(
        "patient", 202, api("POST", patient("/api/v1/patients/{code}/sessions"), json=SESSION)
    ),
    ("GET", "/api/v1/patients/{code}/sessions"): Rule(
        "patient", 200, api("GET", patient("/api/v1/patients/{code}/sessions"))
    ),
    ("GET", "/api/v1/sessions/{session_id}"): Rule(
        "patient", 200, api("GET", patient("/api/v1/sessions/{sid}"))
    ),
    ("POST", "/api/v1/prescriptions/preview"): Rule(
        "clinician",
        200,
        api("POST", "/api/v1/prescriptions/preview", json={"goal": "sleep", "minutes": 5}),
    ),
    ("GET", "/api/v1/jobs"): Rule("clinician", 200, api("GET", "/api/v1/jobs")),
    ("GET", "/api/v1/jobs/{job_id}"): Rule(
        "patient", 200, api("GET", patient("/api/v1/jobs/{job}"))
    ),
    ("POST", "/api/v1/sessions/{session_id}/feedback"): Rule(
        "patient",
        201,
        api("POST", patient("/api/v1/sessions/{sid}/feedback"), json={"rating": 4}),
    ),
    ("GET", "/api/v1/outcomes/measures"): Rule(
        "clinician", 200, api("GET", "/api/v1/outcomes/measures")
    ),
    ("GET", "/api/v1/patients/{code}/outcomes"): Rule(
        "patient", 200, api("GET", patient("/api/v1/patients/{code}/outcomes"))
    ),
    ("POST", "/api/v1/patients/{code}/outcomes"): Rule(
        "patient",
        201,
        api(
            "POST",
            patient("/api/v1/patients/{code}/outcomes"),
            json={"measure": "stai6", "phase": "before", "value": 40},
        ),
    ),
    ("GET", "/api/v1/patients/{code}/report"): Rule(
        "patient", 200, api("GET", patient("/api/v1/patients/{code}/report"))
    ),
    ("GET", "/api/v1/patients/{code}/report/{name}"): Rule(
        "patient", 200, api("GET", patient("/api/v1/patients/{code}/report/trends.png"))
    ),
    # Across the caller's patients: one who sees none with that goal gets 404.
    ("GET", "/api/v1/reports/goals/{goal}"): Rule(
        "patient", 200, api("GET", "/api/v1/reports/goals/sleep")
    ),
    ("GET", "/api/v1/reports/goals/{goal}/{name}"): Rule(
        "patient", 200, api("GET", "/api/v1/reports/goals/sleep/stats.csv")
    ),
    ("GET", "/api/v1/sessions/{session_id}/files/{kind}"): Rule(
        "patient", 200, api("GET", patient("/api/v1/sessions/{sid}/files/mid"))
    ),
    ("POST", "/api/v1/patient-links"): Rule(
        "patient",
        201,
        api("POST", "/api/v1/patient-links", json=lambda w: {"session_id": w.session_id}),
    ),
    ("GET", "/api/v1/patient-links"): Rule(
        "patient", 200, api("GET", patient("/api/v1/patient-links?session_id={sid}"))
    ),
    ("DELETE", "/api/v1/patient-links/{link_id}"): Rule(
        "patient",
        204,
        lambda w, role: (
            "DELETE",
            f"/api/v1/patient-links/{w.new_link()}",
            {"headers": w.headers(role)},
        ),
    ),
    # --- the pages ---------------------------------------------------------------------------
    ("GET", "/"): Rule("public", 303, page("GET", "/")),
    ("GET", "/signin"): Rule("public", 200, page("GET", "/signin")),
    ("POST", "/signin"): Rule(
        "public", 401, page("POST", "/signin", username="nobody", password="x" * 9)
    ),
    ("POST", "/signout"): Rule("public", 303, page("POST", "/signout")),
    ("GET", "/patients"): Rule("clinician", 200, page("GET", "/patients")),
    ("POST", "/patients"): Rule("clinician", 303, page("POST", "/patients", name="Page Patient")),
    ("GET", "/patients/{code}"): Rule("patient", 200, page("GET", patient("/patients/{code}"))),
    ("POST", "/patients/{code}/edit"): Rule(
        "patient", 303, page("POST", patient("/patients/{code}/edit"), name=NAME, notes=NOTES)
    ),
    ("POST", "/patients/{code}/consent"): Rule(
        "patient", 303, page("POST", patient("/patients/{code}/consent"), given="yes")
    ),
    ("POST", "/patients/{code}/baseline"): Rule(
        "patient", 303, page("POST", patient("/patients/{code}/baseline"), resting_heart_rate="71")
    ),
    ("POST", "/patients/{code}/favourites"): Rule(
        "patient",
        303,
        page(
            "POST", patient("/patients/{code}/favourites"), files={"file": ("t.mid", tiny_midi())}
        ),
    ),
    ("POST", "/patients/{code}/outcomes"): Rule(
        "patient",
        303,
        page(
            "POST", patient("/patients/{code}/outcomes"), measure="stai6", phase="after", value="35"
        ),
    ),
    ("GET", "/patients/{code}/sessions/new"): Rule(
        "patient", 200, page("GET", patient("/patients/{code}/sessions/new?goal=sleep"))
    ),
    ("POST", "/patients/{code}/sessions"): Rule(
        "patient",
        303,
        page("POST", patient("/patients/{code}/sessions"), goal="sleep", minutes="0.1", seed="1"),
    ),
    # A finished job's page moves on to its session.
    ("GET", "/jobs/{job_id}"): Rule("patient", 303, page("GET", patient("/jobs/{job}"))),
    ("GET", "/sessions/{session_id}"): Rule(
        "patient", 200, page("GET", patient("/sessions/{sid}"))
    ),
    ("POST", "/sessions/{session_id}/feedback"): Rule(
        "patient", 303, page("POST", patient("/sessions/{sid}/feedback"), rating="5")
    ),
    ("POST", "/sessions/{session_id}/links"): Rule(
        "patient", 200, page("POST", patient("/sessions/{sid}/links"))
    ),
    ("GET", "/patients/{code}/report"): Rule(
        "patient", 200, page("GET", patient("/patients/{code}/report"))
    ),
    ("GET", "/listen/{token}"): Rule("listen", 200, page("GET", patient("/listen/{token}"))),
    ("GET", "/listen/{token}/audio"): Rule(
        "listen", 200, page("GET", patient("/listen/{token}/audio"))
    ),
    # The matrix rates with an empty form: 422, the form again.
    ("POST", "/listen/{token}"): Rule("listen", 422, page("POST", patient("/listen/{token}"))),
    # Pressing "Start listening" again on the browser it is bound to shows the player.
    ("POST", "/listen/{token}/start"): Rule(
        "listen", 303, page("POST", patient("/listen/{token}/start"))
    ),
    ("GET", "/clinicians"): Rule("admin", 200, page("GET", "/clinicians")),
    ("POST", "/clinicians"): Rule(
        "admin",
        303,
        page("POST", "/clinicians", username=lambda w: f"page{w.n()}", password="a long password"),
    ),
    # Disabling or re-passwording an account works on a spare clinician (not the matrix's own).
    ("PATCH", "/api/v1/clinicians/{clinician_id}"): Rule(
        "admin",
        200,
        lambda w, role: ("PATCH", f"/api/v1/clinicians/{spare_clinician(w)}",
                         {"headers": w.headers(role), "json": {"active": False}}),
    ),
    ("PUT", "/api/v1/clinicians/{clinician_id}/password"): Rule(
        "admin",
        204,
        lambda w, role: ("PUT", f"/api/v1/clinicians/{spare_clinician(w)}/password",
                         {"headers": w.headers(role), "json": {"password": "walnut harbour tram"}}),
    ),
    ("POST", "/clinicians/{clinician_id}/active"): Rule(
        "admin",
        303,
        lambda w, role: page("POST", f"/clinicians/{spare_clinician(w)}/active", active="no")(
            w, role),
    ),
    ("POST", "/clinicians/{clinician_id}/password"): Rule(
        "admin",
        303,
        lambda w, role: page("POST", f"/clinicians/{spare_clinician(w)}/password",
                             password="walnut harbour tram")(w, role),
    ),
    # The world's job has finished: its owner (and admins) hear 409, anyone else 404.
    ("POST", "/api/v1/jobs/{job_id}/cancel"): Rule(
        "patient", 409, api("POST", patient("/api/v1/jobs/{job}/cancel"))
    ),
    # --- framework routes --------------------------------------------------------------------
    ("GET", "/api/v1/openapi.json"): Rule("public", 200, page("GET", "/api/v1/openapi.json")),
    ("HEAD", "/api/v1/openapi.json"): Rule(
        "public", 200, lambda w, r: ("HEAD", "/api/v1/openapi.json", {})
    ),
    ("GET", "/api/docs"): Rule("public", 200, page("GET", "/api/docs")),
    ("HEAD", "/api/docs"): Rule("public", 200, lambda w, r: ("HEAD", "/api/docs", {})),
    ("MOUNT", "/api/docs/assets"): Rule(
        "public", 200, page("GET", "/api/docs/assets/swagger-ui-bundle.js")
    ),
    ("MOUNT", "/static"): Rule("public", 200, page("GET", "/static/app.css")),
}


def own_token(w: World, role: str) -> int:
    """A fresh API token of the role's clinician (for the clinician roles), else id 1."""
    user = {"owner": "theo", "other": "olga", "admin": "ada"}.get(role)
    if user is None:
        return 1
    r = w.c.post("/api/v1/auth/tokens",
                 json={"username": user, "password": "correct horse battery"})  # fmt: skip
    return int(r.json()["id"])


def spare_clinician(w: World) -> int:
    """A new therapist account (made by the admin) for a call to disable or re-password."""
    r = w.c.post("/api/v1/clinicians", headers=w.clinic.admin,
                 json={"username": f"spare{w.n()}", "password": "a long password"})
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def spare_headers(w: World, role: str) -> dict[str, str]:
    """A fresh token to revoke (revoking the role's main token would end the matrix)."""
    user = {"owner": "theo", "other": "olga", "admin": "ada"}.get(role)
    if user is None:
        return {}
    r = w.c.post("/api/v1/auth/tokens",
                 json={"username": user, "password": "correct horse battery"})  # fmt: skip
    return {"Authorization": f"Bearer {r.json()['token']}"}


def expected(rule: Rule, role: str, method: str, url: str) -> set[int]:
    is_api = url.startswith("/api/v1/") and rule.access != "public"
    refused_unknown = {401} if is_api else ({303} if method == "GET" else {303, 403})
    if rule.access == "public":
        return {rule.ok}
    if rule.access == "listen":  # started on the link's browser: everyone else is refused
        return {rule.ok} if role == "link" else {403}
    if role in ("anonymous", "link"):
        return refused_unknown
    if rule.access == "clinician":
        return {rule.ok}
    if rule.access == "admin":
        return {rule.ok} if role == "admin" else {403}
    assert rule.access == "patient", rule.access
    return {rule.ok} if role in ("owner", "admin") else {404}


def expected_refusal(rule: Rule, role: str) -> bool:
    """A signed-out caller on a route that needs a clinician: pages redirect to /signin."""
    return role in ("anonymous", "link") and rule.access not in ("public", "listen")


@pytest.fixture
def world(clinic: Clinic) -> World:
    c = clinic.client
    r = c.post("/api/v1/patients", json={"name": NAME, "notes": NOTES}, headers=clinic.owner)
    code = r.json()["code"]
    c.post(f"/api/v1/patients/{code}/consent", json={"given": True}, headers=clinic.owner)
    job = c.post(f"/api/v1/patients/{code}/sessions", json=SESSION, headers=clinic.owner).json()
    done = wait_job(c, clinic.owner, job["id"])
    assert done["status"] == "done", done
    for phase, value in (("before", 50), ("after", 40)):
        r = c.post(f"/api/v1/patients/{code}/outcomes", headers=clinic.owner,
                   json={"measure": "stai6", "phase": phase, "value": value,
                         "session_id": done["session_id"]})  # fmt: skip
        assert r.status_code == 201, r.text
    url = c.post("/api/v1/patient-links", json={"session_id": done["session_id"]},
                 headers=clinic.owner).json()["url"]  # fmt: skip
    w = World(c, clinic, code, done["session_id"], job["id"], url.split("/listen/", 1)[1])
    app = c.app
    for role in ROLES:
        w.clients[role] = TestClient(app)  # own cookie jar; the lifespan runs once, in `clinic`
    for role, user in (("owner", "theo"), ("other", "olga"), ("admin", "ada")):
        w.csrf[role] = sign_in(w.clients[role], user)
    w.csrf["anonymous"] = csrf_of(w.clients["anonymous"].get("/signin").text)
    start = w.clients["link"].get(f"/listen/{w.link_token}")
    r = w.clients["link"].post(f"/listen/{w.link_token}/start",  # binds it to this browser
                               data={"csrf_token": csrf_of(start.text)})
    assert r.status_code == 200, r.text
    w.csrf["link"] = csrf_of(r.text)
    return w


def test_every_route_is_classified(clinic: Clinic) -> None:
    app = clinic.client.app
    assert isinstance(app, FastAPI)
    routes = set(walk_routes(app.routes))
    unclassified = sorted(routes - SPEC.keys())
    assert not unclassified, f"classify these routes in SPEC (tests/reliability): {unclassified}"
    stale = sorted(SPEC.keys() - routes)
    assert not stale, f"SPEC names routes the app no longer has: {stale}"


def test_authorization_matrix(world: World) -> None:
    failures, leaks, calls = [], [], 0
    secret_bits = (NAME, NOTES)
    for _, rule in sorted(SPEC.items()):
        for role in ROLES:
            verb, url, kwargs = rule.call(world, role)
            if rule.access == "public" and role != "anonymous":
                continue  # public routes: their answer does not depend on the caller
            r = world.clients[role].request(verb, url, follow_redirects=False, **kwargs)
            calls += 1
            want = expected(rule, role, verb, url)
            if r.status_code not in want:
                failures.append(f"{role:9s} {verb} {url} -> {r.status_code}, want {sorted(want)}")
            to_signin = r.headers.get("location", "").startswith("/signin")
            if r.status_code == 303 and expected_refusal(rule, role) and not to_signin:
                failures.append(f"{role} {verb} {url}: redirected to {r.headers.get('location')}")
            entitled = role in ("owner", "admin") or (rule.access == "listen" and role == "link")
            if not entitled and rule.access != "public":
                body = r.content.decode("utf-8", "replace")
                found = [s for s in (*secret_bits, world.code) if s in body]
                if found:
                    leaks.append(f"{role} {verb} {url} -> {r.status_code} shows {found}")
    write_report("authorization", {"routes": len(SPEC), "roles": list(ROLES), "calls": calls,
                                   "wrong_status": failures, "leaks": leaks})  # fmt: skip
    assert not failures, "\n".join(failures)
    assert not leaks, "\n".join(leaks)
    assert calls >= len(SPEC) * 3
    # Lists never show another therapist's records.
    other = world.clinic.other
    theirs = world.c.get("/api/v1/patients", headers=other).json()
    assert theirs and world.code not in {p["code"] for p in theirs}  # they added their own
    assert all(j["patient_code"] != world.code
               for j in world.c.get("/api/v1/jobs", headers=other).json())  # fmt: skip
    assert [u["username"] for u in world.c.get("/api/v1/clinicians", headers=other).json()] == [
        "olga"
    ]


def test_cookie_api_writes_need_the_csrf_header(world: World) -> None:
    """The sign-in cookie alone reads the API; a change needs X-CSRF-Token too (else 403)."""
    owner = world.clients["owner"]
    assert owner.get(f"/api/v1/patients/{world.code}").status_code == 200
    r = owner.patch(f"/api/v1/patients/{world.code}", json={"contact": "y"})
    assert r.status_code == 403
    r = owner.patch(f"/api/v1/patients/{world.code}", json={"contact": "y"},
                    headers={"X-CSRF-Token": world.csrf["owner"]})  # fmt: skip
    assert r.status_code == 200
    # Another therapist's token id cannot be revoked by guessing it.
    theirs = own_token(world, "other")
    r = world.c.delete(f"/api/v1/auth/tokens/{theirs}", headers=world.clinic.owner)
    assert r.status_code == 404
