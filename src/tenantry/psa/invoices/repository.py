"""Every query of invoices, their lines, recurring items and the MSP's counters."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.db.base import new_id, utcnow
from tenantry.db.upsert import insert_missing
from tenantry.psa.invoices.models import (
    Invoice,
    InvoiceCounter,
    InvoiceLine,
    InvoiceStatus,
    RecurringItem,
)


async def invoice(
    session: AsyncSession, tenant_id: uuid.UUID, invoice_id: uuid.UUID, *, for_update: bool = False
) -> Invoice | None:
    stmt = select(Invoice).where(Invoice.tenant_id == tenant_id, Invoice.id == invoice_id)
    if for_update:
        stmt = stmt.with_for_update()
    return await session.scalar(stmt)


async def list_invoices(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    status: InvoiceStatus | None,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[Invoice]:
    stmt = select(Invoice).where(Invoice.tenant_id == tenant_id)
    if status is not None:
        stmt = stmt.where(Invoice.status == status)
    if after is not None:
        at, last_id = after
        stmt = stmt.where(
            or_(Invoice.created_at < at, (Invoice.created_at == at) & (Invoice.id < last_id))
        )
    stmt = stmt.order_by(Invoice.created_at.desc(), Invoice.id.desc()).limit(limit)
    return list((await session.scalars(stmt)).all())


async def lines(
    session: AsyncSession, tenant_id: uuid.UUID, invoice_id: uuid.UUID
) -> Sequence[InvoiceLine]:
    return (
        await session.scalars(
            select(InvoiceLine)
            .where(InvoiceLine.tenant_id == tenant_id, InvoiceLine.invoice_id == invoice_id)
            .order_by(InvoiceLine.position)
        )
    ).all()


async def delete_invoice(session: AsyncSession, invoice: Invoice) -> None:
    await session.execute(
        delete(InvoiceLine).where(
            InvoiceLine.tenant_id == invoice.tenant_id, InvoiceLine.invoice_id == invoice.id
        )
    )
    await session.execute(
        delete(Invoice).where(Invoice.tenant_id == invoice.tenant_id, Invoice.id == invoice.id)
    )


async def recurring_items(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    active_only: bool = False,
    currency: str | None = None,
) -> Sequence[RecurringItem]:
    stmt = select(RecurringItem).where(RecurringItem.tenant_id == tenant_id)
    if active_only:
        stmt = stmt.where(RecurringItem.active.is_(True))
    if currency is not None:
        stmt = stmt.where(RecurringItem.currency == currency)
    return (await session.scalars(stmt.order_by(RecurringItem.created_at))).all()


async def recurring_item(
    session: AsyncSession, tenant_id: uuid.UUID, item_id: uuid.UUID
) -> RecurringItem | None:
    return await session.scalar(
        select(RecurringItem).where(
            RecurringItem.tenant_id == tenant_id, RecurringItem.id == item_id
        )
    )


async def lock_counter(
    session: AsyncSession, msp_tenant_id: uuid.UUID, year: int, prefix: str
) -> InvoiceCounter:
    """The MSP's counter for ``year``, locked FOR UPDATE until the transaction ends.

    A missing row is inserted with ON CONFLICT DO NOTHING first, so two transactions
    issuing the year's first invoices at once both end up waiting on the same row."""
    find = (
        select(InvoiceCounter)
        .where(InvoiceCounter.tenant_id == msp_tenant_id, InvoiceCounter.year == year)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    counter = await session.scalar(find)
    if counter is not None:
        return counter
    await ensure_counter(session, msp_tenant_id, year, prefix)
    counter = await session.scalar(find)
    if counter is None:  # pragma: no cover - the row exists now, whoever inserted it
        raise RuntimeError("invoice counter vanished")
    return counter


async def ensure_counter(
    session: AsyncSession, msp_tenant_id: uuid.UUID, year: int, prefix: str
) -> None:
    """The MSP's counter row for ``year`` with ``prefix``, unless it has one already."""
    values = {
        "tenant_id": msp_tenant_id,
        "id": new_id(),
        "year": year,
        "prefix": prefix,
        "next_number": 1,
        "created_at": utcnow(),
    }
    await insert_missing(session, InvoiceCounter, values, keys=["tenant_id", "year"])
