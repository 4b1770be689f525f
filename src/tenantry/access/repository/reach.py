"""Queries behind the switcher and the MSP-wide scopes (hot paths at 10,000 clients:
each keeps its statement and its single round trip), and the recently used tenants."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, FromClause, Select, delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from tenantry.access.models import RecentTenant, TenantGroupMember
from tenantry.db.base import new_id
from tenantry.db.upsert import upsert

Column = ColumnElement[Any] | InstrumentedAttribute[Any]


def customers_in_groups(group_ids: frozenset[uuid.UUID]) -> Select[uuid.UUID]:
    """The customers in these tenant groups, as a subquery (indexed by group)."""
    return select(TenantGroupMember.customer_tenant_id).where(
        TenantGroupMember.group_id.in_(sorted(group_ids))
    )


async def groups_of(
    session: AsyncSession, customer_ids: Sequence[uuid.UUID], group_ids: frozenset[uuid.UUID]
) -> dict[uuid.UUID, frozenset[uuid.UUID]]:
    """Which of the granted tenant groups hold each of these customers (one query)."""
    if not group_ids or not customer_ids:
        return {}
    rows = await session.execute(
        select(TenantGroupMember.customer_tenant_id, TenantGroupMember.group_id).where(
            TenantGroupMember.group_id.in_(sorted(group_ids)),
            TenantGroupMember.customer_tenant_id.in_(list(customer_ids)),
        )
    )
    found: dict[uuid.UUID, set[uuid.UUID]] = {}
    for customer_id, group_id in rows.all():
        found.setdefault(customer_id, set()).add(group_id)
    return {c: frozenset(g) for c, g in found.items()}


@dataclass(frozen=True, slots=True)
class RecentOrder:
    """The user's recently used tenants, most recent first (the keywords of
    ``tenancy.service.linked_customers_in_order``), with which of the granted tenant
    groups hold each, in the same read."""

    source: FromClause
    customer_id: Column
    where: tuple[ColumnElement[bool], ...]
    order_by: tuple[Column, ...]
    members: tuple[FromClause, Column, ColumnElement[bool], Column] | None


def recent_order(
    home_id: uuid.UUID, user_id: uuid.UUID, tenant_groups: frozenset[uuid.UUID]
) -> RecentOrder:
    return RecentOrder(
        source=RecentTenant.__table__,
        customer_id=RecentTenant.recent_tenant_id,
        where=(RecentTenant.tenant_id == home_id, RecentTenant.user_id == user_id),
        order_by=(RecentTenant.used_at.desc(), RecentTenant.recent_tenant_id),
        members=(
            TenantGroupMember.__table__,
            TenantGroupMember.customer_tenant_id,
            TenantGroupMember.group_id.in_(sorted(tenant_groups)),
            TenantGroupMember.group_id,
        )
        if tenant_groups
        else None,
    )


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
