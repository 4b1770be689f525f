"""The access versions (``AccessVersion``): read beside the tenant a request names."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Select, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute, aliased

from tenantry.access.models import AccessVersion

# tenant's class, the column naming it (id or slug), the value (``tenancy.tenant_matching``)
TenantMatch = tuple[type[Any], InstrumentedAttribute[Any], object]

# Built once per column: every request runs it, and building it cost as much as running.
_STATEMENTS: dict[InstrumentedAttribute[Any], Select[Any]] = {}


def _statement(cls: type[Any], column: InstrumentedAttribute[Any]) -> Select[Any]:
    statement = _STATEMENTS.get(column)
    if statement is None:
        target = aliased(AccessVersion)
        home = aliased(AccessVersion)
        statement = _STATEMENTS[column] = (
            select(cls, target.version, home.version)
            .outerjoin(target, target.tenant_id == cls.id)
            .outerjoin(home, home.tenant_id == bindparam("home_id"))
            .where(column == bindparam("ref"))
        )
    return statement


async def with_versions(
    session: AsyncSession, tenant: TenantMatch, home_id: uuid.UUID
) -> tuple[Any, int | None, int | None] | None:
    """One round trip: the tenant matching (its owner's class, column and value), its
    access version and that of ``home_id`` (None where a tenant has no row: never fresh)."""
    cls, column, value = tenant
    row = (
        await session.execute(_statement(cls, column), {"ref": value, "home_id": home_id})
    ).first()
    return None if row is None else (row[0], row[1], row[2])
