"""Audit pages: a tenant's trail (``/t/{tenant}/audit``) and the MSP's technicians across
its customers (``/msp/activity``). Thin: filters from the query string, reading through
the audit services, errors shown next to their field."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from tenantry.access.scopes import people_of
from tenantry.audit import auth, msp_view, retention, trail
from tenantry.audit.present import change_lines
from tenantry.audit.schemas import AuditAction, EventFilter, TechnicianEventOut
from tenantry.errors import NotFound, ValidationFailed
from tenantry.http.deps import get_db
from tenantry.web.render import render

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
ACTIONS = sorted(a.value for a in AuditAction)
# Who acted, as the customer's admin thinks of it.
WHO = {"": "Anyone", "outside": "The MSP's technicians", "own": "Our own people"}


def _day(name: str, value: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise ValidationFailed(name, "is not a date (YYYY-MM-DD)") from exc


def _window(since: str, until: str) -> tuple[datetime | None, datetime | None]:
    """Whole UTC days from the date inputs; ``until`` includes its day."""
    start, end = _day("since", since), _day("until", until)
    if start and end and end < start:
        raise ValidationFailed("until", "must not be before the first day")
    return (
        datetime.combine(start, datetime.min.time(), UTC) if start else None,
        datetime.combine(end + timedelta(days=1), datetime.min.time(), UTC) if end else None,
    )


def _query(base: str, **params: str | None) -> str:
    kept = {k: v for k, v in params.items() if v}
    return base + ("?" + urlencode(kept) if kept else "")


@router.get("/t/{tenant}/audit", response_class=HTMLResponse)
async def tenant_trail(
    request: Request,
    work: auth.AuditRead,
    who: Annotated[str, Query(max_length=10)] = "",
    actor: Annotated[str, Query(max_length=36)] = "",
    action: Annotated[str, Query(max_length=64)] = "",
    since: Annotated[str, Query(max_length=10)] = "",
    until: Annotated[str, Query(max_length=10)] = "",
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> HTMLResponse:
    """Every event in the tenant, newest first, the MSP's technicians by name and MSP;
    ``actor`` (a user id, as "who can act now" links it) keeps one person's events."""
    ctx = work.ctx
    errors: dict[str, str] = {}
    actor_id: uuid.UUID | None = None
    if actor:
        try:
            actor_id = uuid.UUID(actor)
        except ValueError:
            errors["actor"] = "is not a person's id"
    try:
        start, end = _window(since, until)
    except ValidationFailed as exc:
        errors[exc.field] = exc.message
        start = end = None
    if who not in WHO:
        errors["who"] = "is not one of the choices"
        who = ""
    f = EventFilter(
        actor_user_id=actor_id,
        actor_home_tenant_id=ctx.tenant.id if who == "own" else None,
        actor_from_outside=ctx.tenant.id if who == "outside" else None,
        action=action.strip() or None,
        since=start,
        until=end,
    )
    # A stale or hand-edited cursor shows the first page rather than an error.
    events, next_cursor = await trail.read_page(
        work.session, f, cursor=cursor, limit=PAGE_SIZE, forgiving=True
    )
    here = f"/t/{ctx.tenant.slug}/audit"
    filters = {
        "who": who,
        "actor": str(actor_id) if actor_id else "",
        "action": action.strip(),
        "since": since,
        "until": until,
    }
    next_href = _query(here, **filters, cursor=next_cursor) if next_cursor else None
    export = f"/api/v1/tenants/{ctx.tenant.slug}/audit-events/export"
    export_filters = {
        "actor": str(actor_id) if actor_id else None,
        "action": action.strip(),
        "since": start.isoformat().replace("+00:00", "Z") if start else None,
        "until": end.isoformat().replace("+00:00", "Z") if end else None,
    }
    return render(
        request,
        "audit/trail.html",
        {
            "ctx": ctx,
            "actor_name": next((e.actor_name for e in events), None) if actor_id else None,
            "events": [(e, change_lines(e.changes)) for e in events],
            "filters": filters,
            "filtered": any(filters.values()),
            "errors": errors,
            "who_choices": WHO,
            "actions": ACTIONS,
            "here": here,
            "first_href": _query(here, **filters) if cursor else None,
            "next_href": next_href,
            "export_jsonl": _query(export, **export_filters, format="jsonl"),
            "export_csv": _query(export, **export_filters, format="csv"),
            "settings": await retention.settings_of(work.session, ctx.tenant.id),
            "can_manage": ctx.can("settings:manage"),
        },
        status=422 if errors else 200,
    )


@router.get("/msp/activity", response_class=HTMLResponse)
async def msp_activity(
    request: Request,
    work: auth.AuditReadAtHome,
    technician: Annotated[str, Query(max_length=36)] = "",
    customer: Annotated[str, Query(max_length=63)] = "",
    action: Annotated[str, Query(max_length=64)] = "",
    since: Annotated[str, Query(max_length=10)] = "",
    until: Annotated[str, Query(max_length=10)] = "",
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> HTMLResponse:
    """The MSP's technicians' events across every customer the viewer may audit."""
    ctx = work.ctx
    if not ctx.tenant.is_msp:
        raise NotFound(f"{ctx.tenant.display_name} is not an MSP, so it has no customers.")
    found = await auth.readable_customers(work)
    people = await people_of(work.session, ctx.tenant.id)
    errors: dict[str, str] = {}
    technician_id: uuid.UUID | None = None
    if technician:
        try:
            technician_id = uuid.UUID(technician)
        except ValueError:
            errors["technician"] = "is not one of the choices"
    try:
        start, end = _window(since, until)
    except ValidationFailed as exc:
        errors[exc.field] = exc.message
        start = end = None
    items: list[TechnicianEventOut] = []
    next_cursor = None
    if not errors:
        try:
            view = await msp_view.technician_view(
                get_db(request),
                ctx.tenant,
                auth.only_customer(found, customer.strip()),
                msp_view.TechnicianQuery(
                    technician=technician_id, action=action.strip() or None, since=start, until=end
                ),
                cursor=cursor,
                limit=PAGE_SIZE,
                forgiving=True,
            )
            items, next_cursor = view.items, view.next_cursor
        except ValidationFailed as exc:
            errors[exc.field] = exc.message
    filters = {
        "technician": technician,
        "customer": customer.strip(),
        "action": action.strip(),
        "since": since,
        "until": until,
    }
    here = "/msp/activity"
    return render(
        request,
        "audit/activity.html",
        {
            "ctx": ctx,
            "events": [(e, change_lines(e.changes)) for e in items],
            "filters": filters,
            "filtered": any(filters.values()),
            "errors": errors,
            "people": people,
            "customers": sorted(found.customers.values(), key=lambda c: c.display_name.lower()),
            "actions": ACTIONS,
            "here": here,
            "first_href": _query(here, **filters) if cursor else None,
            "next_href": _query(here, **filters, cursor=next_cursor) if next_cursor else None,
        },
        status=422 if errors else 200,
    )
