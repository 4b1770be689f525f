"""What a hostile caller found in the signed-in app (issue #13): NUL characters in the
tenant segment, a database refusing a character, answers a browser or proxy could keep,
and a tenant switch a cross-site link could trigger."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantry.access.models import RecentTenant
from tenantry.access.service import operator_scope
from tenantry.audit.models import AuditEvent
from tenantry.db.engine import Database
from tests.web.conftest import World, form_client


async def test_nul_in_the_tenant_segment_is_a_422_for_a_signed_in_caller(
    as_alex: httpx.AsyncClient,
) -> None:
    for path in (
        "/api/v1/tenants/north%00wind/tickets",
        "/api/v1/tenants/%00/customers",
        "/api/v1/tenants/northwind/access/explain?user=%00",
    ):
        response = await as_alex.get(path)
        assert response.status_code == 422, (path, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["request_id"] == response.headers["x-request-id"]
    page = await as_alex.get("/t/north%00wind/", headers={"accept": "text/html"})
    assert page.status_code == 422 and page.headers["x-request-id"]


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
async def test_a_character_the_database_refuses_is_a_422(
    world: World, as_alex: httpx.AsyncClient, database: Database
) -> None:
    """The backstop behind the edge's check: whatever still reaches PostgreSQL with a
    character it cannot store is the caller's mistake, not ours."""

    @world.app.get("/api/v1/test-only/store")
    async def store() -> dict[str, str]:
        async with database.unit_of_work(operator_scope([])) as session:
            await session.execute(text("SELECT CAST(:v AS text)"), {"v": "a\x00b"})
        return {}

    response = await as_alex.get("/api/v1/test-only/store")
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["request_id"] == response.headers["x-request-id"]


async def test_signed_in_answers_are_never_stored(as_alex: httpx.AsyncClient) -> None:
    for path in ("/t/northwind/", "/api/v1/me/tenants", "/msp/customers.csv"):
        response = await as_alex.get(path)
        assert response.status_code == 200, path
        assert response.headers["cache-control"] == "no-store", path


# ---------------------------------------------------------------- the switch


async def _switch_rows(owner_engine: AsyncEngine, tenant_id: uuid.UUID) -> tuple[int, int]:
    async with owner_engine.connect() as conn:
        events = await conn.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(
                AuditEvent.tenant_id == tenant_id,
                AuditEvent.action == "access.context_switched",
            )
        )
        recent = await conn.scalar(select(func.count()).select_from(RecentTenant))
    return int(events or 0), int(recent or 0)


async def test_a_get_of_the_switch_writes_nothing(
    as_alex: httpx.AsyncClient, world: World, owner_engine: AsyncEngine
) -> None:
    fabrikam = world.customers["fabrikam-inc"].id
    response = await as_alex.get("/t/fabrikam-inc/switch", params={"to": "invitations"})
    # A cross-site link still lands somewhere sensible, and records nothing.
    assert response.status_code == 303
    assert response.headers["location"] == "/t/fabrikam-inc/invitations"
    assert await _switch_rows(owner_engine, fabrikam) == (0, 0)


async def test_the_switch_is_a_post_with_the_csrf_token(
    as_alex: httpx.AsyncClient, world: World, owner_engine: AsyncEngine
) -> None:
    fabrikam = world.customers["fabrikam-inc"].id
    token = form_client(as_alex)
    refused = await as_alex.post("/t/fabrikam-inc/switch", data={"to": "invitations"})
    assert refused.status_code == 403
    assert await _switch_rows(owner_engine, fabrikam) == (0, 0)
    response = await as_alex.post(
        "/t/fabrikam-inc/switch", data={"to": "invitations", "csrf_token": token}
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/t/fabrikam-inc/invitations"
    assert await _switch_rows(owner_engine, fabrikam) == (1, 1)


async def test_every_switch_in_the_pages_is_a_form(as_alex: httpx.AsyncClient) -> None:
    for path in ("/tenants", "/msp/customers", "/msp/customers/contoso-ltd"):
        page = (await as_alex.get(path)).text
        assert not re.search(r'href="/t/[^"]+/switch', page), path
        assert re.search(r'<form method="post" action="/t/[a-z0-9-]+/switch"', page), path
