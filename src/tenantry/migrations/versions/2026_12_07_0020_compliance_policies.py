"""Compliance policies (issue #16): a client's policy documents, their versions (draft,
approved, published, superseded), acknowledgements of a published version, and the MSP's
policy templates. All tenant-owned, under row-level security.

Revision ID: 0020
Revises: 0021
Create Date: 2026-12-07 18:48:17+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from tenantry.db import rls

revision: str = "0020"
down_revision: str | Sequence[str] | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Tenant-owned tables this revision creates (kept explicit; a test compares the union
# over all revisions with the mapped TenantOwned classes).
TENANT_OWNED_TABLES: tuple[str, ...] = (
    "compliance_policies",
    "compliance_policy_versions",
    "compliance_policy_acknowledgements",
    "compliance_policy_templates",
)


def upgrade() -> None:
    op.create_table(
        "compliance_policies",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("owner_name", sa.String(length=254), nullable=False),
        sa.Column("current_version_id", sa.Uuid(), nullable=True),
        sa.Column("review_on", sa.Date(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_compliance_policies_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_compliance_policies")),
        sa.UniqueConstraint(
            "tenant_id", "title", name=op.f("uq_compliance_policies_tenant_id_title")
        ),
    )
    op.create_table(
        "compliance_policy_templates",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("category", sa.String(length=100), nullable=False),
        sa.Column("body_markdown", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_compliance_policy_templates_tenant_id_tenants"),
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_compliance_policy_templates")),
        sa.UniqueConstraint(
            "tenant_id", "title", name=op.f("uq_compliance_policy_templates_tenant_id_title")
        ),
    )
    with op.batch_alter_table("compliance_policy_templates", schema=None) as batch_op:
        batch_op.create_index(
            "ix_compliance_policy_templates_tenant_id_category",
            ["tenant_id", "category"],
            unique=False,
        )

    op.create_table(
        "compliance_policy_versions",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("policy_id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("body_markdown", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("change_note", sa.String(length=500), nullable=False),
        sa.Column("created_by_user_id", sa.Uuid(), nullable=True),
        sa.Column("created_by_name", sa.String(length=254), nullable=False),
        sa.Column("approved_by_user_id", sa.Uuid(), nullable=True),
        sa.Column("approved_by_name", sa.String(length=254), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "policy_id"],
            ["compliance_policies.tenant_id", "compliance_policies.id"],
            name=op.f("fk_compliance_policy_versions_tenant_id_policy_id_compliance_policies"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_compliance_policy_versions_tenant_id_tenants"),
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_compliance_policy_versions")),
        sa.UniqueConstraint(
            "tenant_id",
            "policy_id",
            "number",
            name=op.f("uq_compliance_policy_versions_tenant_id_policy_id_number"),
        ),
    )
    op.create_table(
        "compliance_policy_acknowledgements",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("version_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("user_name", sa.String(length=254), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "version_id"],
            ["compliance_policy_versions.tenant_id", "compliance_policy_versions.id"],
            name=op.f(
                "fk_compliance_policy_acknowledgements_tenant_id_version_id_compliance_policy_versions"
            ),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_compliance_policy_acknowledgements_tenant_id_tenants"),
        ),
        sa.PrimaryKeyConstraint(
            "tenant_id", "id", name=op.f("pk_compliance_policy_acknowledgements")
        ),
        sa.UniqueConstraint(
            "tenant_id",
            "version_id",
            "user_id",
            name=op.f("uq_compliance_policy_acknowledgements_tenant_id_version_id_user_id"),
        ),
    )
    if rls.is_postgres(op):
        for table in TENANT_OWNED_TABLES:
            rls.apply(op, rls.enable_sql(table))


def downgrade() -> None:
    op.drop_table("compliance_policy_acknowledgements")
    op.drop_table("compliance_policy_versions")
    with op.batch_alter_table("compliance_policy_templates", schema=None) as batch_op:
        batch_op.drop_index("ix_compliance_policy_templates_tenant_id_category")

    op.drop_table("compliance_policy_templates")
    op.drop_table("compliance_policies")
