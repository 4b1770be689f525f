"""Health, readiness, request ids, problem documents and the self-hosted API docs."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tenantry.app import create_app
from tenantry.config import Settings
from tenantry.db.engine import Database


@pytest.fixture
async def client(database: Database, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, database)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        yield client


async def test_healthz_and_readyz(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["database"] == "ok"


async def test_readyz_reports_an_unreachable_database(settings: Settings) -> None:
    broken = Settings(
        database_url="postgresql://nobody@127.0.0.1:1/none"
        if settings.is_postgres
        else "sqlite:////nonexistent-dir/tenantry.db"
    )
    app = create_app(broken, Database(broken))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"


async def test_every_response_carries_a_request_id(client: httpx.AsyncClient) -> None:
    fresh = await client.get("/healthz")
    assert len(fresh.headers["x-request-id"]) >= 16
    echoed = await client.get("/healthz", headers={"x-request-id": "trace-123"})
    assert echoed.headers["x-request-id"] == "trace-123"
    hostile = await client.get("/healthz", headers={"x-request-id": "a b\tc"})
    assert hostile.headers["x-request-id"] != "a b\tc"
    problem = await client.get("/api/v1/me/nothing-here")
    assert problem.headers["x-request-id"]


async def test_errors_are_problem_documents(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/tenants/anything/customers")
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert {"type", "title", "status", "detail"} <= body.keys()
    bad_token = await client.get(
        "/api/v1/tenants/anything/customers", headers={"Authorization": "Bearer nope"}
    )
    assert bad_token.status_code == 401


async def test_api_docs_are_served_without_a_cdn(client: httpx.AsyncClient) -> None:
    docs = await client.get("/api/v1/docs")
    assert docs.status_code == 200
    assert "cdn" not in docs.text.lower() and "https://" not in docs.text
    assert (await client.get("/static/swagger/swagger-ui-bundle.js")).status_code == 200
    openapi = await client.get("/api/v1/openapi.json")
    assert openapi.json()["openapi"].startswith("3.")


def test_database_failures_are_told_apart_from_bugs() -> None:
    import asyncpg
    from sqlalchemy.exc import DBAPIError

    from tenantry.http.problems import database_unreachable

    def wrapped(error: BaseException) -> DBAPIError:
        adapted = RuntimeError("adapted")
        adapted.__cause__ = error
        return DBAPIError("SELECT 1", {}, adapted)  # type: ignore[arg-type]

    for gone in (
        asyncpg.exceptions.AdminShutdownError("terminating connection"),
        asyncpg.exceptions.CannotConnectNowError("the database system is starting up"),
        asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed"),
        ConnectionRefusedError(111, "refused"),
    ):
        assert database_unreachable(wrapped(gone)), gone
    assert not database_unreachable(wrapped(asyncpg.exceptions.UniqueViolationError("dup")))
    assert not database_unreachable(ValueError("a bug"))
