"""Grants: who holds which role where (platform table, read to authorise a request)."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from tenantry.db.base import Base, PlatformTable, new_id, utcnow


class GrantScope(enum.StrEnum):
    HOME = "home"
    CUSTOMER = "customer"
    ALL_CUSTOMERS = "all_customers"


class Grant(PlatformTable, Base):
    __tablename__ = "grants"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    # The tenant that issued the grant: the user's home tenant.
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    role: Mapped[str] = mapped_column(String(64))
    scope: Mapped[GrantScope] = mapped_column(
        Enum(
            GrantScope,
            name="grant_scope",
            native_enum=False,
            length=16,
            values_callable=lambda x: [m.value for m in x],
        )
    )
    customer_tenant_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("tenants.id"), default=None
    )
    expires_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_user_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)

    __table_args__ = (
        Index("ix_grants_user_id", "user_id"),
        Index("ix_grants_tenant_id_customer_tenant_id", "tenant_id", "customer_tenant_id"),
    )
