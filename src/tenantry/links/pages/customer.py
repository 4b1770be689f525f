"""The customer's side: "Your MSP" (``/t/<slug>/msp``), where its own people approve,
narrow, decline or revoke."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response

from tenantry.errors import NotFound, TenantryError, ValidationFailed
from tenantry.http.deps import Work
from tenantry.links import auth
from tenantry.links.block_schemas import ActingOut, BlockOut, acting_out, block_out
from tenantry.links.pages.common import (
    ceiling_words,
    confirmed,
    field_errors_or_raise,
    history_context,
)
from tenantry.links.schemas import BlockIn, LinkView
from tenantry.links.service import LinkService
from tenantry.tenancy.models import LinkState
from tenantry.web.render import redirect_with_notice, render

router = APIRouter(include_in_schema=False)


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
    acting: list[ActingOut] = []
    blocks: list[BlockOut] = []
    if current is not None and link is not None:
        msp = current.msp.display_name
        _, rows = await service.who_can_act(ctx, link.id)
        acting = [
            acting_out(
                r,
                side="customer",
                msp_name=msp,
                link_expires_at=link.expires_at,
                customer_slug=ctx.tenant.slug,
            )
            for r in rows
        ]
        blocks = [block_out(b, "customer", msp) for b in (await service.blocks(ctx, link.id))[1]]
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
            **(ceiling_words(current) if current else {}),
            **await history_context(service, work, current, history),
            "here": f"{url}/{link_id}" if link_id else url,
            "past": past,
            "past_next": past_next,
            "people": people,
            "acting": acting,
            "blocks": blocks,
            # Blocks of people or groups no grant brings here now (still listed to lift).
            "other_blocks": [
                b for b in blocks if (b.user_id or b.user_group_id) not in {a.id for a in acting}
            ],
            "blocking": set(form.get("block", [])),
            "sees_trail": ctx.can("audit:read"),
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
    work: auth.LinksRead,
    history: Annotated[str | None, Query(max_length=200)] = None,
    past: Annotated[str | None, Query(max_length=200)] = None,
) -> HTMLResponse:
    return await _your_msp_page(request, work, history=history, past_cursor=past)


@router.get("/t/{tenant}/msp/{link_id}", response_class=HTMLResponse)
async def your_msp_link(
    request: Request,
    link_id: uuid.UUID,
    work: auth.LinksRead,
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
        errors = field_errors_or_raise(exc)
        await work.session.rollback()
        return await _your_msp_page(request, work, form=form, errors=errors, status=exc.status)
    return redirect_with_notice(
        request, _your_msp_url(work.ctx.tenant.slug), notice.format(msp=view.msp.display_name)
    )


@router.post("/t/{tenant}/msp/{link_id}/approve", response_model=None)
async def approve(
    request: Request,
    link_id: uuid.UUID,
    work: auth.LinksManage,
    ceiling: Annotated[list[str], Form()] = [],  # noqa: B006 - FastAPI copies defaults
    auto_extend: Annotated[str, Form(max_length=10)] = "",
    block: Annotated[list[str], Form()] = [],  # noqa: B006 - FastAPI copies defaults
) -> Response:
    async def act() -> LinkView:
        service = LinkService(work.session)
        # Another tenant's link is a 404 before anything in the form is read.
        await service.get(work.ctx, link_id)
        # An empty list is a choice ("nothing"), refused by the rules: never "everything".
        return await service.approve(
            work.ctx,
            link_id,
            ceiling=ceiling,
            auto_extend=bool(auto_extend),
            block=[_block_choice(b, "block") for b in block],
            actor=work.actor,
        )

    form = {
        "action": "approve",
        "ceiling": ceiling,
        "auto_extend": bool(auto_extend),
        "block": block,
    }
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
    work: auth.LinksManage,
    confirm: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    async def act() -> LinkView:
        confirmed(confirm, "decline_confirm", "Tick the box to confirm that you decline.")
        return await LinkService(work.session).decline(work.ctx, link_id, actor=work.actor)

    return await _decide(request, work, {"action": "decline"}, act, "You declined {msp}'s request.")


@router.post("/t/{tenant}/msp/{link_id}/narrow", response_model=None)
async def narrow(
    request: Request,
    link_id: uuid.UUID,
    work: auth.LinksManage,
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
    work: auth.LinksManage,
    confirm: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    async def act() -> LinkView:
        confirmed(confirm, "revoke_confirm", "Tick the box to confirm that you end the link.")
        return await LinkService(work.session).revoke(work.ctx, link_id, actor=work.actor)

    return await _decide(
        request,
        work,
        {"action": "revoke"},
        act,
        "Link ended: {msp}'s people can no longer work here.",
    )


def _block_choice(value: str, field: str) -> BlockIn:
    """A row of "who can act" or "who would gain access": ``user:<id>`` or ``group:<id>``."""
    kind, _, raw = value.partition(":")
    try:
        ref = uuid.UUID(raw)
    except ValueError:
        raise ValidationFailed(field, "is not a person or group of this list") from None
    if kind == "user":
        return BlockIn(user_id=ref)
    if kind == "group":
        return BlockIn(user_group_id=ref)
    raise ValidationFailed(field, "is not a person or group of this list")


@router.post("/t/{tenant}/msp/{link_id}/blocks", response_model=None)
async def block(
    request: Request,
    link_id: uuid.UUID,
    work: auth.LinksManage,
    who: Annotated[str, Form(max_length=60)] = "",
) -> Response:
    """Block one row of "who can act now": the person or group stops at their next click."""

    async def act() -> LinkView:
        service = LinkService(work.session)
        # Another tenant's link is a 404 before the choice is read.
        view = await service.get(work.ctx, link_id)
        await service.block(work.ctx, link_id, _block_choice(who, "who"), actor=work.actor)
        return view

    return await _decide(
        request,
        work,
        {"action": "block"},
        act,
        "Blocked: they can no longer work here, until you unblock them. The rest of {msp}'s "
        "people keep their access.",
    )


@router.post("/t/{tenant}/msp/{link_id}/blocks/{block_id}/delete", response_model=None)
async def unblock(
    request: Request,
    link_id: uuid.UUID,
    block_id: uuid.UUID,
    work: auth.LinksManage,
) -> Response:
    async def act() -> LinkView:
        service = LinkService(work.session)
        await service.unblock(work.ctx, link_id, block_id, actor=work.actor)
        return await service.get(work.ctx, link_id)

    return await _decide(
        request,
        work,
        {"action": "unblock"},
        act,
        "Unblocked: their grants from {msp} count here again.",
    )
