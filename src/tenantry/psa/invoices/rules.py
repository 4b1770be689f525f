"""Who writes a client's invoices and how an issued invoice is numbered: pure rules
(the service reads, locks and writes)."""

from __future__ import annotations

import uuid

from tenantry.access.context import TenantContext
from tenantry.errors import PermissionDenied
from tenantry.psa.invoices.models import Invoice

WRITE = "invoices:write"


def msp_of(ctx: TenantContext) -> uuid.UUID:
    """The MSP that writes this client's invoices: the caller's home MSP when acting in
    one of its customers. Anyone else may read invoices but not change them."""
    ctx.require(WRITE)
    if ctx.relation != "customer" or not ctx.principal.home_is_msp:
        raise PermissionDenied(
            f"Invoices of {ctx.tenant.display_name} are written by the MSP that manages "
            "it; open this client from the MSP to change them.",
            permission=WRITE,
            reason="not-managing-msp",
        )
    return ctx.principal.home_tenant_id


def default_prefix(msp_slug: str) -> str:
    """``northwind-it`` → ``NI``; ``contoso`` → ``CON``: the MSP's initials."""
    parts = [p for p in msp_slug.split("-") if p]
    if len(parts) >= 2:
        return "".join(p[0] for p in parts[:3]).upper()
    return (parts[0][:3] if parts else "INV").upper()


def format_number(prefix: str, year: int, sequence: int) -> str:
    return f"{prefix}-{year}-{sequence:04d}"


def label(invoice: Invoice) -> str:
    if invoice.number:
        return invoice.number
    return f"draft {invoice.period_start.isoformat()}..{invoice.period_end.isoformat()}"
