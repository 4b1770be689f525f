"""Compliance evidence (issue #16): files and links attached to an assessment. The
metadata (``compliance_evidence``, kept after removal as history) and the bytes
(``compliance_evidence_blobs``, so listing never loads file bodies) are both
tenant-owned, under row-level security, and deleted with the tenant.

Revision ID: 0019
Revises: 0016
Create Date: 2026-12-07 18:50:59+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from tenantry.db import rls

revision: str = "0019"
down_revision: str | Sequence[str] | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Tenant-owned tables this revision creates (kept explicit; a test compares the union
# over all revisions with the mapped TenantOwned classes).
TENANT_OWNED_TABLES: tuple[str, ...] = ("compliance_evidence", "compliance_evidence_blobs")


def upgrade() -> None:
    op.create_table(
        "compliance_evidence",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("assessment_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=True),
        sa.Column("content_type", sa.String(length=127), nullable=True),
        sa.Column("size", sa.Integer(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("uploaded_by_user_id", sa.Uuid(), nullable=True),
        sa.Column("uploaded_by_name", sa.String(length=254), nullable=False),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("removed_by_name", sa.String(length=254), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "assessment_id"],
            ["compliance_assessments.tenant_id", "compliance_assessments.id"],
            name=op.f("fk_compliance_evidence_tenant_id_assessment_id_compliance_assessments"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_compliance_evidence_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_compliance_evidence")),
    )
    with op.batch_alter_table("compliance_evidence", schema=None) as batch_op:
        batch_op.create_index(
            "ix_compliance_evidence_tenant_id_assessment_id_created_at",
            ["tenant_id", "assessment_id", "created_at"],
            unique=False,
        )

    op.create_table(
        "compliance_evidence_blobs",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("evidence_id", sa.Uuid(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "evidence_id"],
            ["compliance_evidence.tenant_id", "compliance_evidence.id"],
            name=op.f("fk_compliance_evidence_blobs_tenant_id_evidence_id_compliance_evidence"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_compliance_evidence_blobs_tenant_id_tenants"),
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_compliance_evidence_blobs")),
        sa.UniqueConstraint(
            "tenant_id",
            "evidence_id",
            name=op.f("uq_compliance_evidence_blobs_tenant_id_evidence_id"),
        ),
    )
    if rls.is_postgres(op):
        for table in TENANT_OWNED_TABLES:
            rls.apply(op, rls.enable_sql(table))


def downgrade() -> None:
    op.drop_table("compliance_evidence_blobs")
    with op.batch_alter_table("compliance_evidence", schema=None) as batch_op:
        batch_op.drop_index("ix_compliance_evidence_tenant_id_assessment_id_created_at")

    op.drop_table("compliance_evidence")
