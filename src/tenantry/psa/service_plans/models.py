"""Service plans and their assignments: tenant-owned by the **MSP** (``tenant_id`` is the
MSP), like its rates, so one single-tenant read gives every client's plan and counted
users (the MSP dashboard at 10,000 clients)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from tenantry.db.base import Base, TenantOwned, utcnow

MONTHLY = "monthly"


class ServicePlan(TenantOwned, Base):
    """One offer of the MSP: ``price_minor`` per counted user per ``period``, for up to
    ``included_users`` users. A retired plan takes no new clients; those on it stay."""

    __tablename__ = "service_plans"

    name: Mapped[str] = mapped_column(String(200))
    included_users: Mapped[int] = mapped_column(Integer)
    price_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    period: Mapped[str] = mapped_column(String(16), default=MONTHLY)
    retired_at: Mapped[datetime | None] = mapped_column(default=None)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (UniqueConstraint("tenant_id", "name"),)


class ServicePlanAssignment(TenantOwned, Base):
    """Client ``client_id`` is on plan ``plan_id`` of the MSP ``tenant_id``.
    ``counted_users`` is kept current by the change that moves it (contacts created or
    imported in the client), never counted per request."""

    __tablename__ = "service_plan_assignments"

    client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    plan_id: Mapped[uuid.UUID]
    counted_users: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "plan_id"], ["service_plans.tenant_id", "service_plans.id"]
        ),
        UniqueConstraint("tenant_id", "client_id"),
        Index("ix_service_plan_assignments_tenant_id_plan_id", "tenant_id", "plan_id"),
    )
