"""The users, tenants and links the access layer reads to decide and to name things.

These tables belong to identity and tenancy; the reads stay here until their owners
offer them (see docs/ARCHITECTURE.md)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.identity.models import User
from tenantry.tenancy.models import LinkState, Tenant, TenantLink


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


async def user_in_tenant(session: AsyncSession, tenant_id: uuid.UUID, ref: str) -> User | None:
    """A user at home in the tenant, by id or email; None for anyone else."""
    try:
        condition = User.id == uuid.UUID(ref)
    except ValueError:
        condition = User.email == ref.strip().lower()
    return await session.scalar(select(User).where(condition, User.home_tenant_id == tenant_id))


async def user_anywhere(session: AsyncSession, ref: str) -> User | None:
    """A user by id or email, whatever their home (the caller decides who may see them)."""
    try:
        condition = User.id == uuid.UUID(ref)
    except ValueError:
        condition = User.email == ref.strip().lower()
    return await session.scalar(select(User).where(condition))


async def users_by_id(session: AsyncSession, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, User]:
    wanted = list(set(ids))
    if not wanted:
        return {}
    rows = await session.scalars(select(User).where(User.id.in_(wanted)))
    return {u.id: u for u in rows.all()}


async def users_of_tenant(
    session: AsyncSession, tenant_id: uuid.UUID, limit: int = 1000
) -> Sequence[User]:
    """The tenant's own users by name (for pickers; the API takes an id or email)."""
    result = await session.scalars(
        select(User)
        .where(User.home_tenant_id == tenant_id)
        .order_by(func.lower(User.display_name), User.id)
        .limit(limit)
    )
    return result.all()


async def tenants_by_id(session: AsyncSession, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Tenant]:
    wanted = list(set(ids))
    if not wanted:
        return {}
    rows = await session.scalars(select(Tenant).where(Tenant.id.in_(wanted)))
    return {t.id: t for t in rows.all()}


async def msp_of(session: AsyncSession, customer_id: uuid.UUID) -> tuple[Tenant, TenantLink] | None:
    """The MSP managing this customer through an active link, if any."""
    row = (
        await session.execute(
            select(Tenant, TenantLink)
            .join(TenantLink, TenantLink.msp_tenant_id == Tenant.id)
            .where(
                TenantLink.customer_tenant_id == customer_id,
                TenantLink.state == LinkState.ACTIVE,
            )
        )
    ).first()
    return (row[0], row[1]) if row else None
