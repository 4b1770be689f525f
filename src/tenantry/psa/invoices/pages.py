"""Invoice pages: ``/t/{tenant}/invoices`` (list, generate, recurring items) and
``/t/{tenant}/invoices/{id}`` (the printable invoice with its actions). Thin: the rules
are in InvoiceService."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from tenantry.branding.routes import logo_response
from tenantry.branding.service import BrandingService
from tenantry.errors import NotFound, TenantryError, ValidationFailed
from tenantry.http.deps import Work
from tenantry.kit.money import (
    CURRENCY,
    format_amount,
    format_money,
    parse_amount,
    parse_rate_percent,
)
from tenantry.psa.invoices import auth
from tenantry.psa.invoices.export import invoice_csv
from tenantry.psa.invoices.models import InvoiceStatus
from tenantry.psa.invoices.service import InvoiceService
from tenantry.psa.service_plans.service import ServicePlanService
from tenantry.psa.time.schemas import format_duration
from tenantry.psa.time.service import TimeService, tenant_today
from tenantry.web.forms import field_errors
from tenantry.web.render import redirect_with_notice, render

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50


def _base(work: Work) -> str:
    return f"/t/{work.ctx.tenant.slug}/invoices"


def _may_write(work: Work) -> bool:
    try:
        InvoiceService.msp_of(work.ctx)
    except TenantryError:
        return False
    return True


async def _list_page(
    request: Request,
    work: Work,
    *,
    status_filter: str = "",
    cursor: str | None = None,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    item_form: dict[str, str] | None = None,
    item_errors: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    ctx = work.ctx
    service = InvoiceService(work.session)
    wanted = InvoiceStatus(status_filter) if status_filter in set(InvoiceStatus) else None
    try:
        invoices, next_cursor = await service.list_invoices(
            ctx, status=wanted, cursor=cursor, limit=PAGE_SIZE
        )
    except ValidationFailed:
        cursor = None
        invoices, next_cursor = await service.list_invoices(ctx, status=wanted, limit=PAGE_SIZE)
    items = await service.list_recurring(ctx)
    # The client's service plan, set by its MSP (read-only here, for both sides).
    plan = await ServicePlanService(work.session).of_client(ctx)
    base = _base(work)
    kept = {"status": status_filter} if wanted else {}
    today = tenant_today(ctx.tenant.time_zone)
    last_month_end = today.replace(day=1) - timedelta(days=1)
    work_types = await TimeService(work.session).list_work_types(ctx)
    currency = work_types[0].currency if work_types else "EUR"
    return render(
        request,
        "psa/invoices/list.html",
        {
            "invoices": invoices,
            "money": {i.id: format_money(i.total_minor, i.currency) for i in invoices},
            "items": items,
            "item_money": {i.id: format_money(i.amount_minor, i.currency) for i in items},
            "plan": plan[0] if plan else None,
            "plan_period": plan[1] if plan else "",
            "plan_price": format_money(plan[0].price_minor, plan[0].currency) if plan else "",
            "statuses": [s.value for s in InvoiceStatus],
            "status_filter": status_filter if wanted else "",
            "cursor": cursor,
            "first_href": base + ("?" + urlencode(kept) if kept else ""),
            "next_href": base + "?" + urlencode({**kept, "cursor": next_cursor})
            if next_cursor
            else None,
            "base": base,
            "form": form
            or {
                # From the start of last month to today: nothing approved is left out.
                "period_start": last_month_end.replace(day=1).isoformat(),
                "period_end": today.isoformat(),
                "currency": currency,
                "tax_rate": "0",
            },
            "errors": errors or {},
            "item_form": item_form or {"currency": currency},
            "item_errors": item_errors or {},
            "can_write": _may_write(work),
            "holds_write": ctx.can("invoices:write"),
        },
        status=status,
    )


@router.get("/t/{tenant}/invoices", response_class=HTMLResponse)
async def invoice_list(
    request: Request,
    work: auth.InvoicesRead,
    status: Annotated[str, Query(max_length=20)] = "",
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> HTMLResponse:
    return await _list_page(request, work, status_filter=status, cursor=cursor)


def _day(value: str, name: str, errors: dict[str, str]) -> date | None:
    try:
        return date.fromisoformat(value)
    except ValueError:
        errors[name] = "is required: a date" if not value else "is not a date"
        return None


@router.post("/t/{tenant}/invoices", response_class=HTMLResponse, response_model=None)
async def generate_invoice(
    request: Request,
    work: auth.InvoicesWrite,
    period_start: Annotated[str, Form(max_length=10)] = "",
    period_end: Annotated[str, Form(max_length=10)] = "",
    currency: Annotated[str, Form(max_length=3)] = "",
    tax_rate: Annotated[str, Form(max_length=10)] = "",
    notes: Annotated[str, Form(max_length=2000)] = "",
) -> HTMLResponse | RedirectResponse:
    form = {
        "period_start": period_start,
        "period_end": period_end,
        "currency": currency,
        "tax_rate": tax_rate,
        "notes": notes,
    }
    errors: dict[str, str] = {}
    start = _day(period_start, "period_start", errors)
    end = _day(period_end, "period_end", errors)
    code = currency.strip().upper()
    if not CURRENCY.match(code):
        errors["currency"] = "must be a three-letter code such as EUR"
    bp = 0
    try:
        bp = parse_rate_percent(tax_rate)
    except ValueError as exc:
        errors["tax_rate"] = str(exc)
    if not errors and start is not None and end is not None:
        try:
            invoice = await InvoiceService(work.session).generate(
                work.ctx,
                period_start=start,
                period_end=end,
                currency=code,
                tax_rate_bp=bp,
                notes=notes.strip(),
                actor=work.actor,
            )
        except TenantryError as exc:
            if exc.status >= 500 or exc.status == 403:
                raise
            errors = {
                ("tax_rate" if k == "tax_rate_bp" else k): v for k, v in field_errors(exc).items()
            }
        else:
            return redirect_with_notice(
                request,
                f"{_base(work)}/{invoice.id}",
                "Draft invoice created; check it, then issue it.",
            )
    return await _list_page(request, work, form=form, errors=errors, status=422)


@router.post("/t/{tenant}/invoices/recurring", response_class=HTMLResponse, response_model=None)
async def create_recurring_item(
    request: Request,
    work: auth.InvoicesWrite,
    description: Annotated[str, Form(max_length=500)] = "",
    amount: Annotated[str, Form(max_length=30)] = "",
    currency: Annotated[str, Form(max_length=3)] = "",
) -> HTMLResponse | RedirectResponse:
    form = {"description": description, "amount": amount, "currency": currency}
    errors: dict[str, str] = {}
    code = currency.strip().upper()
    if not CURRENCY.match(code):
        errors["currency"] = "must be a three-letter code such as EUR"
    minor = 0
    try:
        minor = parse_amount(amount, code if CURRENCY.match(code) else "EUR")
    except ValueError as exc:
        errors["amount"] = str(exc)
    if not description.strip():
        errors["description"] = "is required"
    if not errors:
        try:
            await InvoiceService(work.session).create_recurring(
                work.ctx,
                description=description,
                amount_minor=minor,
                currency=code,
                actor=work.actor,
            )
        except TenantryError as exc:
            if exc.status >= 500 or exc.status == 403:
                raise
            errors = {
                ("amount" if k == "amount_minor" else k): v for k, v in field_errors(exc).items()
            }
        else:
            return redirect_with_notice(
                request, _base(work) + "#recurring", f"Recurring item {description.strip()} added."
            )
    return await _list_page(request, work, item_form=form, item_errors=errors, status=422)


@router.post(
    "/t/{tenant}/invoices/recurring/{item_id}/toggle",
    response_class=HTMLResponse,
    response_model=None,
)
async def toggle_recurring_item(
    request: Request,
    work: auth.InvoicesWrite,
    item_id: uuid.UUID,
    active: Annotated[str, Form()] = "",
) -> RedirectResponse:
    item = await InvoiceService(work.session).update_recurring(
        work.ctx, item_id, active=active == "1", actor=work.actor
    )
    state = "billed on new invoices" if item.active else "paused"
    return redirect_with_notice(
        request, _base(work) + "#recurring", f"{item.description}: {state}."
    )


# ---- one invoice


async def _invoice_page(
    request: Request,
    work: Work,
    invoice_id: uuid.UUID,
    *,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    service = InvoiceService(work.session)
    invoice = await service.get(work.ctx, invoice_id)
    lines = await service.lines(work.ctx, invoice)
    # Read last: it widens the unit of work to the issuing MSP for its branding row.
    branding = await BrandingService(work.session).issuer_branding(work.ctx, invoice)
    cur = invoice.currency
    rows: list[dict[str, Any]] = [
        {
            "li": li,
            "quantity": format_duration(li.minutes) + " h"
            if li.minutes is not None
            else str(li.quantity),
            "unit": format_amount(li.unit_minor, cur) + (" /h" if li.minutes is not None else ""),
            "amount": format_amount(li.amount_minor, cur),
        }
        for li in lines
    ]
    return render(
        request,
        "psa/invoices/detail.html",
        {
            "invoice": invoice,
            "rows": rows,
            "subtotal": format_amount(invoice.subtotal_minor, cur),
            "tax": format_amount(invoice.tax_minor, cur),
            "total": format_amount(invoice.total_minor, cur),
            "tax_percent": f"{invoice.tax_rate_bp / 100:g}",
            "base": _base(work),
            "errors": errors or {},
            "can_write": _may_write(work),
            "logo_src": f"{_base(work)}/{invoice.id}/logo?v={branding.logo_sha256[:12]}"
            if branding is not None and branding.logo is not None and branding.logo_sha256
            else None,
            "accent": branding.accent_colour if branding is not None else None,
        },
        status=status,
    )


@router.get("/t/{tenant}/invoices/{invoice_id}/logo", response_model=None)
async def invoice_logo(
    request: Request, work: auth.InvoicesRead, invoice_id: uuid.UUID
) -> Response:
    """The issuing MSP's logo for this invoice (whoever may read the invoice sees it, as
    they see the MSP's name on it)."""
    invoice = await InvoiceService(work.session).get(work.ctx, invoice_id)
    row = await BrandingService(work.session).issuer_branding(work.ctx, invoice)
    if row is None or row.logo is None or not row.logo_content_type or not row.logo_sha256:
        raise NotFound("The issuer has no logo.")
    return logo_response(request, row.logo, row.logo_content_type, row.logo_sha256)


@router.get("/t/{tenant}/invoices/{invoice_id}", response_class=HTMLResponse)
async def invoice_detail(
    request: Request, work: auth.InvoicesRead, invoice_id: uuid.UUID
) -> HTMLResponse:
    return await _invoice_page(request, work, invoice_id)


@router.get("/t/{tenant}/invoices/{invoice_id}/export.csv", response_class=Response)
async def invoice_csv_export(work: auth.InvoicesRead, invoice_id: uuid.UUID) -> Response:
    service = InvoiceService(work.session)
    invoice = await service.get(work.ctx, invoice_id)
    name = invoice.number or f"draft-{invoice.id}"
    return Response(
        invoice_csv(invoice, await service.lines(work.ctx, invoice)),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="{name}.csv"'},
    )


async def _act(
    request: Request, work: Work, invoice_id: uuid.UUID, action: Any, notice: str, to: str = ""
) -> HTMLResponse | RedirectResponse:
    try:
        await action
    except TenantryError as exc:
        if exc.status >= 500 or exc.status == 404:
            raise
        errors = field_errors(exc)
        return await _invoice_page(request, work, invoice_id, errors=errors, status=exc.status)
    return redirect_with_notice(request, to or f"{_base(work)}/{invoice_id}", notice)


@router.post(
    "/t/{tenant}/invoices/{invoice_id}/issue", response_class=HTMLResponse, response_model=None
)
async def issue_invoice(
    request: Request, work: auth.InvoicesWrite, invoice_id: uuid.UUID
) -> HTMLResponse | RedirectResponse:
    action = InvoiceService(work.session).issue(work.ctx, invoice_id, actor=work.actor)
    return await _act(request, work, invoice_id, action, "Invoice issued.")


@router.post(
    "/t/{tenant}/invoices/{invoice_id}/paid", response_class=HTMLResponse, response_model=None
)
async def mark_paid(
    request: Request, work: auth.InvoicesWrite, invoice_id: uuid.UUID
) -> HTMLResponse | RedirectResponse:
    action = InvoiceService(work.session).mark_paid(work.ctx, invoice_id, actor=work.actor)
    return await _act(request, work, invoice_id, action, "Marked as paid.")


@router.post(
    "/t/{tenant}/invoices/{invoice_id}/void", response_class=HTMLResponse, response_model=None
)
async def void_invoice(
    request: Request,
    work: auth.InvoicesWrite,
    invoice_id: uuid.UUID,
    reason: Annotated[str, Form(max_length=500)] = "",
) -> HTMLResponse | RedirectResponse:
    action = InvoiceService(work.session).void(
        work.ctx, invoice_id, reason=reason, actor=work.actor
    )
    return await _act(
        request,
        work,
        invoice_id,
        action,
        "Invoice voided; it keeps its number and its time can be invoiced again.",
    )


@router.post(
    "/t/{tenant}/invoices/{invoice_id}/delete", response_class=HTMLResponse, response_model=None
)
async def delete_draft(
    request: Request, work: auth.InvoicesWrite, invoice_id: uuid.UUID
) -> HTMLResponse | RedirectResponse:
    action = InvoiceService(work.session).delete_draft(work.ctx, invoice_id, actor=work.actor)
    return await _act(
        request,
        work,
        invoice_id,
        action,
        "Draft deleted; its time can be invoiced again.",
        to=_base(work),
    )
