"""Queries of the access tables (grants) and of links as the access layer needs them."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.access.models import CustomRole, Grant, TenantGroupMember, UserGroupMember
from tenantry.tenancy.models import LinkState, Tenant, TenantLink


async def live_grants_of_user(session: AsyncSession, user_id: uuid.UUID) -> Sequence[Grant]:
    """Unrevoked grants to the user and to the groups they belong to, in one query;
    expiry is checked by the caller against one clock reading."""
    groups = select(UserGroupMember.group_id).where(UserGroupMember.user_id == user_id)
    result = await session.scalars(
        select(Grant).where(
            Grant.revoked_at.is_(None),
            or_(Grant.user_id == user_id, Grant.user_group_id.in_(groups)),
        )
    )
    return result.all()


async def custom_roles_by_id(
    session: AsyncSession, ids: Iterable[uuid.UUID]
) -> Sequence[CustomRole]:
    return (await session.scalars(select(CustomRole).where(CustomRole.id.in_(list(ids))))).all()


async def groups_containing(
    session: AsyncSession, customer_id: uuid.UUID, group_ids: Iterable[uuid.UUID]
) -> frozenset[uuid.UUID]:
    """Which of these tenant groups hold the customer (membership as it is now)."""
    rows = await session.scalars(
        select(TenantGroupMember.group_id).where(
            TenantGroupMember.customer_tenant_id == customer_id,
            TenantGroupMember.group_id.in_(list(group_ids)),
        )
    )
    return frozenset(rows.all())


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
