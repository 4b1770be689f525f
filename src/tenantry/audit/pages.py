"""Audit pages: a tenant's trail (``/t/{tenant}/audit``) and the MSP's technicians across
its customers (``/msp/activity``). Thin: filters from the query string, reading through
the audit repository/service, errors shown next to their field."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from tenantry.access.scopes import customers_with, people_of
from tenantry.audit import repository
from tenantry.audit import service as audit
from tenantry.audit.schemas import AuditAction
from tenantry.errors import NotFound, ValidationFailed
from tenantry.http.deps import Work, get_db, in_home, in_tenant
from tenantry.pagination import decode_cursor, encode_cursor
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


def _before(cursor: str | None) -> tuple[datetime, uuid.UUID] | None:
    """A stale or hand-edited cursor shows the first page rather than an error."""
    try:
        after = decode_cursor(cursor)
        return (datetime.fromisoformat(after[0]), uuid.UUID(after[1])) if after else None
    except (ValidationFailed, ValueError, IndexError, TypeError):
        return None


def _changes(changes: dict[str, Any]) -> list[str]:
    """``{"display_name": ["A", "B"]}`` → ``display_name: A → B``, short enough for a cell."""
    lines = []
    for key, value in changes.items():
        if isinstance(value, list) and len(value) == 2:
            if value[0] == value[1]:
                continue  # recorded for completeness, but nothing changed
            old, new = ("—" if v is None else str(v) for v in value)
            lines.append(f"{key}: {old} → {new}")
        elif isinstance(value, dict):
            lines.append(f"{key}: " + ", ".join(f"{k} {v}" for k, v in value.items() if v))
        else:
            lines.append(f"{key}: {value}")
    return [line if len(line) <= 160 else line[:157] + "…" for line in lines]


def _query(base: str, **params: str | None) -> str:
    kept = {k: v for k, v in params.items() if v}
    return base + ("?" + urlencode(kept) if kept else "")


@router.get("/t/{tenant}/audit", response_class=HTMLResponse)
async def tenant_trail(
    request: Request,
    work: Annotated[Work, Depends(in_tenant("audit:read"), scope="function")],
    who: Annotated[str, Query(max_length=10)] = "",
    action: Annotated[str, Query(max_length=64)] = "",
    since: Annotated[str, Query(max_length=10)] = "",
    until: Annotated[str, Query(max_length=10)] = "",
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> HTMLResponse:
    """Every event in the tenant, newest first, the MSP's technicians by name and MSP."""
    ctx = work.ctx
    errors: dict[str, str] = {}
    try:
        start, end = _window(since, until)
    except ValidationFailed as exc:
        errors[exc.field] = exc.message
        start = end = None
    if who not in WHO:
        errors["who"] = "is not one of the choices"
        who = ""
    f = repository.EventFilter(
        actor_home_tenant_id=ctx.tenant.id if who == "own" else None,
        actor_from_outside=ctx.tenant.id if who == "outside" else None,
        action=action.strip() or None,
        since=start,
        until=end,
    )
    events = await repository.page(work.session, f, before=_before(cursor), limit=PAGE_SIZE + 1)
    here = f"/t/{ctx.tenant.slug}/audit"
    filters = {"who": who, "action": action.strip(), "since": since, "until": until}
    next_href = None
    if len(events) > PAGE_SIZE:
        last = events[PAGE_SIZE - 1]
        next_href = _query(
            here, **filters, cursor=encode_cursor([last.occurred_at.isoformat(), str(last.id)])
        )
    export = f"/api/v1/tenants/{ctx.tenant.slug}/audit-events/export"
    export_filters = {
        "action": action.strip(),
        "since": start.isoformat().replace("+00:00", "Z") if start else None,
        "until": end.isoformat().replace("+00:00", "Z") if end else None,
    }
    return render(
        request,
        "audit/trail.html",
        {
            "ctx": ctx,
            "events": [(e, _changes(e.changes)) for e in events[:PAGE_SIZE]],
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
            "settings": await audit.settings_of(work.session, ctx.tenant.id),
            "can_manage": ctx.can("settings:manage"),
        },
        status=422 if errors else 200,
    )


@router.get("/msp/activity", response_class=HTMLResponse)
async def msp_activity(
    request: Request,
    work: Annotated[Work, Depends(in_home("audit:read"), scope="function")],
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
    found = await customers_with(work.session, ctx.principal, "audit:read")
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
    items: list[Any] = []
    next_cursor = None
    if not errors:
        try:
            view = await audit.technician_view(
                get_db(request),
                ctx,
                found,
                technician=technician_id,
                customer=customer.strip() or None,
                action=action.strip() or None,
                since=start,
                until=end,
                before=_before(cursor),
                limit=PAGE_SIZE,
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
            "events": [(e, _changes(e.changes)) for e in items],
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
