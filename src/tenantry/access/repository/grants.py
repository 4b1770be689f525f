"""Queries of grants: the live grants that decide a request, the grants lists and
the checks before a grant is issued or a role or group deleted."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from tenantry.access.models import (
    AccessBlock,
    CustomRole,
    Grant,
    GrantScope,
    TenantGroup,
    TenantGroupMember,
    UserGroup,
    UserGroupMember,
)


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


async def live_grants_naming(
    session: AsyncSession,
    column: InstrumentedAttribute[uuid.UUID | None],
    group_id: uuid.UUID,
    now: datetime,
) -> Sequence[Grant]:
    """The live grants whose ``column`` (``user_group_id``: held by the group;
    ``tenant_group_id``: scoped to it) names the group."""
    result = await session.scalars(
        select(Grant).where(column == group_id, _live_at(now)).order_by(Grant.id)
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


async def grants_by_id(session: AsyncSession, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Grant]:
    wanted = list(set(ids))
    if not wanted:
        return {}
    rows = await session.scalars(select(Grant).where(Grant.id.in_(wanted)))
    return {g.id: g for g in rows.all()}


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
    result = await session.execute(delete(Grant).where(or_(*conditions)))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def delete_access_of(session: AsyncSession, tenant_id: uuid.UUID) -> dict[str, int]:
    """Deleting a tenant, after its grants: the blocks naming it, its user groups (and
    their members), its client groups, its place in an MSP's client groups, and its
    custom roles (counts)."""
    user_groups = select(UserGroup.id).where(UserGroup.tenant_id == tenant_id)
    tenant_groups = select(TenantGroup.id).where(TenantGroup.msp_tenant_id == tenant_id)
    statements = {
        # Also removed by ON DELETE CASCADE; deleted here so the counts name them.
        "access_blocks": delete(AccessBlock).where(
            or_(AccessBlock.customer_tenant_id == tenant_id, AccessBlock.msp_tenant_id == tenant_id)
        ),
        "user_group_members": delete(UserGroupMember).where(
            UserGroupMember.group_id.in_(user_groups)
        ),
        "user_groups": delete(UserGroup).where(UserGroup.tenant_id == tenant_id),
        "tenant_group_members": delete(TenantGroupMember).where(
            or_(
                TenantGroupMember.customer_tenant_id == tenant_id,
                TenantGroupMember.group_id.in_(tenant_groups),
            )
        ),
        "tenant_groups": delete(TenantGroup).where(TenantGroup.msp_tenant_id == tenant_id),
        "custom_roles": delete(CustomRole).where(CustomRole.tenant_id == tenant_id),
    }
    counts = {}
    for table, statement in statements.items():
        result = await session.execute(statement)
        counts[table] = int(result.rowcount or 0)  # type: ignore[attr-defined]
    return counts
