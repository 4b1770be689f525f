"""Policies (tenant-owned): a client's policy documents, their versions, who acknowledged
a published version, and the MSP's own policy templates (kept in the MSP's tenant).

A version's ``state`` is one of ``VERSION_STATES``; the service moves it (draft →
approved → published → superseded), the database keeps what it is given.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import Date, ForeignKeyConstraint, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tenantry.db.base import Base, TenantOwned, utcnow

VERSION_STATES: tuple[str, ...] = ("draft", "approved", "published", "superseded")


class Policy(TenantOwned, Base):
    __tablename__ = "compliance_policies"

    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text, default="")
    owner_name: Mapped[str] = mapped_column(String(254), default="")
    # The version in force (state "published"); None until one is published. A pointer,
    # not a foreign key: versions already refer to their policy, and a cycle of keys would
    # make every insert and delete of the pair a two-step dance.
    current_version_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    review_on: Mapped[date | None] = mapped_column(Date, default=None)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (UniqueConstraint("tenant_id", "title"),)


class PolicyVersion(TenantOwned, Base):
    __tablename__ = "compliance_policy_versions"

    policy_id: Mapped[uuid.UUID]
    number: Mapped[int] = mapped_column(Integer)
    body_markdown: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(20), default="draft")
    change_note: Mapped[str] = mapped_column(String(500), default="")
    created_by_user_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    created_by_name: Mapped[str] = mapped_column(String(254), default="")
    approved_by_user_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    approved_by_name: Mapped[str | None] = mapped_column(String(254), default=None)
    approved_at: Mapped[datetime | None] = mapped_column(default=None)
    published_at: Mapped[datetime | None] = mapped_column(default=None)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "policy_id"],
            ["compliance_policies.tenant_id", "compliance_policies.id"],
        ),
        UniqueConstraint("tenant_id", "policy_id", "number"),
    )


class PolicyAcknowledgement(TenantOwned, Base):
    """One of the tenant's own people read and accepted one published version."""

    __tablename__ = "compliance_policy_acknowledgements"

    version_id: Mapped[uuid.UUID]
    user_id: Mapped[uuid.UUID]
    user_name: Mapped[str] = mapped_column(String(254))
    at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "version_id"],
            ["compliance_policy_versions.tenant_id", "compliance_policy_versions.id"],
        ),
        UniqueConstraint("tenant_id", "version_id", "user_id"),
    )


class PolicyTemplate(TenantOwned, Base):
    """A policy an MSP keeps in its own tenant, to copy into its clients as a draft."""

    __tablename__ = "compliance_policy_templates"

    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str] = mapped_column(String(100), default="")
    body_markdown: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (
        UniqueConstraint("tenant_id", "title"),
        Index("ix_compliance_policy_templates_tenant_id_category", "tenant_id", "category"),
    )
