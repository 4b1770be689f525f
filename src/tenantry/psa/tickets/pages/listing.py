"""One client's ticket list: ``/t/{tenant}/tickets`` (filters, sort and paging in the
query string), its CSV, a new ticket and the bulk bar. Thin: the rules are in
TicketService and TicketLists."""

from __future__ import annotations

import uuid
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from tenantry.db.base import utcnow
from tenantry.errors import TenantryError, ValidationFailed
from tenantry.http.deps import Work
from tenantry.psa.contacts.service import ContactService
from tenantry.psa.tickets import auth
from tenantry.psa.tickets.lists import TicketLists
from tenantry.psa.tickets.models import Priority
from tenantry.psa.tickets.pages.common import (
    PAGE_SIZE,
    STATUS_LABELS,
    ListQuery,
    csv_response,
    form_errors,
    row,
    sort_links,
)
from tenantry.psa.tickets.schemas import UNSET, TicketChanges, Unset, build_filter
from tenantry.psa.tickets.service import TicketService
from tenantry.web.render import redirect_with_notice, render

router = APIRouter(include_in_schema=False)


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
    lists = TicketLists(work.session)
    filter_errors: dict[str, str] = {}
    try:
        f = q.filter([work.ctx.tenant.id], work.ctx.principal.user_id)
        rows, next_cursor = await lists.find(f, sort=q.sort, cursor=q.cursor, limit=PAGE_SIZE)
    except ValidationFailed as exc:
        # A hand-edited query string: say which filter, show the default list.
        filter_errors = {exc.field: exc.message}
        f = build_filter([work.ctx.tenant.id], work.ctx.principal.user_id)
        rows, next_cursor = await lists.find(f, sort="-updated", cursor=None, limit=PAGE_SIZE)
    now = utcnow()
    contacts = await ContactService(work.session).by_ids(
        work.ctx, [t.requester_contact_id for t in rows if t.requester_contact_id]
    )
    csv_pairs = [p for p in q.pairs() if p[0] != "cursor"]
    return render(
        request,
        "psa/tickets/list.html",
        {
            "base": base,
            "rows": [
                row(
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
            "sort_links": sort_links(q, base),
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
async def tickets(request: Request, work: auth.TicketsRead) -> HTMLResponse:
    return await _list_page(request, work)


@router.get("/t/{tenant}/tickets.csv", response_model=None)
async def tickets_csv(request: Request, work: auth.TicketsRead) -> Response:
    """Every ticket the list's filters match, as CSV."""
    q = ListQuery(request)
    f = q.filter([work.ctx.tenant.id], work.ctx.principal.user_id)
    rows = await TicketLists(work.session).every(f, q.sort)
    slug = work.ctx.tenant.slug
    return csv_response([(t, slug) for t in rows], f"{slug}-tickets.csv")


@router.post("/t/{tenant}/tickets", response_model=None)
async def create_ticket(
    request: Request,
    work: auth.TicketsWrite,
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
        requester_id = await service.resolve_requester_ref(work.ctx, requester)
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
        errors = form_errors(exc)
        return await _list_page(request, work, form=form, errors=errors, status=422)
    return redirect_with_notice(
        request,
        f"/t/{work.ctx.tenant.slug}/tickets/{ticket.number}",
        f"Ticket #{ticket.number} created.",
    )


def _back(base: str, value: str) -> str:
    """Only back to this tenant's ticket list (with its query string): no open redirect."""
    return value if value == base or value.startswith(base + "?") else base


def _picked(value: object) -> str:
    return value if isinstance(value, str) else ""


@router.post("/t/{tenant}/tickets/bulk", response_model=None)
async def bulk_update(request: Request, work: auth.TicketsWrite) -> HTMLResponse | RedirectResponse:
    form = await request.form()
    numbers: list[int] = []
    for value in form.getlist("numbers"):
        if isinstance(value, str) and value.isdigit():
            numbers.append(int(value))
    status, priority = _picked(form.get("status")), _picked(form.get("priority"))
    assignee = _picked(form.get("assignee"))
    base = f"/t/{work.ctx.tenant.slug}/tickets"
    back = _back(base, _picked(form.get("back")))
    service = TicketService(work.session)
    try:
        assignee_id: uuid.UUID | Unset | None = UNSET
        if assignee:
            assignee_id = (
                None
                if assignee == "none"
                else await service.resolve_assignee_ref(work.ctx, assignee)
            )
        changes = TicketChanges(
            status=status or UNSET, priority=priority or UNSET, assignee_user_id=assignee_id
        )
        updated = await service.bulk_update(work.ctx, numbers, changes, actor=work.actor)
    except TenantryError as exc:
        message = "; ".join(f"{k}: {v}" for k, v in form_errors(exc).items())
        return redirect_with_notice(request, back, f"Nothing changed. {message}")
    return redirect_with_notice(request, back, f"{len(updated)} tickets updated.")
