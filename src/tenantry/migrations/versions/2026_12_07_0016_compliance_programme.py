"""Each tenant's compliance programme (issue #16): adopted frameworks (copied in),
requirements, assessments and their history, applied measures and what they map to, the
score per adopted framework and its history. All tenant-owned, under row-level security.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 18:44:27+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from tenantry.db import rls

revision: str = "0016"
down_revision: str | Sequence[str] | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Tenant-owned tables this revision creates (kept explicit; a test compares the union
# over all revisions with the mapped TenantOwned classes).
TENANT_OWNED_TABLES: tuple[str, ...] = (
    "compliance_frameworks",
    "compliance_requirements",
    "compliance_assessments",
    "compliance_assessment_changes",
    "compliance_measures",
    "compliance_measure_requirements",
    "compliance_scores",
    "compliance_score_history",
)


def upgrade() -> None:
    op.create_table(
        "compliance_frameworks",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("version", sa.String(length=50), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("origin", sa.String(length=20), nullable=False),
        sa.Column("source_id", sa.Uuid(), nullable=True),
        sa.Column("adopted_by_name", sa.String(length=254), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_compliance_frameworks_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_compliance_frameworks")),
        sa.UniqueConstraint(
            "tenant_id", "key", name=op.f("uq_compliance_frameworks_tenant_id_key")
        ),
    )
    op.create_table(
        "compliance_measures",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("implemented_by", sa.String(length=10), nullable=False),
        sa.Column("owner_name", sa.String(length=254), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_compliance_measures_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_compliance_measures")),
        sa.UniqueConstraint(
            "tenant_id", "title", name=op.f("uq_compliance_measures_tenant_id_title")
        ),
    )
    op.create_table(
        "compliance_requirements",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("framework_id", sa.Uuid(), nullable=False),
        sa.Column("ref", sa.String(length=100), nullable=False),
        sa.Column("parent_ref", sa.String(length=100), nullable=True),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("assessable", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "framework_id"],
            ["compliance_frameworks.tenant_id", "compliance_frameworks.id"],
            name=op.f("fk_compliance_requirements_tenant_id_framework_id_compliance_frameworks"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_compliance_requirements_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_compliance_requirements")),
        sa.UniqueConstraint(
            "tenant_id",
            "framework_id",
            "ref",
            name=op.f("uq_compliance_requirements_tenant_id_framework_id_ref"),
        ),
    )
    with op.batch_alter_table("compliance_requirements", schema=None) as batch_op:
        batch_op.create_index(
            "ix_compliance_requirements_tenant_id_framework_id_position",
            ["tenant_id", "framework_id", "position"],
            unique=False,
        )

    op.create_table(
        "compliance_score_history",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("framework_id", sa.Uuid(), nullable=False),
        sa.Column("score_bp", sa.Integer(), nullable=True),
        sa.Column("implemented", sa.Integer(), nullable=False),
        sa.Column("partial", sa.Integer(), nullable=False),
        sa.Column("applicable", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "framework_id"],
            ["compliance_frameworks.tenant_id", "compliance_frameworks.id"],
            name=op.f("fk_compliance_score_history_tenant_id_framework_id_compliance_frameworks"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_compliance_score_history_tenant_id_tenants"),
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_compliance_score_history")),
    )
    with op.batch_alter_table("compliance_score_history", schema=None) as batch_op:
        batch_op.create_index(
            "ix_compliance_score_history_tenant_id_framework_id_created_at",
            ["tenant_id", "framework_id", "created_at"],
            unique=False,
        )

    op.create_table(
        "compliance_scores",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("framework_id", sa.Uuid(), nullable=False),
        sa.Column("framework_key", sa.String(length=100), nullable=False),
        sa.Column("framework_title", sa.String(length=200), nullable=False),
        sa.Column("score_bp", sa.Integer(), nullable=True),
        sa.Column("implemented", sa.Integer(), nullable=False),
        sa.Column("partial", sa.Integer(), nullable=False),
        sa.Column("applicable", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("not_assessed", sa.Integer(), nullable=False),
        sa.Column("recent", sa.JSON(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "framework_id"],
            ["compliance_frameworks.tenant_id", "compliance_frameworks.id"],
            name=op.f("fk_compliance_scores_tenant_id_framework_id_compliance_frameworks"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_compliance_scores_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_compliance_scores")),
        sa.UniqueConstraint(
            "tenant_id", "framework_id", name=op.f("uq_compliance_scores_tenant_id_framework_id")
        ),
    )
    op.create_table(
        "compliance_assessments",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("framework_id", sa.Uuid(), nullable=False),
        sa.Column("requirement_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("na_reason", sa.Text(), nullable=False),
        sa.Column("owner_user_id", sa.Uuid(), nullable=True),
        sa.Column("owner_name", sa.String(length=254), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by_name", sa.String(length=254), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "framework_id"],
            ["compliance_frameworks.tenant_id", "compliance_frameworks.id"],
            name=op.f("fk_compliance_assessments_tenant_id_framework_id_compliance_frameworks"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "requirement_id"],
            ["compliance_requirements.tenant_id", "compliance_requirements.id"],
            name=op.f("fk_compliance_assessments_tenant_id_requirement_id_compliance_requirements"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_compliance_assessments_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_compliance_assessments")),
        sa.UniqueConstraint(
            "tenant_id",
            "requirement_id",
            name=op.f("uq_compliance_assessments_tenant_id_requirement_id"),
        ),
    )
    with op.batch_alter_table("compliance_assessments", schema=None) as batch_op:
        batch_op.create_index(
            "ix_compliance_assessments_tenant_id_due_on", ["tenant_id", "due_on"], unique=False
        )
        batch_op.create_index(
            "ix_compliance_assessments_tenant_id_framework_id_status",
            ["tenant_id", "framework_id", "status"],
            unique=False,
        )

    op.create_table(
        "compliance_measure_requirements",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("measure_id", sa.Uuid(), nullable=False),
        sa.Column("requirement_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "measure_id"],
            ["compliance_measures.tenant_id", "compliance_measures.id"],
            name=op.f(
                "fk_compliance_measure_requirements_tenant_id_measure_id_compliance_measures"
            ),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "requirement_id"],
            ["compliance_requirements.tenant_id", "compliance_requirements.id"],
            name=op.f(
                "fk_compliance_measure_requirements_tenant_id_requirement_id_compliance_requirements"
            ),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_compliance_measure_requirements_tenant_id_tenants"),
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_compliance_measure_requirements")),
        sa.UniqueConstraint(
            "tenant_id",
            "measure_id",
            "requirement_id",
            name=op.f("uq_compliance_measure_requirements_tenant_id_measure_id_requirement_id"),
        ),
    )
    with op.batch_alter_table("compliance_measure_requirements", schema=None) as batch_op:
        batch_op.create_index(
            "ix_compliance_measure_requirements_tenant_id_requirement_id",
            ["tenant_id", "requirement_id"],
            unique=False,
        )

    op.create_table(
        "compliance_assessment_changes",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("assessment_id", sa.Uuid(), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("actor_user_id", sa.Uuid(), nullable=True),
        sa.Column("actor_name", sa.String(length=254), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "assessment_id"],
            ["compliance_assessments.tenant_id", "compliance_assessments.id"],
            name=op.f(
                "fk_compliance_assessment_changes_tenant_id_assessment_id_compliance_assessments"
            ),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_compliance_assessment_changes_tenant_id_tenants"),
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_compliance_assessment_changes")),
    )
    with op.batch_alter_table("compliance_assessment_changes", schema=None) as batch_op:
        batch_op.create_index(
            "ix_compliance_assessment_changes_tenant_id_assessment_id",
            ["tenant_id", "assessment_id", "created_at"],
            unique=False,
        )

    if rls.is_postgres(op):
        for table in TENANT_OWNED_TABLES:
            rls.apply(op, rls.enable_sql(table))


def downgrade() -> None:
    with op.batch_alter_table("compliance_assessment_changes", schema=None) as batch_op:
        batch_op.drop_index("ix_compliance_assessment_changes_tenant_id_assessment_id")

    op.drop_table("compliance_assessment_changes")
    with op.batch_alter_table("compliance_measure_requirements", schema=None) as batch_op:
        batch_op.drop_index("ix_compliance_measure_requirements_tenant_id_requirement_id")

    op.drop_table("compliance_measure_requirements")
    with op.batch_alter_table("compliance_assessments", schema=None) as batch_op:
        batch_op.drop_index("ix_compliance_assessments_tenant_id_framework_id_status")
        batch_op.drop_index("ix_compliance_assessments_tenant_id_due_on")

    op.drop_table("compliance_assessments")
    op.drop_table("compliance_scores")
    with op.batch_alter_table("compliance_score_history", schema=None) as batch_op:
        batch_op.drop_index("ix_compliance_score_history_tenant_id_framework_id_created_at")

    op.drop_table("compliance_score_history")
    with op.batch_alter_table("compliance_requirements", schema=None) as batch_op:
        batch_op.drop_index("ix_compliance_requirements_tenant_id_framework_id_position")

    op.drop_table("compliance_requirements")
    op.drop_table("compliance_measures")
    op.drop_table("compliance_frameworks")
