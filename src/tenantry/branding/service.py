"""Branding rules: who may change a tenant's logo is decided by the route's permission
(``settings:manage``); what a logo may be is decided here (schemas.sniff_logo). Every
change records one audit event (the logo's type, size and hash, never its bytes).
Services never commit."""

from __future__ import annotations

import hashlib
import uuid
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.access.context import TenantContext
from tenantry.access.widening import Why, widen
from tenantry.audit.changes import changed
from tenantry.audit.schemas import Actor, AuditAction
from tenantry.audit.service import record
from tenantry.branding import repository
from tenantry.branding.models import TenantBranding
from tenantry.branding.schemas import BrandingOut, check_accent, sniff_logo
from tenantry.db.base import new_id
from tenantry.errors import NotFound

if TYPE_CHECKING:
    from tenantry.psa.invoices.models import Invoice


def _logo_facts(row: TenantBranding | None) -> dict[str, Any] | None:
    if row is None or row.logo is None:
        return None
    return {
        "content_type": row.logo_content_type,
        "size": row.logo_size,
        "sha256": row.logo_sha256,
    }


def branding_out(row: TenantBranding | None) -> BrandingOut:
    if row is None:
        return BrandingOut(has_logo=False)
    return BrandingOut(
        has_logo=row.logo is not None,
        logo_content_type=row.logo_content_type,
        logo_size=row.logo_size,
        logo_sha256=row.logo_sha256,
        accent_colour=row.accent_colour,
        updated_at=row.updated_at,
    )


class BrandingService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, tenant_id: uuid.UUID) -> TenantBranding | None:
        return await repository.of_tenant(self.session, tenant_id)

    async def _row(self, tenant_id: uuid.UUID) -> TenantBranding:
        row = await repository.of_tenant(self.session, tenant_id)
        if row is None:
            row = TenantBranding(tenant_id=tenant_id, id=new_id())
            self.session.add(row)
        return row

    async def set_logo(self, ctx: TenantContext, data: bytes, *, actor: Actor) -> TenantBranding:
        """Replace the tenant's logo. Checked before anything is written: PNG or JPEG by
        its magic bytes, at most 256 KiB (else a 422 on ``logo``)."""
        content_type = sniff_logo(data)
        row = await self._row(ctx.tenant.id)
        before = _logo_facts(row)
        row.logo = data
        row.logo_content_type = content_type
        row.logo_size = len(data)
        row.logo_sha256 = hashlib.sha256(data).hexdigest()
        await self.session.flush()
        await record(
            self.session,
            tenant_id=ctx.tenant.id,
            actor=actor,
            action=AuditAction.BRANDING_LOGO_UPDATED,
            target_type="tenant_branding",
            target_id=ctx.tenant.id,
            target_label="logo",
            changes=changed("logo", before, _logo_facts(row)),
        )
        return row

    async def remove_logo(self, ctx: TenantContext, *, actor: Actor) -> TenantBranding:
        row = await repository.of_tenant(self.session, ctx.tenant.id)
        if row is None or row.logo is None:
            raise NotFound("There is no logo to remove.")
        before = _logo_facts(row)
        row.logo = None
        row.logo_content_type = None
        row.logo_size = None
        row.logo_sha256 = None
        await self.session.flush()
        await record(
            self.session,
            tenant_id=ctx.tenant.id,
            actor=actor,
            action=AuditAction.BRANDING_LOGO_REMOVED,
            target_type="tenant_branding",
            target_id=ctx.tenant.id,
            target_label="logo",
            changes=changed("logo", before, None),
        )
        return row

    async def set_accent(
        self, ctx: TenantContext, accent_colour: str | None, *, actor: Actor
    ) -> TenantBranding:
        colour = check_accent(accent_colour)
        row = await self._row(ctx.tenant.id)
        if row.accent_colour != colour:
            before = row.accent_colour
            row.accent_colour = colour
            await self.session.flush()
            await record(
                self.session,
                tenant_id=ctx.tenant.id,
                actor=actor,
                action=AuditAction.BRANDING_UPDATED,
                target_type="tenant_branding",
                target_id=ctx.tenant.id,
                target_label="branding",
                changes=changed("accent_colour", before, colour),
            )
        return row

    async def issuer_branding(self, ctx: TenantContext, invoice: Invoice) -> TenantBranding | None:
        """The issuing MSP's branding for an invoice the caller has just read in the
        client (``invoices:read`` there): the logo is shown on the invoice as the MSP's
        name is. The unit of work is widened to the MSP only after that, and only this
        row of the MSP's is read."""
        if invoice.tenant_id != ctx.tenant.id:
            raise NotFound("No such invoice.")
        if invoice.msp_tenant_id != ctx.tenant.id:
            await widen(self.session, invoice.msp_tenant_id, why=Why.ISSUING_MSP)
        return await repository.of_tenant(self.session, invoice.msp_tenant_id)
