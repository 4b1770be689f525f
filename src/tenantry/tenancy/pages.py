"""Tenancy pages: a tenant's overview and the MSP's customers. Thin: the rules are in
TenancyService; these routes turn forms into calls and errors into fields."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from tenantry.access.context import TenantContext
from tenantry.access.permissions import CEILING_TEMPLATES, DEFAULT_CEILING_TEMPLATE
from tenantry.errors import Conflict, NotFound, TenantryError, ValidationFailed
from tenantry.http.deps import Work
from tenantry.kit.csv import CsvWriter
from tenantry.kit.pagination import MAX_LIMIT
from tenantry.tenancy import auth
from tenantry.tenancy import service as tenancy
from tenantry.tenancy.deletion import CustomerDeletion
from tenantry.tenancy.landing import pending_request
from tenantry.tenancy.schemas import slugify
from tenantry.tenancy.service import TenancyService
from tenantry.web.chrome import role_name
from tenantry.web.forms import field_errors
from tenantry.web.render import redirect_with_notice, render

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
CUSTOMERS = "/msp/customers"


def access_summary(ctx: TenantContext) -> list[dict[str, Any]]:
    """How the viewer holds their access here, one line per grant (access rule 10)."""
    seen: dict[tuple[str, str, str], dict[str, Any]] = {}
    for sources in ctx.sources.values():
        for s in sources:
            key = (s.role, s.scope, str(s.grant_id))
            how = _how(s.scope, s.implicit) + (" to a group you are in" if s.user_group_id else "")
            seen.setdefault(key, {"role": role_name(s), "how": how, "expires_at": s.expires_at})
    return list(seen.values())


def _how(scope: str, implicit: bool) -> str:
    if implicit:
        return "as an MSP admin, in every customer"
    if scope == "home":
        return "granted at home"
    if scope == "all_customers":
        return "granted for every customer"
    if scope.startswith("tenant_group:"):
        return "granted for a group of clients this one is in"
    return "delegated for this client"


def _back(value: str) -> str:
    """Only back to the customers list (with its query string): no open redirect."""
    return value if value == CUSTOMERS or value.startswith(CUSTOMERS + "?") else CUSTOMERS


def _require_msp(ctx: TenantContext) -> None:
    if not ctx.tenant.is_msp:
        raise NotFound(
            f"{ctx.tenant.display_name} is not an MSP, so it has no customers to manage."
        )


# ---- a tenant's overview


@router.get("/t/{tenant}/", response_class=HTMLResponse)
async def overview(
    request: Request,
    work: auth.OverviewRead,
) -> HTMLResponse:
    ctx = work.ctx
    tenant = await tenancy.tenant(work.session, ctx.tenant.id)
    customer_count = (
        await tenancy.count_customers(work.session, tenant.id) if tenant.is_msp else None
    )
    return render(
        request,
        "tenancy/overview.html",
        {
            "tenant": tenant,
            "ctx": ctx,
            "customer_count": customer_count,
            "access": access_summary(ctx),
            "can_list_customers": ctx.relation == "home" and ctx.can("customers:read"),
            "pending_request": await pending_request(work.session, ctx),
        },
    )


# ---- the MSP's customers


async def _customers_page(
    request: Request,
    work: Work,
    *,
    q: str,
    cursor: str | None,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    service = TenancyService(work.session)
    try:
        customers, next_cursor = await service.list_customers(
            work.ctx, query=q or None, cursor=cursor, limit=PAGE_SIZE
        )
    except ValidationFailed:
        # A stale or hand-edited cursor: show the first page rather than an error.
        cursor = None
        customers, next_cursor = await service.list_customers(
            work.ctx, query=q or None, cursor=None, limit=PAGE_SIZE
        )
    here_query = {k: v for k, v in (("q", q), ("cursor", cursor)) if v}
    here = CUSTOMERS + ("?" + urlencode(here_query) if here_query else "")
    return render(
        request,
        "tenancy/customers.html",
        {
            "customers": customers,
            "q": q,
            "cursor": cursor,
            "next_cursor": next_cursor,
            "next_href": CUSTOMERS + "?" + urlencode({"q": q, "cursor": next_cursor})
            if next_cursor
            else None,
            "here": here,
            "form": form or {},
            "errors": errors or {},
            "slug_preview": slugify((form or {}).get("name", "")),
            "can_create": work.ctx.can("customers:create"),
            "ceiling_templates": list(CEILING_TEMPLATES.values()),
            "can_manage": work.ctx.can("customers:manage"),
        },
        status=status,
    )


@router.get(CUSTOMERS, response_class=HTMLResponse)
async def customers(
    request: Request,
    work: auth.HomeCustomersRead,
    q: Annotated[str, Query(max_length=100)] = "",
    cursor: Annotated[str | None, Query()] = None,
) -> HTMLResponse:
    _require_msp(work.ctx)
    return await _customers_page(request, work, q=q.strip(), cursor=cursor)


@router.get(CUSTOMERS + ".csv", response_model=None)
async def customers_csv(
    work: auth.HomeCustomersRead,
    q: Annotated[str, Query(max_length=100)] = "",
) -> Response:
    """Every customer (matching ``q``) as CSV, for moving the list elsewhere."""
    _require_msp(work.ctx)
    service = TenancyService(work.session)
    writer = CsvWriter()
    parts = [writer.row(["slug", "display_name", "status", "created_at"])]
    cursor: str | None = None
    while True:
        batch, cursor = await service.list_customers(
            work.ctx, query=q.strip() or None, cursor=cursor, limit=MAX_LIMIT
        )
        parts.extend(
            writer.row([t.slug, t.display_name, t.status.value, t.created_at.isoformat()])
            for t in batch
        )
        if cursor is None:
            break
    return Response(
        "".join(parts),
        media_type="text/csv; charset=utf-8",
        headers={
            "content-disposition": f'attachment; filename="{work.ctx.tenant.slug}-customers.csv"'
        },
    )


@router.post(CUSTOMERS, response_model=None)
async def create_customer(
    request: Request,
    work: auth.HomeCustomersCreate,
    name: Annotated[str, Form(max_length=200)] = "",
    display_name: Annotated[str, Form(max_length=200)] = "",
    slug: Annotated[str, Form(max_length=63)] = "",
    ceiling_template: Annotated[str, Form(max_length=64)] = DEFAULT_CEILING_TEMPLATE,
) -> Response:
    _require_msp(work.ctx)
    form = {
        "name": name,
        "display_name": display_name,
        "slug": slug,
        "ceiling_template": ceiling_template,
    }
    try:
        customer = await TenancyService(work.session).create_customer(
            work.ctx,
            name=name,
            display_name=display_name.strip() or None,
            slug=slug.strip() or None,
            ceiling_template=ceiling_template,
            actor=work.actor,
        )
    except TenantryError as exc:
        await work.session.rollback()
        errors = field_errors(exc)
        if isinstance(exc, Conflict) and "name" in errors:
            # The name is free; the slug made from it is not. Say which, and the way out.
            errors["name"] = (
                f"makes the slug {slugify(name)}, which is already taken: "
                "change the name or choose a slug"
            )
        return await _customers_page(
            request,
            work,
            q="",
            cursor=None,
            form=form,
            errors=errors,
            status=exc.status,
        )
    return redirect_with_notice(
        request,
        CUSTOMERS + "?" + urlencode({"q": customer.slug}),
        f"Customer {customer.display_name} created with the slug {customer.slug}.",
    )


async def _manage_page(
    request: Request,
    work: Work,
    ref: str,
    *,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    customer = await TenancyService(work.session).customer(work.ctx, ref)
    return render(
        request,
        "tenancy/customer.html",
        {
            "customer": customer,
            "form": form or {},
            "errors": errors or {},
            "can_manage": work.ctx.can("customers:manage"),
            "can_delete": work.ctx.can("customers:delete"),
        },
        status=status,
    )


@router.get(CUSTOMERS + "/{customer}", response_class=HTMLResponse)
async def manage_customer(
    request: Request,
    customer: str,
    work: auth.HomeCustomersRead,
) -> HTMLResponse:
    _require_msp(work.ctx)
    return await _manage_page(request, work, customer)


@router.post(CUSTOMERS + "/{customer}/rename", response_model=None)
async def rename_customer(
    request: Request,
    customer: str,
    work: auth.HomeCustomersManage,
    display_name: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    _require_msp(work.ctx)
    try:
        renamed = await TenancyService(work.session).rename(
            work.ctx, customer, display_name, actor=work.actor
        )
    except ValidationFailed as exc:
        await work.session.rollback()
        return await _manage_page(
            request,
            work,
            customer,
            form={"display_name": display_name},
            errors=field_errors(exc),
            status=exc.status,
        )
    return redirect_with_notice(
        request, f"{CUSTOMERS}/{renamed.slug}", f"Renamed to {renamed.display_name}."
    )


async def _set_suspended(
    request: Request, work: Work, customer: str, suspended: bool, back: str
) -> RedirectResponse:
    _require_msp(work.ctx)
    changed = await TenancyService(work.session).set_suspended(
        work.ctx, customer, suspended, actor=work.actor
    )
    verb = "suspended: its data is kept, and nobody can work in it" if suspended else "resumed"
    return redirect_with_notice(request, _back(back), f"{changed.display_name} {verb}.")


@router.post(CUSTOMERS + "/{customer}/suspend", response_model=None)
async def suspend_customer(
    request: Request,
    customer: str,
    work: auth.HomeCustomersManage,
    back: Annotated[str, Form(max_length=500)] = CUSTOMERS,
) -> RedirectResponse:
    return await _set_suspended(request, work, customer, True, back)


@router.post(CUSTOMERS + "/{customer}/resume", response_model=None)
async def resume_customer(
    request: Request,
    customer: str,
    work: auth.HomeCustomersManage,
    back: Annotated[str, Form(max_length=500)] = CUSTOMERS,
) -> RedirectResponse:
    return await _set_suspended(request, work, customer, False, back)


@router.post(CUSTOMERS + "/{customer}/delete", response_model=None)
async def delete_customer(
    request: Request,
    customer: str,
    work: auth.HomeCustomersDelete,
    confirm_slug: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    _require_msp(work.ctx)
    service = TenancyService(work.session)
    target = await service.customer(work.ctx, customer)
    name, slug = target.display_name, target.slug
    try:
        counts = await CustomerDeletion(work.session).delete_customer(
            work.ctx, customer, confirm_slug, actor=work.actor
        )
    except ValidationFailed as exc:
        await work.session.rollback()
        return await _manage_page(
            request,
            work,
            customer,
            form={"confirm_slug": confirm_slug},
            errors=field_errors(exc),
            status=exc.status,
        )
    return redirect_with_notice(
        request,
        CUSTOMERS,
        f"Customer {name} ({slug}) deleted with everything it held ({sum(counts.values())} rows).",
    )
