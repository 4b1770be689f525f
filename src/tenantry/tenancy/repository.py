"""Queries of tenants and links (platform tables)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from tenantry.tenancy.models import LinkState, Tenant, TenantLink


async def by_slug(session: AsyncSession, slug: str) -> Tenant | None:
    return await session.scalar(select(Tenant).where(Tenant.slug == slug.lower()))


async def by_id(session: AsyncSession, tenant_id: uuid.UUID) -> Tenant | None:
    return await session.get(Tenant, tenant_id)


async def slug_taken(session: AsyncSession, slug: str) -> bool:
    return (await session.scalar(select(Tenant.id).where(Tenant.slug == slug))) is not None


def _search(query: str | None) -> list[ColumnElement[bool]]:
    if not query:
        return []
    needle = query.strip().lower()
    return [
        or_(
            Tenant.slug.contains(needle, autoescape=True),
            func.lower(Tenant.display_name).contains(needle, autoescape=True),
        )
    ]


async def customers_of(
    session: AsyncSession,
    msp_id: uuid.UUID,
    *,
    query: str | None,
    after_slug: str | None,
    limit: int,
) -> Sequence[tuple[Tenant, TenantLink]]:
    """The MSP's customers with their active link, ordered by slug (keyset paging)."""
    stmt = (
        select(Tenant, TenantLink)
        .join(TenantLink, TenantLink.customer_tenant_id == Tenant.id)
        .where(TenantLink.msp_tenant_id == msp_id, TenantLink.state == LinkState.ACTIVE)
        .where(*_search(query))
        .order_by(Tenant.slug)
        .limit(limit)
    )
    if after_slug:
        stmt = stmt.where(Tenant.slug > after_slug)
    return [(t, link) for t, link in (await session.execute(stmt)).all()]


async def customer_of(
    session: AsyncSession, msp_id: uuid.UUID, ref: str
) -> tuple[Tenant, TenantLink] | None:
    """One customer of the MSP by slug or id; None for anyone else's tenant."""
    try:
        condition = Tenant.id == uuid.UUID(ref)
    except ValueError:
        condition = Tenant.slug == ref.lower()
    row = (
        await session.execute(
            select(Tenant, TenantLink)
            .join(TenantLink, TenantLink.customer_tenant_id == Tenant.id)
            .where(
                condition,
                TenantLink.msp_tenant_id == msp_id,
                TenantLink.state == LinkState.ACTIVE,
            )
        )
    ).first()
    return (row[0], row[1]) if row else None


async def all_tenants(
    session: AsyncSession, *, query: str | None = None, limit: int = 1000
) -> Sequence[Tenant]:
    result = await session.scalars(
        select(Tenant).where(*_search(query)).order_by(Tenant.slug).limit(limit)
    )
    return result.all()


async def count_customers(session: AsyncSession, msp_id: uuid.UUID) -> int:
    value = await session.scalar(
        select(func.count())
        .select_from(TenantLink)
        .where(TenantLink.msp_tenant_id == msp_id, TenantLink.state == LinkState.ACTIVE)
    )
    return int(value or 0)


# --- used by audit and cli ---


async def all_links_with_parties(
    session: AsyncSession, tenant_id: uuid.UUID | None = None, limit: int = 10_000
) -> Sequence[tuple[TenantLink, Tenant, Tenant]]:
    """Every link with its MSP and customer, or those with ``tenant_id`` at either end."""
    msp, customer = aliased(Tenant, name="msp"), aliased(Tenant, name="customer")
    stmt = (
        select(TenantLink, msp, customer)
        .join(msp, msp.id == TenantLink.msp_tenant_id)
        .join(customer, customer.id == TenantLink.customer_tenant_id)
        .order_by(msp.slug, customer.slug, TenantLink.id)
        .limit(limit)
    )
    if tenant_id is not None:
        stmt = stmt.where(
            or_(TenantLink.msp_tenant_id == tenant_id, TenantLink.customer_tenant_id == tenant_id)
        )
    return [(link, m, c) for link, m, c in (await session.execute(stmt)).all()]
