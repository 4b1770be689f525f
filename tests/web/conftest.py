"""A small instance for the web tests: an MSP with an admin, a delegated technician and
three customers; a customer's own admin; and a second MSP with a customer of its own."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI

from tenantry.access.models import GrantScope
from tenantry.access.service import AccessService, create_grant, operator_scope
from tenantry.audit.schemas import OPERATOR
from tenantry.config import Settings
from tenantry.db.base import utcnow
from tenantry.db.engine import Database
from tenantry.identity.models import User
from tenantry.identity.service import principal_of
from tenantry.tenancy.models import Tenant
from tenantry.tenancy.service import TenancyService
from tests.factories import make_tenant, make_user, signed_in_client

ALEX = "alex@northwind.example"  # MSP admin of Northwind IT
TINA = "tina@northwind.example"  # technician, 1st Level Support in Contoso until tonight
CAROL = "carol@contoso.example"  # Contoso's own admin
GARY = "gary@globex.example"  # admin of another MSP


async def add_customer(db: Database, msp: Tenant, admin: User, name: str) -> Tenant:
    """A customer created by the MSP's admin, as the customers page does it."""
    async with db.unit_of_work(operator_scope([msp.id])) as session:
        principal = principal_of(admin, msp, auth_method="cli")
        ctx = await AccessService(session).context_in(principal, msp)
        return await TenancyService(session).create_customer(
            ctx, name=name, display_name=name, actor=OPERATOR
        )


async def delegate(
    db: Database,
    msp: Tenant,
    user: User,
    customer: Tenant,
    role: str,
    expires_at: datetime | None = None,
) -> None:
    async with db.unit_of_work(operator_scope([msp.id, customer.id])) as session:
        await create_grant(
            session,
            issuer_tenant_id=msp.id,
            user_id=user.id,
            role=role,
            scope=GrantScope.CUSTOMER,
            customer_tenant_id=customer.id,
            expires_at=expires_at,
            actor=OPERATOR,
        )


@dataclass
class World:
    app: FastAPI
    msp: Tenant
    customers: dict[str, Tenant]
    other_msp: Tenant
    other_customer: Tenant
    users: dict[str, User]
    tina_until: datetime

    def tenant_ids(self) -> dict[str, uuid.UUID]:
        every = [self.msp, self.other_msp, self.other_customer, *self.customers.values()]
        return {t.slug: t.id for t in every}


@pytest.fixture
def app(settings: Settings, database: Database) -> FastAPI:
    from tenantry.app import create_app

    return create_app(settings, database)


@pytest.fixture
async def world(app: FastAPI, database: Database) -> World:
    msp = await make_tenant(database, "northwind", is_msp=True, display_name="Northwind IT")
    alex = await make_user(database, msp, ALEX, role="admin", display_name="Alex Admin")
    tina = await make_user(database, msp, TINA, role="technician", display_name="Tina Tech")
    customers = {}
    # Created out of alphabetical order: the switcher must sort by display name.
    for name in ("Tailspin Toys", "Contoso Ltd", "Fabrikam Inc"):
        customer = await add_customer(database, msp, alex, name)
        customers[customer.slug] = customer
    until = (utcnow() + timedelta(hours=8)).replace(microsecond=0)
    await delegate(
        database, msp, tina, customers["contoso-ltd"], "first_level_support", expires_at=until
    )
    carol = await make_user(
        database, customers["contoso-ltd"], CAROL, role="admin", display_name="Carol Contoso"
    )
    other_msp = await make_tenant(database, "globex", is_msp=True, display_name="Globex MSP")
    gary = await make_user(database, other_msp, GARY, role="admin", display_name="Gary Globex")
    other_customer = await add_customer(database, other_msp, gary, "Initech")
    return World(
        app=app,
        msp=msp,
        customers=customers,
        other_msp=other_msp,
        other_customer=other_customer,
        users={"alex": alex, "tina": tina, "carol": carol, "gary": gary},
        tina_until=until,
    )


@pytest.fixture
async def as_alex(world: World) -> AsyncIterator[httpx.AsyncClient]:
    async with await signed_in_client(world.app, ALEX) as c:
        yield c


@pytest.fixture
async def as_tina(world: World) -> AsyncIterator[httpx.AsyncClient]:
    async with await signed_in_client(world.app, TINA) as c:
        yield c


@pytest.fixture
async def as_carol(world: World) -> AsyncIterator[httpx.AsyncClient]:
    async with await signed_in_client(world.app, CAROL) as c:
        yield c


@pytest.fixture
async def as_gary(world: World) -> AsyncIterator[httpx.AsyncClient]:
    async with await signed_in_client(world.app, GARY) as c:
        yield c


def form_client(c: httpx.AsyncClient) -> str:
    """Make ``c`` behave like a browser posting forms: no CSRF header; the token goes in
    the form field instead. Returns the token."""
    return str(c.headers.pop("x-csrf-token"))
