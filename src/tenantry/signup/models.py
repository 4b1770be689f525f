"""Pending self sign-ups of MSPs (a platform table: it exists before any tenant does)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from tenantry.db.base import Base, PlatformTable, new_id, utcnow


class SignupRequest(PlatformTable, Base):
    """One request to sign an organisation up, waiting for its emailed link.

    The link's secret is stored only as its digest; the row is claimed once
    (``verified_at``) and expires (``expires_at``). ``created_tenant_id`` names the tenant
    the verification created, without a foreign key: the row is the sign-up's record,
    not something the tenant owns.
    """

    __tablename__ = "signup_requests"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    email: Mapped[str] = mapped_column(String(254))
    admin_name: Mapped[str] = mapped_column(String(200))
    organisation: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(63))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    source_address: Mapped[str | None] = mapped_column(String(64), default=None)
    request_id: Mapped[str | None] = mapped_column(String(64), default=None)
    verified_at: Mapped[datetime | None] = mapped_column(default=None)
    created_tenant_id: Mapped[uuid.UUID | None] = mapped_column(default=None)

    __table_args__ = (
        # A slug asked for by a sign-up still waiting for its link is not offered twice.
        Index("ix_signup_requests_slug_expires_at", "slug", "expires_at"),
        # Housekeeping forgets old rows by age.
        Index("ix_signup_requests_expires_at", "expires_at"),
    )
