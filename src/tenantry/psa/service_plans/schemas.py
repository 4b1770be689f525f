"""Service plans in and out, the typed input the service takes, and the read the MSP
dashboard takes (``PlanUsage``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from tenantry.psa.service_plans.models import MONTHLY, ServicePlan


class PlanIn(BaseModel):
    """A new offer: e.g. "Managed Essentials", 25 users, 4500 (EUR 45.00) per user and
    month. Bounds and the currency are checked by the service (422 naming the field)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(max_length=200)
    included_users: int
    price_minor: int
    currency: str = Field(max_length=3)
    period: str = Field(default=MONTHLY, max_length=16)


class PlanPatch(BaseModel):
    """What to change of a plan; absent fields stay. ``retired`` true takes it out of
    offer (clients on it stay and are billed), false offers it again. The currency and
    the period stay: they are what the clients on it were sold."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=200)
    included_users: int | None = None
    price_minor: int | None = None
    retired: bool | None = None


class PlanOut(BaseModel):
    id: uuid.UUID
    name: str
    included_users: int
    price_minor: int
    currency: str
    period: str
    retired: bool
    retired_at: datetime | None
    clients: int = 0

    @classmethod
    def of(cls, plan: ServicePlan, clients: int = 0) -> PlanOut:
        return cls(
            id=plan.id,
            name=plan.name,
            included_users=plan.included_users,
            price_minor=plan.price_minor,
            currency=plan.currency,
            period=plan.period,
            retired=plan.retired_at is not None,
            retired_at=plan.retired_at,
            clients=clients,
        )


class AssignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    plan_id: uuid.UUID


@dataclass(frozen=True, slots=True)
class PlanUsage:
    """One client's plan as the MSP dashboard shows it: counted users against the plan's
    included users."""

    plan_id: uuid.UUID
    plan_name: str
    included_users: int
    counted_users: int
    price_minor: int
    currency: str


class AssignmentOut(BaseModel):
    client_id: uuid.UUID
    plan_id: uuid.UUID
    plan_name: str
    included_users: int
    counted_users: int
    price_minor: int
    currency: str

    @classmethod
    def of(cls, client_id: uuid.UUID, usage: PlanUsage) -> AssignmentOut:
        return cls(
            client_id=client_id,
            plan_id=usage.plan_id,
            plan_name=usage.plan_name,
            included_users=usage.included_users,
            counted_users=usage.counted_users,
            price_minor=usage.price_minor,
            currency=usage.currency,
        )


class ClientPlanOut(BaseModel):
    """What a client sees of its own plan (read-only): None when its MSP has put it on
    none."""

    plan: AssignmentOut | None
    period: str | None = None


@dataclass(frozen=True, slots=True)
class PlanLine:
    """The recurring invoice line a plan gives for one period."""

    description: str
    quantity: int
    unit_minor: int

    @property
    def amount_minor(self) -> int:
        return self.quantity * self.unit_minor
