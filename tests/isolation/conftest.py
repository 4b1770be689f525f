"""Fixtures of the isolation suite (helpers live in helpers.py)."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from .helpers import TenantRows, TwoTenants, seed_tenant


@pytest.fixture
async def two_tenants(owner_engine: AsyncEngine) -> TwoTenants:
    """Tenants A and B, each with one row in every table."""
    async with owner_engine.begin() as conn:
        return TwoTenants(await seed_tenant(conn, "a"), await seed_tenant(conn, "b"))


@pytest.fixture
async def third_tenant(owner_engine: AsyncEngine, two_tenants: TwoTenants) -> TenantRows:
    """Tenant C (after A and B), one row in every table: outside a scope of A and B."""
    async with owner_engine.begin() as conn:
        return await seed_tenant(conn, "c")
