"""Multi-tenant scopes for MSP-wide reads: the set of customers where a user holds one
permission, decided per customer exactly as ``AccessService.context_in`` (and the
switcher) decide it, so an MSP-wide page never shows a customer the user could not open.

It reads the user's grants once (``reach.reach_for``), lists the MSP's customers
under an active, unexpired link that some grant could cover (one query, narrowed in SQL
as the switcher does), reads the granted tenant groups' members once, and keeps each
customer whose (roles of the covering grants) ∩ (the link's ceiling) holds the
permission. The result is a ``TenantScope`` for ``Database.unit_of_work``: on PostgreSQL
that unit of work runs under the multi-tenant role and policy (db/rls.py).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.access import repository
from tenantry.access.context import Principal
from tenantry.access.reach import customer_conditions, reach_for
from tenantry.db.base import utcnow
from tenantry.db.scope import TenantScope
from tenantry.identity import service as identity
from tenantry.identity.models import User
from tenantry.tenancy import service as tenancy


@dataclass(frozen=True, slots=True)
class CustomerInScope:
    id: uuid.UUID
    slug: str
    display_name: str


@dataclass(frozen=True, slots=True)
class CustomerScope:
    """The customers where the user holds ``permission`` and the scope covering them."""

    permission: str
    scope: TenantScope
    customers: dict[uuid.UUID, CustomerInScope]

    def by_ref(self, ref: str) -> CustomerInScope | None:
        """A customer of the scope by slug or id (None when it is not in the scope)."""
        for customer in self.customers.values():
            if ref in (customer.slug, str(customer.id)):
                return customer
        return None


async def customers_with(
    session: AsyncSession, principal: Principal, permission: str, now: datetime | None = None
) -> CustomerScope:
    """Every customer of the user's home MSP where they hold ``permission`` now."""
    now = now or utcnow()
    reach = await reach_for(session, principal, now)
    empty = CustomerScope(permission, TenantScope.of(()), {})
    if not principal.home_is_msp or not reach.reaches_customers:
        return empty
    # The ceiling as its JSON text: thousands of links share a few ceilings, so each
    # distinct text is parsed once (``_Ceilings``), not once per row.
    rows = await tenancy.linked_customers_with_ceiling_text(
        session, customer_conditions(principal, reach, "", now)
    )
    groups = await repository.groups_of(session, [r[0] for r in rows], reach.tenant_groups)
    ceilings = _Ceilings()
    customers = {
        tenant_id: CustomerInScope(tenant_id, slug, name)
        for tenant_id, slug, name, ceiling in rows
        if permission
        in reach.in_customer(tenant_id, ceilings[ceiling], groups.get(tenant_id, frozenset()))
    }
    return CustomerScope(permission, TenantScope.of(customers), customers)


class _Ceilings(dict[str | None, tuple[str, ...]]):
    """JSON text of a link's ceiling → its permissions, parsed on first sight."""

    def __missing__(self, text: str | None) -> tuple[str, ...]:
        parsed = json.loads(text) if text else None
        self[text] = found = tuple(parsed or ())
        return found


def narrowed(found: CustomerScope, customer_id: uuid.UUID) -> CustomerScope:
    """The same decision limited to one of its customers (a filter on the MSP-wide view):
    a smaller scope, so the database reads one tenant's rows."""
    customer = found.customers[customer_id]
    return CustomerScope(found.permission, TenantScope.of([customer_id]), {customer_id: customer})


async def people_of(session: AsyncSession, tenant_id: uuid.UUID, limit: int = 500) -> list[User]:
    """The users at home in a tenant, by name (the technician filter of the MSP view)."""
    return await identity.people_at_home(session, tenant_id, limit)
