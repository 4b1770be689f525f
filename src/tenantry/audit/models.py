"""Audit events (tenant-owned, append-only, hash-chained per acting tenant)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tenantry.db.base import Base, TenantOwned

# The predecessor hash of a chain's first event.
GENESIS = "0" * 64


class AuditEvent(TenantOwned, Base):
    __tablename__ = "audit_events"

    seq: Mapped[int] = mapped_column(BigInteger)
    occurred_at: Mapped[datetime]
    action: Mapped[str] = mapped_column(String(64))
    # Names are kept as written at the time: the customer sees who acted even after
    # the technician leaves the MSP.
    actor_user_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    actor_name: Mapped[str] = mapped_column(String(254))
    actor_home_tenant_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    actor_home_tenant_name: Mapped[str | None] = mapped_column(String(200), default=None)
    via_grant_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    via_link_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    explanation: Mapped[str | None] = mapped_column(String(1000), default=None)
    target_type: Mapped[str | None] = mapped_column(String(64), default=None)
    target_id: Mapped[str | None] = mapped_column(String(64), default=None)
    target_label: Mapped[str | None] = mapped_column(String(300), default=None)
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    request_id: Mapped[str | None] = mapped_column(String(64), default=None)
    source_address: Mapped[str | None] = mapped_column(String(64), default=None)
    user_agent: Mapped[str | None] = mapped_column(String(400), default=None)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    __table_args__ = (
        UniqueConstraint("tenant_id", "seq"),
        Index("ix_audit_events_tenant_id_occurred_at", "tenant_id", "occurred_at"),
        Index("ix_audit_events_tenant_id_actor_user_id", "tenant_id", "actor_user_id"),
        Index("ix_audit_events_tenant_id_target", "tenant_id", "target_type", "target_id", "seq"),
        Index(
            "ix_audit_events_tenant_id_actor_home_tenant_id",
            "tenant_id",
            "actor_home_tenant_id",
            "occurred_at",
        ),
    )


class AuditChainHead(TenantOwned, Base):
    """The last link of a tenant's chain; locking it orders concurrent writers."""

    __tablename__ = "audit_chain_heads"

    seq: Mapped[int] = mapped_column(BigInteger, default=0)
    last_hash: Mapped[str] = mapped_column(String(64))

    __table_args__ = (UniqueConstraint("tenant_id"),)


class AuditAnchor(TenantOwned, Base):
    """What retention pruned: the last pruned event's seq and hash, so the chain that
    remains still verifies from this anchor instead of from the genesis."""

    __tablename__ = "audit_anchors"

    pruned_through_seq: Mapped[int] = mapped_column(BigInteger)
    anchor_hash: Mapped[str] = mapped_column(String(64))
    events_pruned: Mapped[int] = mapped_column(BigInteger)
    pruned_before: Mapped[datetime]
    pruned_at: Mapped[datetime]

    __table_args__ = (
        Index("ix_audit_anchors_tenant_id_pruned_through_seq", "tenant_id", "pruned_through_seq"),
    )
