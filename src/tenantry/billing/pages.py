"""``/msp/billing``: the MSP's Billing and subscription page (plan, usage against the
limits, history, requests) and its form asking the operator for more. Thin: the rules
are in SubscriptionService."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from tenantry.billing import auth
from tenantry.billing.routes import msp_tenant, only_msp
from tenantry.billing.schemas import LIMIT_WORDS
from tenantry.billing.service import SubscriptionService
from tenantry.billing.view import billing_of
from tenantry.errors import TenantryError, ValidationFailed
from tenantry.http.deps import Work
from tenantry.web.forms import field_errors
from tenantry.web.render import redirect_with_notice, render

router = APIRouter(include_in_schema=False)


async def _page(
    request: Request,
    work: Work,
    *,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    service = SubscriptionService(work.session)
    return render(
        request,
        "billing/billing.html",
        {
            "billing": await billing_of(work.session, work.ctx.tenant.id),
            "plans": [p.name for p in await service.plans()],
            "words": LIMIT_WORDS,
            "writable": await service.writable(work.ctx.tenant.id),
            "form": form or {},
            "errors": errors or {},
        },
        status=status,
    )


@router.get("/msp/billing", response_class=HTMLResponse)
async def billing_page(request: Request, work: auth.BillingRead) -> HTMLResponse:
    only_msp(work)
    return await _page(request, work)


@router.post("/msp/billing/requests", response_model=None)
async def request_more(
    request: Request,
    work: auth.BillingAsk,
    plan: Annotated[str, Form(max_length=200)] = "",
    seats: Annotated[str, Form(max_length=20)] = "",
    note: Annotated[str, Form(max_length=1000)] = "",
) -> HTMLResponse | RedirectResponse:
    form = {"plan": plan, "seats": seats, "note": note}
    try:
        msp = await msp_tenant(work)
        wanted: int | None = None
        if seats.strip():
            if not seats.strip().isdigit():
                raise ValidationFailed("seats", "must be a whole number")
            wanted = int(seats.strip())
        await SubscriptionService(work.session).request_more(
            msp, plan_name=plan or None, seats=wanted, note=note, actor=work.actor
        )
    except TenantryError as exc:
        await work.session.rollback()
        return await _page(request, work, form=form, errors=field_errors(exc), status=422)
    return redirect_with_notice(
        request, "/msp/billing", "Your request was sent to the instance operator."
    )
