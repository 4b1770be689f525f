"""Queries of the audit trail (tenant-owned: always under the unit of work's scope)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Select, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.audit.models import AuditAnchor, AuditChainHead, AuditEvent

# EventFilter lives in schemas (routes build it); named here too for older callers.
from tenantry.audit.schemas import EventFilter as EventFilter


def filtered(f: EventFilter) -> Select[AuditEvent]:
    stmt = select(AuditEvent)
    if f.tenant_ids:
        stmt = stmt.where(AuditEvent.tenant_id.in_(f.tenant_ids))
    if f.actor_user_id:
        stmt = stmt.where(AuditEvent.actor_user_id == f.actor_user_id)
    if f.actor_home_tenant_id:
        stmt = stmt.where(AuditEvent.actor_home_tenant_id == f.actor_home_tenant_id)
    if f.actor_from_outside:
        stmt = stmt.where(
            AuditEvent.actor_home_tenant_id.is_not(None),
            AuditEvent.actor_home_tenant_id != f.actor_from_outside,
        )
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
) -> AsyncIterator[Row[Any]]:
    """Oldest first, fetched in batches through a server-side cursor: constant memory
    whatever the size. Plain rows (attribute access by column name), not ORM objects:
    building an entity per event and tracking it in the session was most of an
    export's time (measured in bench/audit_overhead.py)."""
    stmt = (
        filtered(f)
        .with_only_columns(*AuditEvent.__table__.c)
        .order_by(AuditEvent.tenant_id, AuditEvent.seq)
    )
    result = await session.stream(stmt.execution_options(yield_per=batch))
    async for row in result:
        yield row


async def chain(
    session: AsyncSession, tenant_id: uuid.UUID, after_seq: int = 0, batch: int = 1000
) -> AsyncIterator[AuditEvent]:
    """One tenant's events after ``after_seq`` (an anchor), in chain order."""
    stmt = (
        select(AuditEvent)
        .where(AuditEvent.tenant_id == tenant_id, AuditEvent.seq > after_seq)
        .order_by(AuditEvent.seq)
        .execution_options(yield_per=batch)
    )
    result = await session.stream_scalars(stmt)
    async for event in result:
        yield event


async def latest_anchor(session: AsyncSession, tenant_id: uuid.UUID) -> AuditAnchor | None:
    return await session.scalar(
        select(AuditAnchor)
        .where(AuditAnchor.tenant_id == tenant_id)
        .order_by(AuditAnchor.pruned_through_seq.desc())
        .limit(1)
    )


async def first_seq_from(session: AsyncSession, tenant_id: uuid.UUID, at: datetime) -> int | None:
    """The first event at or after ``at``: everything before it may be pruned."""
    return await session.scalar(
        select(func.min(AuditEvent.seq)).where(
            AuditEvent.tenant_id == tenant_id, AuditEvent.occurred_at >= at
        )
    )


async def last_event_through(
    session: AsyncSession, tenant_id: uuid.UUID, seq: int | None
) -> AuditEvent | None:
    """The newest event with ``seq`` at most ``seq`` (None: the newest of all)."""
    stmt = select(AuditEvent).where(AuditEvent.tenant_id == tenant_id)
    if seq is not None:
        stmt = stmt.where(AuditEvent.seq <= seq)
    return await session.scalar(stmt.order_by(AuditEvent.seq.desc()).limit(1))


async def delete_through(session: AsyncSession, tenant_id: uuid.UUID, seq: int) -> int:
    result = await session.execute(
        delete(AuditEvent).where(AuditEvent.tenant_id == tenant_id, AuditEvent.seq <= seq)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def head(
    session: AsyncSession, tenant_id: uuid.UUID, *, for_update: bool = False
) -> AuditChainHead | None:
    stmt = select(AuditChainHead).where(AuditChainHead.tenant_id == tenant_id)
    return await session.scalar(stmt.with_for_update() if for_update else stmt)


async def events_about(
    session: AsyncSession,
    target_type: str,
    target_id: str,
    *,
    after_seq: int | None,
    limit: int,
) -> Sequence[AuditEvent]:
    """Events about one target in the scope's (the caller's own) trail, oldest first."""
    stmt = select(AuditEvent).where(
        AuditEvent.target_type == target_type, AuditEvent.target_id == target_id
    )
    if after_seq is not None:
        stmt = stmt.where(AuditEvent.seq > after_seq)
    return (await session.scalars(stmt.order_by(AuditEvent.seq).limit(limit))).all()


async def people_from(
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
