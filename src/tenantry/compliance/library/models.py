"""The framework library: the shipped frameworks (reference tables, the same for every
tenant, loaded by ``tenantry db upgrade``) and the frameworks a tenant wrote or imported
itself (tenant-owned; an MSP may share one with all its clients)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    Boolean,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from tenantry.db.base import Base, ReferenceTable, TenantOwned, new_id, utcnow

# Where an authored framework came from.
AUTHORED_SOURCES: tuple[str, ...] = ("written", "oscal", "csv")


class LibraryFramework(ReferenceTable, Base):
    """One version of a shipped framework (``nist-csf`` 2.0). A new version is a new row
    beside the old; an unchanged file (same sha256) writes nothing."""

    __tablename__ = "library_frameworks"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    key: Mapped[str] = mapped_column(String(100))
    version: Mapped[str] = mapped_column(String(50))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    requirement_count: Mapped[int] = mapped_column(Integer)
    # sha256 of the shipped file: the loader's "nothing changed".
    content_sha256: Mapped[str] = mapped_column(String(64))
    loaded_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("key", "version"),)


class LibraryRequirement(ReferenceTable, Base):
    """A requirement (or a group heading, ``assessable`` False) of a shipped framework."""

    __tablename__ = "library_requirements"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    framework_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("library_frameworks.id", ondelete="CASCADE")
    )
    ref: Mapped[str] = mapped_column(String(100))
    parent_ref: Mapped[str | None] = mapped_column(String(100), default=None)
    title: Mapped[str] = mapped_column(String(500))
    description: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(Integer)
    assessable: Mapped[bool] = mapped_column(Boolean, default=True)

    __table_args__ = (
        UniqueConstraint("framework_id", "ref"),
        Index("ix_library_requirements_framework_id_position", "framework_id", "position"),
    )


class AuthoredFramework(TenantOwned, Base):
    """A framework this tenant wrote or imported. An MSP tenant may share it with all its
    clients (``shared``); its clients then see it in what they may adopt."""

    __tablename__ = "authored_frameworks"

    key: Mapped[str] = mapped_column(String(100))
    version: Mapped[str] = mapped_column(String(50))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    shared: Mapped[bool] = mapped_column(Boolean, default=False)
    source: Mapped[str] = mapped_column(String(20), default="written")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (UniqueConstraint("tenant_id", "key", "version"),)


class AuthoredRequirement(TenantOwned, Base):
    """A requirement, or a group heading (``assessable`` False), of an authored framework;
    ``parent_ref`` names the group it sits in."""

    __tablename__ = "authored_requirements"

    framework_id: Mapped[uuid.UUID]
    ref: Mapped[str] = mapped_column(String(100))
    parent_ref: Mapped[str | None] = mapped_column(String(100), default=None)
    title: Mapped[str] = mapped_column(String(500))
    description: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(Integer)
    assessable: Mapped[bool] = mapped_column(Boolean, default=True)

    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "framework_id"],
            ["authored_frameworks.tenant_id", "authored_frameworks.id"],
        ),
        UniqueConstraint("tenant_id", "framework_id", "ref"),
        Index(
            "ix_authored_requirements_tenant_id_framework_id_position",
            "tenant_id",
            "framework_id",
            "position",
        ),
    )
