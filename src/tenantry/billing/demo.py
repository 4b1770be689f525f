"""The demo's plans and the demo MSP's subscription: Northwind IT on "Growth" (25 client
tenants, 10 technician seats, 10 GiB of evidence), with a trial plan for sign-ups."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.audit.schemas import OPERATOR
from tenantry.billing.plans import PlanService
from tenantry.billing.schemas import PlanIn
from tenantry.billing.service import SubscriptionService
from tenantry.errors import NotFound
from tenantry.tenancy.models import Tenant

GIB = 1024**3
DEMO_PLANS = (
    PlanIn(
        name="Trial",
        max_clients=3,
        max_seats=3,
        max_storage_bytes=GIB,
        features=["compliance", "client-portal"],
        trial_days=30,
    ),
    PlanIn(
        name="Starter", max_clients=5, max_seats=5, max_storage_bytes=GIB, features=["compliance"]
    ),
    PlanIn(
        name="Growth",
        max_clients=25,
        max_seats=10,
        max_storage_bytes=10 * GIB,
        features=["compliance", "client-portal"],
    ),
    PlanIn(
        name="Scale",
        max_clients=None,
        max_seats=50,
        max_storage_bytes=100 * GIB,
        features=["compliance", "client-portal", "early-access"],
    ),
)
DEMO_PLAN = "Growth"


async def seed_billing(session: AsyncSession, msp: Tenant) -> None:
    plans = PlanService(session)
    for plan in DEMO_PLANS:
        try:
            await plans.get(plan.name)
        except NotFound:
            await plans.create(plan)
    await SubscriptionService(session).subscribe(msp, DEMO_PLAN, actor=OPERATOR)
