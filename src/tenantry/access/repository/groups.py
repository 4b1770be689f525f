"""Queries of user groups and tenant (client) groups: one set of queries for both, told
which tables by a ``GroupTables``."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, delete, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from tenantry.access.models import (
    Grant,
    TenantGroup,
    TenantGroupMember,
    UserGroup,
    UserGroupMember,
)

Group = UserGroup | TenantGroup
G = TypeVar("G", UserGroup, TenantGroup)
M = TypeVar("M", UserGroupMember, TenantGroupMember)


@dataclass(frozen=True, slots=True)
class GroupTables(Generic[G, M]):
    """One kind of group: its table and the column naming the tenant that holds it, its
    members' table and the column naming a member, and the grant column naming it."""

    group: type[G]
    holder: InstrumentedAttribute[uuid.UUID]
    member: type[M]
    member_id: InstrumentedAttribute[uuid.UUID]
    grant_column: InstrumentedAttribute[uuid.UUID | None]

    def new(self, holder_id: uuid.UUID, name: str, description: str) -> G:
        return self.group(**{self.holder.key: holder_id, "name": name, "description": description})

    def membership(self, group_id: uuid.UUID, member_id: uuid.UUID) -> M:
        return self.member(**{"group_id": group_id, self.member_id.key: member_id})


USER_GROUP_TABLES: GroupTables[UserGroup, UserGroupMember] = GroupTables(
    UserGroup, UserGroup.tenant_id, UserGroupMember, UserGroupMember.user_id, Grant.user_group_id
)
TENANT_GROUP_TABLES: GroupTables[TenantGroup, TenantGroupMember] = GroupTables(
    TenantGroup,
    TenantGroup.msp_tenant_id,
    TenantGroupMember,
    TenantGroupMember.customer_tenant_id,
    Grant.tenant_group_id,
)


async def groups_by_name(
    session: AsyncSession,
    tables: GroupTables[G, Any],
    holder_id: uuid.UUID,
    *,
    after: tuple[str, uuid.UUID] | None = None,
    limit: int = 1000,
) -> Sequence[G]:
    """The tenant's groups by name (keyset paging on lower(name), id)."""
    model = tables.group
    sort = func.lower(model.name)
    stmt = select(model).where(tables.holder == holder_id)
    if after is not None:
        stmt = stmt.where(tuple_(sort, model.id) > tuple_(*after))
    result = await session.scalars(stmt.order_by(sort, model.id).limit(limit))
    return result.all()


async def group_in(
    session: AsyncSession, tables: GroupTables[G, Any], holder_id: uuid.UUID, group_id: uuid.UUID
) -> G | None:
    return await session.scalar(
        select(tables.group).where(tables.holder == holder_id, tables.group.id == group_id)
    )


async def group_named(
    session: AsyncSession, tables: GroupTables[G, Any], holder_id: uuid.UUID, name: str
) -> G | None:
    model = tables.group
    return await session.scalar(
        select(model).where(tables.holder == holder_id, func.lower(model.name) == name.lower())
    )


async def groups_by_id(
    session: AsyncSession, tables: GroupTables[G, Any], ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, G]:
    wanted = list(set(ids))
    if not wanted:
        return {}
    rows = await session.scalars(select(tables.group).where(tables.group.id.in_(wanted)))
    return {g.id: g for g in rows.all()}


def member_ids(tables: GroupTables[Any, Any], group_id: uuid.UUID) -> Select[uuid.UUID]:
    """The ids of the group's members, as a subquery for the owner's read of them."""
    return select(tables.member_id).where(tables.member.group_id == group_id)


async def member_counts(
    session: AsyncSession, tables: GroupTables[Any, Any], group_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, int]:
    wanted = list(set(group_ids))
    if not wanted:
        return {}
    group_id = tables.member.group_id
    rows = await session.execute(
        select(group_id, func.count()).where(group_id.in_(wanted)).group_by(group_id)
    )
    return {gid: int(count) for gid, count in rows.all()}


async def membership(
    session: AsyncSession, tables: GroupTables[Any, M], group_id: uuid.UUID, member_id: uuid.UUID
) -> M | None:
    return await session.get(tables.member, (group_id, member_id))


async def delete_group(session: AsyncSession, tables: GroupTables[G, Any], group: G) -> int:
    """Remove the group, its memberships and its dead grants (revoked or expired: the
    audit trail keeps their history; the foreign key would refuse the group's removal
    otherwise). Returns how many grants went."""
    await session.execute(delete(tables.member).where(tables.member.group_id == group.id))
    removed = await session.execute(delete(Grant).where(tables.grant_column == group.id))
    await session.delete(group)
    return _rowcount(removed)


# ---------------------------------------------------------------- what the rules read


async def groups_containing(
    session: AsyncSession, customer_id: uuid.UUID, group_ids: Iterable[uuid.UUID]
) -> frozenset[uuid.UUID]:
    """Which of these tenant groups hold the customer (membership as it is now)."""
    rows = await session.scalars(
        select(TenantGroupMember.group_id).where(
            TenantGroupMember.customer_tenant_id == customer_id,
            TenantGroupMember.group_id.in_(list(group_ids)),
        )
    )
    return frozenset(rows.all())


async def memberships_of_groups(
    session: AsyncSession, group_ids: Iterable[uuid.UUID]
) -> Sequence[tuple[uuid.UUID, uuid.UUID]]:
    """(group id, user id) for every member of these user groups."""
    wanted = list(set(group_ids))
    if not wanted:
        return []
    rows = await session.execute(
        select(UserGroupMember.group_id, UserGroupMember.user_id).where(
            UserGroupMember.group_id.in_(wanted)
        )
    )
    return [(g, u) for g, u in rows.all()]


async def user_group_ids_of(session: AsyncSession, user_id: uuid.UUID) -> set[uuid.UUID]:
    rows = await session.scalars(
        select(UserGroupMember.group_id).where(UserGroupMember.user_id == user_id)
    )
    return set(rows.all())


async def tenant_groups_holding(
    session: AsyncSession, msp_id: uuid.UUID, customer_id: uuid.UUID
) -> Sequence[TenantGroup]:
    """The MSP's tenant groups the customer is in now."""
    result = await session.scalars(
        select(TenantGroup)
        .join(TenantGroupMember, TenantGroupMember.group_id == TenantGroup.id)
        .where(
            TenantGroup.msp_tenant_id == msp_id,
            TenantGroupMember.customer_tenant_id == customer_id,
        )
        .order_by(func.lower(TenantGroup.name))
    )
    return result.all()


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)
