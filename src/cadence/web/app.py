"""The FastAPI application: ``create_app(settings)``.

- ``/api/v1/...``: the REST API (OpenAPI at ``/api/v1/openapi.json``, docs at ``/api/docs``).
- Pages (Jinja2, a little plain JS): sign-in, patients, sessions, jobs, reports, and the
  patient's listening page at ``/listen/<token>``.
- ``/static``: CSS and JS.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.middleware.trustedhost import TrustedHostMiddleware

from cadence import __version__
from cadence.web import api, docs, errors, hardening, pages, vocabulary
from cadence.web.jobs import make_runner, open_clinic_for
from cadence.web.limits import BodyLimit
from cadence.web.links import validity_in_words
from cadence.web.recovery import sweep_orphans
from cadence.web.settings import WebSettings
from cadence.web.state import WebState

log = logging.getLogger(__name__)
HERE = Path(__file__).parent
# Room for the multipart envelope and the form's other fields around one upload.
BODY_SLACK = 256 * 1024


def create_app(settings: WebSettings | None = None) -> FastAPI:
    """The web app for ``settings`` (default: from the ``CADENCE_`` environment)."""
    settings = settings or WebSettings()
    clinic = open_clinic_for(settings)  # makes the home owner-only (clinic.config.make_private)
    runner = make_runner(settings)
    n = runner.fail_lost(clinic)
    if n:
        log.warning("%d jobs of a stopped server or worker marked failed", n)
    swept = sweep_orphans(settings, clinic)  # what a killed process left on disk
    if any(swept.values()):
        log.warning("removed after an unclean stop: %s", swept)
    templates = Jinja2Templates(directory=HERE / "templates")
    templates.env.globals["version"] = __version__
    templates.env.globals["words"] = vocabulary  # the clinician's vocabulary, in one module
    templates.env.globals["link_validity"] = validity_in_words(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        runner.close()

    app = FastAPI(
        title="Cadence",
        version=__version__,
        description="Therapeutic music sessions: patients, prescriptions, generation jobs, "
        "feedback, outcomes and reports. Authenticate with a bearer token from "
        "POST /api/v1/auth/tokens.",
        openapi_url="/api/v1/openapi.json",
        docs_url=None,  # served by web/docs.py from the pinned package, no CDN
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.web = WebState(
        settings=settings,
        clinic=clinic,
        runner=runner,
        templates=templates,
        key=settings.signing_key(),
    )
    app.add_middleware(BodyLimit, limit=settings.max_upload_bytes + BODY_SLACK)
    # Only the configured names: a forged Host header gets 400, never a page or a link.
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=settings.trusted_hosts)

    @app.middleware("http")
    async def security_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        h = response.headers
        h.setdefault("X-Content-Type-Options", "nosniff")
        h.setdefault("X-Frame-Options", "DENY")
        # Patient links carry their token in the URL: never send it on as a referrer.
        h.setdefault("Referrer-Policy", "no-referrer")
        # Swagger UI sets style attributes: the docs alone allow inline styles, never scripts.
        style = "'self' 'unsafe-inline'" if request.url.path.startswith("/api/docs") else "'self'"
        h.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; media-src 'self'; "
            f"style-src {style}; script-src 'self'; frame-ancestors 'none'; form-action 'self'",
        )
        if request.url.path.startswith(("/api/", "/listen/")) or "set-cookie" in h:
            h.setdefault("Cache-Control", "no-store")
        return response

    errors.install(app)
    hardening.install(app)  # tokens out of the access log; out-of-range ids are 422
    app.include_router(api.router)
    app.include_router(pages.router)
    docs.install(app)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    return app
