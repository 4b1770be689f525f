"""Who sees which links, and the record every change writes: the base of the link
services. The link rows are tenancy's (``tenancy.service``); the history is each side's
own audit trail."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.access.context import TenantContext
from tenantry.access.widening import Why, widen
from tenantry.audit import service as audit
from tenantry.audit import trail
from tenantry.audit.changes import Changes
from tenantry.audit.models import AuditEvent
from tenantry.audit.schemas import Actor, AuditAction
from tenantry.errors import NotFound, PermissionDenied, ValidationFailed
from tenantry.kit.pagination import Keyset, check_limit, page_of
from tenantry.links.schemas import LinkView, Side
from tenantry.notifications.service import LinkEvent, notify_link_event
from tenantry.tenancy.models import LinkState, Tenant, TenantLink
from tenantry.tenancy.service import TenantLinkService
from tenantry.tenancy.tenant_links import ENDED, LIVE

STATE_FILTERS: dict[str, tuple[LinkState, ...]] = {
    "pending": (LinkState.PENDING,),
    "active": (LinkState.ACTIVE,),
    "live": LIVE,
    "ended": ENDED,
    "revoked": (LinkState.REVOKED,),
    "expired": (LinkState.EXPIRED,),
}

# Links page newest first by id (time-ordered); a link's history by sequence number.
BY_ID = Keyset(uuid.UUID)
BY_SEQ = Keyset(int)


def _label(msp: Tenant, customer: Tenant) -> str:
    return f"{msp.slug} → {customer.slug}"


def label_of(view: LinkView) -> str:
    """A link's audit target label: ``msp → customer`` by slug."""
    return _label(view.msp, view.customer)


def _is_msp_reader(ctx: TenantContext) -> bool:
    # Seeing an MSP's links is seeing who its clients are: the same as its customer list.
    return ctx.can("links:manage") or ctx.can("customers:read")


class LinkReads:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.links = TenantLinkService(session)

    # ------------------------------------------------------------ who sees what

    def _side_of(self, ctx: TenantContext, link: TenantLink) -> Side:
        """Which end of ``link`` the caller stands at, or 404 if it is none of theirs.

        The MSP end: the MSP's own people. The customer end: the customer's own people
        (every link it ever had), or the MSP's technicians acting in it, who see only
        their own MSP's links: never another MSP's (access rule 6).
        """
        if ctx.tenant.id == link.msp_tenant_id and ctx.relation == "home":
            if not _is_msp_reader(ctx):
                raise PermissionDenied(
                    f"Seeing {ctx.tenant.display_name}'s links to its clients needs "
                    "'links:manage' or 'customers:read'; " + ctx.explain("links:manage"),
                    permission="links:manage",
                )
            return "msp"
        if ctx.tenant.id == link.customer_tenant_id and (
            ctx.relation == "home" or link.msp_tenant_id == ctx.principal.home_tenant_id
        ):
            return "customer"
        raise NotFound("No such link.")

    async def _view(
        self, ctx: TenantContext, link_id: uuid.UUID, *, for_update: bool = False
    ) -> LinkView:
        found = await self.links.with_parties(link_id, for_update=for_update)
        if found is None:
            raise NotFound("No such link.")
        link, msp, customer = found
        return LinkView(link, msp, customer, self._side_of(ctx, link))

    async def _for_customer_decision(
        self, ctx: TenantContext, link_id: uuid.UUID, verb: str
    ) -> LinkView:
        """The link, locked, if the caller is one of the customer's own people."""
        view = await self._view(ctx, link_id, for_update=True)
        customer = view.customer.display_name
        if view.side == "msp":
            raise PermissionDenied(
                f"Only {customer}'s own people can {verb} this link: an MSP cannot consent "
                "on its customer's behalf.",
                permission="links:manage",
                reason="customer-consent",
            )
        if ctx.relation != "home":
            # The MSP's technicians reach the customer through this very link: letting
            # them approve or change it would let them grant themselves access.
            raise PermissionDenied(
                f"Only {customer}'s own people can {verb} this link. You act in {customer} "
                f"through it for {view.msp.display_name}, and nobody consents to, or "
                "widens, their own access.",
                permission="links:manage",
                reason="not-own-user",
            )
        return view

    async def get(self, ctx: TenantContext, link_id: uuid.UUID) -> LinkView:
        return await self._view(ctx, link_id)

    async def list_links(
        self, ctx: TenantContext, *, state: str | None, cursor: str | None, limit: int
    ) -> tuple[list[LinkView], str | None]:
        check_limit(limit)
        states: tuple[LinkState, ...] = ()
        if state:
            if state not in STATE_FILTERS:
                raise ValidationFailed("state", f"must be one of {', '.join(STATE_FILTERS)}")
            states = STATE_FILTERS[state]
        after = BY_ID.decode(cursor)
        tenant_id = ctx.tenant.id
        msp_id = customer_id = party_id = None
        if ctx.relation == "customer":
            # A technician in a client: only the links of their own MSP with it.
            msp_id, customer_id = ctx.principal.home_tenant_id, tenant_id
        elif _is_msp_reader(ctx):
            party_id = tenant_id
        elif ctx.tenant.is_msp:
            raise PermissionDenied(
                f"Seeing {ctx.tenant.display_name}'s links to its clients needs "
                "'links:manage' or 'customers:read'; " + ctx.explain("links:manage"),
                permission="links:manage",
            )
        else:
            # Any of the customer's own people may know who manages it (rule 6).
            customer_id = tenant_id
        rows = await self.links.page(
            msp_id=msp_id,
            customer_id=customer_id,
            party_id=party_id,
            states=states,
            before_id=after[0] if after else None,
            limit=limit + 1,
        )
        views = [LinkView(link, msp, c, self._side_of(ctx, link)) for link, msp, c in rows]
        return page_of(views, limit, lambda v: [str(v.link.id)])

    async def history(
        self, ctx: TenantContext, link_id: uuid.UUID, *, cursor: str | None, limit: int
    ) -> tuple[list[AuditEvent], str | None]:
        """The link's events in the caller's own trail (each side keeps its own copy)."""
        check_limit(limit)
        await self._view(ctx, link_id)
        after = BY_SEQ.decode(cursor)
        events = await trail.events_about(
            self.session,
            "link",
            str(link_id),
            after_seq=after[0] if after else None,
            limit=limit + 1,
        )
        return page_of(events, limit, lambda e: [e.seq])

    async def people_acting_for(self, view: LinkView) -> list[tuple[str, datetime, int]]:
        """The MSP's people who acted in the customer, read from the customer's own trail."""
        return list(await trail.people_from(self.session, view.msp.id))

    # ------------------------------------------------------------ the record

    async def _record(
        self,
        view: LinkView,
        actor: Actor,
        action: AuditAction,
        changes: Changes,
        *,
        customer_changes: Changes | None = None,
    ) -> None:
        """One event in each tenant's trail (``customer_changes``, when given, is the
        customer's copy: what rule 6 lets it read). Called after the rules above decided
        the actor may change this link, which is what lets the scope widen to the other
        end."""
        await widen(self.session, view.msp.id, view.customer.id, why=Why.BOTH_TRAILS)
        label = _label(view.msp, view.customer)
        copies = ((view.msp.id, changes), (view.customer.id, customer_changes or changes))
        for tenant_id, told in copies:
            await audit.record(
                self.session,
                tenant_id=tenant_id,
                actor=actor,
                action=action,
                target_type="link",
                target_id=view.link.id,
                target_label=label,
                changes=told,
            )

    async def _notify(
        self,
        view: LinkView,
        actor: Actor,
        event: LinkEvent,
        *,
        permissions: list[str] | None = None,
        dedupe_key: str | None = None,
    ) -> None:
        """Tell the other side's admins (both sides' for the sweep's events), in the same
        unit of work as the event's record: no change without its notice, and no notice
        of a change that rolled back."""
        await notify_link_event(
            self.session,
            event=event,
            link_id=view.link.id,
            msp=view.msp,
            customer=view.customer,
            by=view.side,
            actor_name=actor.name,
            permissions=permissions or [],
            expires_at=view.link.expires_at,
            dedupe_key=dedupe_key,
        )
