"""Evidence attached to an assessment (tenant-owned).

``compliance_evidence`` holds what a list shows (kind, display name, link, type, size,
hash, who added it; who removed it and when). Removing evidence keeps this row: it is
the history of what was shown as evidence. A file's bytes live in their own table,
``compliance_evidence_blobs``, so listing never loads file bodies; removing a file
deletes its bytes (the row keeps the name, size and SHA-256 of what was there).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKeyConstraint, Index, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tenantry.db.base import Base, TenantOwned

EVIDENCE_KINDS: tuple[str, ...] = ("file", "link")


class Evidence(TenantOwned, Base):
    __tablename__ = "compliance_evidence"

    assessment_id: Mapped[uuid.UUID]
    kind: Mapped[str] = mapped_column(String(10))
    # The sanitised display name (a file's name, or a link's title).
    name: Mapped[str] = mapped_column(String(255))
    # Links only: an http(s) URL, checked by the service.
    url: Mapped[str | None] = mapped_column(String(2048), default=None)
    # Files only: decided from the bytes, never from what the upload claimed.
    content_type: Mapped[str | None] = mapped_column(String(127), default=None)
    size: Mapped[int | None] = mapped_column(Integer, default=None)
    sha256: Mapped[str | None] = mapped_column(String(64), default=None)
    uploaded_by_user_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    uploaded_by_name: Mapped[str] = mapped_column(String(254))
    removed_at: Mapped[datetime | None] = mapped_column(default=None)
    removed_by_name: Mapped[str | None] = mapped_column(String(254), default=None)

    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "assessment_id"],
            ["compliance_assessments.tenant_id", "compliance_assessments.id"],
        ),
        Index(
            "ix_compliance_evidence_tenant_id_assessment_id_created_at",
            "tenant_id",
            "assessment_id",
            "created_at",
        ),
    )


class EvidenceBlob(TenantOwned, Base):
    """The bytes of one evidence file (one row per file, deleted when it is removed)."""

    __tablename__ = "compliance_evidence_blobs"

    evidence_id: Mapped[uuid.UUID]
    data: Mapped[bytes] = mapped_column(LargeBinary)

    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "evidence_id"],
            ["compliance_evidence.tenant_id", "compliance_evidence.id"],
        ),
        UniqueConstraint("tenant_id", "evidence_id"),
    )
