"""Roles, groups and grants: who holds which role where (platform tables, read to
authorise a request before any tenant scope exists); and each user's recently used
tenants (tenant-owned by the user's home tenant: it only orders the switcher)."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Enum,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from tenantry.db.base import Base, PlatformTable, TenantOwned, new_id, utcnow


class GrantScope(enum.StrEnum):
    HOME = "home"
    CUSTOMER = "customer"
    TENANT_GROUP = "tenant_group"
    ALL_CUSTOMERS = "all_customers"


CUSTOM_ROLE_PREFIX = "custom:"


class CustomRole(PlatformTable, Base):
    """A tenant's own named set of permissions. Grants refer to it as ``custom:<id>``;
    an MSP's custom roles can be used in its delegations to customers."""

    __tablename__ = "custom_roles"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"))
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(String(500), default="")
    permissions: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    created_by_user_id: Mapped[uuid.UUID | None] = mapped_column(default=None)

    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    @property
    def key(self) -> str:
        return f"{CUSTOM_ROLE_PREFIX}{self.id}"


class UserGroup(PlatformTable, Base):
    """A named set of users of one tenant; grants can go to the group."""

    __tablename__ = "user_groups"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"))
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("tenant_id", "name"),)


class UserGroupMember(PlatformTable, Base):
    __tablename__ = "user_group_members"

    group_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_groups.id"), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), primary_key=True)
    added_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_user_group_members_user_id", "user_id"),)


class TenantGroup(PlatformTable, Base):
    """A named set of an MSP's customers (e.g. "Healthcare clients")."""

    __tablename__ = "tenant_groups"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    msp_tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"))
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("msp_tenant_id", "name"),)


class TenantGroupMember(PlatformTable, Base):
    __tablename__ = "tenant_group_members"

    group_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenant_groups.id"), primary_key=True)
    customer_tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tenants.id"), primary_key=True
    )
    added_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_tenant_group_members_customer_tenant_id", "customer_tenant_id"),)


class Grant(PlatformTable, Base):
    """(user or user group, role, scope, optional expiry), issued by the holder's home
    tenant. ``role`` is a built-in role key or ``custom:<id>``."""

    __tablename__ = "grants"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    # The tenant that issued the grant: the home tenant of its user or group.
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"))
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), default=None)
    user_group_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("user_groups.id"), default=None
    )
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
    tenant_group_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("tenant_groups.id"), default=None
    )
    # all_customers only: customers left out of "every current and future customer".
    excluded_customer_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    expires_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_user_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_by_user_id: Mapped[uuid.UUID | None] = mapped_column(default=None)

    __table_args__ = (
        Index("ix_grants_user_id", "user_id"),
        Index("ix_grants_user_group_id", "user_group_id"),
        Index("ix_grants_tenant_id_customer_tenant_id", "tenant_id", "customer_tenant_id"),
        Index("ix_grants_role", "role"),
    )


class AccessBlock(PlatformTable, Base):
    """A customer's decision that one technician, or one user group, of its MSP may not act
    in it, whatever their grants say (the link stays as it is for everyone else).

    A platform table: the access decision reads it with the grants, before any tenant
    scope exists. It outlives the link's end: it is the customer's decision about a
    person, kept until the customer undoes it. Deleting the customer, the user or the
    group deletes the rows naming them (ON DELETE CASCADE)."""

    __tablename__ = "access_blocks"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    customer_tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE")
    )
    # The MSP whose person or group is blocked (the customer's MSP when it was made).
    msp_tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), default=None
    )
    user_group_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("user_groups.id", ondelete="CASCADE"), default=None
    )
    # No foreign key: the customer's person who decided; the audit trail keeps the rest.
    created_by_user_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        CheckConstraint(
            "(user_id IS NULL) <> (user_group_id IS NULL)", name="one_of_user_or_group"
        ),
        # Each leads with the customer: the decision reads one customer's blocks.
        UniqueConstraint("customer_tenant_id", "user_id"),
        UniqueConstraint("customer_tenant_id", "user_group_id"),
        # The switcher reads one user's blocks across customers; cascades need them too.
        Index("ix_access_blocks_user_id", "user_id"),
        Index("ix_access_blocks_user_group_id", "user_group_id"),
        Index("ix_access_blocks_msp_tenant_id", "msp_tenant_id"),
    )


class AccessVersion(PlatformTable, Base):
    """A counter per tenant that every change to what decides access there moves, in the
    changing transaction (database triggers, migration 0014: grants, custom roles, user
    and client groups and their members, links and blocks at both ends, the tenant's
    row). A worker keeps its decisions keyed by the two numbers of the caller's home and
    the target tenant and reads both with the target tenant on every request
    (``access/decisions.py``): a change is seen by the very next request in every worker.
    No foreign key: triggers keep one row per tenant, deleted with it."""

    __tablename__ = "access_versions"

    tenant_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger)


class RecentTenant(TenantOwned, Base):
    """A tenant one user switched into lately (``access/recent.py`` keeps at most
    ``recent.KEEP`` per user). Tenant-owned by the user's HOME tenant: it is the home
    tenant's record of where its people work, read in the home scope the switcher runs
    in. Only orders the switcher's list; access is decided as always."""

    __tablename__ = "recent_tenants"

    # No foreign key, as in every tenant-owned table: the user is a platform row,
    # deleted with the home tenant that owns these rows.
    user_id: Mapped[uuid.UUID]
    # The tenant used. Deleting it deletes the rows naming it (ON DELETE CASCADE).
    recent_tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE")
    )
    used_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        UniqueConstraint("tenant_id", "user_id", "recent_tenant_id"),
        Index("ix_recent_tenants_tenant_id_user_id_used_at", "tenant_id", "user_id", "used_at"),
    )
