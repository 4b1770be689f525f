"""Who of an MSP can act in one customer now (issue #14): each technician and each user
group whose grants reach the customer, with roles, the kind of grant in words a customer
may read (DESIGN.md rule 6: no other customer, no internal group name), expiry, and the
customer's blocks. The same decision functions as ``AccessService.context_in``.

Also answers the approval screen of a pending request: who would gain access, and who
had access under the earlier link with the same MSP (their grants outlived that link)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.access import repository
from tenantry.access.context import PermissionSource
from tenantry.access.decision import RoleBook, by_permission, customer_sources, unblocked
from tenantry.access.models import Grant, GrantScope, UserGroup
from tenantry.access.permissions import ADMIN_ROLES, CATALOG
from tenantry.access.rolebook import role_book
from tenantry.identity import service as identity
from tenantry.tenancy.models import Tenant, TenantLink

Kind = Literal["user", "group"]


@dataclass(frozen=True, slots=True)
class ActingSource:
    """One grant that lets a person or group act in the customer, in the customer's words."""

    role_name: str
    # "a delegation to this client", "a group of clients", "all customers",
    # "all customers, with exclusions" or "MSP admin (implicit)".
    via: str
    expires_at: datetime | None
    through_group: uuid.UUID | None = None
    blocked: bool = False  # a grant to a group the customer blocked


@dataclass(frozen=True, slots=True)
class Acting:
    """One technician (``kind="user"``) or user group of the MSP in the customer."""

    kind: Kind
    id: uuid.UUID
    name: str
    email: str | None
    members: tuple[str, ...]
    sources: tuple[ActingSource, ...]
    permissions: tuple[str, ...]  # what they may do now, blocks applied
    blocked: bool
    block_id: uuid.UUID | None
    # When the earlier link with this MSP ended, if they could act under it.
    had_access_until: datetime | None = None

    @property
    def roles(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(s.role_name for s in self.sources))

    @property
    def can_act(self) -> bool:
        return bool(self.permissions)


def _via(grant: Grant | None) -> str:
    if grant is None:
        return "MSP admin (implicit)"
    if grant.scope == GrantScope.CUSTOMER:
        return "a delegation to this client"
    if grant.scope == GrantScope.TENANT_GROUP:
        return "a group of clients"
    return "all customers" + (", with exclusions" if grant.excluded_customer_ids else "")


def _sources(
    found: Sequence[PermissionSource],
    grants: dict[uuid.UUID, Grant],
    blocked_groups: frozenset[uuid.UUID],
) -> tuple[ActingSource, ...]:
    return tuple(
        ActingSource(
            role_name=s.role_name or s.role,
            via=_via(grants.get(s.grant_id) if s.grant_id else None),
            expires_at=s.expires_at,
            through_group=s.user_group_id,
            blocked=s.user_group_id in blocked_groups,
        )
        for s in found
    )


def _permissions(
    found: Sequence[PermissionSource], ceiling: frozenset[str], book: RoleBook
) -> tuple[str, ...]:
    held = by_permission(found, ceiling, book)
    return tuple(p for p in CATALOG if p in held)


async def who_can_act(
    session: AsyncSession,
    customer: Tenant,
    msp: Tenant,
    ceiling: Sequence[str],
    now: datetime,
    *,
    earlier: TenantLink | None = None,
) -> list[Acting]:
    """Each technician and user group of ``msp`` whose live grants give something in
    ``customer`` within ``ceiling`` (the active link's, or what a pending request asks),
    blocked ones included and marked; people first, then groups, by name."""
    cap = frozenset(ceiling)
    tenant_groups = frozenset(
        g.id for g in await repository.tenant_groups_holding(session, msp.id, customer.id)
    )
    grants = await repository.live_grants_reaching(
        session, msp.id, customer.id, tenant_groups, ADMIN_ROLES, now
    )
    by_id = {g.id: g for g in grants}
    book = await role_book(session, grants)
    blocks = await repository.blocks_of_customer(session, customer.id)
    blocked_users = {b.user_id: b.id for b in blocks if b.user_id}
    group_blocks = {b.user_group_id: b.id for b in blocks if b.user_group_id}
    blocked_groups = frozenset(group_blocks)

    group_ids = {g.user_group_id for g in grants if g.user_group_id}
    members = await repository.memberships_of_groups(session, group_ids)
    in_group: dict[uuid.UUID, set[uuid.UUID]] = {}
    for group_id, user_id in members:
        in_group.setdefault(group_id, set()).add(user_id)
    held: dict[uuid.UUID, list[Grant]] = {}
    for grant in grants:
        holders = (
            {grant.user_id}
            if grant.user_id
            else in_group.get(grant.user_group_id or uuid.UUID(int=0), set())
        )
        for user_id in holders:
            held.setdefault(user_id, []).append(grant)
    users = {
        i: u
        for i, u in (
            await identity.users_by_ids(session, set(held) | {u for _, u in members})
        ).items()
        if u.home_tenant_id == msp.id and u.disabled_at is None
    }
    groups = await repository.groups_by_id(session, repository.USER_GROUP_TABLES, group_ids)

    def had(own: Sequence[Grant], group: bool = False) -> datetime | None:
        """The earlier link's end, if these grants (as they were then) gave something."""
        if earlier is None or earlier.ended_at is None or not earlier.activated_at:
            return None
        then = [g for g in own if g.created_at < earlier.ended_at]
        found = customer_sources(then, customer.id, msp.is_msp and not group, tenant_groups, book)
        return earlier.ended_at if by_permission(found, frozenset(earlier.ceiling), book) else None

    rows: list[Acting] = []
    for user_id, user in users.items():
        own = held.get(user_id, [])
        found = customer_sources(own, customer.id, msp.is_msp, tenant_groups, book)
        if not by_permission(found, cap, book):
            continue
        blocked = user_id in blocked_users
        rows.append(
            Acting(
                kind="user",
                id=user.id,
                name=user.display_name,
                email=user.email,
                members=(),
                sources=_sources(found, by_id, blocked_groups),
                permissions=_permissions(
                    unblocked(found, user_blocked=blocked, blocked_groups=blocked_groups),
                    cap,
                    book,
                ),
                blocked=blocked,
                block_id=blocked_users.get(user_id),
                had_access_until=had(own),
            )
        )
    group_rows: list[Acting] = []
    for group_id in group_ids:
        group: UserGroup | None = groups.get(group_id)
        own = [g for g in grants if g.user_group_id == group_id]
        found = customer_sources(own, customer.id, False, tenant_groups, book)
        if group is None or not by_permission(found, cap, book):
            continue
        blocked = group_id in blocked_groups
        group_rows.append(
            Acting(
                kind="group",
                id=group.id,
                name=group.name,
                email=None,
                members=tuple(
                    sorted(users[u].display_name for u in in_group.get(group_id, ()) if u in users)
                ),
                sources=_sources(found, by_id, frozenset()),
                permissions=() if blocked else _permissions(found, cap, book),
                blocked=blocked,
                block_id=group_blocks.get(group_id),
                had_access_until=had(own, group=True),
            )
        )
    rows.sort(key=lambda r: (r.name.lower(), str(r.id)))
    group_rows.sort(key=lambda r: (r.name.lower(), str(r.id)))
    return rows + group_rows
