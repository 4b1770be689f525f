"""Every query of the compliance overview: the kept scores (``compliance_scores``, one row
per client and adopted framework) a page at a time in the order asked, their totals per
framework, and the overdue assessments (through the partial index of models.py).

All of them run in one unit of work over the caller's multi-tenant scope (row-level
security on PostgreSQL, the ORM criterion on both); the tenants table joins in through
the piece tenancy hands over (``Names``), for the client's name and slug."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import (
    ColumnElement,
    case,
    func,
    literal,
    select,
    tuple_,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.compliance.overview.models import DONE_STATUSES
from tenantry.compliance.programme.models import Assessment, FrameworkScore
from tenantry.db.scope import redundant_with_scope

# The column the tenants table joins on (tenancy.service.joined_tenant).
SCORE_TENANT = FrameworkScore.tenant_id
# A score row without a score (nothing applicable yet) sorts after every scored one.
NO_SCORE = 10_001


@dataclass(frozen=True, slots=True)
class Names:
    """The tenants table's columns an overview row shows, and the condition joining it
    to ``compliance_scores.tenant_id`` (from ``tenancy.service.joined_tenant``)."""

    table: Any
    on: ColumnElement[bool]
    slug: Any
    display_name: Any


@dataclass(frozen=True, slots=True)
class Selection:
    """Which score rows: the clients (ids), a framework key, scores below a bound (basis
    points), only those with overdue assessments on ``today``."""

    tenant_ids: frozenset[uuid.UUID]
    framework_key: str | None
    below_bp: int | None
    overdue_only: bool
    today: date


def _literal(value: Any) -> Any:
    # Written into the statement: the partial index's predicate is proved from literals
    # only, and a page size as a literal keeps one plan (as the ticket lists do).
    return literal(value, literal_execute=True)


def still_open() -> ColumnElement[bool]:
    """The assessments that still ask for work (the partial index's status terms)."""
    return Assessment.status.not_in([_literal(s) for s in DONE_STATUSES])


def overdue_on(today: date) -> list[ColumnElement[bool]]:
    return [Assessment.due_on < today, still_open()]


def _in_tenants(
    session: AsyncSession, ids: frozenset[uuid.UUID], column: Any
) -> list[ColumnElement[bool]]:
    """``tenant_id IN (…)``, or nothing when that only repeats the unit of work's scope."""
    if redundant_with_scope(session.sync_session, ids):
        return []
    return [column.in_(sorted(ids))]


def _overdue_pairs(session: AsyncSession, sel: Selection) -> Any:
    return (
        select(Assessment.tenant_id, Assessment.framework_id)
        .where(*_in_tenants(session, sel.tenant_ids, Assessment.tenant_id), *overdue_on(sel.today))
        .distinct()
    )


def _conditions(session: AsyncSession, sel: Selection) -> list[ColumnElement[bool]]:
    s = FrameworkScore
    found = _in_tenants(session, sel.tenant_ids, s.tenant_id)
    if sel.framework_key is not None:
        found.append(s.framework_key == sel.framework_key)
    if sel.below_bp is not None:
        found.append(s.score_bp < sel.below_bp)
    if sel.overdue_only:
        found.append(tuple_(s.tenant_id, s.framework_id).in_(_overdue_pairs(session, sel)))
    return found


def sort_columns(sort: str, names: Names) -> list[Any]:
    """The order of a sort, every column ascending (so a keyset is one row comparison):
    score (worst first), -score (best first), name; ties by client, then framework."""
    s = FrameworkScore
    name = func.lower(names.display_name)
    tail = [name, names.slug, s.framework_key]
    if sort == "name":
        return tail
    if sort == "score":
        # NO_SCORE as a literal: the key is then exactly the expression of
        # ix_compliance_scores_score_key (models.py), which the planner reads in order,
        # so a page joins the tenants of its own rows only.
        return [func.coalesce(s.score_bp, _literal(NO_SCORE)), *tail]
    return [case((s.score_bp.is_(None), NO_SCORE), else_=10_000 - s.score_bp), *tail]


def _columns(names: Names) -> list[Any]:
    s = FrameworkScore
    return [
        s.tenant_id,
        s.framework_id,
        s.framework_key,
        s.framework_title,
        s.score_bp,
        s.implemented,
        s.partial,
        s.applicable,
        s.total,
        s.not_assessed,
        s.recent,
        s.changed_at,
        names.slug.label("slug"),
        names.display_name.label("display_name"),
    ]


async def page(
    session: AsyncSession,
    sel: Selection,
    names: Names,
    *,
    sort: str,
    after: Sequence[Any] | None,
    limit: int,
) -> list[Any]:
    """Up to ``limit`` score rows after the keyset position ``after``, with the client's
    slug and name, the sort key (``k0``… ``kn``) to make the next cursor from, and the
    overdue assessments of each row (``overdue``, counted for the page's rows only, in
    the same statement: under a scope of thousands of tenants each statement pays for
    the policy's list once, so the page is one statement)."""
    keys = sort_columns(sort, names)
    conditions = _conditions(session, sel)
    if after is not None:
        conditions.append(tuple_(*keys) > tuple_(*after))
    rows = (
        select(*_columns(names), *(k.label(f"k{n}") for n, k in enumerate(keys)))
        .join(names.table, names.on)
        .where(*conditions)
        .order_by(*keys)
        .limit(_literal(limit))
        .subquery()
    )
    a = Assessment
    overdue = (
        select(func.count())
        .where(
            a.tenant_id == rows.c.tenant_id,
            a.framework_id == rows.c.framework_id,
            *overdue_on(sel.today),
        )
        .scalar_subquery()
    )
    stmt = select(rows, overdue.label("overdue")).order_by(
        *(rows.c[f"k{n}"] for n in range(len(keys)))
    )
    return list((await session.execute(stmt)).all())


async def every(session: AsyncSession, sel: Selection, names: Names, *, sort: str) -> Any:
    """Every score row the selection matches, in the sort's order (the CSV export)."""
    stmt = (
        select(*_columns(names))
        .join(names.table, names.on)
        .where(*_conditions(session, sel))
        .order_by(*sort_columns(sort, names))
    )
    return await session.execute(stmt)


async def overdue_everywhere(
    session: AsyncSession, tenant_ids: frozenset[uuid.UUID], today: date
) -> dict[tuple[uuid.UUID, uuid.UUID], int]:
    """Overdue assessments of every (client, framework) of these clients that has any
    (the CSV export, and the totals' clients with overdue work)."""
    a = Assessment
    rows = await session.execute(
        select(a.tenant_id, a.framework_id, func.count())
        .where(*_in_tenants(session, tenant_ids, a.tenant_id), *overdue_on(today))
        .group_by(a.tenant_id, a.framework_id)
    )
    return {(t, f): int(n) for t, f, n in rows.all()}


async def totals(
    session: AsyncSession, tenant_ids: frozenset[uuid.UUID], today: date
) -> tuple[list[tuple[str, str, int, int, int]], int, int]:
    """Per framework key (title, clients that adopted it, clients with a score, the sum
    of their scores), the clients with a programme and the clients with an overdue
    assessment: one statement on PostgreSQL (grouping sets; each statement under a
    scope of thousands pays for the policy's list once per table), two on SQLite."""
    s, a = FrameworkScore, Assessment
    # count(*) over DISTINCT, not count(DISTINCT …): the partial index gives the overdue
    # assessments in tenant order, so PostgreSQL keeps one per client as it reads them
    # (Unique) instead of sorting 37,000 of them again (10,000 clients: 45 -> 37 ms).
    late_clients = (
        select(a.tenant_id)
        .where(*_in_tenants(session, tenant_ids, a.tenant_id), *overdue_on(today))
        .distinct()
        .subquery()
    )
    overdue_clients = select(func.count()).select_from(late_clients).scalar_subquery()
    measures = (
        func.max(s.framework_title),
        func.count(),
        func.count(s.score_bp),
        func.coalesce(func.sum(s.score_bp), 0),
        func.count(s.tenant_id.distinct()),
    )
    scoped = _in_tenants(session, tenant_ids, s.tenant_id)
    if session.get_bind().dialect.name == "postgresql":
        stmt = (
            select(s.framework_key, func.grouping(s.framework_key), *measures, overdue_clients)
            .where(*scoped)
            .group_by(func.grouping_sets(tuple_(s.framework_key), tuple_()))
        )
        rows = (await session.execute(stmt)).all()
    else:
        per_key = select(s.framework_key, literal(0), *measures, literal(0)).where(*scoped)
        overall = select(literal(""), literal(1), *measures, overdue_clients).where(*scoped)
        rows = (await session.execute(union_all(per_key.group_by(s.framework_key), overall))).all()
    frameworks: list[tuple[str, str, int, int, int]] = []
    started = overdue = 0
    for key, is_total, title, adopted, scored, total, clients, late in rows:
        if is_total:
            started, overdue = int(clients), int(late or 0)
        else:
            frameworks.append((key, title, int(adopted), int(scored), int(total)))
    return sorted(frameworks), started, overdue


async def tenants_with_programme(
    session: AsyncSession, tenant_ids: frozenset[uuid.UUID]
) -> set[uuid.UUID]:
    """The clients with at least one score row (asked only to list those without)."""
    s = FrameworkScore
    rows = await session.scalars(
        select(s.tenant_id).where(*_in_tenants(session, tenant_ids, s.tenant_id)).distinct()
    )
    return set(rows.all())
