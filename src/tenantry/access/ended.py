"""Why a client the caller's MSP once managed answers 404 now (issue #14): its newest
link with that MSP ended (revoked by either side, declined, withdrawn, or expired), and
who ended it and when. Read only on the refusal path. Every other tenant the caller
cannot see answers the plain "No such tenant.", so nothing leaks: the explanation is
given only where the caller's own MSP had a link and the caller held a grant that would
reach the client (an MSP admin, or a delegation, user group or all-customers grant)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.access import repository
from tenantry.access.context import Principal, day_of
from tenantry.access.decision import live
from tenantry.access.rolebook import sources_in_customer
from tenantry.errors import NotFound
from tenantry.identity import service as identity
from tenantry.tenancy import service as tenancy
from tenantry.tenancy.models import LinkState, Tenant, TenantLink

NO_SUCH_TENANT = "No such tenant."
# Where an MSP's people see their links with clients (and ask again).
CLIENT_LINKS = "/msp/links"


@dataclass(frozen=True, slots=True)
class EndedLink:
    """The facts behind the explanation."""

    link: TenantLink
    msp_name: str
    customer_name: str
    ended_at: datetime
    how: str  # "expired", "revoked", "declined" or "withdrawn"
    side: str | None  # "customer" or "msp": who ended it, when known
    by_name: str | None

    def describe(self) -> str:
        msp, customer, on = self.msp_name, self.customer_name, day_of(self.ended_at)
        if self.how == "expired":
            said = f"The link with {customer} expired on {on}."
        elif self.side == "customer" and self.how == "declined":
            said = f"{customer} declined {msp}'s request to manage it on {on}"
        elif self.side == "customer":
            said = f"{customer} ended the link with {msp} on {on}"
        elif self.side == "msp" and self.how == "declined":
            said = f"{msp} withdrew its request to manage {customer} on {on}"
        elif self.side == "msp":
            said = f"{msp} ended the link with {customer} on {on}"
        else:
            said = f"The link between {msp} and {customer} ended on {on}"
        if self.how != "expired":
            who = f" ({self.by_name})" if self.side == "customer" else f" (by {self.by_name})"
            said += (who if self.by_name else "") + "."
        return f"{said} Nothing in {customer} is open to {msp} until it approves a new request."


async def refusal(
    session: AsyncSession, principal: Principal, tenant: Tenant, now: datetime
) -> NotFound:
    """The 404 for a tenant the caller may do nothing in: explained when their MSP's
    link with it ended, else the plain one (the same as for a slug nobody uses)."""
    ended = await ended_link(session, principal, tenant, now)
    if ended is None:
        return NotFound(NO_SUCH_TENANT)
    return NotFound(
        ended.describe(),
        reason="link-ended",
        ended_at=ended.ended_at.isoformat(),
        ended_by=ended.by_name,
        ended_how=ended.how,
        links_url=CLIENT_LINKS,
    )


async def ended_link(
    session: AsyncSession, principal: Principal, tenant: Tenant, now: datetime
) -> EndedLink | None:
    if tenant.id == principal.home_tenant_id:
        return None
    link = await tenancy.newest_link(session, principal.home_tenant_id, tenant.id)
    if link is None:
        return None
    lapsed = link.expires_at is not None and link.expires_at <= now
    if link.state == LinkState.PENDING or (link.state == LinkState.ACTIVE and not lapsed):
        return None
    if not await _would_reach(session, principal, tenant.id, now):
        return None
    if link.state == LinkState.REVOKED:
        how = "revoked" if link.activated_at is not None else "declined"
        side, by_name = await _who_ended(session, link, tenant.id, principal.home_tenant_id)
    else:
        how, side, by_name = "expired", None, None
    ended_at = link.ended_at or link.expires_at or now
    return EndedLink(
        link, principal.home_tenant_name, tenant.display_name, ended_at, how, side, by_name
    )


async def _would_reach(
    session: AsyncSession, principal: Principal, customer_id: uuid.UUID, now: datetime
) -> bool:
    """Would the caller's grants reach the client if the link were live? Only they
    learn what became of it; a technician never given the client learns nothing."""
    grants = live(
        await repository.live_grants_of_user(session, principal.user_id, deciding_for=customer_id),
        now,
    )
    return bool(await sources_in_customer(session, grants, customer_id, principal.home_is_msp))


async def _who_ended(
    session: AsyncSession, link: TenantLink, customer_id: uuid.UUID, msp_id: uuid.UUID
) -> tuple[str | None, str | None]:
    """(side, name) of whoever ended the link. Links ended before ``ended_by_user_id``
    existed name the customer's decider when the decision was the end itself."""
    user_id = link.ended_by_user_id
    if user_id is None and link.decided_by_user_id and link.decided_at == link.ended_at:
        user_id = link.decided_by_user_id
    if user_id is None:
        return None, None
    user = await identity.user_by_id(session, user_id)
    if user is None:
        return None, None
    if user.home_tenant_id == customer_id:
        return "customer", user.display_name
    if user.home_tenant_id == msp_id:
        return "msp", user.display_name
    return None, None
