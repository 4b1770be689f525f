"""Every query of plans, subscriptions, requests and the subscription history."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.billing.models import Plan, PlanRequest, Subscription, SubscriptionChange


async def plans(session: AsyncSession) -> Sequence[Plan]:
    return (await session.scalars(select(Plan).order_by(Plan.name))).all()


async def plan_by_name(session: AsyncSession, name: str) -> Plan | None:
    return await session.scalar(select(Plan).where(func.lower(Plan.name) == name.lower()))


async def plan_by_id(session: AsyncSession, plan_id: uuid.UUID) -> Plan | None:
    return await session.get(Plan, plan_id)


async def plans_by_ids(session: AsyncSession, ids: set[uuid.UUID]) -> dict[uuid.UUID, Plan]:
    if not ids:
        return {}
    rows = await session.scalars(select(Plan).where(Plan.id.in_(ids)))
    return {p.id: p for p in rows}


async def subscription_of(session: AsyncSession, msp_id: uuid.UUID) -> Subscription | None:
    return await session.scalar(select(Subscription).where(Subscription.msp_tenant_id == msp_id))


async def subscription_locked(session: AsyncSession, msp_id: uuid.UUID) -> Subscription | None:
    """The row, locked for the rest of the unit of work (PostgreSQL): two requests that
    each take the last free unit of a limit are serialised here."""
    return await session.scalar(
        select(Subscription)
        .where(Subscription.msp_tenant_id == msp_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


async def subscribers_of(session: AsyncSession, plan_id: uuid.UUID) -> Sequence[Subscription]:
    return (
        await session.scalars(select(Subscription).where(Subscription.plan_id == plan_id))
    ).all()


async def status_of(
    session: AsyncSession, msp_id: uuid.UUID
) -> tuple[str, datetime | None] | None:
    row = (
        await session.execute(
            select(Subscription.status, Subscription.ends_at).where(
                Subscription.msp_tenant_id == msp_id
            )
        )
    ).first()
    return None if row is None else (row[0], row[1])


async def add_storage(session: AsyncSession, msp_id: uuid.UUID, delta: int) -> None:
    """Move the MSP's counted evidence bytes by ``delta`` in one statement (no lost update
    between two uploads)."""
    await session.execute(
        update(Subscription)
        .where(Subscription.msp_tenant_id == msp_id)
        .values(storage_bytes=Subscription.storage_bytes + delta)
    )


async def history(
    session: AsyncSession, msp_id: uuid.UUID, limit: int = 100
) -> Sequence[SubscriptionChange]:
    return (
        await session.scalars(
            select(SubscriptionChange)
            .where(SubscriptionChange.tenant_id == msp_id)
            .order_by(SubscriptionChange.created_at.desc(), SubscriptionChange.id.desc())
            .limit(limit)
        )
    ).all()


async def requests(
    session: AsyncSession, *, status: str | None = None, msp_id: uuid.UUID | None = None
) -> Sequence[PlanRequest]:
    q = select(PlanRequest).order_by(PlanRequest.created_at.desc(), PlanRequest.id.desc())
    if status is not None:
        q = q.where(PlanRequest.status == status)
    if msp_id is not None:
        q = q.where(PlanRequest.msp_tenant_id == msp_id)
    return (await session.scalars(q.limit(500))).all()


async def request_by_id(session: AsyncSession, request_id: uuid.UUID) -> PlanRequest | None:
    return await session.get(PlanRequest, request_id)
