"""One ticket: ``/t/{tenant}/tickets/{number}`` (the conversation with public replies
and internal notes, the history, the SLA counting down, the edit form). Thin: the rules
are in TicketService."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from tenantry.db.base import utcnow
from tenantry.errors import NotFound, TenantryError
from tenantry.http.deps import Work
from tenantry.psa.contacts.service import ContactService
from tenantry.psa.tickets import auth
from tenantry.psa.tickets.models import Priority, Visibility
from tenantry.psa.tickets.pages.common import STATUS_LABELS, countdown, form_errors, row
from tenantry.psa.tickets.schemas import TicketChanges
from tenantry.psa.tickets.service import TicketService
from tenantry.web.forms import field_errors
from tenantry.web.render import redirect_with_notice, render

router = APIRouter(include_in_schema=False)


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
        await ContactService(work.session).find(work.ctx, ticket.requester_contact_id)
        if ticket.requester_contact_id
        else None
    )
    policy = await service.policy(work.ctx)
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
            "row": row(ticket, now),
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
async def ticket_page(request: Request, number: str, work: auth.TicketsRead) -> HTMLResponse:
    return await _ticket_page(request, work, number)


@router.post("/t/{tenant}/tickets/{number}", response_model=None)
async def update_ticket(
    request: Request,
    number: str,
    work: auth.TicketsWrite,
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
        changes = TicketChanges(
            title=title,
            status=status,
            priority=priority,
            category=category,
            tags=tags.split(","),
            # A typed email wins over the picker (unassigned, me, the current assignee).
            assignee_user_id=await service.resolve_assignee_ref(
                work.ctx, assignee_other.strip() or assignee
            ),
            requester_contact_id=await service.resolve_requester_ref(work.ctx, requester),
        )
        ticket = await service.update(work.ctx, number, changes, actor=work.actor)
    except NotFound:
        raise
    except TenantryError as exc:
        return await _ticket_page(
            request, work, number, form=form, errors=form_errors(exc), status=422
        )
    return redirect_with_notice(
        request, f"/t/{work.ctx.tenant.slug}/tickets/{ticket.number}", "Ticket saved."
    )


@router.post("/t/{tenant}/tickets/{number}/comments", response_model=None)
async def add_comment(
    request: Request,
    number: str,
    work: auth.TicketsWrite,
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
        request, f"/t/{work.ctx.tenant.slug}/tickets/{number.lstrip('#')}#timeline-end", label
    )
