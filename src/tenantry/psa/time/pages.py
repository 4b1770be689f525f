"""Time pages: ``/t/{tenant}/time`` (log, filter, submit, approve, reject) and the
client's work types. Thin: the rules are in TimeService; these routes turn forms into
calls and errors into fields."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from tenantry.errors import NotFound, TenantryError, ValidationFailed
from tenantry.http.deps import Work
from tenantry.kit.money import (
    CURRENCY,
    format_amount,
    format_money,
    parse_amount,
    time_amount,
)
from tenantry.psa.tickets.service import TicketService
from tenantry.psa.time import auth
from tenantry.psa.time.models import EntryStatus
from tenantry.psa.time.schemas import EntryFilter, format_duration, parse_duration
from tenantry.psa.time.service import TimeService, tenant_today
from tenantry.web.forms import field_errors
from tenantry.web.render import redirect_with_notice, render

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50


def _base(work: Work) -> str:
    return f"/t/{work.ctx.tenant.slug}/time"


def _back(work: Work, value: str) -> str:
    """Only back to this tenant's time list (with its query string): no open redirect."""
    base = _base(work)
    return value if value == base or value.startswith(base + "?") else base


def _date_or_none(value: str) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


async def _page(
    request: Request,
    work: Work,
    *,
    filters: dict[str, str],
    cursor: str | None = None,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    wt_form: dict[str, str] | None = None,
    wt_errors: dict[str, str] | None = None,
    edit: dict[str, Any] | None = None,
    status: int = 200,
) -> HTMLResponse:
    ctx = work.ctx
    service = TimeService(work.session)
    status_value = filters.get("status", "")
    where = EntryFilter(
        status=EntryStatus(status_value) if status_value in set(EntryStatus) else None,
        technician_user_id=ctx.principal.user_id if filters.get("mine") == "1" else None,
        date_from=_date_or_none(filters.get("from", "")),
        date_to=_date_or_none(filters.get("to", "")),
    )
    try:
        entries, next_cursor = await service.list_entries(
            ctx, where, cursor=cursor, limit=PAGE_SIZE
        )
    except ValidationFailed:
        cursor = None
        entries, next_cursor = await service.list_entries(ctx, where, limit=PAGE_SIZE)
    work_types = await service.list_work_types(ctx)
    by_id = {w.id: w for w in work_types}
    tickets = await TicketService(work.session).by_ids(
        ctx, {e.ticket_id for e in entries if e.ticket_id}
    )
    kept = {k: v for k, v in filters.items() if v}
    base = _base(work)
    here = base + (
        "?" + urlencode({**kept, **({"cursor": cursor} if cursor else {})})
        if kept or cursor
        else ""
    )
    today = tenant_today(ctx.tenant.time_zone)
    rows: list[dict[str, Any]] = []
    for e in entries:
        wt = by_id.get(e.work_type_id)
        ticket = tickets.get(e.ticket_id) if e.ticket_id else None
        mine = e.technician_user_id == ctx.principal.user_id
        rows.append(
            {
                "e": e,
                "duration": format_duration(e.minutes),
                "work_type": wt.name if wt else "?",
                "value": format_money(time_amount(e.minutes, wt.rate_minor), wt.currency)
                if wt and e.billable
                else "",
                "ticket": ticket,
                "can_change": e.invoice_id is None
                and e.status == EntryStatus.DRAFT
                and (mine or ctx.can("time:approve")),
                "can_decide": ctx.can("time:approve") and not mine and e.invoice_id is None,
            }
        )
    return render(
        request,
        "psa/time/list.html",
        {
            "rows": rows,
            "filters": filters,
            "statuses": [s.value for s in EntryStatus],
            "cursor": cursor,
            "next_href": base + "?" + urlencode({**kept, "cursor": next_cursor})
            if next_cursor
            else None,
            "first_href": base + ("?" + urlencode(kept) if kept else ""),
            "here": here,
            "base": base,
            "form": form or {"work_date": today.isoformat(), "billable": "1"},
            "errors": errors or {},
            "wt_form": wt_form or {"currency": work_types[0].currency if work_types else "EUR"},
            "wt_errors": wt_errors or {},
            "work_types": work_types,
            "active_types": [w for w in work_types if w.active],
            "rates": {w.id: format_money(w.rate_minor, w.currency) for w in work_types},
            # One edit form per work type: its values, or what was typed when it failed.
            "wt_edit": {
                w.id: edit
                if edit is not None and edit["id"] == w.id
                else {
                    "id": w.id,
                    "form": {
                        "name": w.name,
                        "rate": format_amount(w.rate_minor, w.currency),
                        "active": "1" if w.active else "",
                    },
                    "errors": {},
                }
                for w in work_types
            },
            "today": today,
            "can_log": ctx.can("time:write"),
            "can_approve": ctx.can("time:approve"),
            "can_rates": ctx.can("rates:manage"),
        },
        status=status,
    )


def _filters(status: str, mine: str, date_from: str, date_to: str) -> dict[str, str]:
    return {"status": status, "mine": mine, "from": date_from, "to": date_to}


@router.get("/t/{tenant}/time", response_class=HTMLResponse)
async def time_list(
    request: Request,
    work: auth.TimeRead,
    status: Annotated[str, Query(max_length=20)] = "",
    mine: Annotated[str, Query(max_length=1)] = "",
    date_from: Annotated[str, Query(alias="from", max_length=10)] = "",
    date_to: Annotated[str, Query(alias="to", max_length=10)] = "",
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> HTMLResponse:
    return await _page(
        request, work, filters=_filters(status, mine, date_from, date_to), cursor=cursor
    )


@router.post("/t/{tenant}/time", response_class=HTMLResponse, response_model=None)
async def log_time(
    request: Request,
    work: auth.TimeWrite,
    work_date: Annotated[str, Form(max_length=10)] = "",
    duration: Annotated[str, Form(max_length=20)] = "",
    work_type_id: Annotated[str, Form(max_length=40)] = "",
    ticket: Annotated[str, Form(max_length=20)] = "",
    billable: Annotated[str, Form(max_length=5)] = "",
    notes: Annotated[str, Form(max_length=5000)] = "",
) -> HTMLResponse | RedirectResponse:
    form = {
        "work_date": work_date,
        "duration": duration,
        "work_type_id": work_type_id,
        "ticket": ticket,
        "billable": billable,
        "notes": notes,
    }
    errors: dict[str, str] = {}
    day = _date_or_none(work_date)
    if work_date and day is None:
        errors["work_date"] = "is not a date"
    minutes = 0
    try:
        minutes = parse_duration(duration)
    except ValueError as exc:
        errors["duration"] = str(exc)
    type_id: uuid.UUID | None = None
    try:
        type_id = uuid.UUID(work_type_id)
    except ValueError:
        errors["work_type_id"] = "is required: choose a work type"
    ticket_id: uuid.UUID | None = None
    number = ticket.strip().lstrip("#")
    if number:
        found = (
            await TicketService(work.session).find_by_number(work.ctx, int(number))
            if number.isdigit() and len(number) < 10
            else None
        )
        if found is None:
            errors["ticket"] = f"#{number} is not a ticket of this client"
        else:
            ticket_id = found.id
    if not errors and type_id is not None:
        try:
            await TimeService(work.session).create_entry(
                work.ctx,
                work_type_id=type_id,
                minutes=minutes,
                work_date=day,
                ticket_id=ticket_id,
                billable=billable == "1",
                notes=notes.strip(),
                actor=work.actor,
            )
        except TenantryError as exc:
            names = {"minutes": "duration", "work_type_id": "work_type_id", "ticket_id": "ticket"}
            errors = {names.get(k, k): v for k, v in field_errors(exc).items()}
    if errors:
        return await _page(request, work, filters={}, form=form, errors=errors, status=422)
    return redirect_with_notice(
        request, _base(work), f"Logged {format_duration(minutes)} as a draft; submit it when ready."
    )


async def _row_action(
    request: Request, work: Work, back: str, action: Any, notice: str
) -> HTMLResponse | RedirectResponse:
    try:
        await action
    except TenantryError as exc:
        if exc.status >= 500:
            raise
        return await _page(
            request, work, filters={}, errors={"form": exc.detail}, status=exc.status
        )
    return redirect_with_notice(request, _back(work, back), notice)


@router.post("/t/{tenant}/time/{entry_id}/submit", response_class=HTMLResponse, response_model=None)
async def submit_entry(
    request: Request,
    work: auth.TimeWrite,
    entry_id: uuid.UUID,
    back: Annotated[str, Form(max_length=500)] = "",
) -> HTMLResponse | RedirectResponse:
    action = TimeService(work.session).submit(work.ctx, entry_id, actor=work.actor)
    return await _row_action(request, work, back, action, "Submitted for approval.")


@router.post(
    "/t/{tenant}/time/{entry_id}/approve", response_class=HTMLResponse, response_model=None
)
async def approve_entry(
    request: Request,
    work: auth.TimeApprove,
    entry_id: uuid.UUID,
    back: Annotated[str, Form(max_length=500)] = "",
) -> HTMLResponse | RedirectResponse:
    action = TimeService(work.session).approve(work.ctx, entry_id, actor=work.actor)
    return await _row_action(request, work, back, action, "Approved.")


@router.post("/t/{tenant}/time/{entry_id}/reject", response_class=HTMLResponse, response_model=None)
async def reject_entry(
    request: Request,
    work: auth.TimeApprove,
    entry_id: uuid.UUID,
    reason: Annotated[str, Form(max_length=500)] = "",
    back: Annotated[str, Form(max_length=500)] = "",
) -> HTMLResponse | RedirectResponse:
    action = TimeService(work.session).reject(work.ctx, entry_id, reason=reason, actor=work.actor)
    return await _row_action(request, work, back, action, "Sent back to draft with your reason.")


@router.post("/t/{tenant}/time/{entry_id}/delete", response_class=HTMLResponse, response_model=None)
async def delete_entry(
    request: Request,
    work: auth.TimeWrite,
    entry_id: uuid.UUID,
    back: Annotated[str, Form(max_length=500)] = "",
) -> HTMLResponse | RedirectResponse:
    action = TimeService(work.session).delete_entry(work.ctx, entry_id, actor=work.actor)
    return await _row_action(request, work, back, action, "Draft deleted.")


@router.post("/t/{tenant}/time/work-types", response_class=HTMLResponse, response_model=None)
async def create_work_type(
    request: Request,
    work: auth.RatesWrite,
    name: Annotated[str, Form(max_length=100)] = "",
    rate: Annotated[str, Form(max_length=30)] = "",
    currency: Annotated[str, Form(max_length=3)] = "",
) -> HTMLResponse | RedirectResponse:
    form = {"name": name, "rate": rate, "currency": currency}
    errors: dict[str, str] = {}
    code = currency.strip().upper()
    if not CURRENCY.match(code):
        errors["currency"] = "must be a three-letter code such as EUR"
    rate_minor = 0
    try:
        rate_minor = parse_amount(rate, code if not errors else "EUR")
    except ValueError as exc:
        errors["rate"] = str(exc)
    if not name.strip():
        errors["name"] = "is required"
    if not errors:
        try:
            await TimeService(work.session).create_work_type(
                work.ctx, name=name, rate_minor=rate_minor, currency=code, actor=work.actor
            )
        except TenantryError as exc:
            errors = {("rate" if k == "rate_minor" else k): v for k, v in field_errors(exc).items()}
    if errors:
        return await _page(request, work, filters={}, wt_form=form, wt_errors=errors, status=422)
    return redirect_with_notice(
        request, _base(work) + "#work-types", f"Work type {name.strip()} added."
    )


@router.post(
    "/t/{tenant}/time/work-types/{work_type_id}", response_class=HTMLResponse, response_model=None
)
async def update_work_type(
    request: Request,
    work: auth.RatesWrite,
    work_type_id: uuid.UUID,
    name: Annotated[str, Form(max_length=100)] = "",
    rate: Annotated[str, Form(max_length=30)] = "",
    active: Annotated[str, Form(max_length=5)] = "",
) -> HTMLResponse | RedirectResponse:
    """Rename, change the hourly rate (future invoices only), take out of use or back
    in. The currency stays: lines already invoiced keep theirs."""
    form = {"name": name, "rate": rate, "active": active}
    service = TimeService(work.session)
    found = await service.work_type(work.ctx, work_type_id)
    errors: dict[str, str] = {}
    rate_minor = found.rate_minor
    try:
        rate_minor = parse_amount(rate, found.currency)
    except ValueError as exc:
        errors["rate"] = str(exc)
    if not name.strip():
        errors["name"] = "is required"
    if not errors:
        try:
            updated = await service.update_work_type(
                work.ctx,
                work_type_id,
                name=name,
                rate_minor=rate_minor,
                active=active == "1",
                actor=work.actor,
            )
        except NotFound:
            raise
        except TenantryError as exc:
            errors = {("rate" if k == "rate_minor" else k): v for k, v in field_errors(exc).items()}
    if errors:
        edit = {"id": work_type_id, "form": form, "errors": errors}
        return await _page(request, work, filters={}, edit=edit, status=422)
    state = "" if updated.active else " (no longer offered for new time)"
    return redirect_with_notice(
        request, _base(work) + "#work-types", f"Work type {updated.name} saved{state}."
    )
