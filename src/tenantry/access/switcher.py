"""The tenant switcher's list (access rule 7): exactly the tenants where the user holds at
least one permission, home first, then the ones used recently (most recent first, see
``access/recent.py``), then the other customers ordered by display name.

It must agree with ``AccessService.context_in`` and stay fast at 10,000 customers. So it
lists the user's kept reach across their MSP's customers (``access/kept_reach.py``):
each customer decided by the same functions ``context_in`` uses (``customer_sources`` ∩
the link's ceiling), in the order the database gives (lower(display name), id), kept
while the home MSP's access version stands (one read of that number per request) and
no grant or link it used has expired. A search filters that list as the switcher's SQL
did (the slug or the lowered name contains the text), a page starts after its cursor's
customer: no customer is decided per request, none is read but the recent ones.

Recently used: one more query reads the ids of the user's recent rows (at most
``recent.KEEP``, on their index), kept only where the reach holds something, so the
recent list only orders and never grants. The name-ordered part then leaves those
customers out. The cursor says which part the next page continues: after home, after
the n-th recent tenant, or after a customer by name (lower(name), id). The recent part
is read again on every page, so a switch in another tab between two pages can move one
entry.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.access import repository
from tenantry.access.context import Principal
from tenantry.access.kept_reach import NARROW_AT_MOST, LinkedCustomer, UserReach, reached
from tenantry.access.reach import home_permissions as home_permissions
from tenantry.db.base import utcnow
from tenantry.errors import ValidationFailed
from tenantry.kit.pagination import check_limit, decode_cursor, encode_cursor
from tenantry.tenancy import service as tenancy

MAX_QUERY_LENGTH = 100
_HOME_CURSOR = "h"
_RECENT_CURSOR = "r"
_CUSTOMER_CURSOR = "c"


class TenantChoice(BaseModel):
    """One entry of the switcher."""

    id: uuid.UUID
    slug: str
    display_name: str
    kind: Literal["home", "customer"]
    status: str


def _matches(needle: str, *values: str) -> bool:
    return any(needle in value.lower() for value in values)


def _choice(row: LinkedCustomer) -> TenantChoice:
    customer = row.customer
    return TenantChoice(
        id=customer.id,
        slug=customer.slug,
        display_name=customer.display_name,
        kind="customer",
        status=row.status,
    )


class TenantSwitcher:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def page(
        self,
        principal: Principal,
        *,
        query: str | None = None,
        limit: int = 20,
        cursor: str | None = None,
    ) -> tuple[list[TenantChoice], str | None]:
        """One page of the tenants the user can act in, and the cursor of the next."""
        check_limit(limit)
        needle = (query or "").strip().lower()
        if len(needle) > MAX_QUERY_LENGTH:
            raise ValidationFailed("q", f"must be at most {MAX_QUERY_LENGTH} characters long")
        position = decode_cursor(cursor)
        now = utcnow()
        found = await reached(self.session, principal, now)

        items: list[TenantChoice] = []
        if (
            position is None
            and found.home
            and (
                not needle
                or _matches(needle, principal.home_tenant_slug, principal.home_tenant_name)
            )
        ):
            # The principal was resolved from an active home tenant (a suspended home
            # refuses sign-in), so its own row need not be read again.
            items.append(
                TenantChoice(
                    id=principal.home_tenant_id,
                    slug=principal.home_tenant_slug,
                    display_name=principal.home_tenant_name,
                    kind="home",
                    status="active",
                )
            )
            if len(items) == limit:
                return items, encode_cursor([_HOME_CURSOR])

        recent = await self._recent(principal, found, needle)
        shown = _recent_shown(position, len(recent))
        for row in recent[shown:]:
            items.append(_choice(row))
            shown += 1
            if len(items) == limit:
                return items, encode_cursor([_RECENT_CURSOR, shown])

        wanted = limit - len(items)
        start = await self._start(principal, found, _customer_position(position), now)
        listed = {row.customer.id for row in recent}
        customers: list[LinkedCustomer] = []
        for row in found.rows_from(start, needle):
            if row.customer.id in listed:
                continue
            customers.append(row)
            if len(customers) > wanted:
                last = customers[wanted - 1]
                items.extend(_choice(c) for c in customers[:wanted])
                return items, encode_cursor(
                    [_CUSTOMER_CURSOR, last.name_key, str(last.customer.id)]
                )
        items.extend(_choice(c) for c in customers)
        return items, None

    async def _recent(
        self, principal: Principal, found: UserReach, needle: str
    ) -> list[LinkedCustomer]:
        """The customers the user used lately and can still act in (matching the
        search), most recent first: one read of at most ``recent.KEEP`` ids."""
        if not found.reaches_customers:
            return []
        used = await repository.recent_ids(
            self.session, principal.home_tenant_id, principal.user_id
        )
        rows = (found.holds(tenant_id) for tenant_id in used)
        return [row for row in rows if row is not None and (not needle or row.matches(needle))]

    async def _start(
        self,
        principal: Principal,
        found: UserReach,
        after: tuple[str, uuid.UUID] | None,
        now: datetime,
    ) -> int:
        """The row of the user's list where the name-ordered part goes on."""
        if after is None:
            return 0
        name_key, tenant_id = after
        rows = found.customers.rows
        i = found.customers.index.get(tenant_id)
        if i is not None and rows[i].name_key == name_key:
            return i + 1
        # The cursor's customer was renamed or left since: the database, whose order
        # the list has, names the first of the list's customers after its key (one
        # indexed read; a user's own short list is named to it).
        among = None if len(rows) > NARROW_AT_MOST else [row.customer.id for row in rows]
        following = await tenancy.linked_customers_by_name(
            self.session,
            tenancy.linked_customer_conditions(principal.home_tenant_id, now, among),
            after=after,
            limit=1,
        )
        j = found.customers.index.get(following[0][0]) if following else None
        return len(rows) if j is None else j


def _recent_shown(position: list[Any] | None, available: int) -> int:
    """How many recent tenants earlier pages showed: none on the first page or after
    home, all of them once the name-ordered part has begun."""
    if not position or position[0] == _HOME_CURSOR:
        return 0
    if position[0] == _RECENT_CURSOR:
        if len(position) == 2 and isinstance(position[1], int) and position[1] >= 0:
            return min(position[1], available)
        raise ValidationFailed("cursor", "is not a cursor this API returned")
    return available


def _customer_position(position: list[Any] | None) -> tuple[str, uuid.UUID] | None:
    """The cursor says where the previous page stopped: after home or a recent tenant
    (the name-ordered part starts from its beginning), or after a customer."""
    if not position or position[0] in (_HOME_CURSOR, _RECENT_CURSOR):
        return None
    try:
        kind, name_key, raw_id = position
        if kind != _CUSTOMER_CURSOR or not isinstance(name_key, str):
            raise ValueError(kind)
        return name_key, uuid.UUID(str(raw_id))
    except ValueError as exc:
        raise ValidationFailed("cursor", "is not a cursor this API returned") from exc
