"""Queries of custom roles."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.access.models import CustomRole


async def custom_roles_by_id(
    session: AsyncSession, ids: Iterable[uuid.UUID]
) -> Sequence[CustomRole]:
    return (await session.scalars(select(CustomRole).where(CustomRole.id.in_(list(ids))))).all()


async def custom_roles_of(session: AsyncSession, tenant_id: uuid.UUID) -> Sequence[CustomRole]:
    """A tenant's custom roles by name (a tenant has tens, not thousands)."""
    result = await session.scalars(
        select(CustomRole)
        .where(CustomRole.tenant_id == tenant_id)
        .order_by(func.lower(CustomRole.name), CustomRole.id)
    )
    return result.all()


async def custom_role_in(
    session: AsyncSession, tenant_id: uuid.UUID, role_id: uuid.UUID
) -> CustomRole | None:
    """One of the tenant's custom roles; None for another tenant's."""
    return await session.scalar(
        select(CustomRole).where(CustomRole.tenant_id == tenant_id, CustomRole.id == role_id)
    )


async def custom_role_named(
    session: AsyncSession, tenant_id: uuid.UUID, name: str
) -> CustomRole | None:
    return await session.scalar(
        select(CustomRole).where(
            CustomRole.tenant_id == tenant_id, func.lower(CustomRole.name) == name.lower()
        )
    )
