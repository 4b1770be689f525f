"""Links API (``/api/v1/tenants/{tenant}/links``): the MSP asks, the customer decides.

The tenant in the path says which end the caller stands at: an MSP's own tenant for
its requests, a customer's own tenant for its decisions. Reading needs ``tenant:read``
(a customer's people may always know who manages it); the service narrows what each
caller sees. Changing needs ``links:manage``; who may change what is the service's.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query, status

from tenantry.http.params import Limit
from tenantry.kit.pagination import Page
from tenantry.links import auth
from tenantry.links.schemas import (
    LinkApproveIn,
    LinkEventOut,
    LinkNarrowIn,
    LinkOut,
    LinkRequestIn,
    link_out,
)
from tenantry.links.service import LinkService

router = APIRouter(prefix="/api/v1/tenants/{tenant}/links", tags=["links"])

StateFilter = Literal["pending", "active", "live", "ended", "revoked", "expired"]


@router.get("", response_model=Page[LinkOut])
async def list_links(
    work: auth.LinksRead,
    state: Annotated[StateFilter | None, Query(description="Only links in this state")] = None,
    limit: Limit = 50,
    cursor: Annotated[str | None, Query()] = None,
) -> Page[LinkOut]:
    """The tenant's links, newest first: as an MSP, its requests and clients; as a
    customer, the MSPs that asked to manage it or do."""
    views, next_cursor = await LinkService(work.session).list_links(
        work.ctx, state=state, cursor=cursor, limit=limit
    )
    return Page[LinkOut](items=[link_out(v) for v in views], next_cursor=next_cursor)


@router.post("", response_model=LinkOut, status_code=status.HTTP_201_CREATED)
async def request_link(
    body: LinkRequestIn,
    work: auth.LinksManage,
) -> LinkOut:
    """Ask to manage an existing tenant, by slug: a pending link for its admins to
    approve. The ceiling is ``ceiling`` (permissions or role keys) or a ``template``.
    Refused for the MSP itself, another MSP, or a tenant already linked."""
    view = await LinkService(work.session).request(
        work.ctx,
        customer=body.customer,
        ceiling=body.ceiling,
        template=body.template,
        duration_days=body.duration_days,
        auto_extend=body.auto_extend,
        actor=work.actor,
    )
    return link_out(view)


@router.get("/{link_id}", response_model=LinkOut)
async def get_link(
    link_id: uuid.UUID,
    work: auth.LinksRead,
) -> LinkOut:
    return link_out(await LinkService(work.session).get(work.ctx, link_id))


@router.get("/{link_id}/history", response_model=Page[LinkEventOut])
async def link_history(
    link_id: uuid.UUID,
    work: auth.HistoryRead,
    limit: Limit = 50,
    cursor: Annotated[str | None, Query()] = None,
) -> Page[LinkEventOut]:
    """Every change of the link, oldest first, from this tenant's own audit trail."""
    events, next_cursor = await LinkService(work.session).history(
        work.ctx, link_id, cursor=cursor, limit=limit
    )
    return Page[LinkEventOut](
        items=[LinkEventOut.model_validate(e) for e in events], next_cursor=next_cursor
    )


@router.post("/{link_id}/approve", response_model=LinkOut)
async def approve_link(
    link_id: uuid.UUID,
    body: LinkApproveIn,
    work: auth.LinksManage,
) -> LinkOut:
    """The customer's own admins consent, possibly giving less than was asked."""
    view = await LinkService(work.session).approve(
        work.ctx, link_id, ceiling=body.ceiling, auto_extend=body.auto_extend, actor=work.actor
    )
    return link_out(view)


@router.post("/{link_id}/decline", response_model=LinkOut)
async def decline_link(
    link_id: uuid.UUID,
    work: auth.LinksManage,
) -> LinkOut:
    return link_out(await LinkService(work.session).decline(work.ctx, link_id, actor=work.actor))


@router.post("/{link_id}/narrow", response_model=LinkOut)
async def narrow_link(
    link_id: uuid.UUID,
    body: LinkNarrowIn,
    work: auth.LinksManage,
) -> LinkOut:
    """Give the MSP less, from its next request on. Never more."""
    view = await LinkService(work.session).narrow(
        work.ctx, link_id, ceiling=body.ceiling, actor=work.actor
    )
    return link_out(view)


@router.post("/{link_id}/revoke", response_model=LinkOut)
async def revoke_link(
    link_id: uuid.UUID,
    work: auth.LinksManage,
) -> LinkOut:
    """End the link from either side; the MSP's access stops on its next request."""
    return link_out(await LinkService(work.session).revoke(work.ctx, link_id, actor=work.actor))
