"""A small instance for the links tests: two MSPs, tenants that already use Tenantry
(not created by an MSP), and API tokens for the people who act.

* Northwind IT (MSP): Alex (admin), Tina (technician), Bob (1st Level Support).
* Globex MSP (MSP): Gary (admin).
* Initech (an existing organisation): Ian (owner), Ivy (read-only).
* Umbrella (an existing organisation): Uma (owner).
* Contoso Ltd: a customer Northwind created itself (active link, full ceiling).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from tenantry.access.service import operator_scope
from tenantry.audit.models import AuditEvent
from tenantry.config import Settings
from tenantry.db.engine import Database
from tenantry.identity.models import User
from tenantry.tenancy.models import Tenant, TenantLink
from tests.factories import api_token, client, make_tenant, make_user
from tests.harness.world import add_customer, delegate


@dataclass
class World:
    app: FastAPI
    http: httpx.AsyncClient
    db: Database
    tenants: dict[str, Tenant]
    users: dict[str, User]
    tokens: dict[str, str] = field(default_factory=dict)

    def as_(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    async def get(self, who: str, path: str, **kw: Any) -> httpx.Response:
        return await self.http.get(path, headers=self.as_(who), **kw)

    async def post(self, who: str, path: str, body: Any = None) -> httpx.Response:
        return await self.http.post(path, json=body or {}, headers=self.as_(who))

    async def ask(
        self,
        customer: str = "initech",
        ceiling: list[str] | None = None,
        *,
        who: str = "alex",
        msp: str = "northwind",
        **extra: Any,
    ) -> httpx.Response:
        body = {"customer": customer, "ceiling": ceiling or ["technician"], **extra}
        return await self.post(who, f"/api/v1/tenants/{msp}/links", body)

    async def link(self, link_id: str | uuid.UUID) -> TenantLink:
        async with self.db.platform_reader() as session:
            row = await session.get(TenantLink, uuid.UUID(str(link_id)))
        assert row is not None
        return row

    async def actions(self, tenant: str, link_id: str | uuid.UUID) -> list[str]:
        """The link's events in one tenant's own trail, oldest first."""
        tenant_id = self.tenants[tenant].id
        async with self.db.unit_of_work(operator_scope([tenant_id])) as session:
            rows = await session.scalars(
                select(AuditEvent.action)
                .where(AuditEvent.target_type == "link", AuditEvent.target_id == str(link_id))
                .order_by(AuditEvent.seq)
            )
            return list(rows.all())


PEOPLE = {
    # key: (tenant, email, role, display name)
    "alex": ("northwind", "alex@northwind.example", "admin", "Alex Admin"),
    "tina": ("northwind", "tina@northwind.example", "technician", "Tina Tech"),
    "bob": ("northwind", "bob@northwind.example", "first_level_support", "Bob Support"),
    "gary": ("globex", "gary@globex.example", "admin", "Gary Globex"),
    "ian": ("initech", "ian@initech.example", "owner", "Ian Initech"),
    "ivy": ("initech", "ivy@initech.example", "read_only", "Ivy Reader"),
    "uma": ("umbrella", "uma@umbrella.example", "owner", "Uma Umbrella"),
}


@pytest.fixture
def app(settings: Settings, database: Database) -> FastAPI:
    from tenantry.app import create_app

    return create_app(settings, database)


@pytest.fixture
async def world(app: FastAPI, database: Database) -> AsyncIterator[World]:
    tenants = {
        "northwind": await make_tenant(
            database, "northwind", is_msp=True, display_name="Northwind IT"
        ),
        "globex": await make_tenant(database, "globex", is_msp=True, display_name="Globex MSP"),
        "initech": await make_tenant(database, "initech", display_name="Initech"),
        "umbrella": await make_tenant(database, "umbrella", display_name="Umbrella Corp"),
    }
    users: dict[str, User] = {}
    for key, (tenant, email, role, name) in PEOPLE.items():
        users[key] = await make_user(
            database,
            tenants[tenant],
            email,
            role=role,
            display_name=name,
            # No password: API tests use tokens, pages' tests give one when signing in
            # (hashing one costs a fifth of a second).
            password=None,
        )
    tenants["contoso-ltd"] = await add_customer(
        database, tenants["northwind"], users["alex"], "Contoso Ltd"
    )
    # Tina works in Initech as a Technician once Initech consents; Bob in Contoso.
    await delegate(database, tenants["northwind"], users["tina"], tenants["initech"], "technician")
    await delegate(
        database, tenants["northwind"], users["bob"], tenants["contoso-ltd"], "first_level_support"
    )
    tokens = {key: await api_token(database, user) for key, user in users.items()}
    async with client(app) as http:
        yield World(app, http, database, tenants, users, tokens)


async def approved(world: World, ceiling: list[str] | None = None, **ask: Any) -> str:
    """Northwind asks for Initech, Ian approves (optionally giving less): the link id."""
    asked = await world.ask(**ask)
    assert asked.status_code == 201, asked.text
    link_id = str(asked.json()["id"])
    body: dict[str, Any] = {"ceiling": ceiling} if ceiling is not None else {}
    if "auto_extend" in ask:
        body["auto_extend"] = ask["auto_extend"]
    done = await world.post("ian", f"/api/v1/tenants/initech/links/{link_id}/approve", body)
    assert done.status_code == 200, done.text
    return link_id
