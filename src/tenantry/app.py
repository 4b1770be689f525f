"""The ASGI application: ``create_app()`` wires settings, database, routes and errors."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text
from swagger_ui_bundle import swagger_ui_path

from tenantry import __version__
from tenantry.config import Settings, get_settings
from tenantry.db.engine import Database
from tenantry.http import problems
from tenantry.http.deps import get_db, public
from tenantry.http.edge import EdgeGuard
from tenantry.http.middleware import RequestIdMiddleware
from tenantry.links.service import sweep_forever
from tenantry.logging import configure_logging
from tenantry.notifications import outbox
from tenantry.psa.tickets.open_counts import sweep as breach_sweep
from tenantry.routers import all_routers

WEB_STATIC = Path(__file__).parent / "web" / "static"
OPENAPI_URL = "/api/v1/openapi.json"

ops = APIRouter(tags=["operations"])


@ops.get("/healthz", dependencies=[Depends(public)])
async def healthz() -> dict[str, str]:
    """The process is up (no database round trip)."""
    return {"status": "ok"}


_READINESS = {
    "type": "object",
    "properties": {"status": {"type": "string"}, "database": {"type": "string"}},
    "required": ["status", "database"],
}


@ops.get(
    "/readyz",
    dependencies=[Depends(public)],
    responses={
        200: {"content": {"application/json": {"schema": _READINESS}}},
        503: {
            "description": "The database does not answer (names the error's kind)",
            "content": {"application/json": {"schema": _READINESS}},
        },
    },
)
async def readyz(request: Request) -> JSONResponse:
    """Ready to serve: the database answers."""
    db = get_db(request)
    try:
        async with db.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception as exc:  # any failure to reach the database means not ready
        return JSONResponse(
            {"status": "unavailable", "database": type(exc).__name__},
            status_code=503,
        )
    return JSONResponse({"status": "ok", "database": "ok"})


# Swagger UI's own page starts it with an inline script, which the Content-Security-Policy
# refuses: this one loads the same bundle and a small starter from /static.
_DOCS_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Tenantry API</title>
  <link rel="icon" href="/static/favicon.svg" type="image/svg+xml">
  <link rel="stylesheet" href="/static/swagger/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui" data-openapi-url="{url}"></div>
  <script src="/static/swagger/swagger-ui-bundle.js"></script>
  <script src="/static/api-docs.js"></script>
</body>
</html>
"""


@ops.get("/api/v1/docs", include_in_schema=False, dependencies=[Depends(public)])
async def api_docs() -> HTMLResponse:
    """Interactive API docs, served from the instance (no CDN, no inline script)."""
    return HTMLResponse(_DOCS_PAGE.format(url=OPENAPI_URL))


def create_app(settings: Settings | None = None, database: Database | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level, settings.log_json)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = database is None
        app.state.db = database or Database(settings)
        courier = outbox.install(app.state.db, settings)
        # Expires lapsed links and extends those both sides let renew (links/service.py).
        sweeper = asyncio.create_task(sweep_forever(app.state.db, 60))
        # Retries notification emails that could not be sent at once (notifications/outbox.py).
        mailer = asyncio.create_task(outbox.send_forever(app.state.db, settings, 60))
        # Flags tickets whose SLA target passed, for the kept per-client counts
        # (psa/tickets/open_counts/).
        breaches = asyncio.create_task(breach_sweep.sweep_forever(app.state.db, 60))
        try:
            yield
        finally:
            sweeper.cancel()
            mailer.cancel()
            breaches.cancel()
            await courier.drain()
            if owned:
                await app.state.db.dispose()

    app = FastAPI(
        title="Tenantry",
        version=__version__,
        summary="Multi-tenant platform for managed service providers.",
        openapi_url=OPENAPI_URL,
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    if database is not None:
        app.state.db = database
        # Notification emails committed through this database go out with these settings.
        outbox.install(database, settings)
    problems.install(app)
    # The last added runs first: the request id and the headers wrap everything,
    # the edge's refusals included.
    app.add_middleware(EdgeGuard, settings=settings)
    app.add_middleware(RequestIdMiddleware)
    app.mount("/static/swagger", StaticFiles(directory=swagger_ui_path), name="swagger")
    app.mount("/static", StaticFiles(directory=WEB_STATIC), name="static")
    app.include_router(ops)
    # Each domain contributes its API routes (routes.py) and web pages (pages.py).
    for router in all_routers():
        app.include_router(router, responses=problems.PROBLEM_RESPONSES)
    return app
