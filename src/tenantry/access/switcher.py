"""The tenant switcher's list (access rule 7): exactly the tenants where the user holds at
least one permission, home first, then customers ordered by display name.

It must agree with ``AccessService.context_in`` and stay fast at 10,000 customers, so it
reads the user's grants once, turns them into "what they hold in every customer" plus
"what they hold in these few delegated customers" with the same helpers ``context_in``
uses, and lists customers with one indexed keyset query over the MSP's active links.
The link ceiling is applied to each fetched row in Python (``ceiling`` is JSON, which
neither database compares portably); only a row whose ceiling shares nothing with the
user's roles is dropped, and the query is repeated for the next rows only then, which
needs a customer that narrowed its ceiling below every role the user holds there.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel
from sqlalchemy import ColumnElement, and_, func, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.access import repository
from tenantry.access.context import Principal
from tenantry.access.models import Grant, GrantScope
from tenantry.access.service import _live, customer_sources, home_sources, role_permissions
from tenantry.db.base import utcnow
from tenantry.errors import ValidationFailed
from tenantry.pagination import check_limit, decode_cursor, encode_cursor
from tenantry.tenancy.models import LinkState, Tenant, TenantLink

MAX_QUERY_LENGTH = 100
_HOME_CURSOR = "h"
_CUSTOMER_CURSOR = "c"


class TenantChoice(BaseModel):
    """One entry of the switcher."""

    id: uuid.UUID
    slug: str
    display_name: str
    kind: Literal["home", "customer"]
    status: str


@dataclass(frozen=True, slots=True)
class Reach:
    """What one user's live grants give them, read once per request."""

    home: frozenset[str]
    # Permissions held in every customer of the home MSP (implicit admin Owner grant,
    # all_customers grants), before each link's ceiling.
    every_customer: frozenset[str]
    # Extra permissions in single customers (customer-scoped delegations).
    delegated: dict[uuid.UUID, frozenset[str]]

    def in_customer(self, customer_id: uuid.UUID, ceiling: Sequence[str]) -> frozenset[str]:
        """As ``context_in`` decides it: (roles of covering grants) ∩ the link's ceiling."""
        held = self.every_customer | self.delegated.get(customer_id, frozenset())
        return held & frozenset(ceiling)


def _permissions_of(roles: Sequence[str]) -> frozenset[str]:
    found: set[str] = set()
    for role in roles:
        found |= role_permissions(role)
    return frozenset(found)


def reach_of(grants: Sequence[Grant], home_is_msp: bool) -> Reach:
    """Split live grants as ``context_in`` reads them, without visiting any tenant."""
    home = _permissions_of([s.role for s in home_sources(grants)])
    broad_grants = [g for g in grants if g.scope != GrantScope.CUSTOMER]
    # No customer-scoped grant is passed, so the id matches nothing: what remains are
    # the sources that cover every customer alike.
    broad = customer_sources(broad_grants, uuid.UUID(int=0), home_is_msp)
    every = _permissions_of([s.role for s in broad])
    delegated: dict[uuid.UUID, frozenset[str]] = {}
    for grant in grants:
        if grant.scope == GrantScope.CUSTOMER and grant.customer_tenant_id is not None:
            cid = grant.customer_tenant_id
            sources = customer_sources([grant], cid, False)
            delegated[cid] = delegated.get(cid, frozenset()) | _permissions_of(
                [s.role for s in sources]
            )
    return Reach(home, every, delegated)


async def reach_for(session: AsyncSession, principal: Principal, now: datetime) -> Reach:
    grants = _live(await repository.live_grants_of_user(session, principal.user_id), now)
    return reach_of(grants, principal.home_is_msp)


async def home_permissions(session: AsyncSession, principal: Principal) -> frozenset[str]:
    """The user's permissions in their home tenant (the sidebar's MSP group needs them)."""
    return (await reach_for(session, principal, utcnow())).home


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

        after = _customer_position(position)
        wanted = limit - len(items)
        customers, last_key = await self._customers(principal, reach, needle, after, wanted, now)
        items.extend(customers[:wanted])
        next_cursor = (
            encode_cursor([_CUSTOMER_CURSOR, *last_key])
            if len(customers) > wanted and last_key
            else None
        )
        return items, next_cursor

    async def _customers(
        self,
        principal: Principal,
        reach: Reach,
        needle: str,
        after: tuple[str, uuid.UUID] | None,
        wanted: int,
        now: datetime,
    ) -> tuple[list[TenantChoice], tuple[str, str] | None]:
        """Up to ``wanted`` + 1 visible customers after ``after``; the key of the
        ``wanted``-th (where the next page starts)."""
        if not reach.every_customer and not reach.delegated:
            return [], None
        sort_name = func.lower(Tenant.display_name)
        conditions: list[ColumnElement[bool]] = [
            TenantLink.msp_tenant_id == principal.home_tenant_id,
            TenantLink.state == LinkState.ACTIVE,
            or_(TenantLink.expires_at.is_(None), TenantLink.expires_at > now),
        ]
        if not reach.every_customer:
            # Only delegated customers: a short IN list the primary key answers.
            conditions.append(Tenant.id.in_(list(reach.delegated)))
        if needle:
            conditions.append(
                or_(
                    Tenant.slug.contains(needle, autoescape=True),
                    sort_name.contains(needle, autoescape=True),
                )
            )
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
            for tenant_id, slug, display_name, status, name_key, ceiling in rows:
                if reach.in_customer(tenant_id, ceiling or ()):
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


def _customer_position(position: list[Any] | None) -> tuple[str, uuid.UUID] | None:
    """The cursor says where the previous page stopped: after home, or after a customer."""
    if not position or position[0] == _HOME_CURSOR:
        return None
    try:
        kind, name_key, raw_id = position
        if kind != _CUSTOMER_CURSOR or not isinstance(name_key, str):
            raise ValueError(kind)
        return name_key, uuid.UUID(str(raw_id))
    except ValueError as exc:
        raise ValidationFailed("cursor", "is not a cursor this API returned") from exc
