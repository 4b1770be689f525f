"""One row of an MSP's subscription history, with its audit event."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.access.widening import Why, widen
from tenantry.audit import service as audit
from tenantry.audit.changes import Changes
from tenantry.audit.schemas import Actor, AuditAction
from tenantry.billing.models import SubscriptionChange


async def write(
    session: AsyncSession,
    msp_id: uuid.UUID,
    action: AuditAction,
    changes: Changes,
    *,
    actor: Actor,
    target: tuple[uuid.UUID, str],
) -> None:
    """One row of the MSP's subscription history and its audit event."""
    await widen(session, msp_id, why=Why.BILLING)
    session.add(
        SubscriptionChange(
            tenant_id=msp_id,
            action=action.value,
            actor_name=actor.name,
            changes=changes.as_json(),
        )
    )
    await audit.record(
        session,
        tenant_id=msp_id,
        actor=actor,
        action=action,
        target_type="subscription" if action != AuditAction.PLAN_UPDATED else "plan",
        target_id=target[0],
        target_label=target[1],
        changes=changes,
    )
