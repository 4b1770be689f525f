"""Every query of the open counts: the ``ticket_open_counts`` rows, and the tickets
overdue but not yet flagged (the partial indexes of migration 0015)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import (
    ColumnElement,
    and_,
    case,
    func,
    literal,
    or_,
    select,
    true,
    union_all,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from tenantry.db.base import new_id, utcnow
from tenantry.db.upsert import add_to
from tenantry.psa.tickets.models import OPEN_STATUSES, Ticket, TicketOpenCount
from tenantry.psa.tickets.repository import in_tenants

_OPEN = sorted(OPEN_STATUSES)


def _assigned(
    column: InstrumentedAttribute[uuid.UUID | None], assignee: uuid.UUID | None, unassigned: bool
) -> list[ColumnElement[bool]]:
    if unassigned:
        return [column.is_(None)]
    return [column == assignee] if assignee is not None else []


async def adjust_open_counts(
    session: AsyncSession, deltas: Sequence[tuple[uuid.UUID, uuid.UUID | None, int, int]]
) -> None:
    """Add (open, breached) to the row of each (tenant, assignee), made at need: the
    unassigned rows, then the assigned ones, each in the order given (callers sort), so
    two transactions lock rows in the same order. At most two statements."""
    now = utcnow()
    rows = [
        {
            "tenant_id": tenant_id,
            "id": new_id(),
            "created_at": now,
            "assignee_user_id": assignee,
            "open": opened,
            "breached": breached,
        }
        for tenant_id, assignee, opened, breached in deltas
    ]
    row = TicketOpenCount.assignee_user_id
    for keys, where in (
        (["tenant_id"], row.is_(None)),
        (["tenant_id", "assignee_user_id"], row.is_not(None)),
    ):
        await add_to(
            session,
            TicketOpenCount,
            [r for r in rows if (r["assignee_user_id"] is None) == (len(keys) == 1)],
            keys=keys,
            where=where,
            add=["open", "breached"],
        )


async def open_counts_by_tenant(
    session: AsyncSession,
    tenant_ids: Iterable[uuid.UUID],
    *,
    assignee: uuid.UUID | None,
    unassigned: bool,
    now: datetime,
) -> dict[uuid.UUID, tuple[int, int]]:
    """(open, breached at ``now``) per tenant with open tickets, in one statement: the
    kept rows, plus one breached for each open ticket overdue and not yet flagged (the
    few the sweep has not reached; found through the partial indexes)."""
    c = TicketOpenCount
    kept = select(c.tenant_id, c.open, c.breached).where(
        *in_tenants(session, tenant_ids, c.tenant_id),
        *_assigned(c.assignee_user_id, assignee, unassigned),
    )
    late = select(Ticket.tenant_id, literal(0), literal(1)).where(
        *in_tenants(session, tenant_ids),
        overdue_unflagged(now),
        *_assigned(Ticket.assignee_user_id, assignee, unassigned),
    )
    both = union_all(kept, late).subquery()
    rows = await session.execute(
        select(both.c.tenant_id, func.sum(both.c.open), func.sum(both.c.breached))
        .group_by(both.c.tenant_id)
        .having(func.sum(both.c.open) > 0)
    )
    return {tenant_id: (int(n), int(b or 0)) for tenant_id, n, b in rows.all()}


def _late(now: datetime) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    """(first response overdue at ``now``, resolution overdue at ``now``)."""
    return (
        and_(Ticket.first_responded_at.is_(None), Ticket.first_response_due_at < now),
        and_(Ticket.resolved_at.is_(None), Ticket.resolution_due_at < now),
    )


def overdue_unflagged(now: datetime) -> ColumnElement[bool]:
    """Open-count terms: overdue at ``now`` with no breach flag yet (each arm implies
    one partial index's predicate: the two on tickets in models.py)."""
    return and_(
        Ticket.status.in_(_OPEN),
        ~Ticket.first_response_breached,
        ~Ticket.resolution_breached,
        or_(*_late(now)),
    )


async def overdue_unflagged_ids(
    session: AsyncSession, now: datetime, limit: int
) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """(tenant, ticket) of up to ``limit`` tickets to flag, in every tenant of the scope."""
    rows = await session.execute(
        select(Ticket.tenant_id, Ticket.id).where(overdue_unflagged(now)).limit(limit)
    )
    return [(tenant_id, ticket_id) for tenant_id, ticket_id in rows.all()]


async def flag_overdue(
    session: AsyncSession, tickets: Sequence[tuple[uuid.UUID, uuid.UUID]], now: datetime
) -> list[tuple[uuid.UUID, uuid.UUID | None]]:
    """Flag the targets of these (tenant, ticket) that are overdue at ``now``; the
    (tenant, assignee) of each ticket this newly counts as breached. A ticket a change
    holds locked is skipped (that change flags it itself, or the next sweep does); the
    UPDATE checks every condition again, so a ticket changed meanwhile is left alone."""
    tenants = sorted({tenant_id for tenant_id, _ in tickets})
    locked = list(
        await session.scalars(
            select(Ticket.id)
            .where(
                Ticket.tenant_id.in_(tenants),
                Ticket.id.in_(sorted(ticket_id for _, ticket_id in tickets)),
            )
            .order_by(Ticket.tenant_id, Ticket.number)
            .with_for_update(skip_locked=True)
        )
    )
    if not locked:
        return []
    first_response_late, resolution_late = _late(now)
    result = await session.execute(
        update(Ticket)
        .where(Ticket.tenant_id.in_(tenants), Ticket.id.in_(locked), overdue_unflagged(now))
        .values(
            first_response_breached=case(
                (first_response_late, true()), else_=Ticket.first_response_breached
            ),
            resolution_breached=case((resolution_late, true()), else_=Ticket.resolution_breached),
            # Nobody changed the ticket: the clock said so already. It keeps its time.
            updated_at=Ticket.updated_at,
        )
        .returning(Ticket.tenant_id, Ticket.assignee_user_id)
        .execution_options(synchronize_session=False)
    )
    return [(tenant_id, assignee) for tenant_id, assignee in result.all()]
