"""One branding row per tenant: its logo as bytes (PNG or JPEG, at most 256 KiB,
checked by its magic bytes) and an optional accent colour. Tenant-owned: row-level
security and the ORM scope keep it to its tenant; deleting the tenant removes it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tenantry.db.base import Base, TenantOwned, utcnow


class TenantBranding(TenantOwned, Base):
    __tablename__ = "tenant_branding"

    logo: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    # Decided by the service from the bytes (never taken from the upload's claim).
    logo_content_type: Mapped[str | None] = mapped_column(String(32), default=None)
    logo_size: Mapped[int | None] = mapped_column(Integer, default=None)
    # Hex SHA-256 of the logo: the ETag, and a version in the image's URL.
    logo_sha256: Mapped[str | None] = mapped_column(String(64), default=None)
    # "#1f6feb" or None (the stylesheet's own accent).
    accent_colour: Mapped[str | None] = mapped_column(String(7), default=None)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (UniqueConstraint("tenant_id"),)
