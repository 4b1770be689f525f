"""The tenant switcher's list (access rule 7): exactly the tenants where the user holds at
least one permission, home first, then the ones used recently (most recent first, see
``access/recent.py``), then the other customers ordered by display name.

It must agree with ``AccessService.context_in`` and stay fast at 10,000 customers. So it
reads the user's grants once (with their custom roles, as ``context_in`` does), narrows
the MSP's linked customers in SQL to those some grant could cover (every customer for an
MSP admin or an ``all_customers`` grant; else the delegated customers and the members of
the granted tenant groups), and lists them with one keyset query ordered by display
name. Each fetched row is then decided by the same functions ``context_in`` uses
(``customer_sources`` ∩ the link's ceiling): the ceiling is JSON, which neither database
compares portably, and exclusions and group membership are the decision module's to
read. A row that gives nothing is dropped and the next rows are fetched; that needs a
customer whose ceiling shares nothing with the user's roles there, or an excluded one.

Recently used: one more query reads the user's recent rows (at most ``recent.KEEP``, on
their index) joined to the same customer conditions and decided by the same functions,
so the recent list only orders and never grants. The name-ordered part then leaves
those customers out. The cursor says which part the next page continues: after home,
after the n-th recent tenant, or after a customer by name. The recent part is read
again on every page, so a switch in another tab between two pages can move one entry.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.access import repository
from tenantry.access.context import Principal
from tenantry.access.reach import Reach, customer_conditions, reach_for
from tenantry.access.reach import home_permissions as home_permissions
from tenantry.access.reach import reach_of as reach_of
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
        reach = await reach_for(self.session, principal, now)

        items: list[TenantChoice] = []
        if (
            position is None
            and reach.home
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

        recent = await self._recent(principal, reach, needle, now)
        shown = _recent_shown(position, len(recent))
        for choice in recent[shown:]:
            items.append(choice)
            shown += 1
            if len(items) == limit:
                return items, encode_cursor([_RECENT_CURSOR, shown])

        after = _customer_position(position)
        wanted = limit - len(items)
        customers, last_key = await self._customers(
            principal, reach, needle, after, wanted, now, [c.id for c in recent]
        )
        items.extend(customers[:wanted])
        next_cursor = (
            encode_cursor([_CUSTOMER_CURSOR, *last_key])
            if len(customers) > wanted and last_key
            else None
        )
        return items, next_cursor

    async def _recent(
        self, principal: Principal, reach: Reach, needle: str, now: datetime
    ) -> list[TenantChoice]:
        """The customers the user used lately and can still act in (matching the
        search), most recent first: one read of at most ``recent.KEEP`` rows (times the
        granted client groups each is in)."""
        if not reach.reaches_customers:
            return []
        used = repository.recent_order(
            principal.home_tenant_id, principal.user_id, reach.tenant_groups
        )
        rows = await tenancy.linked_customers_in_order(
            self.session,
            customer_conditions(principal, reach, needle, now),
            source=used.source,
            customer_id=used.customer_id,
            where=used.where,
            order_by=used.order_by,
            members=used.members,
        )
        order: list[uuid.UUID] = []
        found: dict[uuid.UUID, tuple[Any, set[uuid.UUID]]] = {}
        for row in rows:
            tenant_id = row[0]
            if tenant_id not in found:
                order.append(tenant_id)
                found[tenant_id] = (row, set())
            if reach.tenant_groups and row[5] is not None:
                found[tenant_id][1].add(row[5])
        choices: list[TenantChoice] = []
        for tenant_id in order:
            row, groups = found[tenant_id]
            if reach.in_customer(tenant_id, row[4] or (), frozenset(groups)):
                choices.append(
                    TenantChoice(
                        id=tenant_id,
                        slug=row[1],
                        display_name=row[2],
                        kind="customer",
                        status=str(row[3]),
                    )
                )
        return choices

    async def _customers(
        self,
        principal: Principal,
        reach: Reach,
        needle: str,
        after: tuple[str, uuid.UUID] | None,
        wanted: int,
        now: datetime,
        recent_ids: Sequence[uuid.UUID] = (),
    ) -> tuple[list[TenantChoice], tuple[str, str] | None]:
        """Up to ``wanted`` + 1 visible customers after ``after``; the key of the
        ``wanted``-th (where the next page starts)."""
        if not reach.reaches_customers:
            return [], None
        # Leaving out those already listed before these, in the recent part.
        conditions = customer_conditions(principal, reach, needle, now, list(recent_ids))
        found: list[TenantChoice] = []
        keys: list[tuple[str, str]] = []
        batch = wanted + 1
        while True:
            rows = await tenancy.linked_customers_by_name(
                self.session, conditions, after=after, limit=batch
            )
            groups = await repository.groups_of(
                self.session, [r[0] for r in rows], reach.tenant_groups
            )
            for tenant_id, slug, display_name, status, name_key, ceiling in rows:
                if reach.in_customer(tenant_id, ceiling or (), groups.get(tenant_id, frozenset())):
                    found.append(
                        TenantChoice(
                            id=tenant_id,
                            slug=slug,
                            display_name=display_name,
                            kind="customer",
                            status=str(status),
                        )
                    )
                    keys.append((name_key, str(tenant_id)))
                    if len(found) > wanted:
                        return found, keys[wanted - 1]
            if len(rows) < batch:
                return found, None
            # Every row of this batch was checked; carry on after the last one.
            last = rows[-1]
            after = (last[4], last[0])


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
