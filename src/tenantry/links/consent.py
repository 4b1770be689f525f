"""The customer's consent, and a link's end: approving (possibly giving less), declining,
narrowing, revoking from either side, and expiry or renewal when it is due."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from tenantry.access.context import TenantContext
from tenantry.audit.changes import changed, of_pairs, set_to
from tenantry.audit.schemas import Actor, AuditAction
from tenantry.dashboard import rebuild as dashboard
from tenantry.errors import Conflict, PermissionDenied, ValidationFailed
from tenantry.links.block_schemas import BlockIn
from tenantry.links.blocks import LinkBlocks
from tenantry.links.schemas import LinkView, expand_ceiling
from tenantry.notifications.service import LinkEvent
from tenantry.tenancy.models import LinkState
from tenantry.tenancy.tenant_links import LIVE


class LinkConsent(LinkBlocks):
    # ------------------------------------------------------------ the customer decides

    async def approve(
        self,
        ctx: TenantContext,
        link_id: uuid.UUID,
        *,
        ceiling: list[str] | None,
        auto_extend: bool,
        actor: Actor,
        block: Sequence[BlockIn] = (),
    ) -> LinkView:
        """Consent, possibly giving less than was asked, and possibly blocking some of the
        MSP's people at once (the approval screen lists who would gain access, and who
        had it under an earlier link: nobody regains access unseen)."""
        view = await self._for_customer_decision(ctx, link_id, "approve")
        link = view.link
        _expect(view, (LinkState.PENDING,), "approved")
        if not view.msp.is_msp:
            raise Conflict(
                f"{view.msp.display_name} is no longer licensed as an MSP; decline the request."
            )
        asked = sorted(link.requested_ceiling)
        granted = asked if ceiling is None else expand_ceiling(ceiling)
        not_asked = sorted(set(granted) - set(asked))
        if not_asked:
            raise ValidationFailed(
                "ceiling",
                f"can only give what {view.msp.display_name} asked for, or less; not asked: "
                + ", ".join(not_asked),
            )
        await self.links.activate(
            link,
            ceiling=granted,
            customer_auto_extend=auto_extend,
            decided_by=ctx.principal.user_id,
        )
        # The MSP's dashboard row of this client starts from what the client holds now.
        await dashboard.row_of(self.session, view.msp.id, view.customer.id)
        await self._record(
            view,
            actor,
            AuditAction.LINK_APPROVED,
            of_pairs(
                [
                    ("state", LinkState.PENDING.value, LinkState.ACTIVE.value),
                    ("ceiling", [], granted),
                    ("expires_at", None, link.expires_at),
                    ("customer_auto_extend", False, auto_extend),
                ]
            )
            | set_to(withheld=sorted(set(asked) - set(granted))),
        )
        await self._notify(
            view, actor, LinkEvent.APPROVED, permissions=sorted(set(asked) - set(granted))
        )
        await self._block_at_approval(view, ctx, block, actor)
        return view

    async def decline(self, ctx: TenantContext, link_id: uuid.UUID, *, actor: Actor) -> LinkView:
        view = await self._for_customer_decision(ctx, link_id, "decline")
        _expect(view, (LinkState.PENDING,), "declined")
        await self._end(view, ctx, actor, AuditAction.LINK_DECLINED)
        return view

    async def narrow(
        self, ctx: TenantContext, link_id: uuid.UUID, *, ceiling: list[str], actor: Actor
    ) -> LinkView:
        """Give the MSP less, at once. Never more: widening needs a new request from the
        MSP and the customer's consent to it."""
        view = await self._for_customer_decision(ctx, link_id, "narrow")
        link = view.link
        if link.state == LinkState.PENDING:
            raise Conflict(
                "The request is still pending: approve it with a narrower ceiling, or decline it."
            )
        _expect(view, (LinkState.ACTIVE,), "narrowed")
        before = sorted(link.ceiling)
        after = expand_ceiling(ceiling)
        wider = sorted(set(after) - set(before))
        if wider:
            raise ValidationFailed(
                "ceiling",
                "can only be narrowed; not in the current ceiling: "
                + ", ".join(wider)
                + f". To give more, {view.msp.display_name} sends a new request for you "
                "to approve",
            )
        if after == before:
            return view
        await self.links.narrow(link, ceiling=after, decided_by=ctx.principal.user_id)
        await self._record(
            view,
            actor,
            AuditAction.LINK_NARROWED,
            changed("ceiling", before, after) | set_to(removed=sorted(set(before) - set(after))),
        )
        await self._notify(
            view, actor, LinkEvent.NARROWED, permissions=sorted(set(before) - set(after))
        )
        return view

    # ------------------------------------------------------------ ending

    async def revoke(self, ctx: TenantContext, link_id: uuid.UUID, *, actor: Actor) -> LinkView:
        """End a live link from either side: the customer's own people, or the MSP's
        (which also withdraws a request still pending). Technicians acting in the
        customer end it from their MSP, where the decision is on record as the MSP's."""
        view = await self._view(ctx, link_id, for_update=True)
        if view.side == "customer":
            if ctx.relation != "home":
                raise PermissionDenied(
                    f"Only {view.customer.display_name}'s own people can revoke this link "
                    f"here; {view.msp.display_name} ends it from its own side (Client links).",
                    permission="links:manage",
                    reason="not-own-user",
                )
            if view.link.state == LinkState.PENDING:
                # Refusing a request is declining it, whatever the button said.
                return await self.decline(ctx, link_id, actor=actor)
        _expect(view, LIVE, "revoked")
        await self._end(view, ctx, actor, AuditAction.LINK_REVOKED)
        return view

    async def _end(
        self, view: LinkView, ctx: TenantContext, actor: Actor, action: AuditAction
    ) -> None:
        link = view.link
        before_state, before_ceiling = link.state.value, sorted(link.ceiling)
        await self.links.end(
            link,
            decided_by=ctx.principal.user_id if view.side == "customer" else None,
            ended_by=ctx.principal.user_id,
        )
        await self._record(
            view,
            actor,
            action,
            # The row keeps what was consented (history); what the MSP may do is none.
            of_pairs(
                [
                    ("state", before_state, LinkState.REVOKED.value),
                    ("ceiling", before_ceiling, []),
                ]
            )
            | set_to(by=view.side),
        )
        if action == AuditAction.LINK_DECLINED:
            event = LinkEvent.DECLINED
        elif before_state == LinkState.PENDING.value:
            event = LinkEvent.WITHDRAWN  # the MSP took its request back
        else:
            event = LinkEvent.REVOKED
        await self._notify(view, actor, event)

    # ------------------------------------------------------------ expiry

    async def settle(
        self, link_id: uuid.UUID, now: datetime, ahead: timedelta, *, actor: Actor
    ) -> str | None:
        """Expire or renew one due link; None when there is nothing (left) to do.

        Renewing: when both sides agreed, by whole periods until the link runs past
        ``now + ahead``. Expiring: once ``expires_at`` has passed (the access decision
        already refuses from that instant; this records it and frees the customer for
        another MSP).
        """
        found = await self.links.with_parties(link_id, for_update=True)
        if found is None:
            return None
        link, msp, customer = found
        horizon = now + ahead
        # Re-checked under the lock: another process's sweep may have settled it.
        if link.state != LinkState.ACTIVE or link.expires_at is None or link.expires_at > horizon:
            return None
        view = LinkView(link, msp, customer, "msp")
        old = link.expires_at
        if view.auto_extends and link.duration_days:
            period = timedelta(days=link.duration_days)
            periods = (horizon - old) // period + 1
            await self.links.extend(link, old + periods * period)
            await self._record(
                view,
                actor,
                AuditAction.LINK_EXTENDED,
                changed("expires_at", old, link.expires_at) | set_to(periods=periods),
            )
            await self._notify(view, actor, LinkEvent.EXTENDED)
            return "extended"
        if old > now:
            return None  # in the look-ahead window only; it lapses at its time
        await self.links.expire(link)
        await self._record(
            view,
            actor,
            AuditAction.LINK_EXPIRED,
            of_pairs(
                [
                    ("state", LinkState.ACTIVE.value, LinkState.EXPIRED.value),
                    ("ceiling", sorted(link.ceiling), []),
                ]
            )
            | set_to(expires_at=old),
        )
        await self._notify(view, actor, LinkEvent.EXPIRED)
        return "expired"

    async def warn_of_expiry(
        self, link_id: uuid.UUID, now: datetime, *, actor: Actor
    ) -> LinkEvent | None:
        """Tell both sides' admins that a link which will not renew ends within 14 days,
        then again within 3; once per link, notice and period (the period's end is in
        the key, so a renewed or re-approved link is told again)."""
        found = await self.links.with_parties(link_id)
        if found is None:
            return None
        link, msp, customer = found
        view = LinkView(link, msp, customer, "msp")
        ends = link.expires_at
        if link.state != LinkState.ACTIVE or ends is None or ends <= now or view.auto_extends:
            return None
        if ends - now <= EXPIRY_NOTICES[LinkEvent.EXPIRING_3]:
            event = LinkEvent.EXPIRING_3
        elif ends - now <= EXPIRY_NOTICES[LinkEvent.EXPIRING_14]:
            event = LinkEvent.EXPIRING_14
        else:
            return None
        key = f"link:{link.id}:{event.value}:{ends:%Y%m%dT%H%M%S}"
        await self._notify(view, actor, event, dedupe_key=key)
        return event


# How long before its end a link that will not renew is announced, twice.
EXPIRY_NOTICES = {
    LinkEvent.EXPIRING_14: timedelta(days=14),
    LinkEvent.EXPIRING_3: timedelta(days=3),
}


def _expect(view: LinkView, states: tuple[LinkState, ...], verb: str) -> None:
    state = view.link.state
    if state not in states:
        raise Conflict(
            f"The link is {state.value}, so it cannot be {verb}.",
            state=state.value,
        )
