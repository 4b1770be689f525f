"""Consent rules for MSP → customer links: an MSP asks to manage an existing tenant,
the customer's own people approve (possibly giving less), decline, narrow or revoke; the
MSP can end it from its side; links expire, or renew when both sides agreed.

Every change is one unit of work with its events, written in BOTH tenants' trails so
each side reads the link's full history from its own copy. The access decision reads
the active link's ceiling on every request, so a change here takes effect on the next
request without any cache to clear.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.access.context import TenantContext
from tenantry.access.service import extend_scope, operator_scope
from tenantry.audit import service as audit
from tenantry.audit.models import AuditEvent
from tenantry.audit.schemas import Actor, AuditAction
from tenantry.db.base import utcnow
from tenantry.db.engine import Database
from tenantry.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from tenantry.links import repository
from tenantry.links.schemas import LinkView, Side, check_duration, expand_ceiling
from tenantry.logging import get_logger
from tenantry.pagination import check_limit, decode_cursor, encode_cursor
from tenantry.tenancy.models import LinkState, Tenant, TenantLink, TenantStatus

log = get_logger("tenantry.links")

# Who expires and renews links when nobody asked: the scheduled sweep.
SWEEP_ACTOR = Actor(user_id=None, name="Tenantry (link expiry sweep)")

STATE_FILTERS: dict[str, tuple[LinkState, ...]] = {
    "pending": (LinkState.PENDING,),
    "active": (LinkState.ACTIVE,),
    "live": repository.LIVE,
    "ended": repository.ENDED,
    "revoked": (LinkState.REVOKED,),
    "expired": (LinkState.EXPIRED,),
}


def _label(msp: Tenant, customer: Tenant) -> str:
    return f"{msp.slug} → {customer.slug}"


def _is_msp_reader(ctx: TenantContext) -> bool:
    # Seeing an MSP's links is seeing who its clients are: the same as its customer list.
    return ctx.can("links:manage") or ctx.can("customers:read")


class LinkService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

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
        found = await repository.link_with_parties(self.session, link_id, for_update=for_update)
        if found is None:
            raise NotFound("No such link.")
        link, msp, customer = found
        return LinkView(link, msp, customer, self._side_of(ctx, link))

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
        before = _decode_id_cursor(cursor)
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
        rows = await repository.links_page(
            self.session,
            msp_id=msp_id,
            customer_id=customer_id,
            party_id=party_id,
            states=states,
            before_id=before,
            limit=limit + 1,
        )
        views = [LinkView(link, msp, c, self._side_of(ctx, link)) for link, msp, c in rows]
        next_cursor = encode_cursor([str(views[limit - 1].link.id)]) if len(views) > limit else None
        return views[:limit], next_cursor

    async def history(
        self, ctx: TenantContext, link_id: uuid.UUID, *, cursor: str | None, limit: int
    ) -> tuple[list[AuditEvent], str | None]:
        """The link's events in the caller's own trail (each side keeps its own copy)."""
        check_limit(limit)
        await self._view(ctx, link_id)
        after = decode_cursor(cursor)
        try:
            after_seq = int(after[0]) if after else None
        except (ValueError, TypeError, IndexError) as exc:
            raise ValidationFailed("cursor", "is not a cursor this API returned") from exc
        events = await repository.link_events(
            self.session, link_id, after_seq=after_seq, limit=limit + 1
        )
        next_cursor = encode_cursor([events[limit - 1].seq]) if len(events) > limit else None
        return list(events[:limit]), next_cursor

    async def people_acting_for(self, view: LinkView) -> list[tuple[str, datetime, int]]:
        """The MSP's people who acted in the customer, read from the customer's own trail."""
        return list(await repository.people_of(self.session, view.msp.id))

    # ------------------------------------------------------------ asking

    async def request(
        self,
        ctx: TenantContext,
        *,
        customer: str,
        ceiling: list[str],
        duration_days: int | None,
        auto_extend: bool,
        actor: Actor,
    ) -> LinkView:
        """The MSP in ``ctx`` asks to manage an existing tenant: a pending link."""
        if ctx.relation != "home":
            raise PermissionDenied(
                "Ask to manage a tenant from your own MSP, not from inside a client.",
                permission="links:manage",
            )
        if not ctx.tenant.is_msp:
            raise PermissionDenied(
                f"{ctx.tenant.display_name} is not licensed as an MSP, so it cannot ask to "
                "manage other tenants. The instance operator grants MSP licensing "
                "(`tenantry tenants license SLUG --msp on`).",
                permission="links:manage",
                reason="not-msp",
            )
        msp = await repository.tenant_by_id(self.session, ctx.tenant.id)
        if msp is None:
            raise NotFound("No such tenant.")
        return await self._open(
            msp,
            customer,
            ceiling,
            duration_days,
            auto_extend,
            actor,
            created_by=ctx.principal.user_id,
        )

    async def flag(
        self,
        msp: Tenant,
        customer: str,
        *,
        ceiling: list[str],
        duration_days: int | None,
        auto_extend: bool,
        actor: Actor,
    ) -> LinkView:
        """The instance operator flags a tenant as a candidate customer of ``msp``: the
        same pending request, marked as the operator's, still needing the customer's
        consent."""
        if not msp.is_msp:
            raise ValidationFailed(
                "msp", f"{msp.slug} is not licensed as an MSP (`tenantry tenants license`)"
            )
        return await self._open(
            msp, customer, ceiling, duration_days, auto_extend, actor, flagged=True
        )

    async def _open(
        self,
        msp: Tenant,
        customer_slug: str,
        ceiling: list[str],
        duration_days: int | None,
        auto_extend: bool,
        actor: Actor,
        *,
        flagged: bool = False,
        created_by: uuid.UUID | None = None,
    ) -> LinkView:
        asked = expand_ceiling(ceiling)
        days = check_duration(duration_days)
        slug = customer_slug.strip().lower()
        if not slug:
            raise ValidationFailed("customer", "must be the slug of an existing tenant")
        customer = await repository.tenant_by_slug(self.session, slug)
        if customer is None:
            # Slugs are subdomains, public by nature: saying "no such slug" leaks nothing.
            raise NotFound(
                f"No tenant has the slug '{slug[:63]}'.",
                errors=[{"field": "customer", "message": "matches no tenant"}],
            )
        self._check_can_be_managed(msp, customer)
        live = await repository.live_link_of(self.session, customer.id)
        if live is not None:
            raise _one_msp_at_a_time(msp, customer, live)
        link = TenantLink(
            msp_tenant_id=msp.id,
            customer_tenant_id=customer.id,
            state=LinkState.PENDING,
            # Nothing is consented until the customer approves; the ask is kept apart.
            ceiling=[],
            requested_ceiling=asked,
            duration_days=days,
            msp_auto_extend=auto_extend,
            flagged_by_operator=flagged,
            created_by_user_id=created_by,
            created_at=utcnow(),
        )
        self.session.add(link)
        try:
            await self.session.flush()
        except IntegrityError as exc:
            # Two requests for one customer at the same moment: the partial unique index
            # lets one through. The unit of work rolls back on this error.
            raise Conflict(
                f"{customer.display_name} just got another request: one MSP at a time.",
                errors=[{"field": "customer", "message": "already has a live link"}],
            ) from exc
        view = LinkView(link, msp, customer, "msp")
        await self._record(
            view,
            actor,
            AuditAction.LINK_FLAGGED if flagged else AuditAction.LINK_REQUESTED,
            {
                "state": [None, LinkState.PENDING.value],
                "requested_ceiling": [None, asked],
                "duration_days": [None, days],
                "msp_auto_extend": [None, auto_extend],
            },
        )
        return view

    @staticmethod
    def _check_can_be_managed(msp: Tenant, customer: Tenant) -> None:
        if customer.id == msp.id:
            raise ValidationFailed(
                "customer", f"is {msp.display_name} itself: an MSP does not manage itself"
            )
        if customer.is_msp:
            raise ValidationFailed(
                "customer",
                f"{customer.display_name} is an MSP: an MSP is not managed by another MSP",
            )
        if customer.status != TenantStatus.ACTIVE:
            raise Conflict(
                f"{customer.display_name} is {customer.status.value}: nobody there could "
                "answer a request.",
                errors=[{"field": "customer", "message": f"is {customer.status.value}"}],
            )

    # ------------------------------------------------------------ the customer decides

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

    async def approve(
        self,
        ctx: TenantContext,
        link_id: uuid.UUID,
        *,
        ceiling: list[str] | None,
        auto_extend: bool,
        actor: Actor,
    ) -> LinkView:
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
        now = utcnow()
        link.state = LinkState.ACTIVE
        link.ceiling = granted
        link.activated_at = now
        link.expires_at = now + timedelta(days=link.duration_days) if link.duration_days else None
        link.customer_auto_extend = auto_extend
        link.decided_by_user_id = ctx.principal.user_id
        link.decided_at = now
        await self.session.flush()
        await self._record(
            view,
            actor,
            AuditAction.LINK_APPROVED,
            {
                "state": [LinkState.PENDING.value, LinkState.ACTIVE.value],
                "ceiling": [[], granted],
                "withheld": sorted(set(asked) - set(granted)),
                "expires_at": [None, link.expires_at],
                "customer_auto_extend": [False, auto_extend],
            },
        )
        return view

    async def decline(self, ctx: TenantContext, link_id: uuid.UUID, actor: Actor) -> LinkView:
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
        link.ceiling = after
        link.decided_by_user_id = ctx.principal.user_id
        link.decided_at = utcnow()
        await self.session.flush()
        await self._record(
            view,
            actor,
            AuditAction.LINK_NARROWED,
            {"ceiling": [before, after], "removed": sorted(set(before) - set(after))},
        )
        return view

    # ------------------------------------------------------------ ending

    async def revoke(self, ctx: TenantContext, link_id: uuid.UUID, actor: Actor) -> LinkView:
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
                return await self.decline(ctx, link_id, actor)
        _expect(view, repository.LIVE, "revoked")
        await self._end(view, ctx, actor, AuditAction.LINK_REVOKED)
        return view

    async def _end(
        self, view: LinkView, ctx: TenantContext, actor: Actor, action: AuditAction
    ) -> None:
        link = view.link
        before_state, before_ceiling = link.state.value, sorted(link.ceiling)
        now = utcnow()
        link.state = LinkState.REVOKED
        link.ended_at = now
        if view.side == "customer":
            link.decided_by_user_id = ctx.principal.user_id
            link.decided_at = now
        await self.session.flush()
        await self._record(
            view,
            actor,
            action,
            {
                "state": [before_state, LinkState.REVOKED.value],
                # The row keeps what was consented (history); what the MSP may do is none.
                "ceiling": [before_ceiling, []],
                "by": view.side,
            },
        )

    # ------------------------------------------------------------ expiry

    async def settle(
        self, link_id: uuid.UUID, now: datetime, ahead: timedelta, actor: Actor
    ) -> str | None:
        """Expire or renew one due link; None when there is nothing (left) to do.

        Renewing: when both sides agreed, by whole periods until the link runs past
        ``now + ahead``. Expiring: once ``expires_at`` has passed (the access decision
        already refuses from that instant; this records it and frees the customer for
        another MSP).
        """
        found = await repository.link_with_parties(self.session, link_id, for_update=True)
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
            link.expires_at = old + periods * period
            await self.session.flush()
            await self._record(
                view,
                actor,
                AuditAction.LINK_EXTENDED,
                {"expires_at": [old, link.expires_at], "periods": periods},
            )
            return "extended"
        if old > now:
            return None  # in the look-ahead window only; it lapses at its time
        link.state = LinkState.EXPIRED
        link.ended_at = old
        await self.session.flush()
        await self._record(
            view,
            actor,
            AuditAction.LINK_EXPIRED,
            {
                "state": [LinkState.ACTIVE.value, LinkState.EXPIRED.value],
                "ceiling": [sorted(link.ceiling), []],
                "expires_at": old,
            },
        )
        return "expired"

    # ------------------------------------------------------------ the record

    async def _record(
        self, view: LinkView, actor: Actor, action: AuditAction, changes: dict[str, Any]
    ) -> None:
        """One event in each tenant's trail. Called after the rules above decided the
        actor may change this link, which is what lets the scope widen to the other end."""
        await extend_scope(self.session, view.msp.id, view.customer.id)
        label = _label(view.msp, view.customer)
        for tenant_id in (view.msp.id, view.customer.id):
            await audit.record(
                self.session,
                tenant_id=tenant_id,
                actor=actor,
                action=action,
                target_type="link",
                target_id=view.link.id,
                target_label=label,
                changes=changes,
            )


def _expect(view: LinkView, states: tuple[LinkState, ...], verb: str) -> None:
    state = view.link.state
    if state not in states:
        raise Conflict(
            f"The link is {state.value}, so it cannot be {verb}.",
            state=state.value,
        )


def _one_msp_at_a_time(msp: Tenant, customer: Tenant, live: TenantLink) -> Conflict:
    name = customer.display_name
    if live.msp_tenant_id != msp.id:
        # Not which MSP, nor whether it is pending: that is the other MSP's business.
        message = "is already linked to another MSP: a tenant is managed by one MSP at a time"
    elif live.state == LinkState.PENDING:
        message = "already has a pending request from you: wait for its answer, or withdraw it"
    else:
        message = (
            "is already your client: to widen the ceiling, end the link and send a new "
            "request for its approval"
        )
    return Conflict(f"{name} {message}.", errors=[{"field": "customer", "message": message}])


def _decode_id_cursor(cursor: str | None) -> uuid.UUID | None:
    values = decode_cursor(cursor)
    if not values:
        return None
    try:
        return uuid.UUID(str(values[0]))
    except ValueError as exc:
        raise ValidationFailed("cursor", "is not a cursor this API returned") from exc


# ---------------------------------------------------------------- the sweep


@dataclass(slots=True)
class SweepReport:
    expired: list[uuid.UUID] = field(default_factory=list)
    extended: list[uuid.UUID] = field(default_factory=list)
    failed: list[uuid.UUID] = field(default_factory=list)


async def sweep(
    db: Database,
    now: datetime | None = None,
    *,
    ahead: timedelta = timedelta(0),
    actor: Actor = SWEEP_ACTOR,
) -> SweepReport:
    """Mark lapsed links ``expired`` and renew those both sides let renew.

    ``ahead`` renews links that would lapse within it, so that a sweep running every
    minute with ``ahead`` of two minutes keeps a renewing link from ever lapsing. Each
    link is settled in its own unit of work, locked, so sweeps in several app processes
    do each change once, and one broken link does not stop the rest.
    """
    now = now or utcnow()
    async with db.platform_reader() as session:
        due = await repository.due_link_ids(session, now + ahead)
    report = SweepReport()
    for link_id in due:
        try:
            # The sweep acts for the instance, like the operator: it decides for itself
            # that both ends' trails may be written (LinkService._record widens).
            async with db.unit_of_work(operator_scope([])) as session:
                outcome = await LinkService(session).settle(link_id, now, ahead, actor)
        except Exception as exc:  # one bad link must not stop the others
            log.warning("link sweep failed", link_id=str(link_id), error=repr(exc))
            report.failed.append(link_id)
            continue
        if outcome == "expired":
            report.expired.append(link_id)
        elif outcome == "extended":
            report.extended.append(link_id)
    return report


async def sweep_forever(db: Database, interval: float = 60.0) -> None:
    """The app's background sweep: every ``interval`` seconds, renewing links due within
    two intervals (so a renewing link never lapses while the app runs). Cancel the task
    to stop it."""
    ahead = timedelta(seconds=2 * interval)
    while True:
        try:
            report = await sweep(db, ahead=ahead)
            if report.expired or report.extended or report.failed:
                log.info(
                    "links swept",
                    expired=len(report.expired),
                    extended=len(report.extended),
                    failed=len(report.failed),
                )
        except Exception as exc:  # the database may be restarting: try again next time
            log.warning("link sweep failed", error=repr(exc))
        await asyncio.sleep(interval)
