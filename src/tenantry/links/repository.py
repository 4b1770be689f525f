"""Queries of the link events in a tenant's own audit trail (tenant-owned: always under
the unit of work's scope). The links themselves are tenancy's."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.audit.models import AuditEvent

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
