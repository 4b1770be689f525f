"""A small instance for the access-management tests.

Northwind IT (MSP): Alex (Admin), Tina and Sam (technicians: Technician at home, no
customer yet), Olive (Owner). Customers Contoso Ltd, Fabrikam Inc, Tailspin Toys, with
Carol as Contoso's own Admin. Globex (another MSP) with Gary and its customer Initech.
Everyone calls the API with a bearer token; ``world.call(who, method, path, ...)``.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantry.access.models import Grant
from tenantry.audit.models import AuditEvent
from tenantry.config import Settings
from tenantry.db.engine import Database
from tenantry.identity.models import User
from tenantry.tenancy.models import Tenant
from tests.factories import PASSWORD, api_token, client, make_tenant
from tests.factories import make_user as _make_user
from tests.harness.world import add_customer

EMAILS = {
    "alex": "alex@northwind.example",
    "olive": "olive@northwind.example",
    "tina": "tina@northwind.example",
    "sam": "sam@northwind.example",
    "carol": "carol@contoso.example",
    "gary": "gary@globex.example",
}


async def make_user(database: Database, tenant: Tenant, email: str, **kwargs: Any) -> User:
    """These users call the API with tokens only: no password to hash (argon2 is slow by
    design, and this world is made for every test)."""
    kwargs.setdefault("password", None)
    return await _make_user(database, tenant, email, **kwargs)


@dataclass
class World:
    app: FastAPI
    http: httpx.AsyncClient
    database: Database
    owner_engine: AsyncEngine
    msp: Tenant
    customers: dict[str, Tenant]
    other_msp: Tenant
    other_customer: Tenant
    users: dict[str, User]
    tokens: dict[str, str] = field(default_factory=dict)

    def headers(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    async def call(self, who: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return await self.http.request(method, path, headers=self.headers(who), **kwargs)

    async def get(self, who: str, path: str, **kwargs: Any) -> httpx.Response:
        return await self.call(who, "GET", path, **kwargs)

    async def post(self, who: str, path: str, json: Any = None) -> httpx.Response:
        return await self.call(who, "POST", path, json=json)

    async def form(self, who: str, path: str, data: dict[str, Any]) -> httpx.Response:
        """A form post as a page sends it (bearer tokens need no CSRF field)."""
        return await self.call(who, "POST", path, data=data)

    async def tenants_of(self, who: str) -> list[str]:
        """The slugs in the user's switcher (``GET /api/v1/me/tenants``)."""
        response = await self.get(who, "/api/v1/me/tenants", params={"limit": 200})
        assert response.status_code == 200, response.text
        return [t["slug"] for t in response.json()["items"]]

    async def grant(self, who: str, tenant: str, **body: Any) -> dict[str, Any]:
        response = await self.post(who, f"/api/v1/tenants/{tenant}/grants", json=body)
        assert response.status_code == 201, response.text
        data: dict[str, Any] = response.json()
        return data

    async def count(self, model: Any) -> int:
        async with self.owner_engine.connect() as conn:
            return int(await conn.scalar(select(func.count()).select_from(model)) or 0)

    async def actions(self, tenant: Tenant) -> list[str]:
        """The tenant's audit trail, oldest first, as action names."""
        async with self.owner_engine.connect() as conn:
            rows = await conn.scalars(
                select(AuditEvent.action)
                .where(AuditEvent.tenant_id == tenant.id)
                .order_by(AuditEvent.seq)
            )
            return list(rows.all())

    async def grants_count(self) -> int:
        return await self.count(Grant)


@pytest.fixture
def app(settings: Settings, database: Database) -> FastAPI:
    from tenantry.app import create_app

    return create_app(settings, database)


@pytest.fixture
async def world(
    app: FastAPI, database: Database, owner_engine: AsyncEngine
) -> AsyncIterator[World]:
    msp = await make_tenant(database, "northwind", is_msp=True, display_name="Northwind IT")
    users = {
        # Alex also signs in with a password (the page tests' CSRF check needs a session).
        "alex": await make_user(
            database, msp, EMAILS["alex"], role="admin", display_name="Alex", password=PASSWORD
        ),
        "olive": await make_user(
            database, msp, EMAILS["olive"], role="owner", display_name="Olive"
        ),
        "tina": await make_user(
            database, msp, EMAILS["tina"], role="technician", display_name="Tina Tech"
        ),
        "sam": await make_user(
            database, msp, EMAILS["sam"], role="technician", display_name="Sam Support"
        ),
    }
    customers = {}
    for name in ("Contoso Ltd", "Fabrikam Inc", "Tailspin Toys"):
        customer = await add_customer(database, msp, users["alex"], name)
        customers[customer.slug] = customer
    users["carol"] = await make_user(
        database, customers["contoso-ltd"], EMAILS["carol"], role="admin", display_name="Carol"
    )
    other_msp = await make_tenant(database, "globex", is_msp=True, display_name="Globex MSP")
    users["gary"] = await make_user(database, other_msp, EMAILS["gary"], role="admin")
    other_customer = await add_customer(database, other_msp, users["gary"], "Initech")
    async with client(app) as http:
        world = World(
            app=app,
            http=http,
            database=database,
            owner_engine=owner_engine,
            msp=msp,
            customers=customers,
            other_msp=other_msp,
            other_customer=other_customer,
            users=users,
        )
        for who, user in users.items():
            world.tokens[who] = await api_token(database, user)
        yield world


def problem_field(response: httpx.Response) -> str:
    """The field a 4xx problem names (the first, when it names several)."""
    body = response.json()
    assert response.headers["content-type"].startswith("application/problem+json"), body
    errors = body.get("errors") or []
    return str(errors[0]["field"]) if errors else ""


def new_id() -> str:
    return str(uuid.uuid4())
