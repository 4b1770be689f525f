"""Tenants and the MSP → customer links between them (platform tables)."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import JSON, Boolean, Enum, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from tenantry.db.base import Base, PlatformTable, new_id, utcnow


class TenantStatus(enum.StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    DELETING = "deleting"


class LinkState(enum.StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    REVOKED = "revoked"
    EXPIRED = "expired"


def _enum(e: type[enum.StrEnum], name: str) -> Enum:
    return Enum(
        e, name=name, native_enum=False, length=16, values_callable=lambda x: [m.value for m in x]
    )


class Tenant(PlatformTable, Base):
    __tablename__ = "tenants"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    slug: Mapped[str] = mapped_column(String(63), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    status: Mapped[TenantStatus] = mapped_column(
        _enum(TenantStatus, "tenant_status"), default=TenantStatus.ACTIVE
    )
    is_msp: Mapped[bool] = mapped_column(Boolean, default=False)
    # Home security policy: applies to everything this tenant's users do, anywhere.
    require_mfa: Mapped[bool] = mapped_column(Boolean, default=False)
    # When ``require_mfa`` takes effect (a grace period to enrol); None: at once.
    require_mfa_from: Mapped[datetime | None] = mapped_column(default=None)
    # An MSP's rule for its own staff: a second factor to act in any client (its admins
    # and every holder of a non-home grant). New MSPs start with it on (TenancyService).
    require_mfa_for_clients: Mapped[bool] = mapped_column(Boolean, default=False)
    session_lifetime_minutes: Mapped[int | None] = mapped_column(default=None)
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")
    # Audit events older than this are pruned (keeping an anchor); None keeps them all.
    audit_retention_days: Mapped[int | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    suspended_at: Mapped[datetime | None] = mapped_column(default=None)

    __table_args__ = (Index("ix_tenants_display_name_lower", text("lower(display_name)")),)


class TenantLink(PlatformTable, Base):
    """MSP → customer management relationship. ``ceiling`` = the permissions the
    customer consented to give the MSP."""

    __tablename__ = "tenant_links"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    msp_tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"))
    customer_tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"))
    state: Mapped[LinkState] = mapped_column(_enum(LinkState, "link_state"))
    ceiling: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    activated_at: Mapped[datetime | None] = mapped_column(default=None)
    ended_at: Mapped[datetime | None] = mapped_column(default=None)
    expires_at: Mapped[datetime | None] = mapped_column(default=None)
    created_by_user_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    # Consent: what the MSP asked for, for how long, and whether each side lets the link
    # renew itself at expiry (it does only if both do).
    requested_ceiling: Mapped[list[str]] = mapped_column(JSON, default=list)
    duration_days: Mapped[int | None] = mapped_column(default=None)
    msp_auto_extend: Mapped[bool] = mapped_column(Boolean, default=False)
    customer_auto_extend: Mapped[bool] = mapped_column(Boolean, default=False)
    # Who on the customer's side approved, declined, narrowed or revoked it last.
    decided_by_user_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    decided_at: Mapped[datetime | None] = mapped_column(default=None)
    # Who ended it (revoked, declined, withdrew), on either side; None for expiry.
    ended_by_user_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    # Set when the instance operator flagged the customer as a candidate of the MSP.
    flagged_by_operator: Mapped[bool] = mapped_column(Boolean, default=False)

    __table_args__ = (
        Index("ix_tenant_links_msp_tenant_id_state", "msp_tenant_id", "state"),
        Index("ix_tenant_links_customer_tenant_id", "customer_tenant_id"),
        # One MSP at a time: at most one pending-or-active link per customer.
        Index(
            "uq_tenant_links_customer_live",
            "customer_tenant_id",
            unique=True,
            postgresql_where=text("state IN ('pending', 'active')"),
            sqlite_where=text("state IN ('pending', 'active')"),
        ),
    )
