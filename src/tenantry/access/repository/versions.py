"""The access versions (``AccessVersion``): read beside the tenant a request names, or
alone where a request decides over its home tenant's customers."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from tenantry.access.models import AccessVersion


async def with_versions(
    session: AsyncSession,
    tenant: tuple[type[Any], ColumnElement[bool]],
    home_id: uuid.UUID,
) -> tuple[Any, int | None, int | None] | None:
    """One round trip: the tenant matching (its owner's class and condition, e.g.
    ``tenancy.tenant_matching(ref)``), its access version and that of ``home_id``
    (None where a tenant has no row: never fresh)."""
    cls, condition = tenant
    target = aliased(AccessVersion)
    home = aliased(AccessVersion)
    row = (
        await session.execute(
            select(cls, target.version, home.version)
            .outerjoin(target, target.tenant_id == cls.id)
            .outerjoin(home, home.tenant_id == home_id)
            .where(condition)
        )
    ).first()
    return None if row is None else (row[0], row[1], row[2])


async def version_of(session: AsyncSession, tenant_id: uuid.UUID) -> int | None:
    """One tenant's access version (None: it has no row, so nothing is provably fresh)."""
    found: int | None = await session.scalar(
        select(AccessVersion.version).where(AccessVersion.tenant_id == tenant_id)
    )
    return found
