"""What the MSP's billing page and API show: its plan, usage against each limit, the
history of changes and its requests (assembled from the services' reads)."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.billing.schemas import BillingOut, ChangeOut, RequestOut, UsageOut
from tenantry.billing.service import SubscriptionService


async def billing_of(session: AsyncSession, msp_id: uuid.UUID) -> BillingOut:
    service = SubscriptionService(session)
    usage = await service.usage(msp_id)
    found = await service.subscription(msp_id)
    sub = found[0] if found else None
    requests = await service.requests_of(msp_id)
    names = await service.plan_names({r.plan_id for r in requests if r.plan_id})
    return BillingOut(
        plan=usage.plan,
        status=usage.status,
        seats_override=sub.seats if sub else None,
        started_at=sub.started_at if sub else None,
        ends_at=sub.ends_at if sub else None,
        features=list(usage.features),
        clients=UsageOut(**usage.clients.as_dict()),
        seats=UsageOut(**usage.seats.as_dict()),
        storage=UsageOut(**usage.storage.as_dict()),
        history=[
            ChangeOut(at=c.created_at, action=c.action, actor=c.actor_name, changes=c.changes)
            for c in await service.history(msp_id)
        ],
        requests=[
            RequestOut(
                id=r.id,
                status=r.status,
                plan=names.get(r.plan_id) if r.plan_id else None,
                seats=r.seats,
                note=r.note,
                requested_by=r.requested_by_name,
                created_at=r.created_at,
                decided_at=r.decided_at,
                decision_note=r.decision_note,
            )
            for r in requests
        ],
    )
