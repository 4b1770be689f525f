"""A small MSP world for the time and invoice tests: an MSP with two admins, a
technician delegated to one client, two clients, and signed-in API clients."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from tenantry.access.models import GrantScope
from tenantry.access.service import create_grant, operator_scope
from tenantry.app import create_app
from tenantry.audit.schemas import OPERATOR
from tenantry.config import Settings
from tenantry.db.engine import Database
from tenantry.tenancy.models import Tenant
from tests.factories import make_tenant, make_user, signed_in_client


@dataclass
class World:
    app: Any
    db: Database
    msp: Tenant
    admin: httpx.AsyncClient  # MSP admin (implicit Owner in every client)
    boss: httpx.AsyncClient  # second MSP admin: approves
    tech: httpx.AsyncClient  # technician delegated to contoso
    contoso: str
    fabrikam: str

    def api(self, tenant: str, path: str) -> str:
        return f"/api/v1/tenants/{tenant}/{path.lstrip('/')}"


async def delegate(db: Database, msp: Tenant, user_id: Any, customer_id: Any, role: str) -> None:
    async with db.unit_of_work(operator_scope([msp.id, customer_id])) as session:
        await create_grant(
            session,
            issuer_tenant_id=msp.id,
            user_id=user_id,
            role=role,
            scope=GrantScope.CUSTOMER,
            customer_tenant_id=customer_id,
            actor=OPERATOR,
        )


@asynccontextmanager
async def world(
    settings: Settings, database: Database, slug: str = "northwind"
) -> AsyncIterator[World]:
    app = create_app(settings, database)
    msp = await make_tenant(database, slug, is_msp=True, display_name="Northwind IT")
    await make_user(
        database, msp, f"admin@{slug}.example.com", role="admin", display_name="Alex Admin"
    )
    await make_user(
        database, msp, f"boss@{slug}.example.com", role="admin", display_name="Bea Boss"
    )
    tech_user = await make_user(
        database, msp, f"tech@{slug}.example.com", role="technician", display_name="Tina Tech"
    )
    admin = await signed_in_client(app, f"admin@{slug}.example.com")
    boss = await signed_in_client(app, f"boss@{slug}.example.com")
    tech = await signed_in_client(app, f"tech@{slug}.example.com")
    async with admin, boss, tech:
        slugs = []
        for name in ("Contoso", "Fabrikam"):
            r = await admin.post(
                f"/api/v1/tenants/{slug}/customers", json={"name": f"{name} {slug}"}
            )
            assert r.status_code == 201, r.text
            slugs.append(r.json()["slug"])
            if name == "Contoso":
                await delegate(database, msp, tech_user.id, uuid.UUID(r.json()["id"]), "technician")
        yield World(app, database, msp, admin, boss, tech, slugs[0], slugs[1])


async def work_type(w: World, tenant: str, *, rate: int = 12000, currency: str = "EUR") -> str:
    r = await w.admin.post(
        w.api(tenant, "work-types"),
        json={"name": f"Remote support {rate}", "rate_minor": rate, "currency": currency},
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def approved_entry(
    w: World,
    tenant: str,
    work_type_id: str,
    minutes: int,
    *,
    by: httpx.AsyncClient | None = None,
    work_date: str | None = None,
    billable: bool = True,
) -> str:
    """Logged by ``by`` (the technician in contoso, else the admin), approved by the boss."""
    author = by or (w.tech if tenant == w.contoso else w.admin)
    body: dict[str, Any] = {"work_type_id": work_type_id, "minutes": minutes, "billable": billable}
    if work_date:
        body["work_date"] = work_date
    r = await author.post(w.api(tenant, "time-entries"), json=body)
    assert r.status_code == 201, r.text
    entry_id = str(r.json()["id"])
    r = await author.post(w.api(tenant, f"time-entries/{entry_id}/submit"))
    assert r.status_code == 200, r.text
    r = await w.boss.post(w.api(tenant, f"time-entries/{entry_id}/approve"))
    assert r.status_code == 200, r.text
    return entry_id
