"""Who may read and manage the audit trail: the audit domain's named access markers,
and the customers whose trail an MSP's caller may read (decided by access)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from tenantry.access.scopes import CustomerScope, customers_with, narrowed
from tenantry.errors import ValidationFailed
from tenantry.http.deps import Work, in_home, in_tenant

AuditRead = Annotated[Work, Depends(in_tenant("audit:read"), scope="function")]
AuditReadAtHome = Annotated[Work, Depends(in_home("audit:read"), scope="function")]
SettingsManage = Annotated[Work, Depends(in_tenant("settings:manage"), scope="function")]


async def readable_customers(work: Work) -> CustomerScope:
    """Every customer of the caller's MSP where they hold ``audit:read`` now."""
    return await customers_with(
        work.session, work.ctx.principal, "audit:read", home_version=work.ctx.home_version
    )


def only_customer(found: CustomerScope, ref: str | None) -> CustomerScope:
    """``found`` limited to one of its customers (slug or id), a smaller scope so the
    database reads one tenant's rows; all of it when ``ref`` is empty."""
    if not ref:
        return found
    picked = found.by_ref(ref)
    if picked is None:
        raise ValidationFailed("customer", "is not a customer whose audit trail you may read")
    return narrowed(found, picked.id)
