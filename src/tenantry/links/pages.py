"""Links pages: an MSP's links to its clients (``/msp/links``) with the form that asks
to manage an existing tenant, and a customer's "Your MSP" page (``/t/<slug>/msp``) where
its own people approve, narrow, decline or revoke. Thin: the rules are in LinkService;
these routes turn forms into calls and errors into fields."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, Response

from tenantry.access.permissions import ALL, BUILTIN_ROLES
from tenantry.audit.models import AuditEvent
from tenantry.errors import Conflict, NotFound, TenantryError, ValidationFailed
from tenantry.http.deps import Work, in_home, in_tenant
from tenantry.links.schemas import LinkView, grouped
from tenantry.links.service import LinkService
from tenantry.tenancy.models import LinkState
from tenantry.web.forms import field_errors
from tenantry.web.render import redirect_with_notice, render

router = APIRouter(include_in_schema=False)
# Every marker is used with scope="function": the unit of work commits when the route
# returns, so the page a POST redirects to already shows the change.
LINKS = "/msp/links"
PAGE_SIZE = 50
HISTORY_SIZE = 100
TABS = (
    ("live", "Pending and active"),
    ("pending", "Pending"),
    ("active", "Active"),
    ("ended", "Ended"),
)


def _msp_only(work: Work) -> None:
    if not work.ctx.tenant.is_msp:
        raise NotFound(f"{work.ctx.tenant.display_name} is not an MSP, so it has no client links.")


def _field_errors_or_raise(exc: TenantryError) -> dict[str, str]:
    """Errors that belong next to a field; anything else (a link that is not there, a
    permission) is the whole page's answer and is raised again."""
    if isinstance(exc, ValidationFailed | Conflict) or (
        isinstance(exc, NotFound) and "errors" in exc.extra
    ):
        return field_errors(exc)
    raise exc


def _confirmed(value: str, field: str, message: str) -> None:
    if value != "yes":
        raise ValidationFailed(field, message)


def _ceiling_words(view: LinkView) -> dict[str, Any]:
    link = view.link
    given = set(link.ceiling)
    withheld = set(link.requested_ceiling) - given if link.activated_at else set()
    return {
        "ceiling": grouped(link.ceiling),
        "requested": grouped(link.requested_ceiling),
        "withheld": grouped(withheld),
        "withheld_count": len(withheld),
    }


ACTIONS = {
    "link.created": "Created with the client",
    "link.requested": "Asked to manage",
    "link.flagged": "Flagged by the operator",
    "link.approved": "Approved",
    "link.declined": "Declined",
    "link.narrowed": "Narrowed",
    "link.revoked": "Ended",
    "link.expired": "Expired",
    "link.extended": "Renewed",
}


def _when(value: object) -> str:
    # Changes hold plain JSON: timestamps come back as ISO strings.
    if not isinstance(value, str) or not value:
        return "no end date"
    return value[:16].replace("T", " ") + " UTC"


def _count(value: object) -> int:
    return len(value) if isinstance(value, list) else 0


def describe(event: AuditEvent) -> dict[str, Any]:
    """One history row in words: what happened, who did it, and what it changed."""
    c = event.changes
    action = event.action
    summary = ""
    if action in ("link.requested", "link.flagged"):
        asked, days = (
            c.get("requested_ceiling", [None, []])[1],
            c.get("duration_days", [None, None])[1],
        )
        summary = f"asked for {_count(asked)} permissions, " + (
            f"for {days} days" if days else "with no end date"
        )
        if c.get("msp_auto_extend", [None, False])[1]:
            summary += "; would renew automatically"
    elif action == "link.approved":
        given, withheld = c.get("ceiling", [[], []])[1], c.get("withheld", [])
        summary = f"gave {_count(given)} permissions"
        if withheld:
            summary += "; not given: " + ", ".join(map(str, withheld))
        summary += "; ends " + _when(c.get("expires_at", [None, None])[1])
        if c.get("customer_auto_extend", [None, False])[1]:
            summary += "; client agreed to renew automatically"
    elif action == "link.narrowed":
        summary = "took away: " + ", ".join(map(str, c.get("removed", [])))
    elif action in ("link.revoked", "link.declined"):
        summary = "by the MSP" if c.get("by") == "msp" else "by the client"
    elif action == "link.expired":
        summary = "at " + _when(c.get("expires_at"))
    elif action == "link.extended":
        summary = "now ends " + _when(c.get("expires_at", [None, None])[1])
    elif action == "link.created":
        summary = "the MSP created this client: every permission"
    who = event.actor_name
    if event.actor_home_tenant_name:
        who += f" ({event.actor_home_tenant_name})"
    return {
        "occurred_at": event.occurred_at,
        "label": ACTIONS.get(action, action),
        "who": who,
        "summary": summary,
    }


async def _history(
    service: LinkService, work: Work, view: LinkView | None, cursor: str | None
) -> dict[str, Any]:
    if view is None or not work.ctx.can("audit:read"):
        return {"events": None, "history_next": None}
    try:
        events, next_cursor = await service.history(
            work.ctx, view.link.id, cursor=cursor, limit=HISTORY_SIZE
        )
    except ValidationFailed:
        events, next_cursor = await service.history(
            work.ctx, view.link.id, cursor=None, limit=HISTORY_SIZE
        )
    return {"events": [describe(e) for e in events], "history_next": next_cursor}


# ================================================================ the MSP's side


async def _links_page(
    request: Request,
    work: Work,
    *,
    state: str,
    cursor: str | None,
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    service = LinkService(work.session)
    try:
        views, next_cursor = await service.list_links(
            work.ctx, state=state, cursor=cursor, limit=PAGE_SIZE
        )
    except ValidationFailed:
        # A stale or hand-edited cursor or tab: the first page of pending and active.
        state, cursor = "live", None
        views, next_cursor = await service.list_links(
            work.ctx, state=state, cursor=None, limit=PAGE_SIZE
        )
    form = form or {"ceiling": [], "duration_days": "", "customer": "", "auto_extend": False}
    return render(
        request,
        "links/msp_links.html",
        {
            "views": views,
            "state": state,
            "tabs": TABS,
            "cursor": cursor,
            "next_href": f"{LINKS}?{urlencode({'state': state, 'cursor': next_cursor})}"
            if next_cursor
            else None,
            "form": form,
            "chosen": set(form.get("ceiling", [])),
            "perms_open": any(item in ALL for item in form.get("ceiling", [])),
            "errors": errors or {},
            "roles": list(BUILTIN_ROLES.values()),
            "catalog": grouped(ALL),
            "can_request": work.ctx.can("links:manage"),
        },
        status=status,
    )


@router.get(LINKS, response_class=HTMLResponse)
async def msp_links(
    request: Request,
    work: Annotated[Work, Depends(in_home("customers:read"), scope="function")],
    state: Annotated[str, Query(max_length=16)] = "live",
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> HTMLResponse:
    _msp_only(work)
    return await _links_page(request, work, state=state, cursor=cursor)


@router.post(LINKS, response_model=None)
async def request_link(
    request: Request,
    work: Annotated[Work, Depends(in_home("links:manage"), scope="function")],
    customer: Annotated[str, Form(max_length=100)] = "",
    ceiling: Annotated[list[str], Form()] = [],  # noqa: B006 - FastAPI copies defaults
    duration_days: Annotated[str, Form(max_length=10)] = "",
    auto_extend: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    _msp_only(work)
    form = {
        "customer": customer,
        "ceiling": ceiling,
        "duration_days": duration_days,
        "auto_extend": bool(auto_extend),
    }
    try:
        days = _days(duration_days)
        view = await LinkService(work.session).request(
            work.ctx,
            customer=customer,
            ceiling=ceiling,
            duration_days=days,
            auto_extend=bool(auto_extend),
            actor=work.actor,
        )
    except TenantryError as exc:
        errors = _field_errors_or_raise(exc)
        await work.session.rollback()
        return await _links_page(
            request, work, state="live", cursor=None, form=form, errors=errors, status=exc.status
        )
    return redirect_with_notice(
        request,
        f"{LINKS}/{view.link.id}",
        f"Request sent to {view.customer.display_name}. Its admins see it on their "
        "“Your MSP” page; nothing is reachable until they approve.",
    )


def _days(value: str) -> int | None:
    value = value.strip()
    if not value:
        return None
    if not value.isdigit():
        raise ValidationFailed("duration_days", "must be a whole number of days, or left empty")
    return int(value)


async def _msp_link_page(
    request: Request,
    work: Work,
    link_id: uuid.UUID,
    *,
    history: str | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    service = LinkService(work.session)
    view = await service.get(work.ctx, link_id)
    if view.side != "msp":
        raise NotFound("No such link.")
    return render(
        request,
        "links/msp_link.html",
        {
            "view": view,
            "link": view.link,
            **_ceiling_words(view),
            **await _history(service, work, view, history),
            "errors": errors or {},
            "can_manage": work.ctx.can("links:manage"),
            "live": view.link.state in (LinkState.PENDING, LinkState.ACTIVE),
        },
        status=status,
    )


@router.get(LINKS + "/{link_id}", response_class=HTMLResponse)
async def msp_link(
    request: Request,
    link_id: uuid.UUID,
    work: Annotated[Work, Depends(in_home("customers:read"), scope="function")],
    history: Annotated[str | None, Query(max_length=200)] = None,
) -> HTMLResponse:
    _msp_only(work)
    return await _msp_link_page(request, work, link_id, history=history)


@router.post(LINKS + "/{link_id}/revoke", response_model=None)
async def msp_revoke(
    request: Request,
    link_id: uuid.UUID,
    work: Annotated[Work, Depends(in_home("links:manage"), scope="function")],
    confirm: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    _msp_only(work)
    service = LinkService(work.session)
    try:
        view = await service.get(work.ctx, link_id)
        pending = view.link.state == LinkState.PENDING
        _confirmed(
            confirm,
            "confirm",
            "Tick the box to confirm: "
            + ("the request is withdrawn." if pending else "your people lose access at once."),
        )
        view = await service.revoke(work.ctx, link_id, work.actor)
    except TenantryError as exc:
        errors = _field_errors_or_raise(exc)
        await work.session.rollback()
        return await _msp_link_page(request, work, link_id, errors=errors, status=exc.status)
    verb = "Request to" if pending else "Link with"
    done = "withdrawn" if pending else "ended: your people can no longer work in it"
    return redirect_with_notice(
        request, f"{LINKS}/{link_id}", f"{verb} {view.customer.display_name} {done}."
    )


# ================================================================ the customer's side


def _your_msp_url(slug: str) -> str:
    return f"/t/{slug}/msp"


async def _your_msp_page(
    request: Request,
    work: Work,
    *,
    link_id: uuid.UUID | None = None,
    history: str | None = None,
    past_cursor: str | None = None,
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    """The live link (or, with ``link_id``, one earlier link) as the customer sees it."""
    ctx = work.ctx
    if ctx.relation == "home" and ctx.tenant.is_msp:
        # An MSP is not managed by one; its own links are on the MSP page. A link id
        # here names nothing of this tenant's (any id, its own links' included): 404.
        if link_id is not None:
            raise NotFound("No such link.")
        return render(request, "links/your_msp.html", {"is_msp": True}, status=status)
    service = LinkService(work.session)
    past: list[LinkView] = []
    past_next = None
    if link_id is not None:
        current: LinkView | None = await service.get(ctx, link_id)
        if current is not None and current.side != "customer":
            raise NotFound("No such link.")
    else:
        live, _ = await service.list_links(ctx, state="live", cursor=None, limit=1)
        current = live[0] if live else None
        try:
            past, past_next = await service.list_links(
                ctx, state="ended", cursor=past_cursor, limit=20
            )
        except ValidationFailed:
            past, past_next = await service.list_links(ctx, state="ended", cursor=None, limit=20)
    own = ctx.relation == "home"
    decides = own and ctx.can("links:manage")
    link = current.link if current else None
    people = (
        await service.people_acting_for(current)
        if current is not None and link is not None and link.activated_at and ctx.can("audit:read")
        else []
    )
    form = form or {}
    if "ceiling" in form:
        chosen = set(form["ceiling"])  # what was ticked when the page came back with errors
    elif link is not None:
        chosen = set(link.requested_ceiling if link.state == LinkState.PENDING else link.ceiling)
    else:
        chosen = set()
    url = _your_msp_url(ctx.tenant.slug)
    return render(
        request,
        "links/your_msp.html",
        {
            "is_msp": False,
            "single": link_id is not None,
            "view": current,
            "link": link,
            **(_ceiling_words(current) if current else {}),
            **await _history(service, work, current, history),
            "here": f"{url}/{link_id}" if link_id else url,
            "past": past,
            "past_next": past_next,
            "people": people,
            "own": own,
            "decides": decides,
            "pending": link is not None and link.state == LinkState.PENDING,
            "active": link is not None and link.state == LinkState.ACTIVE,
            "form": form,
            "chosen": chosen,
            "errors": errors or {},
            "url": url,
        },
        status=status,
    )


@router.get("/t/{tenant}/msp", response_class=HTMLResponse)
async def your_msp(
    request: Request,
    work: Annotated[Work, Depends(in_tenant("tenant:read"), scope="function")],
    history: Annotated[str | None, Query(max_length=200)] = None,
    past: Annotated[str | None, Query(max_length=200)] = None,
) -> HTMLResponse:
    return await _your_msp_page(request, work, history=history, past_cursor=past)


@router.get("/t/{tenant}/msp/{link_id}", response_class=HTMLResponse)
async def your_msp_link(
    request: Request,
    link_id: uuid.UUID,
    work: Annotated[Work, Depends(in_tenant("tenant:read"), scope="function")],
    history: Annotated[str | None, Query(max_length=200)] = None,
) -> HTMLResponse:
    """One link of the tenant's, earlier ones included, with its history."""
    return await _your_msp_page(request, work, link_id=link_id, history=history)


async def _decide(
    request: Request,
    work: Work,
    form: dict[str, Any],
    act: Callable[[], Awaitable[LinkView]],
    notice: str,
) -> Response:
    """Run one of the customer's decisions; on bad input, the page again with the
    errors next to their fields and what was ticked still ticked."""
    try:
        view: LinkView = await act()
    except TenantryError as exc:
        errors = _field_errors_or_raise(exc)
        await work.session.rollback()
        return await _your_msp_page(request, work, form=form, errors=errors, status=exc.status)
    return redirect_with_notice(
        request, _your_msp_url(work.ctx.tenant.slug), notice.format(msp=view.msp.display_name)
    )


@router.post("/t/{tenant}/msp/{link_id}/approve", response_model=None)
async def approve(
    request: Request,
    link_id: uuid.UUID,
    work: Annotated[Work, Depends(in_tenant("links:manage"), scope="function")],
    ceiling: Annotated[list[str], Form()] = [],  # noqa: B006 - FastAPI copies defaults
    auto_extend: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    async def act() -> LinkView:
        # An empty list is a choice ("nothing"), refused by the rules: never "everything".
        return await LinkService(work.session).approve(
            work.ctx, link_id, ceiling=ceiling, auto_extend=bool(auto_extend), actor=work.actor
        )

    form = {"action": "approve", "ceiling": ceiling, "auto_extend": bool(auto_extend)}
    return await _decide(
        request,
        work,
        form,
        act,
        "You approved {msp}'s request: it can now work here within the permissions you gave.",
    )


@router.post("/t/{tenant}/msp/{link_id}/decline", response_model=None)
async def decline(
    request: Request,
    link_id: uuid.UUID,
    work: Annotated[Work, Depends(in_tenant("links:manage"), scope="function")],
    confirm: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    async def act() -> LinkView:
        _confirmed(confirm, "decline_confirm", "Tick the box to confirm that you decline.")
        return await LinkService(work.session).decline(work.ctx, link_id, work.actor)

    return await _decide(request, work, {"action": "decline"}, act, "You declined {msp}'s request.")


@router.post("/t/{tenant}/msp/{link_id}/narrow", response_model=None)
async def narrow(
    request: Request,
    link_id: uuid.UUID,
    work: Annotated[Work, Depends(in_tenant("links:manage"), scope="function")],
    ceiling: Annotated[list[str], Form()] = [],  # noqa: B006 - FastAPI copies defaults
) -> Response:
    async def act() -> LinkView:
        return await LinkService(work.session).narrow(
            work.ctx, link_id, ceiling=ceiling, actor=work.actor
        )

    form = {"action": "narrow", "ceiling": ceiling}
    return await _decide(
        request, work, form, act, "Saved: {msp} can do only what is ticked, from now on."
    )


@router.post("/t/{tenant}/msp/{link_id}/revoke", response_model=None)
async def revoke(
    request: Request,
    link_id: uuid.UUID,
    work: Annotated[Work, Depends(in_tenant("links:manage"), scope="function")],
    confirm: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    async def act() -> LinkView:
        _confirmed(confirm, "revoke_confirm", "Tick the box to confirm that you end the link.")
        return await LinkService(work.session).revoke(work.ctx, link_id, work.actor)

    return await _decide(
        request,
        work,
        {"action": "revoke"},
        act,
        "Link ended: {msp}'s people can no longer work here.",
    )
