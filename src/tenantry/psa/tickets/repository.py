"""Every tickets query. Each names the tenant(s) in its WHERE, even though the session's
scope (and row-level security on PostgreSQL) would add it anyway."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Row,
    Select,
    String,
    and_,
    cast,
    false,
    func,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from tenantry.db.base import new_id
from tenantry.db.scope import redundant_with_scope
from tenantry.db.upsert import upsert_returning
from tenantry.psa.tickets.models import (
    SlaPolicy,
    Ticket,
    TicketComment,
    TicketCounter,
    TicketEvent,
)
from tenantry.psa.tickets.schemas import TicketFilter

FIRST_NUMBER = 1001


async def take_number(session: AsyncSession, tenant_id: uuid.UUID) -> int:
    """The tenant's next ticket number, taken: one statement creates the counter or moves
    it on and returns it (INSERT … ON CONFLICT DO UPDATE … RETURNING). On PostgreSQL the
    row stays locked until the transaction ends, so concurrent creations queue here and
    numbers stay gap-free and unique (a rollback gives the number back); SQLite
    serialises writers on the database."""
    following = await upsert_returning(
        session,
        TicketCounter,
        {"tenant_id": tenant_id, "id": new_id(), "next_number": FIRST_NUMBER + 1},
        keys=["tenant_id"],
        update={"next_number": TicketCounter.next_number + 1},
        returning=TicketCounter.next_number,
    )
    return int(following) - 1


async def by_number(session: AsyncSession, tenant_id: uuid.UUID, number: int) -> Ticket | None:
    return await session.scalar(
        select(Ticket).where(Ticket.tenant_id == tenant_id, Ticket.number == number)
    )


async def by_id(session: AsyncSession, tenant_id: uuid.UUID, ticket_id: uuid.UUID) -> Ticket | None:
    return await session.scalar(
        select(Ticket).where(Ticket.tenant_id == tenant_id, Ticket.id == ticket_id)
    )


async def by_ids(
    session: AsyncSession, tenant_id: uuid.UUID, ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, Ticket]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = await session.scalars(
        select(Ticket).where(Ticket.tenant_id == tenant_id, Ticket.id.in_(wanted))
    )
    return {t.id: t for t in rows}


async def by_numbers(
    session: AsyncSession, tenant_id: uuid.UUID, numbers: Iterable[int]
) -> dict[int, Ticket]:
    """The tickets, locked for a change (see ``_lock_for_change``) and read afresh."""
    wanted = sorted(set(numbers))
    if not wanted:
        return {}
    await _lock_for_change(session, tenant_id, wanted)
    rows = await session.scalars(
        select(Ticket)
        .where(Ticket.tenant_id == tenant_id, Ticket.number.in_(wanted))
        .order_by(Ticket.number)
        # Locked: a bulk change and a single edit of the same ticket must not interleave.
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return {t.number: t for t in rows}


async def by_number_for_change(
    session: AsyncSession, tenant_id: uuid.UUID, number: int
) -> Ticket | None:
    return (await by_numbers(session, tenant_id, [number])).get(number)


async def _lock_for_change(
    session: AsyncSession, tenant_id: uuid.UUID, numbers: Sequence[int]
) -> None:
    """What a change reads of a ticket must still hold when it is written: the open
    counts move by the difference (and the breach sweep flags tickets meanwhile).
    PostgreSQL locks the rows as it reads them (FOR UPDATE). SQLite has no row locks and
    reads outside the transaction until its first write, so a write that changes nothing
    comes first: it takes the database's write lock, and the read is inside it."""
    if session.get_bind().dialect.name != "sqlite":
        return
    await session.execute(
        update(Ticket)
        .where(Ticket.tenant_id == tenant_id, Ticket.number.in_(numbers))
        .values(number=Ticket.number, updated_at=Ticket.updated_at)
        .execution_options(synchronize_session=False)
    )


async def sla_policy(session: AsyncSession, tenant_id: uuid.UUID) -> SlaPolicy | None:
    return await session.scalar(select(SlaPolicy).where(SlaPolicy.tenant_id == tenant_id))


async def comments_of(session: AsyncSession, ticket: Ticket) -> Sequence[TicketComment]:
    rows = await session.scalars(
        select(TicketComment)
        .where(TicketComment.tenant_id == ticket.tenant_id, TicketComment.ticket_id == ticket.id)
        .order_by(TicketComment.created_at, TicketComment.id)
    )
    return rows.all()


async def events_of(session: AsyncSession, ticket: Ticket) -> Sequence[TicketEvent]:
    rows = await session.scalars(
        select(TicketEvent)
        .where(TicketEvent.tenant_id == ticket.tenant_id, TicketEvent.ticket_id == ticket.id)
        .order_by(TicketEvent.created_at, TicketEvent.id)
    )
    return rows.all()


def breached_at(now: datetime) -> ColumnElement[bool]:
    """A target missed: flagged when it was met late or the clock paused past it, or
    overdue now and not yet met."""
    return or_(
        Ticket.first_response_breached,
        Ticket.resolution_breached,
        and_(Ticket.first_responded_at.is_(None), Ticket.first_response_due_at < now),
        and_(Ticket.resolved_at.is_(None), Ticket.resolution_due_at < now),
    )


def in_tenants(
    session: AsyncSession,
    tenant_ids: Iterable[uuid.UUID],
    column: InstrumentedAttribute[uuid.UUID] = Ticket.tenant_id,
) -> list[ColumnElement[bool]]:
    """``tenant_id IN (…)``, or nothing when that only repeats the unit of work's scope
    (which applies it anyway: on PostgreSQL a long list would cost, not help)."""
    ids = frozenset(tenant_ids)
    if redundant_with_scope(session.sync_session, ids):
        return []
    return [column.in_(sorted(ids))]


def _conditions(session: AsyncSession, f: TicketFilter, now: datetime) -> list[ColumnElement[bool]]:
    if not f.tenant_ids:
        return [false()]
    conditions = in_tenants(session, f.tenant_ids)
    if f.statuses:
        conditions.append(Ticket.status.in_(sorted(f.statuses)))
    if f.priorities:
        conditions.append(Ticket.priority.in_(sorted(f.priorities)))
    if f.unassigned:
        conditions.append(Ticket.assignee_user_id.is_(None))
    elif f.assignee is not None:
        conditions.append(Ticket.assignee_user_id == f.assignee)
    if f.requester is not None:
        conditions.append(Ticket.requester_contact_id == f.requester)
    if f.category:
        conditions.append(func.lower(Ticket.category) == f.category.lower())
    if f.tag:
        # Tags are a JSON list of strings without quotes or commas (schemas.clean_tags),
        # so the quoted tag appears in the JSON text exactly when the list holds it.
        conditions.append(cast(Ticket.tags, String).contains(f'"{f.tag.lower()}"', autoescape=True))
    if f.q:
        needle = f.q.strip().lstrip("#")
        title = func.lower(Ticket.title).contains(needle.lower(), autoescape=True)
        conditions.append(or_(title, Ticket.number == int(needle)) if needle.isdigit() else title)
    if f.breached is not None:
        breached = breached_at(now)
        conditions.append(breached if f.breached else ~breached)
    return conditions


_PRIORITY_ORDER = {"priority": (Ticket.priority.asc(),), "-priority": (Ticket.priority.desc(),)}


def _order(sort: str) -> tuple[Any, ...]:
    if sort in _PRIORITY_ORDER:
        return (*_PRIORITY_ORDER[sort], Ticket.updated_at.desc(), Ticket.id)
    if sort == "due":
        # Soonest resolution due first; paused or done (no due time) last.
        return (
            Ticket.resolution_due_at.is_(None),
            Ticket.resolution_due_at.asc(),
            Ticket.tenant_id,
            Ticket.number,
        )
    column = {"updated": Ticket.updated_at, "number": Ticket.number, "created": Ticket.created_at}[
        sort.lstrip("-")
    ]
    direction = column.desc() if sort.startswith("-") else column.asc()
    return (direction, Ticket.tenant_id, Ticket.id)


def _inline(value: int) -> Any:
    """A page's bounds written into the statement, not sent as parameters: with them as
    parameters PostgreSQL re-planned the MSP-wide read for every request (a custom plan,
    estimating rows against the 10,000-tenant policy each time: 3 of its 8 ms); as
    literals it keeps one generic plan per page size."""
    return literal(value, literal_execute=True)


def _page_of(
    columns: Sequence[Any], session: AsyncSession, f: TicketFilter, sort: str, offset: int,
    limit: int, now: datetime,
) -> Select[Any]:  # fmt: skip
    """``limit`` + 1 rows from ``offset`` (one more tells the caller a next page exists)."""
    return (
        select(*columns)
        .where(*_conditions(session, f, now))
        .order_by(*_order(sort))
        .offset(_inline(offset))
        .limit(_inline(limit + 1))
    )


async def page(
    session: AsyncSession, f: TicketFilter, *, sort: str, offset: int, limit: int, now: datetime
) -> Sequence[Ticket]:
    """A page of tickets as entities (to change them, or for pages that read relations)."""
    stmt = _page_of([Ticket], session, f, sort, offset, limit, now)
    return (await session.scalars(stmt)).all()


# The columns of a ticket, read as plain rows where nothing is changed (a list page):
# loading ORM entities cost more than the query itself.
TICKET_COLUMNS = tuple(Ticket.__table__.columns)


async def page_rows(
    session: AsyncSession, f: TicketFilter, *, sort: str, offset: int, limit: int, now: datetime
) -> Sequence[Row[Any]]:
    """``page`` as read-only rows (each with a ticket's attributes by name)."""
    stmt = _page_of(TICKET_COLUMNS, session, f, sort, offset, limit, now)
    rows: Sequence[Row[Any]] = (await session.execute(stmt)).all()
    return rows


async def categories(session: AsyncSession, tenant_ids: Iterable[uuid.UUID]) -> list[str]:
    rows = await session.scalars(
        select(Ticket.category)
        .where(*in_tenants(session, tenant_ids), Ticket.category != "")
        .distinct()
        .order_by(Ticket.category)
        .limit(200)
    )
    return list(rows)
