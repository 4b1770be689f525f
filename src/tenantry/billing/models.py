"""Plans, subscriptions, their history and the MSP's requests for more.

``plans``, ``msp_subscriptions`` and ``plan_requests`` are platform tables: the instance
operator's side of the relationship, read outside any tenant scope (the CLI lists the
requests of every MSP; a request's decision reads the subscription to know whether the
caller's MSP may still write). ``subscription_changes`` is the MSP's own history,
tenant-owned by the MSP under row-level security like any other tenant record.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from tenantry.db.base import Base, PlatformTable, TenantOwned, new_id, utcnow

FEATURES: tuple[str, ...] = ("compliance", "client-portal", "early-access")
LIMITS: tuple[str, ...] = ("clients", "seats", "storage")


class SubscriptionStatus(enum.StrEnum):
    ACTIVE = "active"
    TRIAL = "trial"
    LAPSED = "lapsed"
    SUSPENDED = "suspended"


READ_ONLY_STATUSES = frozenset({SubscriptionStatus.LAPSED, SubscriptionStatus.SUSPENDED})


class RequestStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    DECLINED = "declined"


class Plan(PlatformTable, Base):
    """The operator's offer. A None limit is unlimited."""

    __tablename__ = "plans"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    max_clients: Mapped[int | None] = mapped_column(default=None)
    max_seats: Mapped[int | None] = mapped_column(default=None)
    max_storage_bytes: Mapped[int | None] = mapped_column(BigInteger, default=None)
    features: Mapped[list[str]] = mapped_column(JSON, default=list)
    # A trial on this plan lasts this many days (self sign-up); None: no trial length.
    trial_days: Mapped[int | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Subscription(PlatformTable, Base):
    """One MSP's subscription (at most one per MSP). ``seats`` overrides the plan's
    seat limit; ``storage_bytes`` is the evidence bytes counted in the MSP and its clients
    (kept in the transaction of each upload and removal); ``alerted`` remembers which
    80%/100% crossing of each limit was already told, so each is told once."""

    __tablename__ = "msp_subscriptions"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    msp_tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"), unique=True)
    plan_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("plans.id"), index=True)
    seats: Mapped[int | None] = mapped_column(default=None)
    status: Mapped[str] = mapped_column(String(16), default=SubscriptionStatus.ACTIVE.value)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    # When a trial ends or a term runs out; None: open-ended.
    ends_at: Mapped[datetime | None] = mapped_column(default=None)
    storage_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    alerted: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class PlanRequest(PlatformTable, Base):
    """An MSP asks the operator for more seats or another plan."""

    __tablename__ = "plan_requests"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    msp_tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"))
    plan_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("plans.id"), default=None)
    seats: Mapped[int | None] = mapped_column(default=None)
    note: Mapped[str] = mapped_column(String(1000), default="")
    status: Mapped[str] = mapped_column(String(16), default=RequestStatus.PENDING.value)
    requested_by_user_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    requested_by_name: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(default=None)
    decision_note: Mapped[str] = mapped_column(String(1000), default="")

    __table_args__ = (
        Index("ix_plan_requests_status_created_at", "status", "created_at"),
        Index("ix_plan_requests_msp_tenant_id_created_at", "msp_tenant_id", "created_at"),
    )


class SubscriptionChange(TenantOwned, Base):
    """One change to an MSP's subscription: who, when, what (old → new)."""

    __tablename__ = "subscription_changes"

    action: Mapped[str] = mapped_column(String(40))
    actor_name: Mapped[str] = mapped_column(String(254))
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    __table_args__ = (
        Index("ix_subscription_changes_tenant_id_created_at", "tenant_id", "created_at"),
    )
