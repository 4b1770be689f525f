"""The MSP's side: its links to its clients (``/msp/links``), the form that asks to
manage an existing tenant, one link's page and ending it."""

from __future__ import annotations

import uuid
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response

from tenantry.access.permissions import CEILING_TEMPLATES, CLIENT_MEANINGFUL
from tenantry.errors import NotFound, TenantryError, ValidationFailed
from tenantry.http.deps import Work
from tenantry.links import auth
from tenantry.links.block_schemas import block_out
from tenantry.links.pages.common import (
    LINKS,
    PAGE_SIZE,
    TABS,
    ceiling_words,
    confirmed,
    field_errors_or_raise,
    history_context,
    msp_only,
)
from tenantry.links.schemas import grouped
from tenantry.links.service import LinkService
from tenantry.tenancy.models import LinkState
from tenantry.web.render import redirect_with_notice, render

router = APIRouter(include_in_schema=False)


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
    form = form or {
        "ceiling": [],
        "template": "helpdesk",
        "duration_days": "",
        "customer": "",
        "auto_extend": False,
    }
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
            "perms_open": any(item in CLIENT_MEANINGFUL for item in form.get("ceiling", [])),
            "errors": errors or {},
            "templates": list(CEILING_TEMPLATES.values()),
            # Only what means something inside a client can be asked for (rule 10).
            "catalog": grouped(CLIENT_MEANINGFUL),
            "can_request": work.ctx.can("links:manage"),
        },
        status=status,
    )


@router.get(LINKS, response_class=HTMLResponse)
async def msp_links(
    request: Request,
    work: auth.MspLinksRead,
    state: Annotated[str, Query(max_length=16)] = "live",
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> HTMLResponse:
    msp_only(work)
    return await _links_page(request, work, state=state, cursor=cursor)


@router.post(LINKS, response_model=None)
async def request_link(
    request: Request,
    work: auth.MspLinksManage,
    customer: Annotated[str, Form(max_length=100)] = "",
    ceiling: Annotated[list[str], Form()] = [],  # noqa: B006 - FastAPI copies defaults
    template: Annotated[str, Form(max_length=64)] = "",
    duration_days: Annotated[str, Form(max_length=10)] = "",
    auto_extend: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    msp_only(work)
    form = {
        "customer": customer,
        "ceiling": ceiling,
        "template": template,
        "duration_days": duration_days,
        "auto_extend": bool(auto_extend),
    }
    # The form asks for the template plus whatever is ticked below it; the API's rule
    # (explicit permissions win) is for callers that send one or the other.
    chosen = CEILING_TEMPLATES.get(template)
    asked = [*ceiling, *(sorted(chosen.permissions) if chosen else ())]
    try:
        days = _days(duration_days)
        view = await LinkService(work.session).request(
            work.ctx,
            customer=customer,
            ceiling=asked,
            template=template if template and chosen is None else None,
            duration_days=days,
            auto_extend=bool(auto_extend),
            actor=work.actor,
        )
    except TenantryError as exc:
        errors = field_errors_or_raise(exc)
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
    view, blocks = await service.blocks(work.ctx, link_id)
    if view.side != "msp":
        raise NotFound("No such link.")
    return render(
        request,
        "links/msp_link.html",
        {
            "view": view,
            "link": view.link,
            **ceiling_words(view),
            **await history_context(service, work, view, history),
            "errors": errors or {},
            # The client's blocks of this MSP's people, named as the MSP knows them.
            "blocks": [block_out(b, "msp", view.msp.display_name) for b in blocks],
            "can_manage": work.ctx.can("links:manage"),
            "live": view.link.state in (LinkState.PENDING, LinkState.ACTIVE),
        },
        status=status,
    )


@router.get(LINKS + "/{link_id}", response_class=HTMLResponse)
async def msp_link(
    request: Request,
    link_id: uuid.UUID,
    work: auth.MspLinksRead,
    history: Annotated[str | None, Query(max_length=200)] = None,
) -> HTMLResponse:
    msp_only(work)
    return await _msp_link_page(request, work, link_id, history=history)


@router.post(LINKS + "/{link_id}/revoke", response_model=None)
async def msp_revoke(
    request: Request,
    link_id: uuid.UUID,
    work: auth.MspLinksManage,
    confirm: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    msp_only(work)
    service = LinkService(work.session)
    try:
        view = await service.get(work.ctx, link_id)
        pending = view.link.state == LinkState.PENDING
        confirmed(
            confirm,
            "confirm",
            "Tick the box to confirm: "
            + ("the request is withdrawn." if pending else "your people lose access at once."),
        )
        view = await service.revoke(work.ctx, link_id, actor=work.actor)
    except TenantryError as exc:
        errors = field_errors_or_raise(exc)
        await work.session.rollback()
        return await _msp_link_page(request, work, link_id, errors=errors, status=exc.status)
    verb = "Request to" if pending else "Link with"
    done = "withdrawn" if pending else "ended: your people can no longer work in it"
    return redirect_with_notice(
        request, f"{LINKS}/{link_id}", f"{verb} {view.customer.display_name} {done}."
    )


# ================================================================ the customer's side
