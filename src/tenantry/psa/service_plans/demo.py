"""Demo service plans (``tenantry serve --demo``): Northwind offers three plans and puts
each client on one, so the dashboard shows counted users against the plan and the
demo invoices carry the plan's line."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.access.context import TenantContext
from tenantry.identity.service import actor_of
from tenantry.psa.service_plans.schemas import PlanIn
from tenantry.psa.service_plans.service import ServicePlanService

PLANS = (  # name, included users, price per user and month (EUR cents)
    ("Managed Essentials", 25, 4500),
    ("Managed Premium", 50, 6500),
    ("Security Plus", 100, 8500),
)
# Client slug → plan name; anyone else gets the first plan.
ON_PLAN = {"contoso-ltd": "Managed Premium", "tailspin-toys": "Security Plus"}


class DemoClient(Protocol):
    @property
    def slug(self) -> str: ...


async def seed_service_plans(
    session: AsyncSession, home: TenantContext, clients: Iterable[DemoClient]
) -> None:
    """Run in the demo's unit of work, as the MSP's admin at home (``home``), after the
    clients have their contacts (assigning counts them) and before their invoices."""
    service = ServicePlanService(session)
    actor = actor_of(home.principal)
    made = {
        name: await service.create(
            home,
            PlanIn(name=name, included_users=users, price_minor=price, currency="EUR"),
            actor=actor,
        )
        for name, users, price in PLANS
    }
    for client in clients:
        plan = made[ON_PLAN.get(client.slug, PLANS[0][0])]
        await service.assign(home, client.slug, plan.id, actor=actor)
