"""Every query of service plans and their assignments (both in the MSP's tenant)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence

from sqlalchemy import Row, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.db.base import utcnow
from tenantry.psa.service_plans.models import ServicePlan, ServicePlanAssignment


async def plans(session: AsyncSession, msp_id: uuid.UUID) -> Sequence[ServicePlan]:
    return (
        await session.scalars(
            select(ServicePlan)
            .where(ServicePlan.tenant_id == msp_id)
            .order_by(ServicePlan.retired_at.is_not(None), ServicePlan.name)
        )
    ).all()


async def plan(
    session: AsyncSession, msp_id: uuid.UUID, plan_id: uuid.UUID, *, for_update: bool = False
) -> ServicePlan | None:
    stmt = select(ServicePlan).where(ServicePlan.tenant_id == msp_id, ServicePlan.id == plan_id)
    if for_update:
        stmt = stmt.with_for_update()
    return await session.scalar(stmt)


async def plan_named(session: AsyncSession, msp_id: uuid.UUID, name: str) -> ServicePlan | None:
    return await session.scalar(
        select(ServicePlan).where(
            ServicePlan.tenant_id == msp_id, func.lower(ServicePlan.name) == name.lower()
        )
    )


async def clients_per_plan(session: AsyncSession, msp_id: uuid.UUID) -> dict[uuid.UUID, int]:
    rows = await session.execute(
        select(ServicePlanAssignment.plan_id, func.count())
        .where(ServicePlanAssignment.tenant_id == msp_id)
        .group_by(ServicePlanAssignment.plan_id)
    )
    return {plan_id: int(n) for plan_id, n in rows.all()}


async def assignment(
    session: AsyncSession, msp_id: uuid.UUID, client_id: uuid.UUID
) -> ServicePlanAssignment | None:
    return await session.scalar(
        select(ServicePlanAssignment).where(
            ServicePlanAssignment.tenant_id == msp_id,
            ServicePlanAssignment.client_id == client_id,
        )
    )


UsageRow = Row[uuid.UUID, uuid.UUID, str, int, int, int, str, str]


async def usage(
    session: AsyncSession,
    msp_id: uuid.UUID,
    *,
    client_ids: Iterable[uuid.UUID] | None = None,
    after: uuid.UUID | None = None,
    limit: int | None = None,
) -> Sequence[UsageRow]:
    """(client_id, plan_id, name, included, counted, price, currency, period) of the MSP's
    assignments: one statement in the MSP's own tenant, both tables read by their
    tenant-leading keys."""
    stmt = (
        select(
            ServicePlanAssignment.client_id,
            ServicePlan.id,
            ServicePlan.name,
            ServicePlan.included_users,
            ServicePlanAssignment.counted_users,
            ServicePlan.price_minor,
            ServicePlan.currency,
            ServicePlan.period,
        )
        .join(
            ServicePlan,
            (ServicePlan.tenant_id == ServicePlanAssignment.tenant_id)
            & (ServicePlan.id == ServicePlanAssignment.plan_id),
        )
        .where(ServicePlanAssignment.tenant_id == msp_id)
    )
    if client_ids is not None:
        stmt = stmt.where(ServicePlanAssignment.client_id.in_(list(client_ids)))
    if after is not None:
        stmt = stmt.where(ServicePlanAssignment.client_id > after)
    if limit is not None:
        stmt = stmt.order_by(ServicePlanAssignment.client_id).limit(limit)
    return (await session.execute(stmt)).all()


async def move_count(
    session: AsyncSession, msp_id: uuid.UUID, client_id: uuid.UUID, delta: int
) -> None:
    """Move the client's counted users by ``delta`` in one UPDATE (concurrent moves add
    up: the database does the arithmetic on the locked row)."""
    await session.execute(
        update(ServicePlanAssignment)
        .where(
            ServicePlanAssignment.tenant_id == msp_id,
            ServicePlanAssignment.client_id == client_id,
        )
        .values(counted_users=ServicePlanAssignment.counted_users + delta, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )


async def delete_assignments_of(
    session: AsyncSession, msp_id: uuid.UUID, client_id: uuid.UUID
) -> int:
    result = await session.execute(
        delete(ServicePlanAssignment)
        .where(
            ServicePlanAssignment.tenant_id == msp_id,
            ServicePlanAssignment.client_id == client_id,
        )
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
