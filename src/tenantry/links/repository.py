"""Queries of links (a platform table) and of the link events in a tenant's own audit
trail (tenant-owned: always under the unit of work's scope)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from tenantry.audit.models import AuditEvent
from tenantry.tenancy.models import LinkState, Tenant, TenantLink

LIVE = (LinkState.PENDING, LinkState.ACTIVE)
ENDED = (LinkState.REVOKED, LinkState.EXPIRED)

Msp = aliased(Tenant, name="msp")
Customer = aliased(Tenant, name="customer")


async def tenant_by_slug(session: AsyncSession, slug: str) -> Tenant | None:
    return await session.scalar(select(Tenant).where(Tenant.slug == slug.strip().lower()))


async def tenant_by_id(session: AsyncSession, tenant_id: uuid.UUID) -> Tenant | None:
    return await session.get(Tenant, tenant_id)


async def live_link_of(session: AsyncSession, customer_id: uuid.UUID) -> TenantLink | None:
    """The customer's pending or active link (at most one: a partial unique index)."""
    return await session.scalar(
        select(TenantLink).where(
            TenantLink.customer_tenant_id == customer_id, TenantLink.state.in_(LIVE)
        )
    )


async def link_with_parties(
    session: AsyncSession, link_id: uuid.UUID, *, for_update: bool = False
) -> tuple[TenantLink, Tenant, Tenant] | None:
    """A link with its MSP and customer. ``for_update`` locks the link row so that two
    decisions on it (approve and revoke, two sweeps) run one after the other."""
    stmt = (
        select(TenantLink, Msp, Customer)
        .join(Msp, Msp.id == TenantLink.msp_tenant_id)
        .join(Customer, Customer.id == TenantLink.customer_tenant_id)
        .where(TenantLink.id == link_id)
    )
    if for_update:
        stmt = stmt.with_for_update(of=TenantLink)
    row = (await session.execute(stmt)).first()
    return (row[0], row[1], row[2]) if row else None


async def links_page(
    session: AsyncSession,
    *,
    msp_id: uuid.UUID | None = None,
    customer_id: uuid.UUID | None = None,
    party_id: uuid.UUID | None = None,
    states: Sequence[LinkState] = (),
    before_id: uuid.UUID | None = None,
    limit: int,
) -> Sequence[tuple[TenantLink, Tenant, Tenant]]:
    """Links of an MSP, of a customer, or with ``party_id`` at either end, newest first
    (ids are time-ordered UUIDs, so keyset paging on the id alone is stable)."""
    conditions: list[ColumnElement[bool]] = []
    if msp_id is not None:
        conditions.append(TenantLink.msp_tenant_id == msp_id)
    if customer_id is not None:
        conditions.append(TenantLink.customer_tenant_id == customer_id)
    if party_id is not None:
        conditions.append(
            or_(TenantLink.msp_tenant_id == party_id, TenantLink.customer_tenant_id == party_id)
        )
    if states:
        conditions.append(TenantLink.state.in_(list(states)))
    if before_id is not None:
        conditions.append(TenantLink.id < before_id)
    stmt = (
        select(TenantLink, Msp, Customer)
        .join(Msp, Msp.id == TenantLink.msp_tenant_id)
        .join(Customer, Customer.id == TenantLink.customer_tenant_id)
        .where(*conditions)
        .order_by(TenantLink.id.desc())
        .limit(limit)
    )
    return [(link, msp, customer) for link, msp, customer in (await session.execute(stmt)).all()]


async def all_links(
    session: AsyncSession, tenant_id: uuid.UUID | None = None, limit: int = 10_000
) -> Sequence[tuple[TenantLink, Tenant, Tenant]]:
    """Every link (the operator's list), or those with ``tenant_id`` at either end."""
    stmt = (
        select(TenantLink, Msp, Customer)
        .join(Msp, Msp.id == TenantLink.msp_tenant_id)
        .join(Customer, Customer.id == TenantLink.customer_tenant_id)
        .order_by(Msp.slug, Customer.slug, TenantLink.id)
        .limit(limit)
    )
    if tenant_id is not None:
        stmt = stmt.where(
            or_(TenantLink.msp_tenant_id == tenant_id, TenantLink.customer_tenant_id == tenant_id)
        )
    return [(link, msp, customer) for link, msp, customer in (await session.execute(stmt)).all()]


async def due_link_ids(session: AsyncSession, before: datetime) -> Sequence[uuid.UUID]:
    """Active links whose expiry is at or before ``before`` (the sweep's work list)."""
    result = await session.scalars(
        select(TenantLink.id)
        .where(
            TenantLink.state == LinkState.ACTIVE,
            TenantLink.expires_at.is_not(None),
            TenantLink.expires_at <= before,
        )
        .order_by(TenantLink.expires_at)
    )
    return result.all()


# ---------------------------------------------------------------- the audit trail


async def link_events(
    session: AsyncSession, link_id: uuid.UUID, *, after_seq: int | None, limit: int
) -> Sequence[AuditEvent]:
    """Events about one link in the scope's (the caller's own) trail, oldest first."""
    stmt = select(AuditEvent).where(
        AuditEvent.target_type == "link", AuditEvent.target_id == str(link_id)
    )
    if after_seq is not None:
        stmt = stmt.where(AuditEvent.seq > after_seq)
    return (await session.scalars(stmt.order_by(AuditEvent.seq).limit(limit))).all()


async def people_of(
    session: AsyncSession, home_tenant_id: uuid.UUID, limit: int = 50
) -> Sequence[tuple[str, datetime, int]]:
    """People from ``home_tenant_id`` who acted in the scope's tenant, from its own trail:
    (name as recorded, last time, how many events), most recent first. This is how a
    customer sees the technicians who act for its MSP without reading the MSP's data."""
    last = func.max(AuditEvent.occurred_at)
    rows = await session.execute(
        select(AuditEvent.actor_name, last, func.count())
        .where(
            AuditEvent.actor_home_tenant_id == home_tenant_id,
            AuditEvent.actor_user_id.is_not(None),
        )
        .group_by(AuditEvent.actor_name)
        .order_by(last.desc())
        .limit(limit)
    )
    return [(str(name), when, int(count)) for name, when, count in rows.all()]
