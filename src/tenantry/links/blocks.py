"""A customer's blocks of its MSP's people, and who can act in it now (issue #14).

Blocking is the customer's decision, like consent: only its own people with
``links:manage`` block or unblock (the MSP's technicians acting in it get 403 naming
``links:manage``), and only the users and user groups of its current (or last) MSP. A
block outlives the link's end: it is about a person, and stays until the customer lifts
it. Each change is recorded in both trails (the customer's copy names a group only as
"a group of <MSP>'s technicians", DESIGN.md rule 6) and takes effect on the next request:
the access decision reads the blocks with the link."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from tenantry.access import acting, blocks
from tenantry.access.acting import Acting
from tenantry.access.blocks import BlockShown, BlockTarget
from tenantry.access.context import TenantContext
from tenantry.audit.changes import Changes, removed, set_to
from tenantry.audit.schemas import Actor, AuditAction
from tenantry.db.base import utcnow
from tenantry.errors import Conflict, NotFound
from tenantry.links.block_schemas import MAX_BLOCKS_AT_APPROVAL, BlockIn, group_label
from tenantry.links.schemas import LinkView
from tenantry.links.views import LinkReads
from tenantry.notifications.service import LinkEvent, notify_link_event
from tenantry.tenancy.models import LinkState, TenantLink
from tenantry.tenancy.tenant_links import ENDED


class LinkBlocks(LinkReads):
    # ------------------------------------------------------------ reading

    async def blocks(
        self, ctx: TenantContext, link_id: uuid.UUID
    ) -> tuple[LinkView, list[BlockShown]]:
        """The customer's blocks of this link's MSP's people; either end may read them."""
        view = await self._view(ctx, link_id)
        return view, await blocks.blocks_of_customer(self.session, view.customer.id, view.msp.id)

    async def who_can_act(
        self, ctx: TenantContext, link_id: uuid.UUID, now: datetime | None = None
    ) -> tuple[LinkView, list[Acting]]:
        """Each technician and user group of the MSP that can act in the customer now
        (an active link, within its ceiling), or, for a pending request, would when it
        is approved (within what was asked), marking who could act under the earlier
        link with the same MSP. Ended links: nobody."""
        view = await self._view(ctx, link_id)
        link = view.link
        now = now or utcnow()
        if link.state == LinkState.ACTIVE and (link.expires_at is None or link.expires_at > now):
            ceiling: Sequence[str] = link.ceiling
        elif link.state == LinkState.PENDING:
            ceiling = link.requested_ceiling
        else:
            return view, []
        earlier = await self._earlier(view) if link.state == LinkState.PENDING else None
        rows = await acting.who_can_act(
            self.session, view.customer, view.msp, ceiling, now, earlier=earlier
        )
        return view, rows

    async def _earlier(self, view: LinkView) -> TenantLink | None:
        """The latest approved link between the same two tenants that has ended."""
        rows = await self.links.page(
            msp_id=view.msp.id, customer_id=view.customer.id, states=ENDED, limit=20
        )
        return next((link for link, _, _ in rows if link.activated_at is not None), None)

    # ------------------------------------------------------------ the customer decides

    async def block(
        self, ctx: TenantContext, link_id: uuid.UUID, body: BlockIn, *, actor: Actor
    ) -> BlockShown:
        view = await self._for_customer_decision(ctx, link_id, "block people of")
        await self._check_current_msp(view)
        return await self._block(view, ctx, body, actor)

    async def unblock(
        self, ctx: TenantContext, link_id: uuid.UUID, block_id: uuid.UUID, *, actor: Actor
    ) -> BlockShown:
        view = await self._for_customer_decision(ctx, link_id, "unblock people of")
        found = await blocks.block_in(self.session, view.customer.id, block_id)
        if found is None or found.msp_tenant_id != view.msp.id:
            raise NotFound("No such block.")
        [named] = await blocks.shown(self.session, [found])
        await blocks.remove_block(self.session, found)
        await self._record_block(view, actor, AuditAction.LINK_UNBLOCKED, named)
        await self.blocks_changed(view, named, actor, LinkEvent.UNBLOCKED)
        return named

    async def _block(
        self, view: LinkView, ctx: TenantContext, body: BlockIn, actor: Actor
    ) -> BlockShown:
        target = await blocks.target_of(
            self.session, view.msp.id, user_id=body.user_id, user_group_id=body.user_group_id
        )
        return await self._block_target(view, ctx, target, actor)

    async def _block_target(
        self, view: LinkView, ctx: TenantContext, target: BlockTarget, actor: Actor
    ) -> BlockShown:
        made = await blocks.add_block(
            self.session,
            customer_id=view.customer.id,
            msp_id=view.msp.id,
            target=target,
            by=ctx.principal.user_id,
        )
        [named] = await blocks.shown(self.session, [made])
        await self._record_block(view, actor, AuditAction.LINK_BLOCKED, named)
        await self.blocks_changed(view, named, actor, LinkEvent.BLOCKED)
        return named

    async def _block_at_approval(
        self, view: LinkView, ctx: TenantContext, items: Sequence[BlockIn], actor: Actor
    ) -> None:
        """Approving while blocking some: each block made and recorded in the approval's
        own unit of work, so a bad id refuses the approval as a whole."""
        if len(items) > MAX_BLOCKS_AT_APPROVAL:
            raise Conflict(
                f"At most {MAX_BLOCKS_AT_APPROVAL} blocks at once.",
                errors=[{"field": "block", "message": "has too many items"}],
            )
        seen: set[tuple[uuid.UUID | None, uuid.UUID | None]] = set()
        for item in items:
            key = (item.user_id, item.user_group_id)
            if key in seen:
                continue
            seen.add(key)
            target = await blocks.target_of(
                self.session, view.msp.id, user_id=item.user_id, user_group_id=item.user_group_id
            )
            # Blocked already (under the earlier link, say): nothing to add.
            if await blocks.existing(self.session, view.customer.id, target) is None:
                await self._block_target(view, ctx, target, actor)

    async def _check_current_msp(self, view: LinkView) -> None:
        """Only the people of the customer's current (or last) MSP can be blocked."""
        newest = await self.links.page(customer_id=view.customer.id, limit=1)
        if not newest or newest[0][0].msp_tenant_id != view.msp.id:
            raise Conflict(
                f"{view.msp.display_name} no longer manages {view.customer.display_name}: "
                "only the people of your current or last MSP can be blocked."
            )

    # ------------------------------------------------------------ the record

    async def _record_block(
        self, view: LinkView, actor: Actor, action: AuditAction, named: BlockShown
    ) -> None:
        """One event in each trail, about the link; the customer's copy names a group
        only as a group of the MSP's technicians (rule 6)."""
        block = named.block
        whom = "user_id" if block.user_id else "user_group_id"

        def facts(name: str) -> Changes:
            said = {"block_id": str(block.id), whom: str(block.user_id or block.user_group_id)}
            said["blocked"] = name
            return set_to(**said) if action == AuditAction.LINK_BLOCKED else removed(**said)

        shown = group_label(view.msp.display_name) if named.group is not None else named.name
        await self._record(view, actor, action, facts(named.name), customer_changes=facts(shown))

    async def blocks_changed(
        self, view: LinkView, named: BlockShown, actor: Actor, event: LinkEvent
    ) -> None:
        """After a block or an unblock is recorded: the MSP's admins are told, by the
        person's or the group's own name (theirs to know)."""
        await notify_link_event(
            self.session,
            event=event,
            link_id=view.link.id,
            msp=view.msp,
            customer=view.customer,
            by="customer",
            actor_name=actor.name,
            who=named.name,
        )
