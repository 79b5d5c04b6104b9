"""Self-hosted API docs: Swagger UI 5 (it reads OpenAPI 3.1) from the pinned swagger-ui-py
package's static files, served by the app at /api/docs/assets/ and started by a same-origin
script. Nothing loads from a CDN, so the docs work offline and run under the app's CSP (no
third-party or inline script)."""

from __future__ import annotations

from pathlib import Path

import swagger_ui
from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = "/api/docs/assets"
SWAGGER_UI = Path(swagger_ui.__file__).parent / "static"

PAGE = f"""<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Cadence API</title>
  <link rel="icon" href="/static/favicon.svg" type="image/svg+xml">
  <link rel="stylesheet" href="{ASSETS}/swagger-ui.css">
  <link rel="stylesheet" href="/static/docs.css">
</head>
<body>
<div id="swagger-ui" data-spec-url="/api/v1/openapi.json"></div>
<script src="{ASSETS}/swagger-ui-bundle.js"></script>
<script src="/static/docs.js"></script>
</body>
</html>
"""


def install(app: FastAPI) -> None:
    """The docs page and its assets (the FastAPI app is built with docs_url=None)."""
    app.mount(ASSETS, StaticFiles(directory=SWAGGER_UI), name="docs-assets")

    @app.api_route(
        "/api/docs", methods=["GET", "HEAD"], include_in_schema=False, response_class=HTMLResponse
    )
    def api_docs() -> HTMLResponse:
        return HTMLResponse(PAGE)
