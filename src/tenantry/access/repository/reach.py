"""Queries behind the switcher and the MSP-wide scopes (the members of the granted client
groups, read when a user's kept reach is made; the ids of the recently used tenants,
read on every switcher page), and the writes of the recently used tenants."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.access.models import RecentTenant, TenantGroupMember
from tenantry.db.base import new_id
from tenantry.db.upsert import upsert


async def tenant_group_memberships(
    session: AsyncSession, group_ids: frozenset[uuid.UUID]
) -> dict[uuid.UUID, frozenset[uuid.UUID]]:
    """Which of these tenant groups hold each of their members (one query, by group)."""
    if not group_ids:
        return {}
    rows = await session.execute(
        select(TenantGroupMember.customer_tenant_id, TenantGroupMember.group_id).where(
            TenantGroupMember.group_id.in_(sorted(group_ids))
        )
    )
    found: dict[uuid.UUID, set[uuid.UUID]] = {}
    for customer_id, group_id in rows.all():
        found.setdefault(customer_id, set()).add(group_id)
    return {c: frozenset(g) for c, g in found.items()}


async def recent_ids(
    session: AsyncSession, home_id: uuid.UUID, user_id: uuid.UUID
) -> list[uuid.UUID]:
    """The tenants the user used lately, most recent first (at most ``recent.KEEP``, on
    the (tenant_id, user_id, used_at) index): they only order the switcher's list."""
    rows = await session.scalars(
        select(RecentTenant.recent_tenant_id)
        .where(RecentTenant.tenant_id == home_id, RecentTenant.user_id == user_id)
        .order_by(RecentTenant.used_at.desc(), RecentTenant.recent_tenant_id)
    )
    return list(rows.all())


async def touch_recent(
    session: AsyncSession,
    home_id: uuid.UUID,
    user_id: uuid.UUID,
    tenant_id: uuid.UUID,
    when: datetime,
    *,
    keep: int,
) -> None:
    """One upsert of the user's row for ``tenant_id``, then a delete that keeps their
    ``keep`` newest rows (usually deleting nothing), both on the (tenant_id, user_id, …)
    index."""
    await upsert(
        session,
        RecentTenant,
        {
            "tenant_id": home_id,
            "id": new_id(),
            "user_id": user_id,
            "recent_tenant_id": tenant_id,
            "used_at": when,
            "created_at": when,
        },
        keys=["tenant_id", "user_id", "recent_tenant_id"],
        update={"used_at": when},
    )
    newest = (
        select(RecentTenant.id)
        .where(RecentTenant.tenant_id == home_id, RecentTenant.user_id == user_id)
        .order_by(RecentTenant.used_at.desc(), RecentTenant.id.desc())
        .limit(keep)
    )
    await session.execute(
        delete(RecentTenant)
        .where(
            RecentTenant.tenant_id == home_id,
            RecentTenant.user_id == user_id,
            RecentTenant.id.not_in(newest.scalar_subquery()),
        )
        .execution_options(synchronize_session=False)
    )
