"""Queries of user groups and tenant (client) groups."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Select, delete, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.access.models import (
    Grant,
    TenantGroup,
    TenantGroupMember,
    UserGroup,
    UserGroupMember,
)


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


# ---------------------------------------------------------------- user groups


async def user_groups_of(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    after: tuple[str, uuid.UUID] | None = None,
    limit: int = 1000,
) -> Sequence[UserGroup]:
    """The tenant's user groups by name (keyset paging on lower(name), id)."""
    sort = func.lower(UserGroup.name)
    stmt = select(UserGroup).where(UserGroup.tenant_id == tenant_id)
    if after is not None:
        stmt = stmt.where(tuple_(sort, UserGroup.id) > tuple_(*after))
    result = await session.scalars(stmt.order_by(sort, UserGroup.id).limit(limit))
    return result.all()


async def user_group_in(
    session: AsyncSession, tenant_id: uuid.UUID, group_id: uuid.UUID
) -> UserGroup | None:
    return await session.scalar(
        select(UserGroup).where(UserGroup.tenant_id == tenant_id, UserGroup.id == group_id)
    )


async def user_group_named(
    session: AsyncSession, tenant_id: uuid.UUID, name: str
) -> UserGroup | None:
    return await session.scalar(
        select(UserGroup).where(
            UserGroup.tenant_id == tenant_id, func.lower(UserGroup.name) == name.lower()
        )
    )


async def user_groups_by_id(
    session: AsyncSession, ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, UserGroup]:
    wanted = list(set(ids))
    if not wanted:
        return {}
    rows = await session.scalars(select(UserGroup).where(UserGroup.id.in_(wanted)))
    return {g.id: g for g in rows.all()}


def user_group_member_ids(group_id: uuid.UUID) -> Select[uuid.UUID]:
    """The ids of the group's members, as a subquery for identity's read of them."""
    return select(UserGroupMember.user_id).where(UserGroupMember.group_id == group_id)


async def user_group_member_counts(
    session: AsyncSession, group_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, int]:
    wanted = list(set(group_ids))
    if not wanted:
        return {}
    rows = await session.execute(
        select(UserGroupMember.group_id, func.count())
        .where(UserGroupMember.group_id.in_(wanted))
        .group_by(UserGroupMember.group_id)
    )
    return {group_id: int(count) for group_id, count in rows.all()}


async def user_group_membership(
    session: AsyncSession, group_id: uuid.UUID, user_id: uuid.UUID
) -> UserGroupMember | None:
    return await session.get(UserGroupMember, (group_id, user_id))


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


async def delete_user_group(session: AsyncSession, group: UserGroup) -> int:
    """Remove the group, its memberships and its dead grants (revoked or expired: the
    audit trail keeps their history; the foreign key would refuse the group's removal
    otherwise). Returns how many grants went."""
    await session.execute(delete(UserGroupMember).where(UserGroupMember.group_id == group.id))
    removed = await session.execute(delete(Grant).where(Grant.user_group_id == group.id))
    await session.delete(group)
    return _rowcount(removed)


async def tenant_groups_of(
    session: AsyncSession,
    msp_id: uuid.UUID,
    *,
    after: tuple[str, uuid.UUID] | None = None,
    limit: int = 1000,
) -> Sequence[TenantGroup]:
    sort = func.lower(TenantGroup.name)
    stmt = select(TenantGroup).where(TenantGroup.msp_tenant_id == msp_id)
    if after is not None:
        stmt = stmt.where(tuple_(sort, TenantGroup.id) > tuple_(*after))
    result = await session.scalars(stmt.order_by(sort, TenantGroup.id).limit(limit))
    return result.all()


async def tenant_group_in(
    session: AsyncSession, msp_id: uuid.UUID, group_id: uuid.UUID
) -> TenantGroup | None:
    return await session.scalar(
        select(TenantGroup).where(TenantGroup.msp_tenant_id == msp_id, TenantGroup.id == group_id)
    )


async def tenant_group_named(
    session: AsyncSession, msp_id: uuid.UUID, name: str
) -> TenantGroup | None:
    return await session.scalar(
        select(TenantGroup).where(
            TenantGroup.msp_tenant_id == msp_id, func.lower(TenantGroup.name) == name.lower()
        )
    )


async def tenant_groups_by_id(
    session: AsyncSession, ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, TenantGroup]:
    wanted = list(set(ids))
    if not wanted:
        return {}
    rows = await session.scalars(select(TenantGroup).where(TenantGroup.id.in_(wanted)))
    return {g.id: g for g in rows.all()}


def tenant_group_member_ids(group_id: uuid.UUID) -> Select[uuid.UUID]:
    """The ids of the group's customers, as a subquery for tenancy's read of them."""
    return select(TenantGroupMember.customer_tenant_id).where(
        TenantGroupMember.group_id == group_id
    )


async def tenant_group_member_counts(
    session: AsyncSession, group_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, int]:
    wanted = list(set(group_ids))
    if not wanted:
        return {}
    rows = await session.execute(
        select(TenantGroupMember.group_id, func.count())
        .where(TenantGroupMember.group_id.in_(wanted))
        .group_by(TenantGroupMember.group_id)
    )
    return {group_id: int(count) for group_id, count in rows.all()}


async def tenant_group_membership(
    session: AsyncSession, group_id: uuid.UUID, customer_id: uuid.UUID
) -> TenantGroupMember | None:
    return await session.get(TenantGroupMember, (group_id, customer_id))


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


async def delete_tenant_group(session: AsyncSession, group: TenantGroup) -> int:
    """As ``delete_user_group``: memberships and dead grants go with the group."""
    await session.execute(delete(TenantGroupMember).where(TenantGroupMember.group_id == group.id))
    removed = await session.execute(delete(Grant).where(Grant.tenant_group_id == group.id))
    await session.delete(group)
    return _rowcount(removed)


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)
