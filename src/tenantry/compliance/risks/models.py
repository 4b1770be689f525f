"""The risk register (tenant-owned): risks, what each is linked to in the programme
(a requirement or an applied measure), and each risk's history of changes.

Ratings, treatment and status are stored as given; the service checks them
(``scoring.py`` holds the lists and the level bands)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from tenantry.db.base import Base, TenantOwned, utcnow


class Risk(TenantOwned, Base):
    """One risk: how likely and how bad before treatment (inherent) and after (residual)."""

    __tablename__ = "compliance_risks"

    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str] = mapped_column(String(100), default="")
    likelihood: Mapped[int] = mapped_column(Integer)
    impact: Mapped[int] = mapped_column(Integer)
    treatment: Mapped[str] = mapped_column(String(20))
    treatment_plan: Mapped[str] = mapped_column(Text, default="")
    # The owner is a person who can read the programme here (owner_user_id, their name
    # kept beside it) or only a name ("CFO", someone without a login).
    owner_user_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    owner_name: Mapped[str] = mapped_column(String(254), default="")
    residual_likelihood: Mapped[int] = mapped_column(Integer)
    residual_impact: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default="open")
    next_review_on: Mapped[date | None] = mapped_column(Date, default=None)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    updated_by_name: Mapped[str] = mapped_column(String(254), default="")

    __table_args__ = (
        Index(
            "ix_compliance_risks_tenant_id_status_next_review_on",
            "tenant_id",
            "status",
            "next_review_on",
        ),
    )


class RiskLink(TenantOwned, Base):
    """The risk is addressed by one requirement or one applied measure of this tenant.
    A link goes with its requirement or measure (ON DELETE CASCADE)."""

    __tablename__ = "compliance_risk_links"

    risk_id: Mapped[uuid.UUID]
    requirement_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    measure_id: Mapped[uuid.UUID | None] = mapped_column(default=None)

    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "risk_id"], ["compliance_risks.tenant_id", "compliance_risks.id"]
        ),
        ForeignKeyConstraint(
            ["tenant_id", "requirement_id"],
            ["compliance_requirements.tenant_id", "compliance_requirements.id"],
            ondelete="CASCADE",
        ),
        ForeignKeyConstraint(
            ["tenant_id", "measure_id"],
            ["compliance_measures.tenant_id", "compliance_measures.id"],
            ondelete="CASCADE",
        ),
        CheckConstraint(
            "(requirement_id IS NULL) <> (measure_id IS NULL)",
            name="one_of_requirement_or_measure",
        ),
        # NULLs are distinct: these say "once per risk and requirement", "… and measure".
        UniqueConstraint("tenant_id", "risk_id", "requirement_id"),
        UniqueConstraint("tenant_id", "risk_id", "measure_id"),
        Index("ix_compliance_risk_links_tenant_id_requirement_id", "tenant_id", "requirement_id"),
        Index("ix_compliance_risk_links_tenant_id_measure_id", "tenant_id", "measure_id"),
    )


class RiskChange(TenantOwned, Base):
    """One change of a risk as its history shows it: what was done (``action``: created,
    updated, linked, unlinked) and the fields (field → [old, new])."""

    __tablename__ = "compliance_risk_changes"

    risk_id: Mapped[uuid.UUID]
    action: Mapped[str] = mapped_column(String(20))
    changes: Mapped[dict[str, Any]] = mapped_column(JSON)
    actor_user_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    actor_name: Mapped[str] = mapped_column(String(254))

    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "risk_id"], ["compliance_risks.tenant_id", "compliance_risks.id"]
        ),
        Index(
            "ix_compliance_risk_changes_tenant_id_risk_id_created_at",
            "tenant_id",
            "risk_id",
            "created_at",
        ),
    )
