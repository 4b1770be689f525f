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

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.access.context import Principal
from tenantry.access.models import RecentTenant
from tenantry.access.service import extend_scope
from tenantry.db.base import new_id, utcnow

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
    when = now or utcnow()
    await extend_scope(session, home)
    values = {
        "tenant_id": home,
        "id": new_id(),
        "user_id": principal.user_id,
        "recent_tenant_id": tenant_id,
        "used_at": when,
        "created_at": when,
    }
    keys = ["tenant_id", "user_id", "recent_tenant_id"]
    # Both dialects spell the upsert the same; only the construct differs.
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    await session.execute(
        insert(RecentTenant)
        .values(values)
        .on_conflict_do_update(index_elements=keys, set_={"used_at": when})
    )
    newest = (
        select(RecentTenant.id)
        .where(RecentTenant.tenant_id == home, RecentTenant.user_id == principal.user_id)
        .order_by(RecentTenant.used_at.desc(), RecentTenant.id.desc())
        .limit(KEEP)
    )
    await session.execute(
        delete(RecentTenant)
        .where(
            RecentTenant.tenant_id == home,
            RecentTenant.user_id == principal.user_id,
            RecentTenant.id.not_in(newest.scalar_subquery()),
        )
        .execution_options(synchronize_session=False)
    )
