"""What one user's live grants give them across their MSP's customers, read once per
request and decided by the pure functions of ``decision.py`` exactly as
``AccessService.context_in`` decides one tenant. The switcher and the MSP-wide scopes
share it; neither imports the service (which records events through audit)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.access import repository
from tenantry.access.context import Principal
from tenantry.access.decision import (
    RoleBook,
    by_permission,
    customer_sources,
    home_sources,
    live,
    unblocked,
)
from tenantry.access.models import Grant, GrantScope
from tenantry.access.repository import BlockRef
from tenantry.access.rolebook import role_book
from tenantry.db.base import utcnow

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
    # The customers' blocks (issue #14): where this user is blocked (nothing there), and
    # where one of their groups is (that group's grants give nothing there).
    blocked_in: frozenset[uuid.UUID] = frozenset()
    blocked_groups: Mapping[uuid.UUID, frozenset[uuid.UUID]] = field(
        default_factory=dict, compare=False, hash=False
    )
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
        if customer_id in self.blocked_in:
            return frozenset()
        key = (tuple(ceiling), customer_groups)
        if customer_id not in self.singled_out and key in self._decided:
            return self._decided[key]
        sources = customer_sources(
            self.grants, customer_id, self.home_is_msp, customer_groups, self.book
        )
        if customer_id in self.blocked_groups:
            sources = unblocked(
                sources, user_blocked=False, blocked_groups=self.blocked_groups[customer_id]
            )
        permissions = frozenset(by_permission(sources, frozenset(ceiling), self.book))
        if customer_id not in self.singled_out:
            self._decided[key] = permissions
        return permissions


def reach_of(
    grants: Sequence[Grant],
    home_is_msp: bool,
    book: RoleBook,
    blocks: Sequence[BlockRef] = (),
) -> Reach:
    """Read live grants (and the customers' blocks of this user and their groups) as
    ``context_in`` does, without visiting any tenant."""
    broad = customer_sources(grants, _ANY_CUSTOMER, home_is_msp, frozenset(), book)
    groups_blocked: dict[uuid.UUID, set[uuid.UUID]] = {}
    for block in blocks:
        if block.user_group_id is not None:
            groups_blocked.setdefault(block.customer_id, set()).add(block.user_group_id)
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
        singled_out=delegated | _excluded(grants) | frozenset(groups_blocked),
        blocked_in=frozenset(b.customer_id for b in blocks if b.user_id is not None),
        blocked_groups={c: frozenset(g) for c, g in groups_blocked.items()},
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
    # The customers' blocks of this user or their groups come in the same statement.
    found, blocks = await repository.live_grants_and_blocks(session, principal.user_id)
    grants = live(found, now)
    book = await role_book(session, grants)
    return reach_of(grants, principal.home_is_msp, book, blocks)


async def home_permissions(session: AsyncSession, principal: Principal) -> frozenset[str]:
    """The user's permissions in their home tenant (the sidebar's MSP group needs them)."""
    return (await reach_for(session, principal, utcnow())).home
