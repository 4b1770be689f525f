"""What a client's own people see first on its landing page (issue #14): a request from
an MSP to manage it, waiting for their decision. Deciding is on "Your MSP" (links/)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.access.context import TenantContext
from tenantry.access.permissions import CATALOG
from tenantry.identity import service as identity
from tenantry.tenancy.directory import tenant_by_id
from tenantry.tenancy.models import LinkState
from tenantry.tenancy.tenant_links import TenantLinkService


@dataclass(frozen=True, slots=True)
class PendingRequest:
    msp_name: str
    asked_at: datetime
    asked_by: str | None
    flagged_by_operator: bool
    duration_days: int | None
    # (permission, what it allows), in catalog order.
    permissions: tuple[tuple[str, str], ...]


async def pending_request(session: AsyncSession, ctx: TenantContext) -> PendingRequest | None:
    """The tenant's pending link request, for its own people only (never the MSP's
    technicians acting in it, who have nothing to decide)."""
    if ctx.relation != "home" or ctx.tenant.is_msp:
        return None
    link = await TenantLinkService(session).live_of(ctx.tenant.id)
    if link is None or link.state != LinkState.PENDING:
        return None
    msp = await tenant_by_id(session, link.msp_tenant_id)
    if msp is None:
        return None
    asker = (
        await identity.user_by_id(session, link.created_by_user_id)
        if link.created_by_user_id
        else None
    )
    asked = set(link.requested_ceiling)
    return PendingRequest(
        msp_name=msp.display_name,
        asked_at=link.created_at,
        asked_by=asker.display_name if asker else None,
        flagged_by_operator=link.flagged_by_operator,
        duration_days=link.duration_days,
        permissions=tuple((p, words) for p, words in CATALOG.items() if p in asked),
    )
