"""Every query of work types and time entries. Each takes the tenant id and puts it in
the WHERE (the scope and row-level security hold it too)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date

from sqlalchemy import delete, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.psa.time.models import EntryStatus, TimeEntry, WorkType
from tenantry.psa.time.schemas import EntryFilter


async def work_types(
    session: AsyncSession, tenant_id: uuid.UUID, *, active_only: bool = False
) -> Sequence[WorkType]:
    stmt = select(WorkType).where(WorkType.tenant_id == tenant_id)
    if active_only:
        stmt = stmt.where(WorkType.active.is_(True))
    return (await session.scalars(stmt.order_by(WorkType.name))).all()


async def work_type(
    session: AsyncSession, tenant_id: uuid.UUID, work_type_id: uuid.UUID
) -> WorkType | None:
    return await session.scalar(
        select(WorkType).where(WorkType.tenant_id == tenant_id, WorkType.id == work_type_id)
    )


async def work_type_named(
    session: AsyncSession, tenant_id: uuid.UUID, name: str
) -> WorkType | None:
    return await session.scalar(
        select(WorkType).where(WorkType.tenant_id == tenant_id, WorkType.name == name)
    )


async def entry(
    session: AsyncSession, tenant_id: uuid.UUID, entry_id: uuid.UUID, *, for_update: bool = False
) -> TimeEntry | None:
    stmt = select(TimeEntry).where(TimeEntry.tenant_id == tenant_id, TimeEntry.id == entry_id)
    if for_update:
        stmt = stmt.with_for_update()
    return await session.scalar(stmt)


async def list_entries(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    where: EntryFilter,
    *,
    after: tuple[date, uuid.UUID] | None,
    limit: int,
) -> list[TimeEntry]:
    """Newest day first (then newest entry); keyset paging on (work_date, id)."""
    stmt = select(TimeEntry).where(TimeEntry.tenant_id == tenant_id)
    if where.status is not None:
        stmt = stmt.where(TimeEntry.status == where.status)
    if where.technician_user_id is not None:
        stmt = stmt.where(TimeEntry.technician_user_id == where.technician_user_id)
    if where.ticket_id is not None:
        stmt = stmt.where(TimeEntry.ticket_id == where.ticket_id)
    if where.date_from is not None:
        stmt = stmt.where(TimeEntry.work_date >= where.date_from)
    if where.date_to is not None:
        stmt = stmt.where(TimeEntry.work_date <= where.date_to)
    if where.billable is not None:
        stmt = stmt.where(TimeEntry.billable.is_(where.billable))
    if where.invoiced is not None:
        column = TimeEntry.invoice_id
        stmt = stmt.where(column.is_not(None) if where.invoiced else column.is_(None))
    if after is not None:
        day, last_id = after
        stmt = stmt.where(
            or_(
                TimeEntry.work_date < day,
                (TimeEntry.work_date == day) & (TimeEntry.id < last_id),
            )
        )
    stmt = stmt.order_by(TimeEntry.work_date.desc(), TimeEntry.id.desc()).limit(limit)
    return list((await session.scalars(stmt)).all())


async def billable_uninvoiced(
    session: AsyncSession, tenant_id: uuid.UUID, start: date, end: date, currency: str
) -> list[tuple[TimeEntry, WorkType]]:
    """Approved, billable, not yet invoiced time of the period in ``currency``, locked
    (FOR UPDATE) so two drafts cannot take the same entry."""
    stmt = (
        select(TimeEntry, WorkType)
        .join(
            WorkType,
            tuple_(WorkType.tenant_id, WorkType.id)
            == tuple_(TimeEntry.tenant_id, TimeEntry.work_type_id),
        )
        .where(
            TimeEntry.tenant_id == tenant_id,
            WorkType.tenant_id == tenant_id,
            TimeEntry.status == EntryStatus.APPROVED,
            TimeEntry.billable.is_(True),
            TimeEntry.invoice_id.is_(None),
            TimeEntry.work_date >= start,
            TimeEntry.work_date <= end,
            WorkType.currency == currency,
        )
        .order_by(TimeEntry.work_date, TimeEntry.id)
        .with_for_update(of=TimeEntry)
    )
    return [(e, w) for e, w in (await session.execute(stmt)).all()]


async def entries_of_invoice(
    session: AsyncSession, tenant_id: uuid.UUID, invoice_id: uuid.UUID
) -> Sequence[TimeEntry]:
    return (
        await session.scalars(
            select(TimeEntry).where(
                TimeEntry.tenant_id == tenant_id, TimeEntry.invoice_id == invoice_id
            )
        )
    ).all()


async def delete_entry(session: AsyncSession, entry: TimeEntry) -> None:
    await session.execute(
        delete(TimeEntry).where(TimeEntry.tenant_id == entry.tenant_id, TimeEntry.id == entry.id)
    )
