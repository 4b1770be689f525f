"""A small MSP world for the PSA tests: Northwind IT (an MSP) with two customers,
Contoso and Fabrikam; an admin (alex), a technician (tina), a technician delegated to
Contoso only (dora, read-only at home), Contoso's own user (carl, technician at home),
and another MSP (Globex) with its admin (gary) and customer (Umbrella)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from tenantry.access.models import GrantScope
from tenantry.access.service import create_grant, operator_scope
from tenantry.app import create_app
from tenantry.audit.schemas import OPERATOR
from tenantry.config import Settings
from tenantry.db.engine import Database
from tenantry.identity.models import User
from tenantry.tenancy.models import Tenant
from tests.factories import api_token, make_tenant, make_user


@dataclass
class PsaWorld:
    app: Any
    client: httpx.AsyncClient
    database: Database
    tokens: dict[str, str] = field(default_factory=dict)
    tenants: dict[str, uuid.UUID] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)

    def as_(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    async def call(self, who: str, method: str, url: str, **kw: Any) -> httpx.Response:
        return await self.client.request(method, url, headers=self.as_(who), **kw)

    async def ticket(self, who: str, tenant: str, **body: Any) -> dict[str, Any]:
        body.setdefault("title", "Printer on fire")
        response = await self.call(who, "POST", f"/api/v1/tenants/{tenant}/tickets", json=body)
        assert response.status_code == 201, response.text
        result: dict[str, Any] = response.json()
        return result


async def _customer(world: PsaWorld, name: str, msp: str, admin: str) -> uuid.UUID:
    response = await world.call(
        admin, "POST", f"/api/v1/tenants/{msp}/customers", json={"name": name}
    )
    assert response.status_code == 201, response.text
    world.tenants[response.json()["slug"]] = uuid.UUID(response.json()["id"])
    return uuid.UUID(response.json()["id"])


@pytest.fixture
async def psa(database: Database, settings: Settings):
    northwind = await make_tenant(database, "northwind", is_msp=True, display_name="Northwind IT")
    globex = await make_tenant(database, "globex", is_msp=True, display_name="Globex MSP")
    users = {
        "alex": await make_user(database, northwind, "alex@northwind.example", role="admin"),
        "tina": await make_user(database, northwind, "tina@northwind.example", role="technician"),
        "dora": await make_user(database, northwind, "dora@northwind.example", role="read_only"),
        "gary": await make_user(database, globex, "gary@globex.example", role="admin"),
    }
    app = create_app(settings, database)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        world = PsaWorld(app, client, database, users=users)
        world.tenants.update({"northwind": northwind.id, "globex": globex.id})
        for name, user in users.items():
            world.tokens[name] = await api_token(database, user)
        contoso = await _customer(world, "Contoso", "northwind", "alex")
        await _customer(world, "Fabrikam", "northwind", "alex")
        await _customer(world, "Umbrella", "globex", "gary")
        async with database.unit_of_work(operator_scope([northwind.id, contoso])) as session:
            await create_grant(
                session,
                issuer_tenant_id=northwind.id,
                user_id=users["dora"].id,
                role="technician",
                scope=GrantScope.CUSTOMER,
                customer_tenant_id=contoso,
                actor=OPERATOR,
            )
        async with database.unit_of_work(operator_scope([contoso])) as session:
            home = await session.get(Tenant, contoso)
            assert home is not None
        carl = await make_user(database, home, "carl@contoso.example", role="technician")
        world.users["carl"] = carl
        world.tokens["carl"] = await api_token(database, carl)
        yield world
