"""Service plans API: the MSP's offers and assignments under
``/api/v1/tenants/{msp}/service-plans``, and one client's own plan under
``/api/v1/tenants/{client}/service-plan``. Thin: the rules are in ServicePlanService."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from tenantry.http.params import Limit
from tenantry.kit.pagination import Keyset, Page
from tenantry.psa.service_plans import auth
from tenantry.psa.service_plans.schemas import (
    AssignIn,
    AssignmentOut,
    ClientPlanOut,
    PlanIn,
    PlanOut,
    PlanPatch,
)
from tenantry.psa.service_plans.service import ServicePlanService

router = APIRouter(prefix="/api/v1/tenants/{tenant}", tags=["service plans"])
BY_CLIENT = Keyset(uuid.UUID)


@router.get("/service-plans", response_model=list[PlanOut])
async def list_plans(work: auth.PlansRead) -> list[PlanOut]:
    """Every plan of the MSP with how many clients are on it; retired ones last."""
    rows = await ServicePlanService(work.session).plans(work.ctx)
    return [PlanOut.of(plan, clients) for plan, clients in rows]


@router.post("/service-plans", response_model=PlanOut, status_code=status.HTTP_201_CREATED)
async def create_plan(body: PlanIn, work: auth.PlansManage) -> PlanOut:
    plan = await ServicePlanService(work.session).create(work.ctx, body, actor=work.actor)
    return PlanOut.of(plan)


@router.patch("/service-plans/{plan_id}", response_model=PlanOut)
async def update_plan(plan_id: uuid.UUID, body: PlanPatch, work: auth.PlansManage) -> PlanOut:
    plan = await ServicePlanService(work.session).update(work.ctx, plan_id, body, actor=work.actor)
    return PlanOut.of(plan)


@router.get("/service-plans/assignments", response_model=Page[AssignmentOut])
async def list_assignments(
    work: auth.PlansRead,
    limit: Limit = 100,
    cursor: Annotated[str | None, Query()] = None,
) -> Page[AssignmentOut]:
    """Which client is on which plan, with its counted users, by client id."""
    after = BY_CLIENT.decode(cursor)
    rows = await ServicePlanService(work.session).usage_page(
        work.ctx, after=after[0] if after else None, limit=limit + 1
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return Page[AssignmentOut](
        items=[AssignmentOut.of(client_id, usage) for client_id, usage in rows],
        next_cursor=BY_CLIENT.encode(rows[-1][0]) if more else None,
    )


@router.put("/service-plans/assignments/{customer}", response_model=AssignmentOut)
async def assign(customer: str, body: AssignIn, work: auth.PlansManage) -> AssignmentOut:
    """Put the client (slug or id) on a plan, or move it to another."""
    client_id, usage = await ServicePlanService(work.session).assign(
        work.ctx, customer, body.plan_id, actor=work.actor
    )
    return AssignmentOut.of(client_id, usage)


@router.delete("/service-plans/assignments/{customer}", status_code=status.HTTP_204_NO_CONTENT)
async def unassign(customer: str, work: auth.PlansManage) -> Response:
    await ServicePlanService(work.session).unassign(work.ctx, customer, actor=work.actor)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/service-plan", response_model=ClientPlanOut)
async def client_plan(work: auth.ClientPlanRead) -> ClientPlanOut:
    """This client's plan, as its MSP set it (read-only for the client's own people)."""
    found = await ServicePlanService(work.session).of_client(work.ctx)
    if found is None:
        return ClientPlanOut(plan=None)
    usage, period = found
    return ClientPlanOut(plan=AssignmentOut.of(work.ctx.tenant.id, usage), period=period)


@router.put("/service-plan", response_model=AssignmentOut)
async def assign_here(body: AssignIn, work: auth.PlansManage) -> AssignmentOut:
    """The MSP's people set the plan from inside the client (rates:manage is the MSP's
    there: a client's own admin gets 403 naming it)."""
    client_id, usage = await ServicePlanService(work.session).assign_here(
        work.ctx, body.plan_id, actor=work.actor
    )
    return AssignmentOut.of(client_id, usage)


@router.delete("/service-plan", status_code=status.HTTP_204_NO_CONTENT)
async def unassign_here(work: auth.PlansManage) -> Response:
    await ServicePlanService(work.session).unassign_here(work.ctx, actor=work.actor)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
