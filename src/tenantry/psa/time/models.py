"""Work types and time entries: tenant-owned by the client the work is for. A time entry
refers to its ticket and work type by ``(tenant_id, id)``, so it can never point into
another tenant."""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    Enum,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from tenantry.db.base import Base, TenantOwned, utcnow


class EntryStatus(enum.StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVED = "approved"


class WorkType(TenantOwned, Base):
    """A kind of work with its hourly rate for this client (``rate_minor`` per hour, in
    minor units of ``currency``)."""

    __tablename__ = "work_types"

    name: Mapped[str] = mapped_column(String(100))
    rate_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    __table_args__ = (UniqueConstraint("tenant_id", "name"),)


class TimeEntry(TenantOwned, Base):
    __tablename__ = "time_entries"

    ticket_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    # A user id (platform table, usually an MSP technician's). No FK, as for tickets.
    technician_user_id: Mapped[uuid.UUID]
    technician_name: Mapped[str] = mapped_column(String(254))
    # The day the work was done, in the client's time zone.
    work_date: Mapped[date] = mapped_column(Date)
    minutes: Mapped[int] = mapped_column(Integer)
    work_type_id: Mapped[uuid.UUID]
    billable: Mapped[bool] = mapped_column(Boolean, default=True)
    notes: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[EntryStatus] = mapped_column(
        Enum(
            EntryStatus,
            name="time_entry_status",
            native_enum=False,
            length=16,
            values_callable=lambda x: [m.value for m in x],
        ),
        default=EntryStatus.DRAFT,
    )
    rejection_reason: Mapped[str | None] = mapped_column(String(500), default=None)
    submitted_at: Mapped[datetime | None] = mapped_column(default=None)
    approved_at: Mapped[datetime | None] = mapped_column(default=None)
    approved_by_user_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    approved_by_name: Mapped[str | None] = mapped_column(String(254), default=None)
    # Set while the entry is on an invoice that is not void: the entry is locked.
    invoice_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "ticket_id"], ["tickets.tenant_id", "tickets.id"]),
        ForeignKeyConstraint(
            ["tenant_id", "work_type_id"], ["work_types.tenant_id", "work_types.id"]
        ),
        ForeignKeyConstraint(["tenant_id", "invoice_id"], ["invoices.tenant_id", "invoices.id"]),
        Index("ix_time_entries_tenant_id_work_date", "tenant_id", "work_date"),
        Index("ix_time_entries_tenant_id_status", "tenant_id", "status", "work_date"),
        Index("ix_time_entries_tenant_id_ticket_id", "tenant_id", "ticket_id"),
        Index("ix_time_entries_tenant_id_invoice_id", "tenant_id", "invoice_id"),
    )
