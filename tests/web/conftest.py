"""The web tests run in the one seeded world (tests/harness/world.py): an MSP with an
admin, a delegated technician and three customers; a customer's own admin; and a second
MSP with a customer of its own."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI

from tenantry.config import Settings
from tenantry.db.engine import Database
from tests.factories import signed_in_client
from tests.harness.world import (
    ALEX,
    CAROL,
    GARY,
    TINA,
    People,
    add_customer,
    delegate,
    seed_world,
)

__all__ = ["ALEX", "CAROL", "GARY", "TINA", "World", "add_customer", "delegate"]


@dataclass
class World(People):
    app: FastAPI


@pytest.fixture
def app(settings: Settings, database: Database) -> FastAPI:
    from tenantry.app import create_app

    return create_app(settings, database)


@pytest.fixture
async def world(app: FastAPI, database: Database) -> World:
    people = await seed_world(database)
    return World(**vars(people), app=app)


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
