"""Multi-tenant scopes for MSP-wide reads: the set of customers where a user holds one
permission, decided per customer exactly as ``AccessService.context_in`` (and the
switcher) decide it, so an MSP-wide page never shows a customer the user could not open.

The decision is the user's kept reach across their MSP's customers
(``access/kept_reach.py``): used as it is when the home MSP's access version has not
moved since it was made (one read of that number per request), else made again from
the user's grants and the MSP's links. The result is a ``TenantScope`` for
``Database.unit_of_work``: on PostgreSQL that unit of work runs under the multi-tenant
role and policy (db/rls.py). The same scope object comes back while nothing changes, so
its ``BEGIN`` text is not rebuilt either (db/engine.py).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.access.context import Principal
from tenantry.access.kept_reach import CustomerInScope as CustomerInScope
from tenantry.access.kept_reach import CustomerScope as CustomerScope
from tenantry.access.kept_reach import reached
from tenantry.db.base import utcnow
from tenantry.db.scope import TenantScope
from tenantry.identity import service as identity
from tenantry.identity.models import User


async def customers_with(
    session: AsyncSession,
    principal: Principal,
    permission: str,
    now: datetime | None = None,
    *,
    home_version: int | None = None,
) -> CustomerScope:
    """Every customer of the user's home MSP where they hold ``permission`` now
    (``home_version``: the home's access version the request read with its decision,
    ``TenantContext.home_version``: no second read of it)."""
    found = await reached(session, principal, now or utcnow(), home_version)
    return found.scope(permission)


def narrowed(found: CustomerScope, customer_id: uuid.UUID) -> CustomerScope:
    """The same decision limited to one of its customers (a filter on the MSP-wide view):
    a smaller scope, so the database reads one tenant's rows."""
    customer = found.customers[customer_id]
    return CustomerScope(found.permission, TenantScope.of([customer_id]), {customer_id: customer})


async def people_of(session: AsyncSession, tenant_id: uuid.UUID, limit: int = 500) -> list[User]:
    """The users at home in a tenant, by name (the technician filter of the MSP view)."""
    return await identity.people_at_home(session, tenant_id, limit)
