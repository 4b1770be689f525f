"""Fixtures of the sign-up tests: an app with sign-up turned on that mails through a real
local SMTP server, and direct looks at the tables (as the owner)."""

from __future__ import annotations

import hashlib
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantry.app import create_app
from tenantry.audit.models import AuditEvent
from tenantry.config import Settings
from tenantry.db.engine import Database
from tenantry.signup.models import SignupRequest
from tenantry.tenancy.models import Tenant
from tests.factories import client
from tests.harness.mailbox import Mailbox, mailbox, with_smtp

__all__ = ["mailbox"]

LINK = r"https://tenantry\.example/signup/verify/[A-Za-z0-9_-]+"
ANNA = "anna@acme-it.example"
PASSPHRASE = "a long and private passphrase"
FORM: dict[str, Any] = {
    "organisation": "Acme IT Services",
    "admin_name": "Anna Admin",
    "email": ANNA,
}


def app_with(database: Database, settings: Settings, box: Mailbox, **changes: Any) -> FastAPI:
    enabled = {"signup_enabled": True, "base_url": "https://tenantry.example", **changes}
    return create_app(with_smtp(settings, box.port, **enabled), database)


@pytest.fixture
def app(database: Database, settings: Settings, mailbox: Mailbox) -> FastAPI:
    return app_with(database, settings, mailbox)


async def ask(app: FastAPI, address: str = "127.0.0.1", **changes: Any) -> httpx.Response:
    async with client(app, address=address) as anonymous:
        return await anonymous.post("/api/v1/signup", json={**FORM, **changes})


def token_in(box: Mailbox, email: str = ANNA) -> str:
    return box.link(email, LINK).rsplit("/", 1)[-1]


async def signups(owner_engine: AsyncEngine) -> list[SignupRequest]:
    async with owner_engine.connect() as conn:
        rows = (await conn.execute(select(SignupRequest.__table__))).mappings().all()
    return [SignupRequest(**dict(r)) for r in rows]


async def tenants(owner_engine: AsyncEngine) -> dict[str, Tenant]:
    async with owner_engine.connect() as conn:
        rows = (await conn.execute(select(Tenant.__table__))).mappings().all()
    return {r["slug"]: Tenant(**dict(r)) for r in rows}


async def trail(owner_engine: AsyncEngine, tenant: Tenant) -> list[AuditEvent]:
    async with owner_engine.connect() as conn:
        rows = (
            (
                await conn.execute(
                    select(AuditEvent.__table__)
                    .where(AuditEvent.tenant_id == tenant.id)
                    .order_by(AuditEvent.seq)
                )
            )
            .mappings()
            .all()
        )
    return [AuditEvent(**dict(r)) for r in rows]


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
