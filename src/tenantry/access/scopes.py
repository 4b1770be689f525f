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
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.access import repository
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


def within(found: CustomerScope, ids: Iterable[uuid.UUID]) -> CustomerScope:
    """The same decision limited to those of its customers among ``ids`` (a client group
    filter on an MSP-wide view): customers outside the decision stay out."""
    keep = {i: found.customers[i] for i in ids if i in found.customers}
    return CustomerScope(found.permission, TenantScope.of(keep), keep)


async def client_groups(session: AsyncSession, msp_id: uuid.UUID) -> list[tuple[uuid.UUID, str]]:
    """The MSP's client groups as (id, name), by name: the group filter of MSP-wide views."""
    groups = await repository.groups_by_name(session, repository.TENANT_GROUP_TABLES, msp_id)
    return [(g.id, g.name) for g in groups]


async def client_group_members(
    session: AsyncSession, msp_id: uuid.UUID, group_id: uuid.UUID
) -> frozenset[uuid.UUID] | None:
    """The customers in one of the MSP's client groups now (None: it has no such group)."""
    tables = repository.TENANT_GROUP_TABLES
    if await repository.group_in(session, tables, msp_id, group_id) is None:
        return None
    members = await repository.tenant_group_memberships(session, frozenset({group_id}))
    return frozenset(members)


async def people_of(session: AsyncSession, tenant_id: uuid.UUID, limit: int = 500) -> list[User]:
    """The users at home in a tenant, by name (the technician filter of the MSP view)."""
    return await identity.people_at_home(session, tenant_id, limit)
