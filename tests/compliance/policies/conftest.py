"""The access tests' small instance (tests/access/conftest.py), with Dan, one of
Contoso's own people who holds only the 1st Level Support role (tenant:read, no
compliance), and Tina delegated to Contoso as Technician (compliance read and write, no
approval)."""

from __future__ import annotations

import pytest
from fastapi import FastAPI

from tenantry.config import Settings
from tenantry.db.engine import Database
from tests.access.conftest import World, make_user
from tests.access.conftest import world as access_world  # noqa: F401
from tests.factories import api_token

CONTOSO = "/api/v1/tenants/contoso-ltd/compliance"


@pytest.fixture
def app(settings: Settings, database: Database) -> FastAPI:
    from tenantry.app import create_app

    return create_app(settings, database)


@pytest.fixture
async def world(access_world: World, database: Database) -> World:  # noqa: F811
    contoso = access_world.customers["contoso-ltd"]
    dan = await make_user(
        database, contoso, "dan@contoso.example", role="first_level_support", display_name="Dan"
    )
    access_world.users["dan"] = dan
    access_world.tokens["dan"] = await api_token(database, dan)
    await access_world.grant(
        "alex",
        "northwind",
        user=str(access_world.users["tina"].id),
        role="technician",
        scope="customer",
        customer="contoso-ltd",
    )
    return access_world
