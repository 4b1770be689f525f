"""The operator's plans: create, change, list. A change reaches the trail and the
subscription history of every MSP on the plan."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.audit.changes import diff
from tenantry.audit.schemas import Actor, AuditAction
from tenantry.billing import history, repository
from tenantry.billing.models import Plan
from tenantry.billing.schemas import (
    PlanChange,
    PlanIn,
    check_features,
    check_limit_value,
    check_plan_name,
)
from tenantry.errors import Conflict, NotFound, ValidationFailed


def _plan_facts(plan: Plan) -> dict[str, Any]:
    return {
        "name": plan.name,
        "max_clients": plan.max_clients,
        "max_seats": plan.max_seats,
        "max_storage_bytes": plan.max_storage_bytes,
        "features": list(plan.features),
        "trial_days": plan.trial_days,
    }


class PlanService:
    """The operator's plans (the CLI and the operator's own tools)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def list(self) -> Sequence[Plan]:
        return await repository.plans(self.session)

    async def get(self, name: str) -> Plan:
        plan = await repository.plan_by_name(self.session, name.strip())
        if plan is None:
            raise NotFound(f"no plan named '{name[:100]}' (see `tenantry plans list`)")
        return plan

    async def create(self, data: PlanIn) -> Plan:
        name = check_plan_name(data.name)
        if await repository.plan_by_name(self.session, name) is not None:
            raise Conflict(
                f"A plan named '{name}' already exists.",
                errors=[{"field": "name", "message": "is already taken"}],
            )
        plan = Plan(
            name=name,
            max_clients=check_limit_value(data.max_clients, "max_clients"),
            max_seats=check_limit_value(data.max_seats, "max_seats"),
            max_storage_bytes=check_limit_value(data.max_storage_bytes, "max_storage_bytes"),
            features=check_features(data.features),
            trial_days=check_limit_value(data.trial_days, "trial_days"),
        )
        self.session.add(plan)
        await self.session.flush()
        return plan

    async def update(self, name: str, data: PlanChange, *, actor: Actor) -> Plan:
        """Change a plan; every MSP on it gets the change in its trail and history."""
        plan = await self.get(name)
        before = _plan_facts(plan)
        if data.name is not None:
            new_name = check_plan_name(data.name)
            other = await repository.plan_by_name(self.session, new_name)
            if other is not None and other.id != plan.id:
                raise Conflict(
                    f"A plan named '{new_name}' already exists.",
                    errors=[{"field": "name", "message": "is already taken"}],
                )
            plan.name = new_name
        for field in ("max_clients", "max_seats", "max_storage_bytes", "trial_days"):
            value = getattr(data, field)
            if value is not None:
                setattr(plan, field, check_limit_value(value, field))
        for field in data.unlimited:
            key = {"clients": "max_clients", "seats": "max_seats", "storage": "max_storage_bytes"}
            if field not in key:
                raise ValidationFailed("unlimited", "name clients, seats or storage")
            setattr(plan, key[field], None)
        if data.features is not None:
            plan.features = check_features(data.features)
        changes = diff(before, _plan_facts(plan))
        if changes:
            await self.session.flush()
            for sub in await repository.subscribers_of(self.session, plan.id):
                await history.write(
                    self.session,
                    sub.msp_tenant_id,
                    AuditAction.PLAN_UPDATED,
                    changes,
                    actor=actor,
                    target=(plan.id, plan.name),
                )
        return plan
