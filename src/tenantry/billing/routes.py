"""The MSP's billing API: ``GET /api/v1/msp/billing`` (plan, usage, history, requests)
and ``POST /api/v1/msp/billing/requests`` (ask the operator for more). Thin: the rules
are in SubscriptionService."""

from __future__ import annotations

from fastapi import APIRouter

from tenantry.billing import auth
from tenantry.billing.schemas import BillingOut, RequestIn, RequestOut
from tenantry.billing.service import SubscriptionService
from tenantry.billing.view import billing_of
from tenantry.errors import NotFound
from tenantry.http.deps import Work
from tenantry.tenancy.models import Tenant

router = APIRouter(prefix="/api/v1/msp/billing", tags=["billing"])


def only_msp(work: Work) -> None:
    if not work.ctx.tenant.is_msp:
        raise NotFound(f"{work.ctx.tenant.display_name} is not an MSP: it has no subscription.")


async def msp_tenant(work: Work) -> Tenant:
    only_msp(work)
    return await SubscriptionService(work.session).tenant(work.ctx.tenant.id)


@router.get("", response_model=BillingOut)
async def billing(work: auth.BillingRead) -> BillingOut:
    """The MSP's plan, seats, client tenants and storage used against the limits (None:
    unlimited), the history of changes and its requests for more."""
    only_msp(work)
    return await billing_of(work.session, work.ctx.tenant.id)


@router.post("/requests", response_model=RequestOut, status_code=201)
async def request_more(body: RequestIn, work: auth.BillingAsk) -> RequestOut:
    """Ask the instance operator for another plan and/or a number of seats; the operator
    lists it (`tenantry plans requests`) and approves or declines it."""
    msp = await msp_tenant(work)
    made = await SubscriptionService(work.session).request_more(
        msp, plan_name=body.plan, seats=body.seats, note=body.note, actor=work.actor
    )
    names = await SubscriptionService(work.session).plan_names(
        {made.plan_id} if made.plan_id else set()
    )
    return RequestOut(
        id=made.id,
        status=made.status,
        plan=names.get(made.plan_id) if made.plan_id else None,
        seats=made.seats,
        note=made.note,
        requested_by=made.requested_by_name,
        created_at=made.created_at,
        decided_at=made.decided_at,
        decision_note=made.decision_note,
    )
