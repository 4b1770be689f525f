"""Every risk register query. Each takes the tenant id and puts it in the WHERE, even
though the session's scope (and row-level security on PostgreSQL) would add it anyway.
The programme's requirements and measures are read here too, only to check and show
what a risk is linked to."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.compliance.programme.models import AdoptedFramework, Measure, Requirement
from tenantry.compliance.risks.models import Risk, RiskChange, RiskLink
from tenantry.compliance.risks.schemas import RiskQuery


async def by_id(session: AsyncSession, tenant_id: uuid.UUID, risk_id: uuid.UUID) -> Risk | None:
    return await session.scalar(select(Risk).where(Risk.tenant_id == tenant_id, Risk.id == risk_id))


def _score(residual: bool) -> ColumnElement[int]:
    if residual:
        return Risk.residual_likelihood * Risk.residual_impact
    return Risk.likelihood * Risk.impact


async def page(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    query: RiskQuery,
    *,
    after: tuple[int, uuid.UUID] | None,
    limit: int,
) -> Sequence[Risk]:
    """Risks by score (of the query's view), highest first, ties by id; ``limit`` + 1 rows
    so the caller knows whether more exist."""
    value = _score(query.residual)
    likelihood = Risk.residual_likelihood if query.residual else Risk.likelihood
    impact = Risk.residual_impact if query.residual else Risk.impact
    stmt = select(Risk).where(Risk.tenant_id == tenant_id)
    if query.status is not None:
        stmt = stmt.where(Risk.status == query.status)
    if query.treatment is not None:
        stmt = stmt.where(Risk.treatment == query.treatment)
    if query.score_min is not None:
        stmt = stmt.where(value >= query.score_min)
    if query.score_max is not None:
        stmt = stmt.where(value <= query.score_max)
    if query.likelihood is not None:
        stmt = stmt.where(likelihood == query.likelihood)
    if query.impact is not None:
        stmt = stmt.where(impact == query.impact)
    if query.review_before is not None:
        stmt = stmt.where(
            Risk.status == "open",
            Risk.next_review_on.is_not(None),
            Risk.next_review_on < query.review_before,
        )
    if after is not None:
        stmt = stmt.where(or_(value < after[0], and_(value == after[0], Risk.id > after[1])))
    stmt = stmt.order_by(value.desc(), Risk.id).limit(limit + 1)
    return (await session.scalars(stmt)).all()


async def heat_counts(
    session: AsyncSession, tenant_id: uuid.UUID, *, residual: bool
) -> list[tuple[int, int, int]]:
    """(likelihood, impact, open risks) for every rated cell that has any."""
    likelihood = Risk.residual_likelihood if residual else Risk.likelihood
    impact = Risk.residual_impact if residual else Risk.impact
    rows = await session.execute(
        select(likelihood, impact, func.count())
        .where(Risk.tenant_id == tenant_id, Risk.status == "open")
        .group_by(likelihood, impact)
    )
    return [(int(lk), int(im), int(n)) for lk, im, n in rows.all()]


async def delete_risk(session: AsyncSession, tenant_id: uuid.UUID, risk_id: uuid.UUID) -> None:
    """The risk with its links and its history (the audit trail keeps the deletion)."""
    await session.execute(
        delete(RiskLink).where(RiskLink.tenant_id == tenant_id, RiskLink.risk_id == risk_id)
    )
    await session.execute(
        delete(RiskChange).where(RiskChange.tenant_id == tenant_id, RiskChange.risk_id == risk_id)
    )
    await session.execute(delete(Risk).where(Risk.tenant_id == tenant_id, Risk.id == risk_id))


# ---- links


async def requirement(
    session: AsyncSession, tenant_id: uuid.UUID, requirement_id: uuid.UUID
) -> tuple[Requirement, str] | None:
    """An assessable requirement of this tenant with its framework's key."""
    row = (
        await session.execute(
            select(Requirement, AdoptedFramework.key)
            .join(
                AdoptedFramework,
                and_(
                    AdoptedFramework.tenant_id == Requirement.tenant_id,
                    AdoptedFramework.id == Requirement.framework_id,
                ),
            )
            .where(Requirement.tenant_id == tenant_id, Requirement.id == requirement_id)
        )
    ).first()
    return None if row is None else (row[0], str(row[1]))


async def measure(
    session: AsyncSession, tenant_id: uuid.UUID, measure_id: uuid.UUID
) -> Measure | None:
    return await session.scalar(
        select(Measure).where(Measure.tenant_id == tenant_id, Measure.id == measure_id)
    )


async def link_by_id(
    session: AsyncSession, tenant_id: uuid.UUID, risk_id: uuid.UUID, link_id: uuid.UUID
) -> RiskLink | None:
    return await session.scalar(
        select(RiskLink).where(
            RiskLink.tenant_id == tenant_id, RiskLink.risk_id == risk_id, RiskLink.id == link_id
        )
    )


async def link_to(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    risk_id: uuid.UUID,
    *,
    requirement_id: uuid.UUID | None,
    measure_id: uuid.UUID | None,
) -> RiskLink | None:
    target = (
        RiskLink.requirement_id == requirement_id
        if requirement_id is not None
        else RiskLink.measure_id == measure_id
    )
    return await session.scalar(
        select(RiskLink).where(RiskLink.tenant_id == tenant_id, RiskLink.risk_id == risk_id, target)
    )


async def delete_link(session: AsyncSession, tenant_id: uuid.UUID, link_id: uuid.UUID) -> None:
    await session.execute(
        delete(RiskLink).where(RiskLink.tenant_id == tenant_id, RiskLink.id == link_id)
    )


async def links_of(
    session: AsyncSession, tenant_id: uuid.UUID, risk_id: uuid.UUID
) -> list[tuple[RiskLink, str, str, str]]:
    """(link, framework key, ref, title) of a risk's links: requirements by framework and
    position, then measures by title."""
    to_requirements = (
        select(RiskLink, AdoptedFramework.key, Requirement.ref, Requirement.title)
        .join(
            Requirement,
            and_(
                Requirement.tenant_id == RiskLink.tenant_id,
                Requirement.id == RiskLink.requirement_id,
            ),
        )
        .join(
            AdoptedFramework,
            and_(
                AdoptedFramework.tenant_id == Requirement.tenant_id,
                AdoptedFramework.id == Requirement.framework_id,
            ),
        )
        .where(RiskLink.tenant_id == tenant_id, RiskLink.risk_id == risk_id)
        .order_by(AdoptedFramework.key, Requirement.position)
    )
    to_measures = (
        select(RiskLink, Measure.title)
        .join(
            Measure,
            and_(Measure.tenant_id == RiskLink.tenant_id, Measure.id == RiskLink.measure_id),
        )
        .where(RiskLink.tenant_id == tenant_id, RiskLink.risk_id == risk_id)
        .order_by(Measure.title)
    )
    found: list[tuple[RiskLink, str, str, str]] = [
        (link, str(key), str(ref), str(title))
        for link, key, ref, title in (await session.execute(to_requirements)).all()
    ]
    found += [(link, "", "", str(title)) for link, title in (await session.execute(to_measures))]
    return found


async def linkable_requirements(session: AsyncSession, tenant_id: uuid.UUID) -> Sequence[Any]:
    """(id, framework key, framework title, ref, title) of every assessable requirement."""
    rows = await session.execute(
        select(
            Requirement.id,
            AdoptedFramework.key,
            AdoptedFramework.title,
            Requirement.ref,
            Requirement.title,
        )
        .join(
            AdoptedFramework,
            and_(
                AdoptedFramework.tenant_id == Requirement.tenant_id,
                AdoptedFramework.id == Requirement.framework_id,
            ),
        )
        .where(Requirement.tenant_id == tenant_id, Requirement.assessable.is_(True))
        .order_by(AdoptedFramework.key, Requirement.position)
    )
    return rows.all()


async def linkable_measures(session: AsyncSession, tenant_id: uuid.UUID) -> Sequence[Any]:
    rows = await session.execute(
        select(Measure.id, Measure.title)
        .where(Measure.tenant_id == tenant_id)
        .order_by(Measure.title)
    )
    return rows.all()


# ---- history


async def changes_of(
    session: AsyncSession, tenant_id: uuid.UUID, risk_id: uuid.UUID
) -> Sequence[RiskChange]:
    """Newest first."""
    return (
        await session.scalars(
            select(RiskChange)
            .where(RiskChange.tenant_id == tenant_id, RiskChange.risk_id == risk_id)
            .order_by(RiskChange.created_at.desc(), RiskChange.id.desc())
        )
    ).all()
