"""Rows for any table, made from the metadata alone, so a new tenant-owned table is
covered by the isolation suite without touching it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from tenantry.db.base import Base, tenant_owned_tables

TENANTS = "tenants"


def value_for(column: sa.Column[Any], counter: int) -> Any:
    """A valid value of the column's type (unique enough for unique constraints)."""
    kind = column.type
    token = uuid.uuid4().hex
    if isinstance(kind, sa.Enum):
        return kind.enums[0]
    if isinstance(kind, sa.Uuid):
        return uuid.uuid4()
    if isinstance(kind, sa.Boolean):
        return False
    if isinstance(kind, sa.Integer):
        return counter
    if isinstance(kind, sa.Numeric):
        return counter
    if isinstance(kind, sa.JSON):
        return {}
    if isinstance(kind, sa.DateTime) or isinstance(
        getattr(kind, "impl_instance", None), sa.DateTime
    ):
        return datetime.now(UTC)
    if isinstance(kind, sa.Date):
        return date.today()
    if isinstance(kind, sa.LargeBinary):
        return token.encode()
    if isinstance(kind, sa.String):
        text = f"{column.name}-{token}"
        return text[: kind.length] if kind.length else text
    raise NotImplementedError(
        f"tests/isolation/conftest.py cannot make a value for {column.table.name}."
        f"{column.name} ({kind!r}); teach value_for() about this type"
    )


@dataclass
class TenantRows:
    """One row in every table for one tenant (platform rows it needs included)."""

    tenant_id: uuid.UUID
    rows: dict[str, dict[str, Any]] = field(default_factory=dict)


# Nullable references a table's CHECK requires one of (access_blocks: a user or a group).
ONE_OF_REQUIRED = {"access_blocks": {"user_id"}, "compliance_risk_links": {"requirement_id"}}


def _row(table: sa.Table, tenant_id: uuid.UUID, made: dict[str, dict[str, Any]]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    required = ONE_OF_REQUIRED.get(table.name, set())
    for fk in table.foreign_keys:
        column, target = fk.parent, fk.column
        if target.table.name == TENANTS:
            values[column.name] = tenant_id
        elif not column.nullable or column.primary_key or column.name in required:
            parent = made.get(target.table.name)
            if parent is None:
                raise NotImplementedError(
                    f"{table.name}.{column.name} needs a row of {target.table.name} first "
                    "(a required self-reference?)"
                )
            values[column.name] = parent[target.name]
    for n, column in enumerate(table.columns):
        if column.name in values:
            continue
        if column.nullable and not column.primary_key:
            continue
        values[column.name] = value_for(column, n + 1)
    return values


async def seed_tenant(conn: AsyncConnection, slug_hint: str = "t") -> TenantRows:
    """A tenant and one row in every other table, inserted with Core as the owner."""
    tenants = Base.metadata.tables[TENANTS]
    tenant_row = _row(tenants, uuid.uuid4(), {})
    tenant_row["slug"] = f"{slug_hint}-{uuid.uuid4().hex[:12]}"
    await conn.execute(insert(tenants).values(tenant_row))
    made = TenantRows(tenant_row["id"], {TENANTS: tenant_row})
    for table in Base.metadata.sorted_tables:
        if table.name == TENANTS:
            continue
        row = _row(table, made.tenant_id, made.rows)
        await conn.execute(insert(table).values(row))
        made.rows[table.name] = row
    return made


def fresh_row(table: str, tenant: TenantRows) -> dict[str, Any]:
    """A new row (new keys) of ``table`` for ``tenant``, referencing its seeded rows."""
    return _row(Base.metadata.tables[table], tenant.tenant_id, tenant.rows)


@dataclass
class TwoTenants:
    a: TenantRows
    b: TenantRows


async def count_by_tenant(owner_engine: AsyncEngine, table: str) -> dict[uuid.UUID, int]:
    """Rows per tenant as the owner sees them (bypasses row-level security)."""
    t = Base.metadata.tables[table]
    query = sa.select(t.c.tenant_id, sa.func.count()).group_by(t.c.tenant_id)
    async with owner_engine.connect() as conn:
        return {tenant: n for tenant, n in (await conn.execute(query)).all()}


def tenant_owned_params() -> list[Any]:
    """One pytest param per tenant-owned table, named after it."""
    return [pytest.param(t, id=t) for t in tenant_owned_tables()]
