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
from tenantry.links.block_schemas import (
    BlockOut,
    BlocksOut,
    LinkAccessOut,
    LinkDetailOut,
    acting_out,
    block_out,
)
from tenantry.links.schemas import (
    BlockIn,
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


@router.get("/{link_id}", response_model=LinkDetailOut)
async def get_link(
    link_id: uuid.UUID,
    work: auth.LinksRead,
) -> LinkDetailOut:
    """One link, with the customer's blocks of the MSP's people; a pending request also
    lists who would gain access on approval (and who had it under an earlier link)."""
    service = LinkService(work.session)
    view, blocks = await service.blocks(work.ctx, link_id)
    msp = view.msp.display_name
    would_gain = None
    if view.link.state.value == "pending":
        _, rows = await service.who_can_act(work.ctx, link_id)
        would_gain = [
            acting_out(
                r,
                side=view.side,
                msp_name=msp,
                link_expires_at=None,
                customer_slug=view.customer.slug,
            )
            for r in rows
        ]
    return LinkDetailOut(
        **link_out(view).model_dump(),
        blocks=[block_out(b, view.side, msp) for b in blocks],
        would_gain=would_gain,
    )


@router.get("/{link_id}/access", response_model=LinkAccessOut)
async def link_access(
    link_id: uuid.UUID,
    work: auth.LinksRead,
) -> LinkAccessOut:
    """Who of the MSP can act in the customer now: each technician and user group, with
    role(s), the kind of grant, until when, and whether the customer blocked them (for a
    pending request: who would, on approval)."""
    service = LinkService(work.session)
    view, rows = await service.who_can_act(work.ctx, link_id)
    _, blocks = await service.blocks(work.ctx, link_id)
    msp = view.msp.display_name
    return LinkAccessOut(
        link_id=view.link.id,
        state=view.link.state.value,
        items=[
            acting_out(
                r,
                side=view.side,
                msp_name=msp,
                link_expires_at=view.link.expires_at,
                customer_slug=view.customer.slug,
            )
            for r in rows
        ],
        blocks=[block_out(b, view.side, msp) for b in blocks],
    )


@router.get("/{link_id}/blocks", response_model=BlocksOut)
async def list_blocks(
    link_id: uuid.UUID,
    work: auth.LinksRead,
) -> BlocksOut:
    """The customer's blocks of this link's MSP's people, oldest first (a handful)."""
    view, blocks = await LinkService(work.session).blocks(work.ctx, link_id)
    return BlocksOut(items=[block_out(b, view.side, view.msp.display_name) for b in blocks])


@router.post("/{link_id}/blocks", response_model=BlockOut, status_code=status.HTTP_201_CREATED)
async def block(
    link_id: uuid.UUID,
    body: BlockIn,
    work: auth.LinksManage,
) -> BlockOut:
    """The customer's own admins stop one technician ({user_id}) or one user group
    ({user_group_id}) of their MSP from acting here, from the next request on, without
    narrowing the link. It stays until they lift it, after the link's end too."""
    service = LinkService(work.session)
    found = await service.block(work.ctx, link_id, body, actor=work.actor)
    view = await service.get(work.ctx, link_id)
    return block_out(found, view.side, view.msp.display_name)


@router.delete("/{link_id}/blocks/{block_id}", response_model=BlockOut)
async def unblock(
    link_id: uuid.UUID,
    block_id: uuid.UUID,
    work: auth.LinksManage,
) -> BlockOut:
    """Lift a block: the person or group's grants count here again."""
    service = LinkService(work.session)
    found = await service.unblock(work.ctx, link_id, block_id, actor=work.actor)
    view = await service.get(work.ctx, link_id)
    return block_out(found, view.side, view.msp.display_name)


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
    """The customer's own admins consent, possibly giving less than was asked and
    blocking some of the MSP's people in the same change (``block``)."""
    view = await LinkService(work.session).approve(
        work.ctx,
        link_id,
        ceiling=body.ceiling,
        auto_extend=body.auto_extend,
        block=body.block,
        actor=work.actor,
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
