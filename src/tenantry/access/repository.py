"""Queries of the access tables (grants) and of links as the access layer needs them."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.access.models import Grant
from tenantry.tenancy.models import LinkState, Tenant, TenantLink


async def live_grants_of_user(session: AsyncSession, user_id: uuid.UUID) -> Sequence[Grant]:
    """Unrevoked grants; expiry is checked by the caller against one clock reading."""
    result = await session.scalars(
        select(Grant).where(Grant.user_id == user_id, Grant.revoked_at.is_(None))
    )
    return result.all()


async def tenant_by_ref(session: AsyncSession, ref: str) -> Tenant | None:
    """A tenant by slug or by id (the API accepts either in the path)."""
    try:
        tenant_id = uuid.UUID(ref)
    except ValueError:
        return await session.scalar(select(Tenant).where(Tenant.slug == ref.lower()))
    return await session.get(Tenant, tenant_id)


async def active_link(
    session: AsyncSession, msp_tenant_id: uuid.UUID, customer_tenant_id: uuid.UUID
) -> TenantLink | None:
    return await session.scalar(
        select(TenantLink).where(
            TenantLink.msp_tenant_id == msp_tenant_id,
            TenantLink.customer_tenant_id == customer_tenant_id,
            TenantLink.state == LinkState.ACTIVE,
        )
    )
