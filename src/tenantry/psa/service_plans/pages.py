"""``/msp/service-plans``: the MSP's offers to its clients (create, re-price, retire) and
which client is on which, a page of clients at a time. Thin: the rules are in
ServicePlanService; these routes turn forms into calls and errors into fields."""

from __future__ import annotations

import uuid
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from tenantry.errors import NotFound, TenantryError, ValidationFailed
from tenantry.http.deps import Work
from tenantry.kit.money import format_amount, format_money, parse_amount
from tenantry.psa.service_plans import auth
from tenantry.psa.service_plans.schemas import PlanIn, PlanPatch
from tenantry.psa.service_plans.service import ServicePlanService
from tenantry.tenancy.service import TenancyService
from tenantry.web.forms import field_errors
from tenantry.web.render import redirect_with_notice, render

router = APIRouter(include_in_schema=False)
BASE = "/msp/service-plans"
PAGE_SIZE = 50


def _back(value: str) -> str:
    """Only back to this page (with its query string): no open redirect."""
    return value if value == BASE or value.startswith(BASE + "?") else BASE


def _int(value: str, field: str, errors: dict[str, str]) -> int:
    try:
        return int(value.strip())
    except ValueError:
        errors[field] = "must be a whole number"
        return 0


def _price(value: str, currency: str, errors: dict[str, str]) -> int:
    try:
        return parse_amount(value, currency if len(currency) == 3 else "EUR")
    except ValueError as exc:
        errors["price"] = str(exc)
        return 0


def _fields(exc: TenantryError) -> dict[str, str]:
    names = {"price_minor": "price"}
    return {names.get(k, k): v for k, v in field_errors(exc).items()}


async def _page(
    request: Request,
    work: Work,
    *,
    q: str = "",
    cursor: str | None = None,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    edit: dict[str, Any] | None = None,
    status: int = 200,
) -> HTMLResponse:
    service = ServicePlanService(work.session)
    plans = await service.plans(work.ctx)
    tenancy = TenancyService(work.session)
    try:
        clients, next_cursor = await tenancy.list_customers(
            work.ctx, query=q or None, cursor=cursor, limit=PAGE_SIZE
        )
    except ValidationFailed:
        cursor = None
        clients, next_cursor = await tenancy.list_customers(
            work.ctx, query=q or None, cursor=None, limit=PAGE_SIZE
        )
    usage = await service.usage_of(work.ctx.tenant.id, [c.id for c in clients])
    here_query = {k: v for k, v in (("q", q), ("cursor", cursor)) if v}
    here = BASE + ("?" + urlencode(here_query) if here_query else "")
    return render(
        request,
        "psa/service_plans/page.html",
        {
            "base": BASE,
            "here": here,
            "q": q,
            "plans": plans,
            "offered": [p for p, _ in plans if p.retired_at is None],
            "prices": {p.id: format_money(p.price_minor, p.currency) for p, _ in plans},
            "amounts": {p.id: format_amount(p.price_minor, p.currency) for p, _ in plans},
            "clients": clients,
            "usage": usage,
            "next_href": (
                BASE + "?" + urlencode({k: v for k, v in (("q", q), ("cursor", next_cursor)) if v})
                if next_cursor
                else None
            ),
            "first_href": BASE + ("?" + urlencode({"q": q}) if q else "") if cursor else None,
            "can_manage": work.ctx.can("rates:manage"),
            "form": form or {"currency": "EUR"},
            "errors": errors or {},
            "edit": edit or {},
        },
        status=status,
    )


@router.get("/msp/service-plans", response_class=HTMLResponse)
async def plans_page(
    request: Request,
    work: auth.HomePlansRead,
    q: Annotated[str, Query(max_length=100)] = "",
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> HTMLResponse:
    ServicePlanService.msp_at_home(work.ctx)
    return await _page(request, work, q=q.strip(), cursor=cursor)


@router.post("/msp/service-plans", response_class=HTMLResponse, response_model=None)
async def create_plan(
    request: Request,
    work: auth.HomePlansManage,
    name: Annotated[str, Form(max_length=200)] = "",
    included_users: Annotated[str, Form(max_length=12)] = "",
    price: Annotated[str, Form(max_length=30)] = "",
    currency: Annotated[str, Form(max_length=3)] = "",
) -> HTMLResponse | RedirectResponse:
    ServicePlanService.msp_at_home(work.ctx)
    form = {"name": name, "included_users": included_users, "price": price, "currency": currency}
    errors: dict[str, str] = {}
    code = currency.strip().upper()
    users = _int(included_users, "included_users", errors)
    price_minor = _price(price, code, errors)
    if not errors:
        try:
            plan = await ServicePlanService(work.session).create(
                work.ctx,
                PlanIn(name=name, included_users=users, price_minor=price_minor, currency=code),
                actor=work.actor,
            )
        except TenantryError as exc:
            errors = _fields(exc)
    if errors:
        return await _page(request, work, form=form, errors=errors, status=422)
    return redirect_with_notice(request, BASE, f"Service plan {plan.name} created.")


@router.post("/msp/service-plans/{plan_id}", response_class=HTMLResponse, response_model=None)
async def update_plan(
    request: Request,
    work: auth.HomePlansManage,
    plan_id: uuid.UUID,
    name: Annotated[str, Form(max_length=200)] = "",
    included_users: Annotated[str, Form(max_length=12)] = "",
    price: Annotated[str, Form(max_length=30)] = "",
    retired: Annotated[str, Form(max_length=5)] = "",
) -> HTMLResponse | RedirectResponse:
    """Rename, resize, re-price (invoices drafted from now on), retire or offer again."""
    service = ServicePlanService(work.session)
    plan = await service.plan(work.ctx, plan_id)
    form = {"name": name, "included_users": included_users, "price": price}
    errors: dict[str, str] = {}
    users = _int(included_users, "included_users", errors)
    price_minor = _price(price, plan.currency, errors)
    if not errors:
        try:
            patch = PlanPatch(
                name=name, included_users=users, price_minor=price_minor, retired=retired == "1"
            )
            plan = await service.update(work.ctx, plan_id, patch, actor=work.actor)
        except NotFound:
            raise
        except TenantryError as exc:
            errors = _fields(exc)
    if errors:
        return await _page(
            request, work, edit={"id": plan_id, "form": form, "errors": errors}, status=422
        )
    state = " (retired: no new clients)" if plan.retired_at else ""
    return redirect_with_notice(request, BASE, f"Service plan {plan.name} saved{state}.")


@router.post(
    "/msp/service-plans/clients/{customer}", response_class=HTMLResponse, response_model=None
)
async def assign_client(
    request: Request,
    work: auth.HomePlansManage,
    customer: str,
    plan_id: Annotated[str, Form(max_length=40)] = "",
    back: Annotated[str, Form(max_length=500)] = "",
) -> HTMLResponse | RedirectResponse:
    """Put one client on a plan, move it to another, or (no plan chosen) take it off."""
    service = ServicePlanService(work.session)
    service.msp_at_home(work.ctx)
    if not plan_id:
        await service.unassign(work.ctx, customer, actor=work.actor)
        return redirect_with_notice(request, _back(back), f"{customer} is on no service plan now.")
    try:
        chosen = uuid.UUID(plan_id)
    except ValueError:
        raise ValidationFailed("plan_id", "is not one of this MSP's service plans") from None
    _, usage = await service.assign(work.ctx, customer, chosen, actor=work.actor)
    return redirect_with_notice(
        request,
        _back(back),
        f"{customer} is on {usage.plan_name}: {usage.counted_users} of "
        f"{usage.included_users} users counted.",
    )
