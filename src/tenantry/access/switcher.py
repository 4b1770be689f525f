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
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel
from sqlalchemy import ColumnElement, and_, func, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.access import repository
from tenantry.access.context import Principal
from tenantry.access.decision import RoleBook, by_permission, customer_sources, home_sources, live
from tenantry.access.models import Grant, GrantScope, RecentTenant, TenantGroupMember
from tenantry.access.service import AccessService
from tenantry.db.base import utcnow
from tenantry.errors import ValidationFailed
from tenantry.pagination import check_limit, decode_cursor, encode_cursor
from tenantry.tenancy.models import LinkState, Tenant, TenantLink

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


# Matches no customer grant: asking ``customer_sources`` about it returns only the
# sources that cover every customer alike (the implicit admin grant, all_customers).
_ANY_CUSTOMER = uuid.UUID(int=0)


@dataclass(frozen=True, slots=True)
class Reach:
    """What one user's live grants give them, read once per request."""

    grants: tuple[Grant, ...]
    home_is_msp: bool
    book: RoleBook
    home: frozenset[str]
    # Some grant covers every customer of the home MSP: all linked customers are
    # candidates. Otherwise only delegated customers and members of granted groups are.
    every_customer: bool
    delegated: frozenset[uuid.UUID]
    tenant_groups: frozenset[uuid.UUID]
    # Customers some grant names by id (delegated or excluded): only for these does the
    # decision depend on which customer it is, beyond its ceiling and groups.
    singled_out: frozenset[uuid.UUID] = frozenset()
    # (ceiling, groups) → permissions, for every other customer: an MSP-wide read over
    # 10,000 clients decides a handful of distinct cases, not 10,000.
    _decided: dict[tuple[tuple[str, ...], frozenset[uuid.UUID]], frozenset[str]] = field(
        default_factory=dict, compare=False, hash=False, repr=False
    )

    @property
    def reaches_customers(self) -> bool:
        return self.every_customer or bool(self.delegated) or bool(self.tenant_groups)

    def in_customer(
        self,
        customer_id: uuid.UUID,
        ceiling: Sequence[str],
        customer_groups: frozenset[uuid.UUID] = frozenset(),
    ) -> frozenset[str]:
        """As ``context_in`` decides it, with the same functions: (roles of the grants
        whose scope covers the customer) ∩ the link's ceiling."""
        key = (tuple(ceiling), customer_groups)
        if customer_id not in self.singled_out and key in self._decided:
            return self._decided[key]
        sources = customer_sources(
            self.grants, customer_id, self.home_is_msp, customer_groups, self.book
        )
        permissions = frozenset(by_permission(sources, frozenset(ceiling), self.book))
        if customer_id not in self.singled_out:
            self._decided[key] = permissions
        return permissions


def reach_of(grants: Sequence[Grant], home_is_msp: bool, book: RoleBook) -> Reach:
    """Read live grants as ``context_in`` does, without visiting any tenant."""
    broad = customer_sources(grants, _ANY_CUSTOMER, home_is_msp, frozenset(), book)
    delegated = frozenset(
        g.customer_tenant_id
        for g in grants
        if g.scope == GrantScope.CUSTOMER and g.customer_tenant_id is not None
    )
    return Reach(
        grants=tuple(grants),
        home_is_msp=home_is_msp,
        book=book,
        home=frozenset(by_permission(home_sources(grants, book), None, book)),
        every_customer=bool(by_permission(broad, None, book)),
        delegated=delegated,
        tenant_groups=frozenset(
            g.tenant_group_id
            for g in grants
            if g.scope == GrantScope.TENANT_GROUP and g.tenant_group_id is not None
        ),
        singled_out=delegated | _excluded(grants),
    )


def _excluded(grants: Sequence[Grant]) -> frozenset[uuid.UUID]:
    """Customers an all_customers grant leaves out (``covers`` compares their text)."""
    found: set[uuid.UUID] = set()
    for grant in grants:
        if grant.scope == GrantScope.ALL_CUSTOMERS:
            for excluded in grant.excluded_customer_ids or ():
                try:
                    found.add(uuid.UUID(str(excluded)))
                except ValueError:
                    continue  # names no customer, so it excludes none
    return frozenset(found)


async def reach_for(session: AsyncSession, principal: Principal, now: datetime) -> Reach:
    grants = live(await repository.live_grants_of_user(session, principal.user_id), now)
    book = await AccessService(session).role_book(grants)
    return reach_of(grants, principal.home_is_msp, book)


async def home_permissions(session: AsyncSession, principal: Principal) -> frozenset[str]:
    """The user's permissions in their home tenant (the sidebar's MSP group needs them)."""
    return (await reach_for(session, principal, utcnow())).home


async def _groups_of(
    session: AsyncSession, customer_ids: Sequence[uuid.UUID], group_ids: frozenset[uuid.UUID]
) -> dict[uuid.UUID, frozenset[uuid.UUID]]:
    """Which of the granted tenant groups hold each of these customers (one query)."""
    if not group_ids or not customer_ids:
        return {}
    rows = await session.execute(
        select(TenantGroupMember.customer_tenant_id, TenantGroupMember.group_id).where(
            TenantGroupMember.group_id.in_(sorted(group_ids)),
            TenantGroupMember.customer_tenant_id.in_(list(customer_ids)),
        )
    )
    found: dict[uuid.UUID, set[uuid.UUID]] = {}
    for customer_id, group_id in rows.all():
        found.setdefault(customer_id, set()).add(group_id)
    return {c: frozenset(g) for c, g in found.items()}


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
        stmt = (
            select(
                Tenant.id,
                Tenant.slug,
                Tenant.display_name,
                Tenant.status,
                TenantLink.ceiling,
            )
            .select_from(RecentTenant)
            .join(Tenant, Tenant.id == RecentTenant.recent_tenant_id)
            .join(TenantLink, TenantLink.customer_tenant_id == Tenant.id)
            .where(
                RecentTenant.tenant_id == principal.home_tenant_id,
                RecentTenant.user_id == principal.user_id,
                *_customer_conditions(principal, reach, needle, now),
            )
            .order_by(RecentTenant.used_at.desc(), RecentTenant.recent_tenant_id)
        )
        if reach.tenant_groups:
            # Which granted groups hold each one, in the same read.
            stmt = stmt.add_columns(TenantGroupMember.group_id).outerjoin(
                TenantGroupMember,
                and_(
                    TenantGroupMember.customer_tenant_id == Tenant.id,
                    TenantGroupMember.group_id.in_(sorted(reach.tenant_groups)),
                ),
            )
        rows: list[Any] = list((await self.session.execute(stmt)).all())
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
        sort_name = func.lower(Tenant.display_name)
        conditions = _customer_conditions(principal, reach, needle, now)
        if recent_ids:
            # Already listed before these, in the recent part.
            conditions.append(Tenant.id.not_in(recent_ids))
        found: list[TenantChoice] = []
        keys: list[tuple[str, str]] = []
        batch = wanted + 1
        while True:
            stmt = (
                select(Tenant.id, Tenant.slug, Tenant.display_name, Tenant.status, sort_name)
                .add_columns(TenantLink.ceiling)
                .join(TenantLink, TenantLink.customer_tenant_id == Tenant.id)
                .where(and_(*conditions))
                .order_by(sort_name, Tenant.id)
                .limit(batch)
            )
            if after is not None:
                stmt = stmt.where(tuple_(sort_name, Tenant.id) > tuple_(*after))
            rows: list[Any] = list((await self.session.execute(stmt)).all())
            groups = await _groups_of(self.session, [r[0] for r in rows], reach.tenant_groups)
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


def _customer_conditions(
    principal: Principal, reach: Reach, needle: str, now: datetime
) -> list[ColumnElement[bool]]:
    """The customers of the user's MSP that some grant could cover (and that match the
    search): an active, unexpired link, and for a user without a grant covering every
    customer, only the customers some grant names."""
    conditions: list[ColumnElement[bool]] = [
        TenantLink.msp_tenant_id == principal.home_tenant_id,
        TenantLink.state == LinkState.ACTIVE,
        or_(TenantLink.expires_at.is_(None), TenantLink.expires_at > now),
    ]
    if not reach.every_customer:
        # Only customers some grant names: a short IN list, and the members of the
        # granted tenant groups (indexed by group).
        named: list[ColumnElement[bool]] = []
        if reach.delegated:
            named.append(Tenant.id.in_(sorted(reach.delegated)))
        if reach.tenant_groups:
            named.append(
                Tenant.id.in_(
                    select(TenantGroupMember.customer_tenant_id).where(
                        TenantGroupMember.group_id.in_(sorted(reach.tenant_groups))
                    )
                )
            )
        conditions.append(or_(*named))
    if needle:
        conditions.append(
            or_(
                Tenant.slug.contains(needle, autoescape=True),
                func.lower(Tenant.display_name).contains(needle, autoescape=True),
            )
        )
    return conditions


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
