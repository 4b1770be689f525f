"""Queries of the audit trail (tenant-owned: always under the unit of work's scope)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.audit.models import AuditChainHead, AuditEvent


@dataclass(frozen=True, slots=True)
class EventFilter:
    tenant_ids: tuple[uuid.UUID, ...] = ()
    actor_user_id: uuid.UUID | None = None
    actor_home_tenant_id: uuid.UUID | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def filtered(f: EventFilter) -> Select[AuditEvent]:
    stmt = select(AuditEvent)
    if f.tenant_ids:
        stmt = stmt.where(AuditEvent.tenant_id.in_(f.tenant_ids))
    if f.actor_user_id:
        stmt = stmt.where(AuditEvent.actor_user_id == f.actor_user_id)
    if f.actor_home_tenant_id:
        stmt = stmt.where(AuditEvent.actor_home_tenant_id == f.actor_home_tenant_id)
    if f.action:
        stmt = stmt.where(AuditEvent.action == f.action)
    if f.since:
        stmt = stmt.where(AuditEvent.occurred_at >= f.since)
    if f.until:
        stmt = stmt.where(AuditEvent.occurred_at < f.until)
    return stmt


async def page(
    session: AsyncSession, f: EventFilter, *, before: tuple[datetime, uuid.UUID] | None, limit: int
) -> Sequence[AuditEvent]:
    """Newest first; keyset on (occurred_at, id) so it works across tenants too."""
    stmt = filtered(f)
    if before is not None:
        at, event_id = before
        stmt = stmt.where(
            (AuditEvent.occurred_at < at)
            | ((AuditEvent.occurred_at == at) & (AuditEvent.id < event_id))
        )
    stmt = stmt.order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc()).limit(limit)
    return (await session.scalars(stmt)).all()


async def stream(
    session: AsyncSession, f: EventFilter, batch: int = 1000
) -> AsyncIterator[AuditEvent]:
    """Oldest first, fetched in batches: constant memory whatever the size."""
    stmt = filtered(f).order_by(AuditEvent.tenant_id, AuditEvent.seq)
    result = await session.stream_scalars(stmt.execution_options(yield_per=batch))
    async for event in result:
        yield event


async def chain(session: AsyncSession, tenant_id: uuid.UUID) -> AsyncIterator[AuditEvent]:
    async for event in stream(session, EventFilter(tenant_ids=(tenant_id,))):
        yield event


async def head(session: AsyncSession, tenant_id: uuid.UUID) -> AuditChainHead | None:
    return await session.scalar(select(AuditChainHead).where(AuditChainHead.tenant_id == tenant_id))
