"""Every query of the evidence tables (and the one read of an assessment they need)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.compliance.evidence.models import Evidence, EvidenceBlob
from tenantry.compliance.programme.models import Assessment


async def assessment_exists(
    session: AsyncSession, tenant_id: uuid.UUID, assessment_id: uuid.UUID
) -> bool:
    found = await session.scalar(
        select(Assessment.id).where(
            Assessment.tenant_id == tenant_id, Assessment.id == assessment_id
        )
    )
    return found is not None


async def by_id(
    session: AsyncSession, tenant_id: uuid.UUID, evidence_id: uuid.UUID
) -> Evidence | None:
    return await session.scalar(
        select(Evidence).where(Evidence.tenant_id == tenant_id, Evidence.id == evidence_id)
    )


async def blob_data(
    session: AsyncSession, tenant_id: uuid.UUID, evidence_id: uuid.UUID
) -> bytes | None:
    data: bytes | None = await session.scalar(
        select(EvidenceBlob.data).where(
            EvidenceBlob.tenant_id == tenant_id, EvidenceBlob.evidence_id == evidence_id
        )
    )
    return data


async def delete_blob(session: AsyncSession, tenant_id: uuid.UUID, evidence_id: uuid.UUID) -> None:
    await session.execute(
        delete(EvidenceBlob).where(
            EvidenceBlob.tenant_id == tenant_id, EvidenceBlob.evidence_id == evidence_id
        )
    )


async def of_assessment(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    assessment_id: uuid.UUID,
    *,
    after: uuid.UUID | None = None,
    limit: int | None = None,
    include_removed: bool = True,
) -> Sequence[Evidence]:
    """In the order added (ids are time-ordered), after ``after``."""
    query = select(Evidence).where(
        Evidence.tenant_id == tenant_id, Evidence.assessment_id == assessment_id
    )
    if after is not None:
        query = query.where(Evidence.id > after)
    if not include_removed:
        query = query.where(Evidence.removed_at.is_(None))
    query = query.order_by(Evidence.id)
    if limit is not None:
        query = query.limit(limit)
    return (await session.scalars(query)).all()


async def live_counts(
    session: AsyncSession, tenant_id: uuid.UUID, assessment_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, int]:
    if not assessment_ids:
        return {}
    rows = await session.execute(
        select(Evidence.assessment_id, func.count())
        .where(
            Evidence.tenant_id == tenant_id,
            Evidence.assessment_id.in_(list(assessment_ids)),
            Evidence.removed_at.is_(None),
        )
        .group_by(Evidence.assessment_id)
    )
    return {assessment: int(n) for assessment, n in rows.tuples()}


async def stored_bytes_in(session: AsyncSession, tenant_ids: Iterable[uuid.UUID]) -> int:
    """The bytes of the files these tenants keep, together (a plan's storage count)."""
    total = await session.scalar(
        select(func.coalesce(func.sum(Evidence.size), 0)).where(
            Evidence.tenant_id.in_(sorted(set(tenant_ids))),
            Evidence.kind == "file",
            Evidence.removed_at.is_(None),
        )
    )
    return int(total or 0)


async def stored_bytes(session: AsyncSession, tenant_id: uuid.UUID) -> int:
    """The bytes of the files the tenant keeps (removed files' bytes are deleted)."""
    total = await session.scalar(
        select(func.coalesce(func.sum(Evidence.size), 0)).where(
            Evidence.tenant_id == tenant_id,
            Evidence.kind == "file",
            Evidence.removed_at.is_(None),
        )
    )
    return int(total or 0)


async def delete_of_framework(
    session: AsyncSession, tenant_id: uuid.UUID, framework_id: uuid.UUID
) -> int:
    """Every evidence row (and its bytes) of the framework's assessments; how many files."""
    assessment_ids = select(Assessment.id).where(
        Assessment.tenant_id == tenant_id, Assessment.framework_id == framework_id
    )
    evidence_ids = select(Evidence.id).where(
        Evidence.tenant_id == tenant_id, Evidence.assessment_id.in_(assessment_ids)
    )
    count = await session.scalar(
        select(func.count())
        .select_from(Evidence)
        .where(
            Evidence.tenant_id == tenant_id,
            Evidence.assessment_id.in_(assessment_ids),
            Evidence.kind == "file",
            Evidence.removed_at.is_(None),
        )
    )
    for stmt in (
        delete(EvidenceBlob).where(
            EvidenceBlob.tenant_id == tenant_id, EvidenceBlob.evidence_id.in_(evidence_ids)
        ),
        delete(Evidence).where(
            Evidence.tenant_id == tenant_id, Evidence.assessment_id.in_(assessment_ids)
        ),
    ):
        await session.execute(stmt, execution_options={"synchronize_session": False})
    return int(count or 0)
