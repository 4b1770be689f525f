"""Queries of the access tables (custom roles, user and tenant groups, grants) and of
the users, tenants and links the access layer needs to read."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, func, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.access.models import (
    CustomRole,
    Grant,
    GrantScope,
    TenantGroup,
    TenantGroupMember,
    UserGroup,
    UserGroupMember,
)
from tenantry.identity.models import User
from tenantry.tenancy.models import LinkState, Tenant, TenantLink


async def live_grants_of_user(
    session: AsyncSession, user_id: uuid.UUID, *, deciding_for: uuid.UUID | None = None
) -> Sequence[Grant]:
    """Unrevoked grants to the user and to the groups they belong to, in one query;
    expiry is checked by the caller against one clock reading.

    ``deciding_for``: only the grants that can matter in that one tenant: a grant scoped
    to another single customer never does. A technician delegated to 200 clients then
    loads two grants per request instead of 201.
    """
    groups = select(UserGroupMember.group_id).where(UserGroupMember.user_id == user_id)
    conditions = [
        Grant.revoked_at.is_(None),
        or_(Grant.user_id == user_id, Grant.user_group_id.in_(groups)),
    ]
    if deciding_for is not None:
        conditions.append(
            or_(Grant.scope != GrantScope.CUSTOMER, Grant.customer_tenant_id == deciding_for)
        )
    result = await session.scalars(select(Grant).where(*conditions))
    return result.all()


async def custom_roles_by_id(
    session: AsyncSession, ids: Iterable[uuid.UUID]
) -> Sequence[CustomRole]:
    return (await session.scalars(select(CustomRole).where(CustomRole.id.in_(list(ids))))).all()


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


async def tenant_by_ref(session: AsyncSession, ref: str) -> Tenant | None:
    """A tenant by slug or by id (the API accepts either in the path)."""
    try:
        tenant_id = uuid.UUID(ref)
    except ValueError:
        return await session.scalar(select(Tenant).where(Tenant.slug == ref.lower()))
    return await session.get(Tenant, tenant_id)


async def active_link(
    session: AsyncSession, msp_tenant_id: uuid.UUID, customer_tenant_id: uuid.UUID
) -> TenantLink | None:
    return await session.scalar(
        select(TenantLink).where(
            TenantLink.msp_tenant_id == msp_tenant_id,
            TenantLink.customer_tenant_id == customer_tenant_id,
            TenantLink.state == LinkState.ACTIVE,
        )
    )


# ---------------------------------------------------------------- custom roles


async def custom_roles_of(session: AsyncSession, tenant_id: uuid.UUID) -> Sequence[CustomRole]:
    """A tenant's custom roles by name (a tenant has tens, not thousands)."""
    result = await session.scalars(
        select(CustomRole)
        .where(CustomRole.tenant_id == tenant_id)
        .order_by(func.lower(CustomRole.name), CustomRole.id)
    )
    return result.all()


async def custom_role_in(
    session: AsyncSession, tenant_id: uuid.UUID, role_id: uuid.UUID
) -> CustomRole | None:
    """One of the tenant's custom roles; None for another tenant's."""
    return await session.scalar(
        select(CustomRole).where(CustomRole.tenant_id == tenant_id, CustomRole.id == role_id)
    )


async def custom_role_named(
    session: AsyncSession, tenant_id: uuid.UUID, name: str
) -> CustomRole | None:
    return await session.scalar(
        select(CustomRole).where(
            CustomRole.tenant_id == tenant_id, func.lower(CustomRole.name) == name.lower()
        )
    )


# ---------------------------------------------------------------- users


async def user_in_tenant(session: AsyncSession, tenant_id: uuid.UUID, ref: str) -> User | None:
    """A user at home in the tenant, by id or email; None for anyone else."""
    try:
        condition = User.id == uuid.UUID(ref)
    except ValueError:
        condition = User.email == ref.strip().lower()
    return await session.scalar(select(User).where(condition, User.home_tenant_id == tenant_id))


async def user_anywhere(session: AsyncSession, ref: str) -> User | None:
    """A user by id or email, whatever their home (the caller decides who may see them)."""
    try:
        condition = User.id == uuid.UUID(ref)
    except ValueError:
        condition = User.email == ref.strip().lower()
    return await session.scalar(select(User).where(condition))


async def users_by_id(session: AsyncSession, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, User]:
    wanted = list(set(ids))
    if not wanted:
        return {}
    rows = await session.scalars(select(User).where(User.id.in_(wanted)))
    return {u.id: u for u in rows.all()}


async def users_of_tenant(
    session: AsyncSession, tenant_id: uuid.UUID, limit: int = 1000
) -> Sequence[User]:
    """The tenant's own users by name (for pickers; the API takes an id or email)."""
    result = await session.scalars(
        select(User)
        .where(User.home_tenant_id == tenant_id)
        .order_by(func.lower(User.display_name), User.id)
        .limit(limit)
    )
    return result.all()


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


async def user_group_members(session: AsyncSession, group_id: uuid.UUID) -> Sequence[User]:
    result = await session.scalars(
        select(User)
        .join(UserGroupMember, UserGroupMember.user_id == User.id)
        .where(UserGroupMember.group_id == group_id)
        .order_by(User.email)
    )
    return result.all()


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


# ---------------------------------------------------------------- tenant groups


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


async def tenant_group_members(session: AsyncSession, group_id: uuid.UUID) -> Sequence[Tenant]:
    result = await session.scalars(
        select(Tenant)
        .join(TenantGroupMember, TenantGroupMember.customer_tenant_id == Tenant.id)
        .where(TenantGroupMember.group_id == group_id)
        .order_by(func.lower(Tenant.display_name), Tenant.id)
    )
    return result.all()


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


# ---------------------------------------------------------------- tenants


async def tenants_by_id(session: AsyncSession, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Tenant]:
    wanted = list(set(ids))
    if not wanted:
        return {}
    rows = await session.scalars(select(Tenant).where(Tenant.id.in_(wanted)))
    return {t.id: t for t in rows.all()}


async def msp_of(session: AsyncSession, customer_id: uuid.UUID) -> tuple[Tenant, TenantLink] | None:
    """The MSP managing this customer through an active link, if any."""
    row = (
        await session.execute(
            select(Tenant, TenantLink)
            .join(TenantLink, TenantLink.msp_tenant_id == Tenant.id)
            .where(
                TenantLink.customer_tenant_id == customer_id,
                TenantLink.state == LinkState.ACTIVE,
            )
        )
    ).first()
    return (row[0], row[1]) if row else None


# ---------------------------------------------------------------- grants


def _live_at(now: datetime) -> ColumnElement[bool]:
    return and_(Grant.revoked_at.is_(None), or_(Grant.expires_at.is_(None), Grant.expires_at > now))


async def grant_in(
    session: AsyncSession, tenant_id: uuid.UUID, grant_id: uuid.UUID
) -> Grant | None:
    """A grant the tenant issued; None for another tenant's."""
    return await session.scalar(
        select(Grant).where(Grant.tenant_id == tenant_id, Grant.id == grant_id)
    )


async def live_grants_with_role(
    session: AsyncSession, role_key: str, now: datetime
) -> Sequence[Grant]:
    result = await session.scalars(
        select(Grant).where(Grant.role == role_key, _live_at(now)).order_by(Grant.id)
    )
    return result.all()


async def live_grants_to_user_group(
    session: AsyncSession, group_id: uuid.UUID, now: datetime
) -> Sequence[Grant]:
    result = await session.scalars(
        select(Grant).where(Grant.user_group_id == group_id, _live_at(now)).order_by(Grant.id)
    )
    return result.all()


async def live_grants_for_tenant_group(
    session: AsyncSession, group_id: uuid.UUID, now: datetime
) -> Sequence[Grant]:
    result = await session.scalars(
        select(Grant).where(Grant.tenant_group_id == group_id, _live_at(now)).order_by(Grant.id)
    )
    return result.all()


@dataclass(frozen=True, slots=True)
class GrantFilter:
    """What the grants list narrows by; every field optional."""

    user_id: uuid.UUID | None = None
    user_group_ids: frozenset[uuid.UUID] = frozenset()  # with user_id: the user's groups
    group_id: uuid.UUID | None = None
    role: str | None = None
    scope: GrantScope | None = None
    customer_id: uuid.UUID | None = None
    customer_groups: frozenset[uuid.UUID] = frozenset()  # with customer_id: its groups
    include_expired: bool = False
    include_revoked: bool = False


async def list_grants(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    f: GrantFilter,
    *,
    now: datetime,
    before_id: uuid.UUID | None,
    limit: int,
) -> Sequence[Grant]:
    """The tenant's grants, newest first (ids are time-ordered), keyset on id.

    With ``customer_id``: the grants whose scope can reach the customer (its own,
    its tenant groups', every all_customers one); exclusions are JSON and left to the
    caller, as in the switcher."""
    conditions: list[ColumnElement[bool]] = [Grant.tenant_id == tenant_id]
    if not f.include_revoked:
        conditions.append(Grant.revoked_at.is_(None))
    if not f.include_expired:
        conditions.append(or_(Grant.expires_at.is_(None), Grant.expires_at > now))
    if f.user_id is not None:
        to_user: ColumnElement[bool] = Grant.user_id == f.user_id
        if f.user_group_ids:
            to_user = or_(to_user, Grant.user_group_id.in_(sorted(f.user_group_ids)))
        conditions.append(to_user)
    if f.group_id is not None:
        conditions.append(Grant.user_group_id == f.group_id)
    if f.role is not None:
        conditions.append(Grant.role == f.role)
    if f.scope is not None:
        conditions.append(Grant.scope == f.scope)
    if f.customer_id is not None:
        reach: list[ColumnElement[bool]] = [
            and_(Grant.scope == GrantScope.CUSTOMER, Grant.customer_tenant_id == f.customer_id),
            Grant.scope == GrantScope.ALL_CUSTOMERS,
        ]
        if f.customer_groups:
            reach.append(
                and_(
                    Grant.scope == GrantScope.TENANT_GROUP,
                    Grant.tenant_group_id.in_(sorted(f.customer_groups)),
                )
            )
        conditions.append(or_(*reach))
    if before_id is not None:
        conditions.append(Grant.id < before_id)
    result = await session.scalars(
        select(Grant).where(*conditions).order_by(Grant.id.desc()).limit(limit)
    )
    return result.all()


async def live_home_grants(
    session: AsyncSession, tenant_id: uuid.UUID, now: datetime
) -> Sequence[Grant]:
    """The tenant's live ``home`` grants (to users and to user groups)."""
    result = await session.scalars(
        select(Grant).where(
            Grant.tenant_id == tenant_id, Grant.scope == GrantScope.HOME, _live_at(now)
        )
    )
    return result.all()


async def live_grants_reaching(
    session: AsyncSession,
    msp_id: uuid.UUID,
    customer_id: uuid.UUID,
    customer_groups: Iterable[uuid.UUID],
    admin_roles: Iterable[str],
    now: datetime,
) -> Sequence[Grant]:
    """The MSP's live grants that can reach the customer, and the admin ``home`` grants
    that make their holders own every customer (rule 4). Exclusions are left to the
    decision functions."""
    reach: list[ColumnElement[bool]] = [
        and_(Grant.scope == GrantScope.CUSTOMER, Grant.customer_tenant_id == customer_id),
        Grant.scope == GrantScope.ALL_CUSTOMERS,
        and_(Grant.scope == GrantScope.HOME, Grant.role.in_(sorted(admin_roles))),
    ]
    groups = sorted(set(customer_groups))
    if groups:
        reach.append(
            and_(Grant.scope == GrantScope.TENANT_GROUP, Grant.tenant_group_id.in_(groups))
        )
    result = await session.scalars(
        select(Grant).where(Grant.tenant_id == msp_id, _live_at(now), or_(*reach))
    )
    return result.all()


async def live_duplicate(session: AsyncSession, grant: Grant, now: datetime) -> Grant | None:
    """A live grant giving the same grantee the same role over the same scope."""
    return await session.scalar(
        select(Grant)
        .where(
            Grant.tenant_id == grant.tenant_id,
            Grant.user_id.is_(None) if grant.user_id is None else Grant.user_id == grant.user_id,
            Grant.user_group_id.is_(None)
            if grant.user_group_id is None
            else Grant.user_group_id == grant.user_group_id,
            Grant.role == grant.role,
            Grant.scope == grant.scope,
            Grant.customer_tenant_id.is_(None)
            if grant.customer_tenant_id is None
            else Grant.customer_tenant_id == grant.customer_tenant_id,
            Grant.tenant_group_id.is_(None)
            if grant.tenant_group_id is None
            else Grant.tenant_group_id == grant.tenant_group_id,
            _live_at(now),
        )
        .limit(1)
    )


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


async def grants_by_id(session: AsyncSession, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Grant]:
    wanted = list(set(ids))
    if not wanted:
        return {}
    rows = await session.scalars(select(Grant).where(Grant.id.in_(wanted)))
    return {g.id: g for g in rows.all()}


# --- used by tenancy ---


async def delete_grants_touching(
    session: AsyncSession, tenant_id: uuid.UUID, user_ids: Sequence[uuid.UUID]
) -> int:
    """Grants held by ``user_ids``, issued in ``tenant_id`` or scoped to it (deletion)."""
    conditions: list[ColumnElement[bool]] = [
        Grant.tenant_id == tenant_id,
        Grant.customer_tenant_id == tenant_id,
    ]
    if user_ids:
        conditions.append(Grant.user_id.in_(list(user_ids)))
    return _rowcount(await session.execute(delete(Grant).where(or_(*conditions))))
