"""A tenant's compliance programme (tenant-owned): the frameworks it adopted, copied in at
adoption so that every read and score stays inside the tenant; one assessment per
assessable requirement with its history; applied measures mapped to requirements of
several frameworks; the score per adopted framework and the score's history.

Statuses are stored as their stable string values (``ASSESSMENT_STATUSES``,
``MEASURE_STATUSES``); the service checks them, the database keeps what it is given.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
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

# The assessment of one requirement. "partial" counts half in the score;
# "not_applicable" (with a reason) leaves the requirement out of the score.
ASSESSMENT_STATUSES: tuple[str, ...] = (
    "not_assessed",
    "not_implemented",
    "partial",
    "implemented",
    "not_applicable",
)
# An applied measure's state; an implemented (or partial) measure counts for every
# requirement it is mapped to.
MEASURE_STATUSES: tuple[str, ...] = ("planned", "partial", "implemented")
# Where an adopted framework came from: the shipped library, a framework the tenant's
# MSP wrote and shared, or one the tenant wrote or imported itself.
ORIGINS: tuple[str, ...] = ("library", "msp", "own")


class AdoptedFramework(TenantOwned, Base):
    """A framework this tenant adopted: a copy of one version of its content."""

    __tablename__ = "compliance_frameworks"

    # The stable id of the framework (``nist-csf``, ``msp-baseline``, or an MSP's own key).
    key: Mapped[str] = mapped_column(String(100))
    version: Mapped[str] = mapped_column(String(50))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    origin: Mapped[str] = mapped_column(String(20))
    # The written framework it was copied from (in the MSP's or this tenant's library),
    # when origin is "msp" or "own"; None for the shipped library.
    source_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    adopted_by_name: Mapped[str] = mapped_column(String(254), default="")

    __table_args__ = (
        # One version of a framework adopted at a time.
        UniqueConstraint("tenant_id", "key"),
    )


class Requirement(TenantOwned, Base):
    """One requirement (or a group heading, ``assessable`` False) of an adopted framework."""

    __tablename__ = "compliance_requirements"

    framework_id: Mapped[uuid.UUID]
    # The requirement's stable id inside its framework (``GV.OC-01``, ``MSP-07``).
    ref: Mapped[str] = mapped_column(String(100))
    # The ref of the group it sits in (a CSF category or function); None at the top.
    parent_ref: Mapped[str | None] = mapped_column(String(100), default=None)
    title: Mapped[str] = mapped_column(String(500))
    description: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(Integer)
    assessable: Mapped[bool] = mapped_column(Boolean, default=True)

    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "framework_id"],
            ["compliance_frameworks.tenant_id", "compliance_frameworks.id"],
        ),
        UniqueConstraint("tenant_id", "framework_id", "ref"),
        Index(
            "ix_compliance_requirements_tenant_id_framework_id_position",
            "tenant_id",
            "framework_id",
            "position",
        ),
    )


class Assessment(TenantOwned, Base):
    """Where the tenant stands on one assessable requirement."""

    __tablename__ = "compliance_assessments"

    framework_id: Mapped[uuid.UUID]
    requirement_id: Mapped[uuid.UUID]
    status: Mapped[str] = mapped_column(String(20), default="not_assessed")
    # Required (by the service) when the status is "not_applicable".
    na_reason: Mapped[str] = mapped_column(Text, default="")
    owner_user_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    owner_name: Mapped[str] = mapped_column(String(254), default="")
    due_on: Mapped[date | None] = mapped_column(Date, default=None)
    notes: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    updated_by_name: Mapped[str] = mapped_column(String(254), default="")

    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "framework_id"],
            ["compliance_frameworks.tenant_id", "compliance_frameworks.id"],
        ),
        ForeignKeyConstraint(
            ["tenant_id", "requirement_id"],
            ["compliance_requirements.tenant_id", "compliance_requirements.id"],
        ),
        UniqueConstraint("tenant_id", "requirement_id"),
        Index(
            "ix_compliance_assessments_tenant_id_framework_id_status",
            "tenant_id",
            "framework_id",
            "status",
        ),
        Index("ix_compliance_assessments_tenant_id_due_on", "tenant_id", "due_on"),
    )


class AssessmentChange(TenantOwned, Base):
    """One change of an assessment, as its history shows it (field → old, new)."""

    __tablename__ = "compliance_assessment_changes"

    assessment_id: Mapped[uuid.UUID]
    changes: Mapped[dict[str, Any]] = mapped_column(JSON)
    actor_user_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    actor_name: Mapped[str] = mapped_column(String(254))

    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "assessment_id"],
            ["compliance_assessments.tenant_id", "compliance_assessments.id"],
        ),
        Index(
            "ix_compliance_assessment_changes_tenant_id_assessment_id",
            "tenant_id",
            "assessment_id",
            "created_at",
        ),
    )


class Measure(TenantOwned, Base):
    """An applied measure ("MFA enforced for all users"), implemented once and mapped to
    requirements of several adopted frameworks."""

    __tablename__ = "compliance_measures"

    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default="planned")
    # Who implements it: the client itself or its MSP.
    implemented_by: Mapped[str] = mapped_column(String(10), default="client")
    owner_name: Mapped[str] = mapped_column(String(254), default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (UniqueConstraint("tenant_id", "title"),)


class MeasureRequirement(TenantOwned, Base):
    """A measure counts for this requirement."""

    __tablename__ = "compliance_measure_requirements"

    measure_id: Mapped[uuid.UUID]
    requirement_id: Mapped[uuid.UUID]

    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "measure_id"],
            ["compliance_measures.tenant_id", "compliance_measures.id"],
        ),
        ForeignKeyConstraint(
            ["tenant_id", "requirement_id"],
            ["compliance_requirements.tenant_id", "compliance_requirements.id"],
        ),
        UniqueConstraint("tenant_id", "measure_id", "requirement_id"),
        Index(
            "ix_compliance_measure_requirements_tenant_id_requirement_id",
            "tenant_id",
            "requirement_id",
        ),
    )


class FrameworkScore(TenantOwned, Base):
    """The score of one adopted framework now, kept in the transaction that changes it,
    so that views across thousands of clients read one row per client and framework."""

    __tablename__ = "compliance_scores"

    framework_id: Mapped[uuid.UUID]
    framework_key: Mapped[str] = mapped_column(String(100))
    framework_title: Mapped[str] = mapped_column(String(200))
    # Implemented over applicable, partial counting half, in basis points (0..10000);
    # None while nothing is applicable.
    score_bp: Mapped[int | None] = mapped_column(Integer, default=None)
    implemented: Mapped[int] = mapped_column(Integer, default=0)
    partial: Mapped[int] = mapped_column(Integer, default=0)
    applicable: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer, default=0)
    not_assessed: Mapped[int] = mapped_column(Integer, default=0)
    # The last scores, oldest first (at most 12): the trend a list across clients draws
    # without reading the history.
    recent: Mapped[list[int]] = mapped_column(JSON, default=list)
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "framework_id"],
            ["compliance_frameworks.tenant_id", "compliance_frameworks.id"],
        ),
        UniqueConstraint("tenant_id", "framework_id"),
    )


class ScoreChange(TenantOwned, Base):
    """A stored score, one row each time it changed: the trend chart's points."""

    __tablename__ = "compliance_score_history"

    framework_id: Mapped[uuid.UUID]
    score_bp: Mapped[int | None] = mapped_column(Integer, default=None)
    implemented: Mapped[int] = mapped_column(Integer, default=0)
    partial: Mapped[int] = mapped_column(Integer, default=0)
    applicable: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "framework_id"],
            ["compliance_frameworks.tenant_id", "compliance_frameworks.id"],
        ),
        Index(
            "ix_compliance_score_history_tenant_id_framework_id_created_at",
            "tenant_id",
            "framework_id",
            "created_at",
        ),
    )
