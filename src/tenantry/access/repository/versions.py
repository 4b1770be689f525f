"""The access versions (``AccessVersion``): read beside the tenant a request names, or
alone where a request decides over its home tenant's customers."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Select, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute, aliased

from tenantry.access.models import AccessVersion
from tenantry.db.reads import AlsoRead

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


# Per column: the aliased target tenant and versions, and their joins (built once).
_RIDERS: dict[InstrumentedAttribute[Any], tuple[tuple[Any, ...], tuple[tuple[Any, Any], ...]]] = {}


def with_versions_riding(tenant: TenantMatch) -> AlsoRead:
    """The same read as ``with_versions``, riding on a statement that already reads the
    caller's home tenant as the tenants class itself (identity's credential read): the
    target comes in as an alias, and the home's version joins that class."""
    cls, column, value = tenant
    built = _RIDERS.get(column)
    if built is None:
        target = aliased(cls)
        target_version = aliased(AccessVersion)
        home_version = aliased(AccessVersion)
        built = _RIDERS[column] = (
            (target, target_version.version, home_version.version),
            (
                (target, getattr(target, column.key) == bindparam("also_tenant")),
                (target_version, target_version.tenant_id == target.id),
                (home_version, home_version.tenant_id == cls.id),
            ),
        )
    columns, joins = built
    return AlsoRead(("tenant with versions", column.key), columns, joins, {"also_tenant": value})


async def version_of(session: AsyncSession, tenant_id: uuid.UUID) -> int | None:
    """One tenant's access version (None: it has no row, so nothing is provably fresh)."""
    found: int | None = await session.scalar(
        select(AccessVersion.version).where(AccessVersion.tenant_id == tenant_id)
    )
    return found
