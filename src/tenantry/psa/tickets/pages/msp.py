"""``/msp/tickets``: open tickets of every client the technician may see, in one query
over a multi-tenant scope (access/scopes.py), with the kept counts per client a page at
a time, and its CSV. Thin: the reads are in TicketLists."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from tenantry.access.scopes import customers_with, narrowed
from tenantry.db.base import utcnow
from tenantry.errors import NotFound, ValidationFailed
from tenantry.http.deps import Work, get_db
from tenantry.psa.tickets import auth
from tenantry.psa.tickets.lists import TicketLists
from tenantry.psa.tickets.models import Priority
from tenantry.psa.tickets.open_counts.service import client_page
from tenantry.psa.tickets.pages.common import (
    PAGE_SIZE,
    STATUS_LABELS,
    ListQuery,
    csv_response,
    row,
    sort_links,
)
from tenantry.psa.tickets.schemas import build_filter
from tenantry.web.render import render

router = APIRouter(include_in_schema=False)

# Clients in the per-client counts at a time: those with the most breached, then open
# tickets first; the rest a link away (an MSP may have 10,000).
COUNTS = 25


def _only_msp(work: Work) -> None:
    if not work.ctx.tenant.is_msp:
        raise NotFound(f"{work.ctx.tenant.display_name} is not an MSP: it has no clients.")


@router.get("/msp/tickets", response_class=HTMLResponse)
async def msp_tickets(request: Request, work: auth.MspTicketsRead) -> HTMLResponse:
    """Open tickets of every client the technician may see: one query over a
    multi-tenant scope (access/scopes.py); the clients with the most breached and open
    tickets first, from the kept counts (open_counts/)."""
    _only_msp(work)
    q = ListQuery(request)
    everyone = await customers_with(
        work.session, work.ctx.principal, "tickets:read", home_version=work.ctx.home_version
    )
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
    now = utcnow()
    async with get_db(request).unit_of_work(found.scope) as session:
        lists = TicketLists(session)
        try:
            rows, next_cursor = await lists.find(f, sort=q.sort, cursor=q.cursor, limit=PAGE_SIZE)
        except ValidationFailed as exc:
            filter_errors[exc.field] = exc.message
            rows, next_cursor = await lists.find(f, sort="-updated", cursor=None, limit=PAGE_SIZE)
    async with get_db(request).unit_of_work(everyone.scope) as session:
        counts = await TicketLists(session).counts(build_filter(everyone.customers, me))
    counts_cursor = request.query_params.get("counts_cursor") or None
    try:
        per_client = client_page(
            everyone.customers, counts, include_empty=False, cursor=counts_cursor, limit=COUNTS
        )
    except ValidationFailed as exc:
        filter_errors["counts_cursor"] = exc.message
        per_client = client_page(
            everyone.customers, counts, include_empty=False, cursor=None, limit=COUNTS
        )
    base = "/msp/tickets"
    clients = sorted(everyone.customers.values(), key=lambda c: c.display_name.lower())
    return render(
        request,
        "psa/tickets/msp.html",
        {
            "base": base,
            "rows": [row(t, now, client=everyone.customers[t.tenant_id]) for t in rows],
            "q": q,
            "clients": clients,
            "counts": per_client.rows,
            "counts_next_href": (
                q.href(base, cursor=None, counts_cursor=per_client.next_cursor)
                if per_client.next_cursor
                else None
            ),
            "counts_first_href": q.href(base, cursor=None) if counts_cursor else None,
            "total_open": per_client.total_open,
            "total_breached": per_client.total_breached,
            "clients_with_open": per_client.clients_with_open,
            "next_href": q.href(base, cursor=next_cursor) if next_cursor else None,
            "first_href": q.href(base) if q.cursor else None,
            "sort_links": sort_links(q, base),
            "mine_href": q.href(base, assignee="me", cursor=None),
            "csv_href": q.href(base + ".csv"),
            "statuses": STATUS_LABELS,
            "priorities": [p.value for p in Priority],
            "filter_errors": filter_errors,
            "now": now,
        },
    )


@router.get("/msp/tickets.csv", response_model=None)
async def msp_tickets_csv(request: Request, work: auth.MspTicketsRead) -> Response:
    _only_msp(work)
    q = ListQuery(request)
    found = await customers_with(
        work.session, work.ctx.principal, "tickets:read", home_version=work.ctx.home_version
    )
    if q.client:
        customer = found.by_ref(q.client)
        if customer is None:
            raise NotFound("No such client.")
        found = narrowed(found, customer.id)
    f = q.filter(found.customers, work.ctx.principal.user_id)
    async with get_db(request).unit_of_work(found.scope) as session:
        rows = await TicketLists(session).every(f, q.sort)
    return csv_response(
        [(t, found.customers[t.tenant_id].slug) for t in rows],
        f"{work.ctx.tenant.slug}-all-tickets.csv",
    )
