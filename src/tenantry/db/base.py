"""Declarative base, column types and the three kinds of table: platform, tenant-owned and
reference (global read-only content, the same for every tenant)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import DateTime, ForeignKey, MetaData, TypeDecorator, Uuid
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from uuid6 import uuid7

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_id() -> uuid.UUID:
    """Time-ordered UUIDv7: sorts by creation, indexes stay append-mostly."""
    value: uuid.UUID = uuid7()
    return uuid.UUID(bytes=value.bytes)


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC timestamps on both databases (SQLite stores no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; Tenantry stores UTC-aware timestamps only")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        uuid.UUID: Uuid(as_uuid=True),
        datetime: UTCDateTime(),
    }


class PlatformTable:
    """Marker: read before any tenant scope exists (who is the caller?).

    The set is kept small and listed in docs/ARCHITECTURE.md; only the tenancy,
    identity and access services reach these tables.
    """

    __tablename__: str


class ReferenceTable:
    """Marker: global, read-only reference content identical for every tenant (the shipped
    framework library). Not tenant-owned and not platform: no row-level security, since
    nothing in it belongs to anyone; on PostgreSQL the app role may only SELECT it, and
    only ``tenantry db upgrade`` (as the owner) writes it."""

    __tablename__: str


class TenantOwned:
    """A row that belongs to one tenant: isolated by row-level security on PostgreSQL
    and by the ORM scope on SQLite. ``tenant_id`` leads the primary key."""

    __tablename__: str

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tenants.id"), primary_key=True, sort_order=-20
    )
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id, sort_order=-10)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


def tenant_owned_tables() -> list[str]:
    """Names of every tenant-owned table, from the mapped classes (one source of truth)."""
    names = {
        mapper.class_.__tablename__
        for mapper in Base.registry.mappers
        if issubclass(mapper.class_, TenantOwned)
    }
    return sorted(names)


def platform_tables() -> list[str]:
    names = {
        mapper.class_.__tablename__
        for mapper in Base.registry.mappers
        if issubclass(mapper.class_, PlatformTable)
    }
    return sorted(names)


def reference_tables() -> list[str]:
    names = {
        mapper.class_.__tablename__
        for mapper in Base.registry.mappers
        if issubclass(mapper.class_, ReferenceTable)
    }
    return sorted(names)
