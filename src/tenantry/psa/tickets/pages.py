"""Ticket pages: ``/t/{tenant}/tickets`` (list, filters, bulk, CSV), one ticket
(``/t/{tenant}/tickets/{number}``), the tenant's SLA policy
(``/t/{tenant}/settings/sla``) and the MSP-wide ``/msp/tickets``. Thin: the rules
are in TicketService; these routes turn query strings and forms into calls and errors
into fields."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from tenantry.access.scopes import customers_with, narrowed
from tenantry.db.base import utcnow
from tenantry.errors import NotFound, TenantryError, ValidationFailed
from tenantry.http.deps import Work, get_db, in_home, in_tenant
from tenantry.pagination import MAX_LIMIT
from tenantry.psa.contacts import repository as contacts_repository
from tenantry.psa.tickets.models import Priority, Ticket, Visibility
from tenantry.psa.tickets.repository import TicketFilter
from tenantry.psa.tickets.schemas import SORTS, parse_windows
from tenantry.psa.tickets.service import TicketService, build_filter, sla_of
from tenantry.tenancy.schemas import time_zones
from tenantry.web.forms import field_errors
from tenantry.web.render import redirect_with_notice, render

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
FILTER_KEYS = ("status", "priority", "assignee", "category", "tag", "q", "breached", "requester")
STATUS_LABELS = {
    "new": "New",
    "open": "Open",
    "waiting_on_customer": "Waiting on customer",
    "on_hold": "On hold",
    "resolved": "Resolved",
    "closed": "Closed",
}


def countdown(due: datetime | None, now: datetime) -> str:
    """ "in 2h 05m" / "3d 4h overdue": what the SLA cell says before script refreshes it."""
    if due is None:
        return ""
    seconds = int((due - now).total_seconds())
    late = seconds < 0
    seconds = abs(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    text = f"{days}d {hours}h" if days else f"{hours}h {minutes:02d}m" if hours else f"{minutes}m"
    return f"{text} overdue" if late else f"in {text}"


def _row(ticket: Ticket, now: datetime, **extra: Any) -> dict[str, Any]:
    view = sla_of(ticket, now)
    due = ticket.first_response_due_at or ticket.resolution_due_at
    return {
        "t": ticket,
        "sla": view,
        "due": due,
        "due_kind": "response" if ticket.first_response_due_at else "resolution",
        "due_text": countdown(due, now),
        "breached": view.first_response_breached or view.resolution_breached,
        **extra,
    }


class ListQuery:
    """The list's state, all in the query string (so back, reload and bookmarks work)."""

    def __init__(self, request: Request) -> None:
        params = request.query_params
        self.status = params.getlist("status") or ["open"]
        self.priority = [p for p in params.getlist("priority") if p]
        self.values = {
            k: params.get(k, "").strip()[:200]
            for k in FILTER_KEYS
            if k not in ("status", "priority")
        }
        self.sort = params.get("sort", "-updated")
        self.cursor = params.get("cursor") or None
        self.client = params.get("client", "").strip()[:100]

    def filter(self, tenant_ids: Any, me: uuid.UUID) -> TicketFilter:
        return build_filter(
            tenant_ids, me, status=self.status, priority=self.priority, **self.values
        )

    def pairs(self, **override: Any) -> list[tuple[str, str]]:
        state: dict[str, Any] = {
            "client": self.client,
            "status": self.status,
            "priority": self.priority,
            **self.values,
            "sort": self.sort,
        }
        state.update(override)
        out: list[tuple[str, str]] = []
        for key, value in state.items():
            for v in value if isinstance(value, list) else [value]:
                if (
                    v
                    and not (key == "status" and v == "open" and state["status"] == ["open"])
                    and not (key == "sort" and v == "-updated")
                ):
                    out.append((key, str(v)))
        return out

    def href(self, base: str, **override: Any) -> str:
        pairs = self.pairs(**override)
        return base + ("?" + urlencode(pairs) if pairs else "")


def _sort_links(q: ListQuery, base: str) -> dict[str, str]:
    return {s: q.href(base, sort=s) for s in SORTS}


# ---- one client's tickets


async def _list_page(
    request: Request,
    work: Work,
    *,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    q = ListQuery(request)
    base = f"/t/{work.ctx.tenant.slug}/tickets"
    service = TicketService(work.session)
    filter_errors: dict[str, str] = {}
    try:
        f = q.filter([work.ctx.tenant.id], work.ctx.principal.user_id)
        rows, next_cursor = await service.find(f, sort=q.sort, cursor=q.cursor, limit=PAGE_SIZE)
    except ValidationFailed as exc:
        # A hand-edited query string: say which filter, show the default list.
        filter_errors = {exc.field: exc.message}
        f = build_filter([work.ctx.tenant.id], work.ctx.principal.user_id)
        rows, next_cursor = await service.find(f, sort="-updated", cursor=None, limit=PAGE_SIZE)
    now = utcnow()
    contacts = await contacts_repository.by_ids(
        work.session,
        work.ctx.tenant.id,
        [t.requester_contact_id for t in rows if t.requester_contact_id],
    )
    csv_pairs = [p for p in q.pairs() if p[0] != "cursor"]
    return render(
        request,
        "psa/tickets/list.html",
        {
            "base": base,
            "rows": [
                _row(
                    t,
                    now,
                    requester=contacts.get(t.requester_contact_id)
                    if t.requester_contact_id
                    else None,
                )
                for t in rows
            ],
            "q": q,
            "here": q.href(base, cursor=q.cursor),
            "next_href": q.href(base, cursor=next_cursor) if next_cursor else None,
            "first_href": q.href(base) if q.cursor else None,
            "sort_links": _sort_links(q, base),
            "csv_href": base + ".csv" + ("?" + urlencode(csv_pairs) if csv_pairs else ""),
            "statuses": STATUS_LABELS,
            "priorities": [p.value for p in Priority],
            "filter_errors": filter_errors,
            "form": form or {},
            "errors": errors or {},
            "can_write": work.ctx.can("tickets:write"),
            "now": now,
        },
        status=status,
    )


@router.get("/t/{tenant}/tickets", response_class=HTMLResponse)
async def tickets(
    request: Request, work: Annotated[Work, Depends(in_tenant("tickets:read"), scope="function")]
) -> HTMLResponse:
    return await _list_page(request, work)


def _csv_cell(value: str) -> str:
    """Spreadsheets run a cell that starts with = + - @ as a formula; titles are input."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _csv(rows: Sequence[tuple[Ticket, str]], filename: str) -> Response:
    now = utcnow()
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        [
            "client",
            "number",
            "title",
            "status",
            "priority",
            "assignee",
            "category",
            "tags",
            "created_at",
            "updated_at",
            "first_response_due_at",
            "resolution_due_at",
            "breached",
        ]
    )
    for t, client in rows:
        view = sla_of(t, now)
        writer.writerow(
            [
                client,
                t.number,
                _csv_cell(t.title),
                t.status.value,
                t.priority.value,
                _csv_cell(t.assignee_name or ""),
                _csv_cell(t.category),
                _csv_cell(" ".join(t.tags)),
                t.created_at.isoformat(),
                t.updated_at.isoformat(),
                t.first_response_due_at.isoformat() if t.first_response_due_at else "",
                t.resolution_due_at.isoformat() if t.resolution_due_at else "",
                "yes" if view.first_response_breached or view.resolution_breached else "no",
            ]
        )
    return Response(
        buffer.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="{filename}"'},
    )


async def _all_rows(service: TicketService, f: TicketFilter, sort: str) -> list[Ticket]:
    rows: list[Ticket] = []
    cursor: str | None = None
    while True:
        batch, cursor = await service.find(f, sort=sort, cursor=cursor, limit=MAX_LIMIT)
        rows.extend(batch)
        if cursor is None or len(rows) >= 50_000:
            return rows


@router.get("/t/{tenant}/tickets.csv", response_model=None)
async def tickets_csv(
    request: Request, work: Annotated[Work, Depends(in_tenant("tickets:read"), scope="function")]
) -> Response:
    """Every ticket the list's filters match, as CSV."""
    q = ListQuery(request)
    f = q.filter([work.ctx.tenant.id], work.ctx.principal.user_id)
    rows = await _all_rows(TicketService(work.session), f, q.sort)
    slug = work.ctx.tenant.slug
    return _csv([(t, slug) for t in rows], f"{slug}-tickets.csv")


@router.post("/t/{tenant}/tickets", response_model=None)
async def create_ticket(
    request: Request,
    work: Annotated[Work, Depends(in_tenant("tickets:write"), scope="function")],
    title: Annotated[str, Form(max_length=2000)] = "",
    description: Annotated[str, Form(max_length=40_000)] = "",
    priority: Annotated[str, Form(max_length=10)] = "P3",
    requester: Annotated[str, Form(max_length=300)] = "",
    assignee: Annotated[str, Form(max_length=300)] = "",
    category: Annotated[str, Form(max_length=1000)] = "",
    tags: Annotated[str, Form(max_length=2000)] = "",
) -> HTMLResponse | RedirectResponse:
    form = {
        "title": title,
        "description": description,
        "priority": priority,
        "requester": requester,
        "assignee": assignee,
        "category": category,
        "tags": tags,
    }
    service = TicketService(work.session)
    try:
        requester_id = await _requester_ref(work, requester)
        assignee_id = await service.resolve_assignee_ref(work.ctx, assignee)
        ticket = await service.create(
            work.ctx,
            title=title,
            description=description,
            priority=priority,
            requester_contact_id=requester_id,
            assignee_user_id=assignee_id,
            category=category,
            tags=tags.split(","),
            actor=work.actor,
        )
    except TenantryError as exc:
        errors = _form_errors(exc)
        return await _list_page(request, work, form=form, errors=errors, status=422)
    return redirect_with_notice(
        request,
        f"/t/{work.ctx.tenant.slug}/tickets/{ticket.number}",
        f"Ticket #{ticket.number} created.",
    )


def _form_errors(exc: TenantryError) -> dict[str, str]:
    """Service field names → the form's field names."""
    names = {"requester_contact_id": "requester", "assignee_user_id": "assignee"}
    return {names.get(k, k): v for k, v in field_errors(exc).items()}


async def _requester_ref(work: Work, ref: str) -> uuid.UUID | None:
    """A contact by email (as typed) or id."""
    ref = ref.strip()
    if not ref:
        return None
    try:
        return uuid.UUID(ref)
    except ValueError:
        pass
    contact = await contacts_repository.by_email(work.session, work.ctx.tenant.id, ref.lower())
    if contact is None:
        raise ValidationFailed("requester", "no contact of this client has this email")
    return contact.id


def _back(base: str, value: str) -> str:
    """Only back to this tenant's ticket list (with its query string): no open redirect."""
    return value if value == base or value.startswith(base + "?") else base


@router.post("/t/{tenant}/tickets/bulk", response_model=None)
async def bulk_update(
    request: Request,
    work: Annotated[Work, Depends(in_tenant("tickets:write"), scope="function")],
) -> HTMLResponse | RedirectResponse:
    form = await request.form()
    numbers: list[int] = []
    for value in form.getlist("numbers"):
        if isinstance(value, str) and value.isdigit():
            numbers.append(int(value))
    changes: dict[str, Any] = {}
    for key in ("status", "priority"):
        picked = form.get(key)
        if isinstance(picked, str) and picked:
            changes[key] = picked
    assignee = form.get("assignee")
    base = f"/t/{work.ctx.tenant.slug}/tickets"
    back_value = form.get("back")
    back = _back(base, back_value if isinstance(back_value, str) else "")
    service = TicketService(work.session)
    try:
        if isinstance(assignee, str) and assignee:
            changes["assignee_user_id"] = (
                None
                if assignee == "none"
                else await service.resolve_assignee_ref(work.ctx, assignee)
            )
        updated = await service.bulk_update(work.ctx, numbers, changes, work.actor)
    except TenantryError as exc:
        message = "; ".join(f"{k}: {v}" for k, v in _form_errors(exc).items())
        return redirect_with_notice(request, back, f"Nothing changed. {message}")
    return redirect_with_notice(request, back, f"{len(updated)} tickets updated.")


# ---- one ticket


async def _ticket_page(
    request: Request,
    work: Work,
    number: str,
    *,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    comment_form: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    service = TicketService(work.session)
    ticket = await service.get(work.ctx, number)
    comments, events = await service.timeline(ticket)
    requester = (
        await contacts_repository.by_id(
            work.session, work.ctx.tenant.id, ticket.requester_contact_id
        )
        if ticket.requester_contact_id
        else None
    )
    policy = await service.policy(work.ctx.tenant.id)
    now = utcnow()
    timeline: list[dict[str, Any]] = [
        {"kind": "comment", "at": c.created_at, "c": c} for c in comments
    ]
    timeline += [
        {"kind": "event", "at": e.created_at, "e": e} for e in events if e.kind != "commented"
    ]
    timeline.sort(key=lambda item: item["at"])
    defaults = {
        "title": ticket.title,
        "status": ticket.status.value,
        "priority": ticket.priority.value,
        "assignee": "" if ticket.assignee_user_id is None else str(ticket.assignee_user_id),
        "category": ticket.category,
        "tags": ", ".join(ticket.tags),
        "requester": requester.email if requester else "",
    }
    return render(
        request,
        "psa/tickets/detail.html",
        {
            "base": f"/t/{work.ctx.tenant.slug}/tickets",
            "row": _row(ticket, now),
            "t": ticket,
            "requester": requester,
            "timeline": timeline,
            "policy": policy,
            "statuses": STATUS_LABELS,
            "priorities": [p.value for p in Priority],
            "form": {**defaults, **(form or {})},
            "comment_form": comment_form or {"visibility": "public"},
            "errors": errors or {},
            "can_write": work.ctx.can("tickets:write"),
            "now": now,
            "first_response_text": countdown(ticket.first_response_due_at, now),
            "resolution_text": countdown(ticket.resolution_due_at, now),
        },
        status=status,
    )


@router.get("/t/{tenant}/tickets/{number}", response_class=HTMLResponse)
async def ticket_page(
    request: Request,
    number: str,
    work: Annotated[Work, Depends(in_tenant("tickets:read"), scope="function")],
) -> HTMLResponse:
    return await _ticket_page(request, work, number)


@router.post("/t/{tenant}/tickets/{number}", response_model=None)
async def update_ticket(
    request: Request,
    number: str,
    work: Annotated[Work, Depends(in_tenant("tickets:write"), scope="function")],
    title: Annotated[str, Form(max_length=2000)] = "",
    status: Annotated[str, Form(max_length=40)] = "",
    priority: Annotated[str, Form(max_length=10)] = "",
    assignee: Annotated[str, Form(max_length=300)] = "",
    assignee_other: Annotated[str, Form(max_length=300)] = "",
    requester: Annotated[str, Form(max_length=300)] = "",
    category: Annotated[str, Form(max_length=1000)] = "",
    tags: Annotated[str, Form(max_length=2000)] = "",
) -> HTMLResponse | RedirectResponse:
    form = {
        "title": title,
        "status": status,
        "priority": priority,
        "assignee": assignee,
        "assignee_other": assignee_other,
        "requester": requester,
        "category": category,
        "tags": tags,
    }
    service = TicketService(work.session)
    try:
        changes: dict[str, Any] = {
            "title": title,
            "status": status,
            "priority": priority,
            "category": category,
            "tags": tags.split(","),
            # A typed email wins over the picker (unassigned, me, the current assignee).
            "assignee_user_id": await service.resolve_assignee_ref(
                work.ctx, assignee_other.strip() or assignee
            ),
            "requester_contact_id": await _requester_ref(work, requester),
        }
        ticket = await service.update(work.ctx, number, changes, work.actor)
    except NotFound:
        raise
    except TenantryError as exc:
        return await _ticket_page(
            request, work, number, form=form, errors=_form_errors(exc), status=422
        )
    return redirect_with_notice(
        request, f"/t/{work.ctx.tenant.slug}/tickets/{ticket.number}", "Ticket saved."
    )


@router.post("/t/{tenant}/tickets/{number}/comments", response_model=None)
async def add_comment(
    request: Request,
    number: str,
    work: Annotated[Work, Depends(in_tenant("tickets:write"), scope="function")],
    body: Annotated[str, Form(max_length=40_000)] = "",
    visibility: Annotated[str, Form(max_length=20)] = Visibility.PUBLIC.value,
) -> HTMLResponse | RedirectResponse:
    try:
        await TicketService(work.session).comment(
            work.ctx, number, body=body, visibility=visibility, actor=work.actor
        )
    except NotFound:
        raise
    except TenantryError as exc:
        return await _ticket_page(
            request,
            work,
            number,
            errors=field_errors(exc),
            comment_form={"body": body, "visibility": visibility},
            status=422,
        )
    label = "Reply sent." if visibility == Visibility.PUBLIC.value else "Internal note added."
    return redirect_with_notice(
        request, f"/t/{work.ctx.tenant.slug}/tickets/{parse_num(number)}#timeline-end", label
    )


def parse_num(number: str) -> str:
    return number.lstrip("#")


# ---- MSP-wide


@router.get("/msp/tickets", response_class=HTMLResponse)
async def msp_tickets(
    request: Request, work: Annotated[Work, Depends(in_home("tickets:read"), scope="function")]
) -> HTMLResponse:
    """Open tickets of every client the technician may see: one query over a
    multi-tenant scope (access/scopes.py), counts per client from one grouped query."""
    if not work.ctx.tenant.is_msp:
        raise NotFound(f"{work.ctx.tenant.display_name} is not an MSP: it has no clients.")
    q = ListQuery(request)
    everyone = await customers_with(work.session, work.ctx.principal, "tickets:read")
    found = everyone
    filter_errors: dict[str, str] = {}
    if q.client:
        customer = everyone.by_ref(q.client)
        if customer is None:
            filter_errors["client"] = "is not a client you can see tickets of"
        else:
            found = narrowed(everyone, customer.id)
    me = work.ctx.principal.user_id
    try:
        f = q.filter(found.customers, me)
    except ValidationFailed as exc:
        filter_errors[exc.field] = exc.message
        f = build_filter(found.customers, me)
    counts_filter = build_filter(everyone.customers, me)
    now = utcnow()
    async with get_db(request).unit_of_work(found.scope) as session:
        service = TicketService(session)
        try:
            rows, next_cursor = await service.find(f, sort=q.sort, cursor=q.cursor, limit=PAGE_SIZE)
        except ValidationFailed as exc:
            filter_errors[exc.field] = exc.message
            rows, next_cursor = await service.find(f, sort="-updated", cursor=None, limit=PAGE_SIZE)
    async with get_db(request).unit_of_work(everyone.scope) as session:
        counts = await TicketService(session).counts(counts_filter)
    base = "/msp/tickets"
    clients = sorted(everyone.customers.values(), key=lambda c: c.display_name.lower())
    return render(
        request,
        "psa/tickets/msp.html",
        {
            "base": base,
            "rows": [_row(t, now, client=everyone.customers[t.tenant_id]) for t in rows],
            "q": q,
            "clients": clients,
            "counts": [(c, *counts.get(c.id, (0, 0))) for c in clients],
            "total_open": sum(n for n, _ in counts.values()),
            "total_breached": sum(b for _, b in counts.values()),
            "next_href": q.href(base, cursor=next_cursor) if next_cursor else None,
            "first_href": q.href(base) if q.cursor else None,
            "sort_links": _sort_links(q, base),
            "mine_href": q.href(base, assignee="me", cursor=None),
            "csv_href": q.href(base + ".csv"),
            "statuses": STATUS_LABELS,
            "priorities": [p.value for p in Priority],
            "filter_errors": filter_errors,
            "now": now,
        },
    )


@router.get("/msp/tickets.csv", response_model=None)
async def msp_tickets_csv(
    request: Request, work: Annotated[Work, Depends(in_home("tickets:read"), scope="function")]
) -> Response:
    if not work.ctx.tenant.is_msp:
        raise NotFound(f"{work.ctx.tenant.display_name} is not an MSP: it has no clients.")
    q = ListQuery(request)
    found = await customers_with(work.session, work.ctx.principal, "tickets:read")
    if q.client:
        customer = found.by_ref(q.client)
        if customer is None:
            raise NotFound("No such client.")
        found = narrowed(found, customer.id)
    f = q.filter(found.customers, work.ctx.principal.user_id)
    async with get_db(request).unit_of_work(found.scope) as session:
        rows = await _all_rows(TicketService(session), f, q.sort)
    return _csv(
        [(t, found.customers[t.tenant_id].slug) for t in rows],
        f"{work.ctx.tenant.slug}-all-tickets.csv",
    )


# ---- the SLA policy (per tenant: targets, business hours, time zone, holidays)

SLA_KINDS = (("first_response", "First response"), ("resolution", "Resolution"))
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _sla_base(work: Work) -> str:
    return f"/t/{work.ctx.tenant.slug}/settings/sla"


def _sla_field(name: str) -> str:
    """Service field names → the page's: ``targets.P1.resolution`` → ``P1_resolution``,
    ``business_hours.0`` → ``hours_0``."""
    if name.startswith("targets."):
        return name.removeprefix("targets.").replace(".", "_")
    if name.startswith("business_hours."):
        return "hours_" + name.removeprefix("business_hours.")
    return {"holidays": "holiday", "business_hours": "form", "targets": "form"}.get(name, name)


def _minutes_text(minutes: int) -> str:
    hours, rest = divmod(minutes, 60)
    return f"{hours}h {rest:02d}m" if hours else f"{rest}m"


async def _sla_page(
    request: Request,
    work: Work,
    *,
    form: dict[str, str] | None = None,
    holiday_form: str = "",
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    policy = await TicketService(work.session).policy(work.ctx.tenant.id)
    current: dict[str, str] = {"time_zone": policy.time_zone}
    for p in Priority:
        for kind, _ in SLA_KINDS:
            value = policy.targets.get(p.value, {}).get(kind)
            current[f"{p.value}_{kind}"] = "" if value is None else str(value)
    for day in range(7):
        windows = policy.business_hours.get(str(day), [])
        current[f"hours_{day}"] = ", ".join(f"{a}-{b}" for a, b in windows)
    return render(
        request,
        "psa/tickets/sla.html",
        {
            "base": _sla_base(work),
            "tickets_href": f"/t/{work.ctx.tenant.slug}/tickets",
            "policy": policy,
            "form": {**current, **(form or {})},
            "holiday_form": holiday_form,
            "errors": errors or {},
            "priorities": [p.value for p in Priority],
            "kinds": SLA_KINDS,
            "weekdays": list(enumerate(WEEKDAYS)),
            "zones": sorted(time_zones()),
            "minutes_text": _minutes_text,
            "can_edit": work.ctx.can("settings:manage"),
            "no_hours": policy.calendar is None,
        },
        status=status,
    )


@router.get("/t/{tenant}/settings/sla", response_class=HTMLResponse)
async def sla_policy_page(
    request: Request, work: Annotated[Work, Depends(in_tenant("tickets:read"), scope="function")]
) -> HTMLResponse:
    """Everyone who sees the tickets may see the targets they are measured by; changing
    them needs ``settings:manage`` (as the API's PUT)."""
    return await _sla_page(request, work)


def _target_value(raw: str) -> int | str:
    """A whole number as typed, else the text itself (the service names the field)."""
    text = raw.strip()
    return int(text) if text.lstrip("-").isdigit() and len(text) < 12 else text


@router.post("/t/{tenant}/settings/sla", response_model=None)
async def save_sla_policy(
    request: Request,
    work: Annotated[Work, Depends(in_tenant("settings:manage"), scope="function")],
) -> HTMLResponse | RedirectResponse:
    data = await request.form()
    form: dict[str, str] = {}
    names = [f"{p.value}_{k}" for p in Priority for k, _ in SLA_KINDS]
    names += [f"hours_{d}" for d in range(7)] + ["time_zone"]
    for name in names:
        value = data.get(name)
        form[name] = value[:200] if isinstance(value, str) else ""
    try:
        targets: dict[str, Any] = {
            p.value: {k: _target_value(form[f"{p.value}_{k}"]) for k, _ in SLA_KINDS}
            for p in Priority
        }
        hours: dict[str, list[tuple[str, str]]] = {}
        for day in range(7):
            try:
                hours[str(day)] = parse_windows(form[f"hours_{day}"])
            except ValueError as exc:
                raise ValidationFailed(f"business_hours.{day}", str(exc)) from exc
        service = TicketService(work.session)
        current = await service.policy(work.ctx.tenant.id)
        await service.set_policy(
            work.ctx,
            targets=targets,
            business_hours=hours,
            holidays=current.holidays,
            time_zone=form["time_zone"],
            actor=work.actor,
        )
    except TenantryError as exc:
        if exc.status >= 500:
            raise
        errors = {_sla_field(k): v for k, v in field_errors(exc).items()}
        return await _sla_page(request, work, form=form, errors=errors, status=exc.status)
    return redirect_with_notice(request, _sla_base(work), "SLA policy saved.")


@router.post("/t/{tenant}/settings/sla/holidays", response_model=None)
async def add_sla_holiday(
    request: Request,
    work: Annotated[Work, Depends(in_tenant("settings:manage"), scope="function")],
    holiday: Annotated[str, Form(max_length=40)] = "",
) -> HTMLResponse | RedirectResponse:
    day = holiday.strip()
    try:
        if not day:
            raise ValidationFailed("holiday", "is required: pick a date")
        await TicketService(work.session).add_holiday(work.ctx, day, work.actor)
    except TenantryError as exc:
        if exc.status >= 500:
            raise
        errors = {_sla_field(k): v for k, v in field_errors(exc).items()}
        return await _sla_page(request, work, holiday_form=holiday, errors=errors, status=422)
    return redirect_with_notice(request, _sla_base(work) + "#holidays", f"Holiday {day} added.")


@router.post("/t/{tenant}/settings/sla/holidays/remove", response_model=None)
async def remove_sla_holiday(
    request: Request,
    work: Annotated[Work, Depends(in_tenant("settings:manage"), scope="function")],
    holiday: Annotated[str, Form(max_length=40)] = "",
) -> HTMLResponse | RedirectResponse:
    try:
        await TicketService(work.session).remove_holiday(work.ctx, holiday.strip(), work.actor)
    except TenantryError as exc:
        if exc.status >= 500:
            raise
        errors = {_sla_field(k): v for k, v in field_errors(exc).items()}
        return await _sla_page(request, work, errors=errors, status=422)
    return redirect_with_notice(
        request, _sla_base(work) + "#holidays", f"Holiday {holiday.strip()} removed."
    )
