"""The operator's HTTP API, ``/api/v1/operator/…``: plans, MSPs' subscriptions and their
requests for more. Bearer operator token only (operator/auth.py). Thin: the rules are
billing's PlanService and SubscriptionService, the same calls as ``tenantry plans`` and
``tenantry tenants license``; changes are written with an actor naming the token."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter

from tenantry.access.widening import Why, widen
from tenantry.billing.models import Plan, PlanRequest
from tenantry.billing.plans import PlanService
from tenantry.billing.schemas import PlanChange, PlanIn, PlanOut
from tenantry.billing.service import SubscriptionService
from tenantry.billing.view import billing_of
from tenantry.errors import NotFound
from tenantry.operator.auth import Operator, OperatorWork
from tenantry.operator.schemas import (
    DecisionIn,
    OperatorRequestOut,
    SubscriptionIn,
    SubscriptionOut,
)
from tenantry.tenancy import service as tenancy
from tenantry.tenancy.models import Tenant
from tenantry.tenancy.service import TenancyService

router = APIRouter(prefix="/api/v1/operator", tags=["operator"])


def _plan_out(plan: Plan) -> PlanOut:
    return PlanOut(
        id=plan.id,
        name=plan.name,
        max_clients=plan.max_clients,
        max_seats=plan.max_seats,
        max_storage_bytes=plan.max_storage_bytes,
        features=list(plan.features),
        trial_days=plan.trial_days,
    )


@router.get("/plans", response_model=list[PlanOut])
async def plans_list(op: Operator) -> list[PlanOut]:
    return [_plan_out(p) for p in await PlanService(op.session).list()]


@router.post("/plans", response_model=PlanOut, status_code=201)
async def plans_create(body: PlanIn, op: Operator) -> PlanOut:
    return _plan_out(await PlanService(op.session).create(body))


@router.get("/plans/{plan}", response_model=PlanOut)
async def plans_get(plan: str, op: Operator) -> PlanOut:
    return _plan_out(await PlanService(op.session).get(plan))


@router.patch("/plans/{plan}", response_model=PlanOut)
async def plans_update(plan: str, body: PlanChange, op: Operator) -> PlanOut:
    """Change a plan; every MSP on it sees the change in its history and trail."""
    found = await PlanService(op.session).get(plan)
    on_it = [s.msp_tenant_id for s in await SubscriptionService(op.session).subscribers(found.id)]
    await widen(op.session, *on_it, why=Why.OPERATOR)
    return _plan_out(await PlanService(op.session).update(plan, body, actor=op.actor))


async def _msp(op: OperatorWork, slug: str) -> Tenant:
    tenant = await tenancy.tenant_by_slug(op.session, slug)
    if tenant is None:
        raise NotFound(f"no tenant '{slug[:100]}'")
    return tenant


async def _subscription_out(op: OperatorWork, tenant: Tenant) -> SubscriptionOut:
    await widen(op.session, tenant.id, why=Why.OPERATOR)
    billing = await billing_of(op.session, tenant.id)
    return SubscriptionOut(msp=tenant.slug, **billing.model_dump())


@router.get("/subscriptions/{msp}", response_model=SubscriptionOut)
async def subscription_get(msp: str, op: Operator) -> SubscriptionOut:
    """The MSP's plan, usage against each limit, history and requests."""
    return await _subscription_out(op, await _msp(op, msp))


@router.put("/subscriptions/{msp}", response_model=SubscriptionOut)
async def subscription_put(msp: str, body: SubscriptionIn, op: Operator) -> SubscriptionOut:
    """Put the MSP on a plan (MSP licensing follows), with its seats and status."""
    tenant = await _msp(op, msp)
    service = SubscriptionService(op.session)
    await PlanService(op.session).get(body.plan)  # an unknown plan changes nothing
    tenant = await TenancyService(op.session).set_msp_license(tenant, True, actor=op.actor)
    await service.subscribe(tenant, body.plan, actor=op.actor, seats=body.seats, status=body.status)
    return await _subscription_out(op, tenant)


async def _request_out(
    op: OperatorWork, r: PlanRequest, slugs: dict[object, str]
) -> OperatorRequestOut:
    names = await SubscriptionService(op.session).plan_names({r.plan_id} if r.plan_id else set())
    if r.msp_tenant_id not in slugs:
        slugs[r.msp_tenant_id] = (
            await SubscriptionService(op.session).tenant(r.msp_tenant_id)
        ).slug
    return OperatorRequestOut(
        msp=slugs[r.msp_tenant_id],
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


@router.get("/requests", response_model=list[OperatorRequestOut])
async def requests_list(
    op: Operator, status: Literal["pending", "all"] = "pending"
) -> list[OperatorRequestOut]:
    """The MSPs' requests for more, newest first: pending ones, or all."""
    service = SubscriptionService(op.session)
    rows = await (service.all_requests() if status == "all" else service.pending_requests())
    slugs: dict[object, str] = {}
    return [await _request_out(op, r, slugs) for r in rows]


async def _decide(
    op: OperatorWork, request_id: str, approve: bool, note: str
) -> OperatorRequestOut:
    done = await SubscriptionService(op.session).decide(
        request_id, approve=approve, note=note, actor=op.actor
    )
    return await _request_out(op, done, {})


@router.post("/requests/{request_id}/approve", response_model=OperatorRequestOut)
async def requests_approve(request_id: str, body: DecisionIn, op: Operator) -> OperatorRequestOut:
    """Approve: the plan and/or seats asked for apply at once; the MSP's admins are told."""
    return await _decide(op, request_id, True, body.note)


@router.post("/requests/{request_id}/decline", response_model=OperatorRequestOut)
async def requests_decline(request_id: str, body: DecisionIn, op: Operator) -> OperatorRequestOut:
    return await _decide(op, request_id, False, body.note)
