"""Every query of a tenant's programme. Each takes the tenant id and puts it in the
WHERE, even though the session's scope (and row-level security) would add it anyway."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, case, delete, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.compliance.programme.models import (
    AdoptedFramework,
    Assessment,
    AssessmentChange,
    FrameworkScore,
    Measure,
    MeasureRequirement,
    Requirement,
    ScoreChange,
)

# ---------------------------------------------------------------- frameworks


async def framework(
    session: AsyncSession, tenant_id: uuid.UUID, framework_id: uuid.UUID
) -> AdoptedFramework | None:
    return await session.scalar(
        select(AdoptedFramework).where(
            AdoptedFramework.tenant_id == tenant_id, AdoptedFramework.id == framework_id
        )
    )


async def framework_by_key(
    session: AsyncSession, tenant_id: uuid.UUID, key: str
) -> AdoptedFramework | None:
    return await session.scalar(
        select(AdoptedFramework).where(
            AdoptedFramework.tenant_id == tenant_id, AdoptedFramework.key == key
        )
    )


async def adopted_keys(
    session: AsyncSession, tenant_ids: Sequence[uuid.UUID], key: str
) -> dict[uuid.UUID, uuid.UUID]:
    """tenant id → its adopted framework of ``key``, among ``tenant_ids`` (in chunks)."""
    found: dict[uuid.UUID, uuid.UUID] = {}
    for start in range(0, len(tenant_ids), 500):
        rows = await session.execute(
            select(AdoptedFramework.tenant_id, AdoptedFramework.id).where(
                AdoptedFramework.tenant_id.in_(tenant_ids[start : start + 500]),
                AdoptedFramework.key == key,
            )
        )
        found.update({t: f for t, f in rows})
    return found


async def frameworks(
    session: AsyncSession, tenant_id: uuid.UUID
) -> Sequence[tuple[AdoptedFramework, FrameworkScore | None]]:
    """The adopted frameworks by title, each with its kept score."""
    rows = await session.execute(
        select(AdoptedFramework, FrameworkScore)
        .outerjoin(
            FrameworkScore,
            (FrameworkScore.tenant_id == AdoptedFramework.tenant_id)
            & (FrameworkScore.framework_id == AdoptedFramework.id),
        )
        .where(AdoptedFramework.tenant_id == tenant_id)
        .order_by(AdoptedFramework.title, AdoptedFramework.id)
    )
    return [(f, s) for f, s in rows]


async def delete_framework(
    session: AsyncSession, tenant_id: uuid.UUID, framework_id: uuid.UUID
) -> None:
    """The framework and every row of it, children first."""
    requirement_ids = select(Requirement.id).where(
        Requirement.tenant_id == tenant_id, Requirement.framework_id == framework_id
    )
    assessment_ids = select(Assessment.id).where(
        Assessment.tenant_id == tenant_id, Assessment.framework_id == framework_id
    )
    for stmt in (
        delete(ScoreChange).where(
            ScoreChange.tenant_id == tenant_id, ScoreChange.framework_id == framework_id
        ),
        delete(FrameworkScore).where(
            FrameworkScore.tenant_id == tenant_id, FrameworkScore.framework_id == framework_id
        ),
        delete(MeasureRequirement).where(
            MeasureRequirement.tenant_id == tenant_id,
            MeasureRequirement.requirement_id.in_(requirement_ids),
        ),
        delete(AssessmentChange).where(
            AssessmentChange.tenant_id == tenant_id,
            AssessmentChange.assessment_id.in_(assessment_ids),
        ),
        delete(Assessment).where(
            Assessment.tenant_id == tenant_id, Assessment.framework_id == framework_id
        ),
        delete(Requirement).where(
            Requirement.tenant_id == tenant_id, Requirement.framework_id == framework_id
        ),
        delete(AdoptedFramework).where(
            AdoptedFramework.tenant_id == tenant_id, AdoptedFramework.id == framework_id
        ),
    ):
        await session.execute(stmt, execution_options={"synchronize_session": False})


# ---------------------------------------------------------------- requirements


async def requirements_page(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    framework_id: uuid.UUID,
    *,
    after: int | None,
    limit: int,
) -> list[tuple[Requirement, Assessment | None]]:
    """Requirements in reading order with their assessment (None for a group heading),
    ``limit`` + 1 rows. Two statements: the tenant scope's criterion on an outer-joined
    table would drop the headings, which have no assessment."""
    stmt = select(Requirement).where(
        Requirement.tenant_id == tenant_id, Requirement.framework_id == framework_id
    )
    if after is not None:
        stmt = stmt.where(Requirement.position > after)
    requirements = (
        await session.scalars(stmt.order_by(Requirement.position).limit(limit + 1))
    ).all()
    ids = [r.id for r in requirements if r.assessable]
    assessments: dict[uuid.UUID, Assessment] = {}
    for start in range(0, len(ids), 500):
        found = await session.scalars(
            select(Assessment).where(
                Assessment.tenant_id == tenant_id,
                Assessment.requirement_id.in_(ids[start : start + 500]),
            )
        )
        assessments.update({a.requirement_id: a for a in found})
    return [(r, assessments.get(r.id)) for r in requirements]


async def requirement(
    session: AsyncSession, tenant_id: uuid.UUID, requirement_id: uuid.UUID
) -> Requirement | None:
    return await session.scalar(
        select(Requirement).where(
            Requirement.tenant_id == tenant_id, Requirement.id == requirement_id
        )
    )


# A measure's status as a rank an assessment's effective status can take from it.
MEASURE_RANK = {"implemented": 2, "partial": 1, "planned": 0}


def _measure_rank() -> ColumnElement[int]:
    return case((Measure.status == "implemented", 2), (Measure.status == "partial", 1), else_=0)


async def best_measures(
    session: AsyncSession, tenant_id: uuid.UUID, requirement_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, tuple[int, list[uuid.UUID]]]:
    """requirement id → (best rank of its mapped measures, their ids)."""
    wanted = sorted(set(requirement_ids))
    found: dict[uuid.UUID, tuple[int, list[uuid.UUID]]] = {}
    for start in range(0, len(wanted), 500):
        rows = await session.execute(
            select(MeasureRequirement.requirement_id, Measure.id, _measure_rank().label("rank"))
            .join(
                Measure,
                (Measure.tenant_id == MeasureRequirement.tenant_id)
                & (Measure.id == MeasureRequirement.measure_id),
            )
            .where(
                MeasureRequirement.tenant_id == tenant_id,
                MeasureRequirement.requirement_id.in_(wanted[start : start + 500]),
            )
            .order_by(Measure.title)
        )
        for requirement_id, measure_id, rank in rows:
            best, ids = found.get(requirement_id, (0, []))
            found[requirement_id] = (max(best, int(rank)), [*ids, measure_id])
    return found


# ---------------------------------------------------------------- assessments


async def assessment(
    session: AsyncSession, tenant_id: uuid.UUID, assessment_id: uuid.UUID
) -> tuple[Assessment, Requirement] | None:
    row = (
        await session.execute(
            select(Assessment, Requirement)
            .join(
                Requirement,
                (Requirement.tenant_id == Assessment.tenant_id)
                & (Requirement.id == Assessment.requirement_id),
            )
            .where(Assessment.tenant_id == tenant_id, Assessment.id == assessment_id)
        )
    ).first()
    return (row[0], row[1]) if row is not None else None


async def history(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    assessment_id: uuid.UUID,
    *,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> Sequence[AssessmentChange]:
    """Newest first, ``limit`` + 1 rows."""
    stmt = select(AssessmentChange).where(
        AssessmentChange.tenant_id == tenant_id, AssessmentChange.assessment_id == assessment_id
    )
    if after is not None:
        stmt = stmt.where(tuple_(AssessmentChange.created_at, AssessmentChange.id) < tuple_(*after))
    stmt = stmt.order_by(AssessmentChange.created_at.desc(), AssessmentChange.id.desc())
    return (await session.scalars(stmt.limit(limit + 1))).all()


async def report_rows(
    session: AsyncSession, tenant_id: uuid.UUID
) -> Sequence[tuple[AdoptedFramework, Requirement, Assessment]]:
    """Every assessment, by framework title then reading order."""
    rows = await session.execute(
        select(AdoptedFramework, Requirement, Assessment)
        .join(
            Requirement,
            (Requirement.tenant_id == AdoptedFramework.tenant_id)
            & (Requirement.framework_id == AdoptedFramework.id),
        )
        .join(
            Assessment,
            (Assessment.tenant_id == Requirement.tenant_id)
            & (Assessment.requirement_id == Requirement.id),
        )
        .where(AdoptedFramework.tenant_id == tenant_id)
        .order_by(AdoptedFramework.title, AdoptedFramework.id, Requirement.position)
    )
    return [(f, r, a) for f, r, a in rows]


# ---------------------------------------------------------------- measures


async def measure(
    session: AsyncSession, tenant_id: uuid.UUID, measure_id: uuid.UUID
) -> Measure | None:
    return await session.scalar(
        select(Measure).where(Measure.tenant_id == tenant_id, Measure.id == measure_id)
    )


async def measure_by_title(
    session: AsyncSession, tenant_id: uuid.UUID, title: str
) -> Measure | None:
    return await session.scalar(
        select(Measure).where(Measure.tenant_id == tenant_id, Measure.title == title)
    )


async def measures_page(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    after: tuple[str, uuid.UUID] | None,
    limit: int,
) -> Sequence[Measure]:
    stmt = select(Measure).where(Measure.tenant_id == tenant_id)
    if after is not None:
        stmt = stmt.where(tuple_(Measure.title, Measure.id) > tuple_(*after))
    return (await session.scalars(stmt.order_by(Measure.title, Measure.id).limit(limit + 1))).all()


async def mapped_requirements(
    session: AsyncSession, tenant_id: uuid.UUID, measure_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, list[uuid.UUID]]:
    """measure id → the requirements it is mapped to."""
    wanted = sorted(set(measure_ids))
    found: dict[uuid.UUID, list[uuid.UUID]] = {m: [] for m in wanted}
    if not wanted:
        return found
    rows = await session.execute(
        select(MeasureRequirement.measure_id, MeasureRequirement.requirement_id).where(
            MeasureRequirement.tenant_id == tenant_id,
            MeasureRequirement.measure_id.in_(wanted),
        )
    )
    for measure_id, requirement_id in rows:
        found[measure_id].append(requirement_id)
    return found


async def frameworks_of_measure(
    session: AsyncSession, tenant_id: uuid.UUID, measure_id: uuid.UUID
) -> list[uuid.UUID]:
    rows = await session.scalars(
        select(Requirement.framework_id)
        .join(
            MeasureRequirement,
            (MeasureRequirement.tenant_id == Requirement.tenant_id)
            & (MeasureRequirement.requirement_id == Requirement.id),
        )
        .where(
            MeasureRequirement.tenant_id == tenant_id, MeasureRequirement.measure_id == measure_id
        )
        .distinct()
    )
    return sorted(rows.all())


async def mapping(
    session: AsyncSession, tenant_id: uuid.UUID, measure_id: uuid.UUID, requirement_id: uuid.UUID
) -> MeasureRequirement | None:
    return await session.scalar(
        select(MeasureRequirement).where(
            MeasureRequirement.tenant_id == tenant_id,
            MeasureRequirement.measure_id == measure_id,
            MeasureRequirement.requirement_id == requirement_id,
        )
    )


async def delete_mappings(
    session: AsyncSession, tenant_id: uuid.UUID, measure_id: uuid.UUID
) -> None:
    await session.execute(
        delete(MeasureRequirement).where(
            MeasureRequirement.tenant_id == tenant_id, MeasureRequirement.measure_id == measure_id
        ),
        execution_options={"synchronize_session": False},
    )


# ---------------------------------------------------------------- scores


async def effective_counts(
    session: AsyncSession, tenant_id: uuid.UUID, framework_ids: Sequence[uuid.UUID]
) -> list[tuple[uuid.UUID, str, int, int]]:
    """(framework, stored status, best mapped measure rank, count) over the assessments
    of ``framework_ids``: one statement, what scoring.py turns into scores."""
    best = (
        select(
            MeasureRequirement.requirement_id.label("requirement_id"),
            func.max(_measure_rank()).label("rank"),
        )
        .join(
            Measure,
            (Measure.tenant_id == MeasureRequirement.tenant_id)
            & (Measure.id == MeasureRequirement.measure_id),
        )
        .where(MeasureRequirement.tenant_id == tenant_id)
        .group_by(MeasureRequirement.requirement_id)
        .subquery()
    )
    rank = func.coalesce(best.c.rank, 0)
    rows = await session.execute(
        select(Assessment.framework_id, Assessment.status, rank, func.count())
        .outerjoin(best, best.c.requirement_id == Assessment.requirement_id)
        .where(Assessment.tenant_id == tenant_id, Assessment.framework_id.in_(framework_ids))
        .group_by(Assessment.framework_id, Assessment.status, rank)
    )
    return [(f, s, int(r), int(n)) for f, s, r, n in rows]


async def scores_for_update(
    session: AsyncSession, tenant_id: uuid.UUID, framework_ids: Sequence[uuid.UUID]
) -> Sequence[FrameworkScore]:
    """The kept scores of ``framework_ids``, locked, in id order (one lock order)."""
    return (
        await session.scalars(
            select(FrameworkScore)
            .where(
                FrameworkScore.tenant_id == tenant_id,
                FrameworkScore.framework_id.in_(framework_ids),
            )
            .order_by(FrameworkScore.framework_id)
            .with_for_update()
        )
    ).all()


async def scores(session: AsyncSession, tenant_id: uuid.UUID) -> Sequence[FrameworkScore]:
    return (
        await session.scalars(
            select(FrameworkScore)
            .where(FrameworkScore.tenant_id == tenant_id)
            .order_by(FrameworkScore.framework_title, FrameworkScore.framework_id)
        )
    ).all()


async def score_history(
    session: AsyncSession, tenant_id: uuid.UUID, framework_ids: Sequence[uuid.UUID], limit: int
) -> dict[uuid.UUID, list[ScoreChange]]:
    """The last ``limit`` points of each framework's history, oldest first."""
    found: dict[uuid.UUID, list[ScoreChange]] = {f: [] for f in framework_ids}
    for framework_id in framework_ids:
        rows = await session.scalars(
            select(ScoreChange)
            .where(ScoreChange.tenant_id == tenant_id, ScoreChange.framework_id == framework_id)
            .order_by(ScoreChange.created_at.desc(), ScoreChange.id.desc())
            .limit(limit)
        )
        found[framework_id] = list(reversed(rows.all()))
    return found
