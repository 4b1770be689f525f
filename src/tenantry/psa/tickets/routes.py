"""Tickets API: ``/api/v1/tenants/{tenant}/tickets…`` in one client, and the MSP-wide
view ``/api/v1/tenants/{msp}/msp-tickets`` over every client the caller may see (one
unit of work with a multi-tenant scope). Thin: the rules are in TicketService."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response, status
from sqlalchemy import Row

from tenantry.access.scopes import CustomerScope, customers_with, narrowed
from tenantry.db.base import utcnow
from tenantry.errors import NotFound
from tenantry.http.deps import Work, get_db
from tenantry.http.params import Limit
from tenantry.kit.json import json_page
from tenantry.kit.pagination import Page
from tenantry.psa.tickets import auth
from tenantry.psa.tickets.clock import Policy, sla_fields
from tenantry.psa.tickets.lists import TicketLists
from tenantry.psa.tickets.models import Ticket
from tenantry.psa.tickets.open_counts.service import client_page
from tenantry.psa.tickets.policy import SlaPolicyService
from tenantry.psa.tickets.schemas import (
    BulkResult,
    BulkUpdate,
    CommentIn,
    CommentOut,
    CountOut,
    CountPage,
    EventOut,
    MspTicketOut,
    PolicyChange,
    SlaPolicyIn,
    SlaPolicyOut,
    TicketChanges,
    TicketIn,
    TicketOut,
    TicketPatch,
    build_filter,
)
from tenantry.psa.tickets.service import TicketService

router = APIRouter(prefix="/api/v1/tenants/{tenant}", tags=["tickets"])

Statuses = Annotated[
    list[str], Query(description="Statuses, or a group: open (default), done, paused, all")
]
Priorities = Annotated[list[str], Query(description="P1 … P4")]
Assignee = Annotated[str, Query(description="A user id, me or none", max_length=40)]
Sort = Annotated[
    str, Query(description="-updated (default), updated, -number, number, priority, due")
]


_OUT_FIELDS = tuple(c for c in TicketOut.model_fields if c != "sla")


def ticket_out(ticket: Ticket | Row[Any], now: datetime | None = None) -> TicketOut:
    """A ticket (entity or read-only row) as the API shows it, with its SLA as of now."""
    return TicketOut.model_validate(ticket_fields(ticket, now or utcnow()))


def ticket_fields(ticket: Ticket | Row[Any], now: datetime) -> dict[str, Any]:
    """``ticket_out`` as plain values, written once by ``json_page`` (a hot list)."""
    return {**{c: getattr(ticket, c) for c in _OUT_FIELDS}, "sla": sla_fields(ticket, now)}


@router.get("/tickets", response_model=Page[TicketOut])
async def list_tickets(
    work: auth.TicketsRead,
    status: Statuses = [],  # noqa: B006 - FastAPI copies query defaults
    priority: Priorities = [],  # noqa: B006
    assignee: Assignee = "",
    requester: Annotated[str, Query(max_length=40)] = "",
    category: Annotated[str, Query(max_length=100)] = "",
    tag: Annotated[str, Query(max_length=40)] = "",
    q: Annotated[str, Query(max_length=200)] = "",
    breached: Annotated[str, Query(description="yes or no")] = "",
    sort: Sort = "-updated",
    limit: Limit = 50,
    cursor: Annotated[str | None, Query()] = None,
) -> Response:
    f = build_filter(
        [work.ctx.tenant.id],
        work.ctx.principal.user_id,
        status=status,
        priority=priority,
        assignee=assignee,
        requester=requester,
        category=category,
        tag=tag,
        q=q,
        breached=breached,
    )
    rows, next_cursor = await TicketLists(work.session).find_rows(
        f, sort=sort, cursor=cursor, limit=limit
    )
    now = utcnow()
    return json_page([ticket_fields(t, now) for t in rows], next_cursor)


@router.post("/tickets", response_model=TicketOut, status_code=status.HTTP_201_CREATED)
async def create_ticket(body: TicketIn, work: auth.TicketsWrite) -> TicketOut:
    ticket = await TicketService(work.session).create(
        work.ctx, **body.model_dump(), actor=work.actor
    )
    return ticket_out(ticket)


@router.post("/tickets/bulk", response_model=BulkResult)
async def bulk_update(body: BulkUpdate, work: auth.TicketsWrite) -> BulkResult:
    """Set status, priority and/or assignee (null: unassign) on many tickets at once."""
    updated = await TicketService(work.session).bulk_update(
        work.ctx, body.numbers, TicketChanges.of(body), actor=work.actor
    )
    return BulkResult(updated=updated)


@router.get("/tickets/{number}", response_model=TicketOut)
async def get_ticket(number: str, work: auth.TicketsRead) -> TicketOut:
    return ticket_out(await TicketService(work.session).get(work.ctx, number))


@router.patch("/tickets/{number}", response_model=TicketOut)
async def update_ticket(
    number: str,
    body: TicketPatch,
    work: auth.TicketsWrite,
) -> TicketOut:
    ticket = await TicketService(work.session).update(
        work.ctx, number, TicketChanges.of(body), actor=work.actor
    )
    return ticket_out(ticket)


@router.get("/tickets/{number}/comments", response_model=list[CommentOut])
async def list_comments(number: str, work: auth.TicketsRead) -> list[CommentOut]:
    service = TicketService(work.session)
    comments, _ = await service.timeline(await service.get(work.ctx, number))
    return [CommentOut.model_validate(c) for c in comments]


@router.post(
    "/tickets/{number}/comments", response_model=CommentOut, status_code=status.HTTP_201_CREATED
)
async def add_comment(
    number: str,
    body: CommentIn,
    work: auth.TicketsWrite,
) -> CommentOut:
    comment = await TicketService(work.session).comment(
        work.ctx, number, body=body.body, visibility=body.visibility, actor=work.actor
    )
    return CommentOut.model_validate(comment)


@router.get("/tickets/{number}/events", response_model=list[EventOut])
async def list_events(number: str, work: auth.TicketsRead) -> list[EventOut]:
    service = TicketService(work.session)
    _, events = await service.timeline(await service.get(work.ctx, number))
    return [EventOut.model_validate(e) for e in events]


@router.get("/sla-policy", response_model=SlaPolicyOut)
async def get_sla_policy(
    work: auth.TicketsRead,
) -> SlaPolicyOut:
    return _policy_out(await SlaPolicyService(work.session).policy(work.ctx.tenant))


@router.put("/sla-policy", response_model=SlaPolicyOut)
async def set_sla_policy(
    body: SlaPolicyIn,
    work: auth.SlaManage,
) -> SlaPolicyOut:
    change = PolicyChange(
        targets={p.value: t.model_dump() for p, t in body.targets.items()},
        business_hours={k: list(v) for k, v in body.business_hours.items()},
        holidays=body.holidays,
        time_zone=body.time_zone,
    )
    policy = await SlaPolicyService(work.session).set_policy(work.ctx, change, actor=work.actor)
    return _policy_out(policy)


def _policy_out(policy: Policy) -> SlaPolicyOut:
    return SlaPolicyOut.model_validate(
        {
            "targets": policy.targets,
            "business_hours": policy.business_hours,
            "holidays": policy.holidays,
            "time_zone": policy.time_zone,
        }
    )


# ---- MSP-wide


@router.get("/msp-tickets", response_model=Page[MspTicketOut])
async def msp_tickets(
    request: Request,
    work: auth.TicketsRead,
    client: Annotated[str, Query(description="A client's slug or id", max_length=100)] = "",
    status: Statuses = [],  # noqa: B006
    priority: Priorities = [],  # noqa: B006
    assignee: Assignee = "",
    breached: Annotated[str, Query(description="yes or no")] = "",
    q: Annotated[str, Query(max_length=200)] = "",
    sort: Sort = "-updated",
    limit: Limit = 50,
    cursor: Annotated[str | None, Query()] = None,
) -> Page[MspTicketOut]:
    """Tickets of every client where the caller holds tickets:read, in one query."""
    found = await _msp_scope(work, client)
    f = build_filter(
        found.scope.tenant_ids,  # the kept scope's own set: nothing rebuilt or compared
        work.ctx.principal.user_id,
        status=status,
        priority=priority,
        assignee=assignee,
        q=q,
        breached=breached,
    )
    async with get_db(request).unit_of_work(found.scope) as session:
        rows, next_cursor = await TicketLists(session).find(
            f, sort=sort, cursor=cursor, limit=limit
        )
    items = [
        MspTicketOut.model_validate(
            {
                **ticket_out(t).model_dump(),
                "tenant_slug": found.customers[t.tenant_id].slug,
                "tenant_name": found.customers[t.tenant_id].display_name,
            }
        )
        for t in rows
    ]
    return Page[MspTicketOut](items=items, next_cursor=next_cursor)


@router.get("/msp-tickets/counts", response_model=CountPage)
async def msp_ticket_counts(
    request: Request,
    work: auth.TicketsRead,
    assignee: Assignee = "",
    include_empty: Annotated[
        bool, Query(description="Also list clients without open tickets (after the others)")
    ] = False,
    limit: Limit = 50,
    cursor: Annotated[str | None, Query()] = None,
) -> CountPage:
    """Open and breached tickets per client: most breached first, then most open, then
    by name; a page at a time, with the totals over every client. Read from counts kept
    as the tickets change, not by scanning tickets."""
    found = await _msp_scope(work, "")
    f = build_filter(found.customers, work.ctx.principal.user_id, assignee=assignee)
    async with get_db(request).unit_of_work(found.scope) as session:
        counts = await TicketLists(session).counts(f)
    page = client_page(
        found.customers, counts, include_empty=include_empty, cursor=cursor, limit=limit
    )
    return CountPage(
        items=[
            CountOut(
                tenant_id=c.id,
                tenant_slug=c.slug,
                tenant_name=c.display_name,
                open=n,
                breached=b,
            )
            for c, n, b in page.rows
        ],
        next_cursor=page.next_cursor,
        total_open=page.total_open,
        total_breached=page.total_breached,
        clients_with_open=page.clients_with_open,
    )


async def _msp_scope(work: Work, client: str) -> CustomerScope:
    if work.ctx.relation != "home" or not work.ctx.tenant.is_msp:
        raise NotFound("MSP-wide tickets exist only in your own MSP tenant.")
    found = await customers_with(
        work.session, work.ctx.principal, "tickets:read", home_version=work.ctx.home_version
    )
    if client:
        customer = found.by_ref(client)
        if customer is None:
            raise NotFound("No such client.")
        found = narrowed(found, customer.id)
    return found
