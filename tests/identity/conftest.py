"""Fixtures of the identity tests: an app, an MSP with an admin, a clock for TOTP codes,
and direct looks at the tables (as the owner, past row-level security)."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pyotp
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantry.app import create_app
from tenantry.audit.models import AuditEvent
from tenantry.config import Settings
from tenantry.db.engine import Database
from tenantry.identity import throttle
from tenantry.identity.models import User
from tenantry.tenancy.models import Tenant
from tests.factories import make_tenant, make_user

ALEX = "alex@northwind.example"


@pytest.fixture(autouse=True)
def delays(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Throttle delays are recorded instead of waited for."""
    seen: list[float] = []

    async def record(seconds: float) -> None:
        seen.append(seconds)

    monkeypatch.setattr(throttle, "sleep", record)
    return seen


@pytest.fixture
def app(settings: Settings, database: Database) -> FastAPI:
    return create_app(settings, database)


def app_with(database: Database, settings: Settings, **changes: Any) -> FastAPI:
    """An app on the same database with some settings changed (the shared settings object
    is never mutated)."""
    return create_app(settings.model_copy(update=changes), database)


@pytest.fixture
async def msp(database: Database) -> Tenant:
    return await make_tenant(database, "northwind", is_msp=True, display_name="Northwind IT")


@pytest.fixture
async def alex(database: Database, msp: Tenant) -> User:
    return await make_user(database, msp, ALEX, role="admin", display_name="Alex Admin")


def code(secret: str, steps_ahead: int = 0) -> str:
    """The TOTP code of now (or a step or so ahead, which the server still accepts)."""
    return pyotp.TOTP(secret).at(time.time() + 30 * steps_ahead)


async def rows(owner_engine: AsyncEngine, stmt: Any) -> list[Any]:
    async with owner_engine.connect() as conn:
        return list((await conn.execute(stmt)).all())


async def one(owner_engine: AsyncEngine, stmt: Any) -> Any:
    async with owner_engine.connect() as conn:
        return (await conn.execute(stmt)).scalar_one_or_none()


async def change(owner_engine: AsyncEngine, stmt: Any) -> None:
    async with owner_engine.begin() as conn:
        await conn.execute(stmt)


async def actions(owner_engine: AsyncEngine, tenant_id: uuid.UUID) -> list[str]:
    """The audit trail of a tenant, oldest first, as action names."""
    found = await rows(
        owner_engine,
        select(AuditEvent.action).where(AuditEvent.tenant_id == tenant_id).order_by(AuditEvent.seq),
    )
    return [r[0] for r in found]


async def events(owner_engine: AsyncEngine, tenant_id: uuid.UUID, action: str) -> list[Any]:
    return await rows(
        owner_engine,
        select(AuditEvent)
        .where(AuditEvent.tenant_id == tenant_id, AuditEvent.action == action)
        .order_by(AuditEvent.seq),
    )


async def count(owner_engine: AsyncEngine, model: Any, *where: Any) -> int:
    return int(await one(owner_engine, select(func.count()).select_from(model).where(*where)))


@pytest.fixture
async def browser(app: FastAPI) -> AsyncIterator[Any]:
    from tests.factories import client

    async with client(app) as c:
        yield c
