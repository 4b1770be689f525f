"""Consent rules for MSP → customer links: an MSP asks to manage an existing tenant,
the customer's own people approve (possibly giving less), decline, narrow or revoke; the
MSP can end it from its side; links expire, or renew when both sides agreed.

Every change is one unit of work with its events, written in BOTH tenants' trails so
each side reads the link's full history from its own copy. The access decision reads
the active link's ceiling on every request, so a change here takes effect on the next
request without any cache to clear.

The parts: who sees what (``views.py``), the customer's decisions and the end of a link
(``consent.py``), asking (here), the expiry sweep (``sweep.py``).
"""

from __future__ import annotations

import uuid

from sqlalchemy.exc import IntegrityError

from tenantry.access.context import TenantContext
from tenantry.audit.changes import set_to
from tenantry.audit.schemas import Actor, AuditAction
from tenantry.billing import limits
from tenantry.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from tenantry.links.consent import LinkConsent
from tenantry.links.schemas import LinkView, asked_ceiling, check_duration, expand_ceiling
from tenantry.links.sweep import SWEEP_ACTOR, SweepReport, sweep, sweep_forever
from tenantry.links.views import STATE_FILTERS
from tenantry.notifications.service import LinkEvent
from tenantry.tenancy import service as tenancy
from tenantry.tenancy.models import LinkState, Tenant, TenantLink, TenantStatus

__all__ = [
    "STATE_FILTERS",
    "SWEEP_ACTOR",
    "LinkService",
    "SweepReport",
    "sweep",
    "sweep_forever",
]


class LinkService(LinkConsent):
    # ------------------------------------------------------------ asking

    async def request(
        self,
        ctx: TenantContext,
        *,
        customer: str,
        ceiling: list[str] | None,
        duration_days: int | None,
        auto_extend: bool,
        actor: Actor,
        template: str | None = None,
    ) -> LinkView:
        """The MSP in ``ctx`` asks to manage an existing tenant: a pending link. It asks
        for permissions (or roles), or for a ceiling template; explicit ones win."""
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
        asked = asked_ceiling(ceiling, template)
        msp = await tenancy.tenant(self.session, ctx.tenant.id)
        return await self._open(
            msp,
            customer,
            asked,
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
        customer = await tenancy.tenant_by_slug(self.session, slug)
        if customer is None:
            # Slugs are subdomains, public by nature: saying "no such slug" leaks nothing.
            raise NotFound(
                f"No tenant has the slug '{slug[:63]}'.",
                errors=[{"field": "customer", "message": "matches no tenant"}],
            )
        self._check_can_be_managed(msp, customer, slug)
        live = await self.links.live_of(customer.id)
        if live is not None and live.msp_tenant_id == msp.id:
            raise _yours_already(customer, live)
        if live is not None or customer.status != TenantStatus.ACTIVE:
            # Linked to another MSP, or suspended: one answer for both, naming only what
            # the asker typed (not which MSP, not the tenant's name, not its status).
            raise _not_now(slug)
        # A pending link counts against the MSP's plan like an active one.
        await limits.ensure_room(self.session, msp.id, "clients", msp_name=msp.display_name)
        try:
            # Nothing is consented until the customer approves; the ask is kept apart.
            link = await self.links.open(
                msp_id=msp.id,
                customer_id=customer.id,
                ceiling=None,
                requested_ceiling=asked,
                duration_days=days,
                msp_auto_extend=auto_extend,
                flagged=flagged,
                created_by=created_by,
            )
        except IntegrityError as exc:
            # Two requests for one customer at the same moment: the partial unique index
            # lets one through. The unit of work rolls back on this error.
            raise Conflict(
                f"'{slug}' just got another request: one MSP at a time.",
                errors=[{"field": "customer", "message": "already has a live link"}],
            ) from exc
        view = LinkView(link, msp, customer, "msp")
        await self._record(
            view,
            actor,
            AuditAction.LINK_FLAGGED if flagged else AuditAction.LINK_REQUESTED,
            set_to(
                state=LinkState.PENDING.value,
                requested_ceiling=asked,
                duration_days=days,
                msp_auto_extend=auto_extend,
            ),
        )
        await self._notify(
            view, actor, LinkEvent.FLAGGED if flagged else LinkEvent.REQUESTED, permissions=asked
        )
        return view

    @staticmethod
    def _check_can_be_managed(msp: Tenant, customer: Tenant, slug: str) -> None:
        if customer.id == msp.id:
            raise ValidationFailed(
                "customer", f"is {msp.display_name} itself: an MSP does not manage itself"
            )
        if customer.is_msp:
            raise ValidationFailed(
                "customer", f"'{slug}' is an MSP: an MSP is not managed by another MSP"
            )


NOT_NOW = "cannot take a request from you now"


def _not_now(slug: str) -> Conflict:
    return Conflict(
        f"'{slug}' {NOT_NOW}: a tenant is managed by one MSP at a time.",
        errors=[{"field": "customer", "message": NOT_NOW}],
    )


def _yours_already(customer: Tenant, live: TenantLink) -> Conflict:
    """The asker's own pending request or client: its name is no news to the asker."""
    if live.state == LinkState.PENDING:
        message = "already has a pending request from you: wait for its answer, or withdraw it"
    else:
        message = (
            "is already your client: to widen the ceiling, end the link and send a new "
            "request for its approval"
        )
    return Conflict(
        f"{customer.display_name} {message}.", errors=[{"field": "customer", "message": message}]
    )
