"""Every query of ``tenant_branding``."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.branding.models import TenantBranding


async def of_tenant(session: AsyncSession, tenant_id: uuid.UUID) -> TenantBranding | None:
    return await session.scalar(select(TenantBranding).where(TenantBranding.tenant_id == tenant_id))
