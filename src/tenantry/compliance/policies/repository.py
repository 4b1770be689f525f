"""Every policies query. Each takes the tenant id and puts it in the WHERE, even though
the session's scope (and row-level security on PostgreSQL) would add it anyway."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.compliance.policies.models import (
    Policy,
    PolicyAcknowledgement,
    PolicyTemplate,
    PolicyVersion,
)


async def policy(
    session: AsyncSession, tenant_id: uuid.UUID, policy_id: uuid.UUID, *, lock: bool = False
) -> Policy | None:
    stmt = select(Policy).where(Policy.tenant_id == tenant_id, Policy.id == policy_id)
    if lock:
        # Two approvals or publications of one policy queue here.
        stmt = stmt.with_for_update()
    return await session.scalar(stmt)


async def policy_by_title(session: AsyncSession, tenant_id: uuid.UUID, title: str) -> Policy | None:
    return await session.scalar(
        select(Policy).where(Policy.tenant_id == tenant_id, Policy.title == title)
    )


async def policies(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    after: tuple[str, uuid.UUID] | None,
    limit: int,
    published_only: bool = False,
) -> Sequence[Policy]:
    """By (title, id), ``limit`` + 1 rows so the caller knows if more exist."""
    stmt = select(Policy).where(Policy.tenant_id == tenant_id)
    if published_only:
        stmt = stmt.where(Policy.current_version_id.is_not(None))
    if after is not None:
        stmt = stmt.where(tuple_(Policy.title, Policy.id) > tuple_(*after))
    return (await session.scalars(stmt.order_by(Policy.title, Policy.id).limit(limit + 1))).all()


async def versions(
    session: AsyncSession, tenant_id: uuid.UUID, policy_id: uuid.UUID
) -> Sequence[PolicyVersion]:
    """Newest first."""
    return (
        await session.scalars(
            select(PolicyVersion)
            .where(PolicyVersion.tenant_id == tenant_id, PolicyVersion.policy_id == policy_id)
            .order_by(PolicyVersion.number.desc())
        )
    ).all()


async def version(
    session: AsyncSession, tenant_id: uuid.UUID, policy_id: uuid.UUID, version_id: uuid.UUID
) -> PolicyVersion | None:
    return await session.scalar(
        select(PolicyVersion).where(
            PolicyVersion.tenant_id == tenant_id,
            PolicyVersion.policy_id == policy_id,
            PolicyVersion.id == version_id,
        )
    )


async def versions_by_id(
    session: AsyncSession, tenant_id: uuid.UUID, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, PolicyVersion]:
    if not ids:
        return {}
    rows = await session.scalars(
        select(PolicyVersion).where(
            PolicyVersion.tenant_id == tenant_id, PolicyVersion.id.in_(sorted(set(ids)))
        )
    )
    return {v.id: v for v in rows}


async def acknowledgements(
    session: AsyncSession, tenant_id: uuid.UUID, version_id: uuid.UUID
) -> Sequence[PolicyAcknowledgement]:
    return (
        await session.scalars(
            select(PolicyAcknowledgement)
            .where(
                PolicyAcknowledgement.tenant_id == tenant_id,
                PolicyAcknowledgement.version_id == version_id,
            )
            .order_by(PolicyAcknowledgement.at)
        )
    ).all()


async def acknowledgement(
    session: AsyncSession, tenant_id: uuid.UUID, version_id: uuid.UUID, user_id: uuid.UUID
) -> PolicyAcknowledgement | None:
    return await session.scalar(
        select(PolicyAcknowledgement).where(
            PolicyAcknowledgement.tenant_id == tenant_id,
            PolicyAcknowledgement.version_id == version_id,
            PolicyAcknowledgement.user_id == user_id,
        )
    )


async def acknowledged_counts(
    session: AsyncSession, tenant_id: uuid.UUID, version_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, int]:
    if not version_ids:
        return {}
    rows = await session.execute(
        select(PolicyAcknowledgement.version_id, func.count())
        .where(
            PolicyAcknowledgement.tenant_id == tenant_id,
            PolicyAcknowledgement.version_id.in_(sorted(set(version_ids))),
        )
        .group_by(PolicyAcknowledgement.version_id)
    )
    return {version_id: count for version_id, count in rows.tuples()}


# ---------------------------------------------------------------- templates


async def template(
    session: AsyncSession, tenant_id: uuid.UUID, template_id: uuid.UUID
) -> PolicyTemplate | None:
    return await session.scalar(
        select(PolicyTemplate).where(
            PolicyTemplate.tenant_id == tenant_id, PolicyTemplate.id == template_id
        )
    )


async def template_by_title(
    session: AsyncSession, tenant_id: uuid.UUID, title: str
) -> PolicyTemplate | None:
    return await session.scalar(
        select(PolicyTemplate).where(
            PolicyTemplate.tenant_id == tenant_id, PolicyTemplate.title == title
        )
    )


async def templates(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    after: tuple[str, uuid.UUID] | None,
    limit: int,
) -> Sequence[PolicyTemplate]:
    """By (title, id), ``limit`` + 1 rows so the caller knows if more exist."""
    stmt = select(PolicyTemplate).where(PolicyTemplate.tenant_id == tenant_id)
    if after is not None:
        stmt = stmt.where(tuple_(PolicyTemplate.title, PolicyTemplate.id) > tuple_(*after))
    stmt = stmt.order_by(PolicyTemplate.title, PolicyTemplate.id).limit(limit + 1)
    return (await session.scalars(stmt)).all()


async def delete_template(session: AsyncSession, row: PolicyTemplate) -> None:
    await session.delete(row)
    await session.flush()
