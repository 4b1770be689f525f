"""Invoices, their lines, recurring items (tenant-owned by the client) and the MSP's
invoice counters (tenant-owned by the MSP: one row per MSP and year, locked FOR UPDATE
when an invoice is issued, so numbers are gap-free)."""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    Enum,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from tenantry.db.base import Base, TenantOwned, utcnow


class InvoiceStatus(enum.StrEnum):
    DRAFT = "draft"
    ISSUED = "issued"
    PAID = "paid"
    VOID = "void"


class LineKind(enum.StrEnum):
    TIME = "time"
    FIXED = "fixed"


def _enum(e: type[enum.StrEnum], name: str) -> Enum:
    return Enum(
        e, name=name, native_enum=False, length=16, values_callable=lambda x: [m.value for m in x]
    )


class InvoiceCounter(TenantOwned, Base):
    """The MSP's next invoice number for one year (``tenant_id`` is the MSP)."""

    __tablename__ = "invoice_counters"

    year: Mapped[int] = mapped_column(Integer)
    prefix: Mapped[str] = mapped_column(String(12))
    next_number: Mapped[int] = mapped_column(Integer, default=1)

    __table_args__ = (UniqueConstraint("tenant_id", "year"),)


class Invoice(TenantOwned, Base):
    """An invoice to the client ``tenant_id`` from the MSP ``msp_tenant_id``. ``number``
    is given when issued (drafts have none)."""

    __tablename__ = "invoices"

    msp_tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"))
    status: Mapped[InvoiceStatus] = mapped_column(
        _enum(InvoiceStatus, "invoice_status"), default=InvoiceStatus.DRAFT
    )
    number: Mapped[str | None] = mapped_column(String(32), default=None)
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    currency: Mapped[str] = mapped_column(String(3))
    tax_rate_bp: Mapped[int] = mapped_column(Integer, default=0)
    subtotal_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    tax_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    total_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    # Names as they were when issued (the printed invoice never changes afterwards).
    issuer_name: Mapped[str] = mapped_column(String(200), default="")
    client_name: Mapped[str] = mapped_column(String(200), default="")
    issue_date: Mapped[date | None] = mapped_column(Date, default=None)
    issued_at: Mapped[datetime | None] = mapped_column(default=None)
    paid_at: Mapped[datetime | None] = mapped_column(default=None)
    voided_at: Mapped[datetime | None] = mapped_column(default=None)
    void_reason: Mapped[str | None] = mapped_column(String(500), default=None)
    notes: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (
        UniqueConstraint("tenant_id", "number"),
        Index("ix_invoices_tenant_id_status", "tenant_id", "status", "created_at"),
    )


class InvoiceLine(TenantOwned, Base):
    """One line: a time entry (``minutes`` x ``unit_minor`` per hour) or a fixed item
    (``quantity`` x ``unit_minor``). ``amount_minor`` is rounded once, here."""

    __tablename__ = "invoice_lines"

    invoice_id: Mapped[uuid.UUID]
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[LineKind] = mapped_column(_enum(LineKind, "invoice_line_kind"))
    description: Mapped[str] = mapped_column(String(500))
    minutes: Mapped[int | None] = mapped_column(Integer, default=None)
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    unit_minor: Mapped[int] = mapped_column(BigInteger)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    time_entry_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    work_date: Mapped[date | None] = mapped_column(Date, default=None)

    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "invoice_id"], ["invoices.tenant_id", "invoices.id"]),
        Index("ix_invoice_lines_tenant_id_invoice_id", "tenant_id", "invoice_id", "position"),
    )


class RecurringItem(TenantOwned, Base):
    """A fixed amount billed on every invoice of the client (e.g. the monthly agreement
    fee), while active."""

    __tablename__ = "recurring_items"

    description: Mapped[str] = mapped_column(String(500))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    __table_args__ = (Index("ix_recurring_items_tenant_id_active", "tenant_id", "active"),)
