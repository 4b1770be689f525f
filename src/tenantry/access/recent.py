"""Recently used tenants: the switcher lists them right after home, most recent first.

Written where a context switch is already recorded (the web switcher's
``/t/<tenant>/switch``, which writes ``access.context_switched``): one upsert of one
row, and a delete that keeps the user's ``KEEP`` newest rows (usually deleting nothing),
both on the ``(tenant_id, user_id, …)`` index. Ordinary requests write nothing.

The rows belong to the user's HOME tenant (``RecentTenant`` is tenant-owned): the
switcher reads them in the home scope it already runs in. They only order the list: the
switcher reads them joined to the tenants the user can act in, decided as always, so a
tenant that was revoked, unlinked or deleted never comes back through them.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.access import repository
from tenantry.access.context import Principal
from tenantry.access.widening import Why, widen
from tenantry.db.base import utcnow

# How many tenants each user's list keeps.
KEEP = 10


async def remember(
    session: AsyncSession,
    principal: Principal,
    tenant_id: uuid.UUID,
    now: datetime | None = None,
) -> None:
    """``principal`` just switched into ``tenant_id`` (which the caller decided they may
    act in). Widens the unit of work to the user's home tenant, whose row it is. Home
    itself is not recorded: it is always first."""
    home = principal.home_tenant_id
    if tenant_id == home:
        return  # home is always listed first
    await widen(session, home, why=Why.RECENT_AT_HOME)
    await repository.touch_recent(
        session, home, principal.user_id, tenant_id, now or utcnow(), keep=KEEP
    )
