"""Errors → RFC 9457 problem documents (API) or an error page / redirect (web UI)."""

from __future__ import annotations

from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from tenantry.errors import MfaRequired, NotAuthenticated, ServiceUnavailable, TenantryError
from tenantry.http.bodies import BodyTooLarge
from tenantry.logging import get_logger
from tenantry.web.render import render_error

PROBLEM_JSON = "application/problem+json"
log = get_logger("tenantry.http")


_PROBLEM_SCHEMA = {
    "type": "object",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "request_id": {"type": ["string", "null"]},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
        "permission": {"type": "string"},
    },
    "required": ["type", "title", "status"],
}


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM_JSON: {"schema": _PROBLEM_SCHEMA}}}


# The error answers every API route may give, documented once for the OpenAPI document.
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _problem("Bad request"),
    401: _problem("Sign-in required"),
    403: _problem("Permission denied (names the permission), suspended tenant, or CSRF"),
    404: _problem("Not found, or a tenant the caller cannot see"),
    409: _problem("Conflict"),
    405: _problem("Method not allowed (see Allow)"),
    410: _problem("Gone (used or expired link)"),
    413: _problem("Request body too large"),
    422: _problem("Invalid input (names each field)"),
    429: _problem("Too many attempts (see Retry-After)"),
    500: _problem("Internal error"),
    503: _problem("Database unavailable"),
}


def wants_html(request: Request) -> bool:
    path = request.url.path
    if path.startswith("/api/"):
        return False
    return "text/html" in request.headers.get("accept", "") or not path.startswith("/api")


def problem_response(request: Request, body: dict[str, Any]) -> Response:
    body.setdefault("request_id", getattr(request.state, "request_id", None))
    if wants_html(request):
        return render_error(request, body)
    return JSONResponse(body, status_code=int(body["status"]), media_type=PROBLEM_JSON)


def _field_name(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "cookie")]
    return ".".join(parts) or str(loc[-1] if loc else "request")


def install(app: FastAPI) -> None:
    @app.exception_handler(TenantryError)
    async def _tenantry_error(request: Request, exc: TenantryError) -> Response:
        if wants_html(request) and request.method == "GET":
            if isinstance(exc, NotAuthenticated):
                return RedirectResponse(f"/sign-in?next={request.url.path}", status_code=303)
            if isinstance(exc, MfaRequired):
                return RedirectResponse(str(exc.extra.get("next", "/account/security")), 303)
        response = problem_response(request, exc.problem(request.url.path))
        retry_after = exc.extra.get("retry_after")
        if isinstance(retry_after, int):
            response.headers["retry-after"] = str(retry_after)
        return response

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
        errors = [
            {"field": _field_name(tuple(e.get("loc", ()))), "message": e.get("msg", "invalid")}
            for e in exc.errors()
        ]
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        body = {
            "type": "https://tenantry.dev/problems/validation",
            "title": "Invalid input",
            "status": 422,
            "detail": detail,
            "instance": request.url.path,
            "errors": errors,
        }
        return problem_response(request, body)

    @app.exception_handler(BodyTooLarge)
    async def _too_large(request: Request, exc: BodyTooLarge) -> Response:
        return problem_response(request, exc.problem(request.url.path))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        body = {
            "type": "about:blank",
            "title": str(exc.detail) if exc.status_code != 404 else "Not found",
            "status": exc.status_code,
            "detail": str(exc.detail),
            "instance": request.url.path,
        }
        response = problem_response(request, body)
        # A 405 says which methods the resource takes (Allow), as HTTP requires.
        for name, value in (exc.headers or {}).items():
            response.headers[name] = value
        return response

    async def _refused(request: Request, exc: Exception) -> Response:
        # A value the database cannot hold (a NUL in text, a number out of its column's
        # range) that got past every check: the caller's input, not a bug.
        log.warning("value refused by the database", error=str(exc).splitlines()[0])
        body = {
            "type": "https://tenantry.dev/problems/validation",
            "title": "Invalid input",
            "status": 422,
            "detail": "A value cannot be stored (a NUL character, or a number out of range).",
            "instance": request.url.path,
            "errors": [{"field": "request", "message": "holds a value that cannot be stored"}],
        }
        return problem_response(request, body)

    async def _database_down(request: Request, exc: Exception) -> Response:
        if refused_value(exc):
            return await _refused(request, exc)
        log.warning("database unavailable", error=str(exc))
        error = ServiceUnavailable("The database is unavailable; try again in a moment.")
        return problem_response(request, error.problem(request.url.path))

    async def _database_error(request: Request, exc: Exception) -> Response:
        if refused_value(exc):
            return await _refused(request, exc)
        if database_unreachable(exc):
            return await _database_down(request, exc)
        log.error("database error", exc_info=exc)
        body = {
            "type": "about:blank",
            "title": "Internal error",
            "status": 500,
            "detail": "Something went wrong on our side; the request id names it in the logs.",
            "instance": request.url.path,
        }
        return problem_response(request, body)

    # Connection-level failures (server down, restarting) become 503, not 500.
    for kind in (OperationalError, InterfaceError, ConnectionError, TimeoutError):
        app.add_exception_handler(kind, _database_down)
    app.add_exception_handler(DBAPIError, _database_error)


def _chain(exc: BaseException) -> list[BaseException]:
    """The SQLAlchemy error, the adapted DBAPI error, the driver's."""
    found: list[BaseException] = []
    seen: BaseException | None = exc
    while seen is not None and len(found) < 4:
        found.append(seen)
        seen = getattr(seen, "orig", None) or seen.__cause__
    return found


def refused_value(exc: BaseException) -> bool:
    """Did the database (or its driver, before sending) refuse a value the caller gave?
    SQLSTATE class 22 (data exception: 22021 a NUL or invalid byte, 22P05 an
    untranslatable character, 22003 out of range, …) or asyncpg's own check of a
    parameter (an int beyond 32 or 64 bits)."""
    for seen in _chain(exc):
        if isinstance(seen, asyncpg.exceptions._base.DataError):
            return True
        code = getattr(seen, "sqlstate", None) or getattr(seen, "pgcode", None)
        if isinstance(code, str) and code.startswith("22"):
            return True
    return False


# SQLSTATE class 08 (connection exception) and 57P01-57P03 (admin/crash shutdown,
# cannot connect now): the server is going away or not back yet.
_UNREACHABLE_STATES = ("08", "57P01", "57P02", "57P03")


def database_unreachable(exc: BaseException) -> bool:
    """Is this a failure to reach the database (retry later) rather than a bug?"""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    if refused_value(exc):  # asyncpg's DataError is an InterfaceError too
        return False
    seen: BaseException | None = exc
    for _ in range(4):  # the SQLAlchemy error, the adapted DBAPI error, the driver's
        if seen is None:
            return False
        if isinstance(
            seen,
            (
                OSError,
                asyncpg.exceptions.InterfaceError,
                asyncpg.exceptions.PostgresConnectionError,
            ),
        ):
            return True
        code = getattr(seen, "sqlstate", None) or getattr(seen, "pgcode", None)
        if isinstance(code, str) and code.startswith(_UNREACHABLE_STATES):
            return True
        seen = getattr(seen, "orig", None) or seen.__cause__
    return False
