"""The risk register (issue #16): risks with inherent and residual ratings, their links
to requirements and applied measures of the same tenant (a link goes with its
requirement or measure), and each risk's history. All tenant-owned, under row-level
security.

Revision ID: 0021
Revises: 0019
Create Date: 2026-12-07 18:51:38+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from tenantry.db import rls

revision: str = "0021"
down_revision: str | Sequence[str] | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Tenant-owned tables this revision creates (kept explicit; a test compares the union
# over all revisions with the mapped TenantOwned classes).
TENANT_OWNED_TABLES: tuple[str, ...] = (
    "compliance_risks",
    "compliance_risk_changes",
    "compliance_risk_links",
)


def upgrade() -> None:
    op.create_table(
        "compliance_risks",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("category", sa.String(length=100), nullable=False),
        sa.Column("likelihood", sa.Integer(), nullable=False),
        sa.Column("impact", sa.Integer(), nullable=False),
        sa.Column("treatment", sa.String(length=20), nullable=False),
        sa.Column("treatment_plan", sa.Text(), nullable=False),
        sa.Column("owner_user_id", sa.Uuid(), nullable=True),
        sa.Column("owner_name", sa.String(length=254), nullable=False),
        sa.Column("residual_likelihood", sa.Integer(), nullable=False),
        sa.Column("residual_impact", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("next_review_on", sa.Date(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by_name", sa.String(length=254), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_compliance_risks_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_compliance_risks")),
    )
    with op.batch_alter_table("compliance_risks", schema=None) as batch_op:
        batch_op.create_index(
            "ix_compliance_risks_tenant_id_status_next_review_on",
            ["tenant_id", "status", "next_review_on"],
            unique=False,
        )

    op.create_table(
        "compliance_risk_changes",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("risk_id", sa.Uuid(), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("actor_user_id", sa.Uuid(), nullable=True),
        sa.Column("actor_name", sa.String(length=254), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "risk_id"],
            ["compliance_risks.tenant_id", "compliance_risks.id"],
            name=op.f("fk_compliance_risk_changes_tenant_id_risk_id_compliance_risks"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_compliance_risk_changes_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_compliance_risk_changes")),
    )
    with op.batch_alter_table("compliance_risk_changes", schema=None) as batch_op:
        batch_op.create_index(
            "ix_compliance_risk_changes_tenant_id_risk_id_created_at",
            ["tenant_id", "risk_id", "created_at"],
            unique=False,
        )

    op.create_table(
        "compliance_risk_links",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("risk_id", sa.Uuid(), nullable=False),
        sa.Column("requirement_id", sa.Uuid(), nullable=True),
        sa.Column("measure_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(requirement_id IS NULL) <> (measure_id IS NULL)",
            name=op.f("ck_compliance_risk_links_one_of_requirement_or_measure"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "measure_id"],
            ["compliance_measures.tenant_id", "compliance_measures.id"],
            name=op.f("fk_compliance_risk_links_tenant_id_measure_id_compliance_measures"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "requirement_id"],
            ["compliance_requirements.tenant_id", "compliance_requirements.id"],
            name=op.f("fk_compliance_risk_links_tenant_id_requirement_id_compliance_requirements"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "risk_id"],
            ["compliance_risks.tenant_id", "compliance_risks.id"],
            name=op.f("fk_compliance_risk_links_tenant_id_risk_id_compliance_risks"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_compliance_risk_links_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_compliance_risk_links")),
        sa.UniqueConstraint(
            "tenant_id",
            "risk_id",
            "measure_id",
            name=op.f("uq_compliance_risk_links_tenant_id_risk_id_measure_id"),
        ),
        sa.UniqueConstraint(
            "tenant_id",
            "risk_id",
            "requirement_id",
            name=op.f("uq_compliance_risk_links_tenant_id_risk_id_requirement_id"),
        ),
    )
    with op.batch_alter_table("compliance_risk_links", schema=None) as batch_op:
        batch_op.create_index(
            "ix_compliance_risk_links_tenant_id_measure_id",
            ["tenant_id", "measure_id"],
            unique=False,
        )
        batch_op.create_index(
            "ix_compliance_risk_links_tenant_id_requirement_id",
            ["tenant_id", "requirement_id"],
            unique=False,
        )

    if rls.is_postgres(op):
        for table in TENANT_OWNED_TABLES:
            rls.apply(op, rls.enable_sql(table))


def downgrade() -> None:
    with op.batch_alter_table("compliance_risk_links", schema=None) as batch_op:
        batch_op.drop_index("ix_compliance_risk_links_tenant_id_requirement_id")
        batch_op.drop_index("ix_compliance_risk_links_tenant_id_measure_id")

    op.drop_table("compliance_risk_links")
    with op.batch_alter_table("compliance_risk_changes", schema=None) as batch_op:
        batch_op.drop_index("ix_compliance_risk_changes_tenant_id_risk_id_created_at")

    op.drop_table("compliance_risk_changes")
    with op.batch_alter_table("compliance_risks", schema=None) as batch_op:
        batch_op.drop_index("ix_compliance_risks_tenant_id_status_next_review_on")

    op.drop_table("compliance_risks")
