"""What the MSP's own people are told in a client (issue #14): that the customer gave
their MSP less than it asked for (a banner, and the reason in a 403), and that their MSP
requires a second factor before anyone acts in a client. Pure, from what the decision
already loaded; the one lookup (who narrowed) is made only where it is shown."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.access.context import LinkNarrowing, Principal, TenantContext
from tenantry.access.permissions import CLIENT_MEANINGFUL
from tenantry.errors import PermissionDenied
from tenantry.identity import service as identity
from tenantry.tenancy.models import Tenant, TenantLink

# Where a user sets up an authenticator app (identity's enrolment page).
ENROL_URL = "/account/security/totp"


def narrowing_of(link: TenantLink, customer: Tenant, principal: Principal) -> LinkNarrowing | None:
    """What the customer withheld from what the MSP asked for, if anything. A customer
    the MSP created "asked" for the template it chose (kept as its requested ceiling; older
    rows have none: every permission that means something in a client)."""
    if link.decided_at is None:
        return None
    asked = (frozenset(link.requested_ceiling) or CLIENT_MEANINGFUL) & CLIENT_MEANINGFUL
    removed = asked - frozenset(link.ceiling)
    if not removed:
        return None
    return LinkNarrowing(
        customer_name=customer.display_name,
        msp_name=principal.home_tenant_name,
        # Approving sets decided_at and activated_at to one instant; narrowing moves it on.
        narrowed=link.activated_at is None or link.decided_at != link.activated_at,
        at=link.decided_at,
        by_user_id=link.decided_by_user_id,
        removed=removed,
    )


async def with_narrower_named(session: AsyncSession, ctx: TenantContext) -> TenantContext:
    """The context with the name of whoever narrowed the link (one lookup)."""
    narrowing = ctx.link_narrowing
    if narrowing is None or narrowing.by_user_id is None or narrowing.by_name is not None:
        return ctx
    user = await identity.user_by_id(session, narrowing.by_user_id)
    if user is None:
        return ctx
    return replace(ctx, link_narrowing=replace(narrowing, by_name=user.display_name))


def mfa_refusal(principal: Principal, tenant: Tenant) -> PermissionDenied:
    """The 403 for a technician whose MSP requires a second factor in clients."""
    return PermissionDenied(
        f"{principal.home_tenant_name} requires two-step sign-in to act in clients such as "
        f"{tenant.display_name}: set up an authenticator app at {ENROL_URL}. You can keep "
        f"working in {principal.home_tenant_name} itself.",
        reason="mfa-required",
        enrol_url=ENROL_URL,
    )
