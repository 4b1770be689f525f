"""Contacts (tenant-owned): a client's end users."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tenantry.db.base import Base, TenantOwned, utcnow


class Contact(TenantOwned, Base):
    __tablename__ = "contacts"

    name: Mapped[str] = mapped_column(String(200))
    # Stored lower-cased: one contact per address in a tenant, and imports match on it.
    email: Mapped[str] = mapped_column(String(254))
    phone: Mapped[str] = mapped_column(String(50), default="")
    job_title: Mapped[str] = mapped_column(String(200), default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (
        UniqueConstraint("tenant_id", "email"),
        Index("ix_contacts_tenant_id_name", "tenant_id", "name"),
    )
