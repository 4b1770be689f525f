"""The MSP's service plans for its clients (issue #17): the plans and which client is on
which, both tenant-owned by the MSP (under row-level security), the assignment keeping
the client's counted users. An assignment goes with its client (explicitly in the
deletion path; ON DELETE CASCADE as the database's own guarantee).

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-07 23:40:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from tenantry.db import rls

revision: str = "0025"
down_revision: str | Sequence[str] | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Tenant-owned tables this revision creates (kept explicit; a test compares the union
# over all revisions with the mapped TenantOwned classes).
TENANT_OWNED_TABLES: tuple[str, ...] = ("service_plans", "service_plan_assignments")


def upgrade() -> None:
    op.create_table(
        "service_plans",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("included_users", sa.Integer(), nullable=False),
        sa.Column("price_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_service_plans_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_service_plans")),
        sa.UniqueConstraint("tenant_id", "name", name=op.f("uq_service_plans_tenant_id_name")),
    )
    op.create_table(
        "service_plan_assignments",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("plan_id", sa.Uuid(), nullable=False),
        sa.Column("counted_users", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["tenants.id"],
            name=op.f("fk_service_plan_assignments_client_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "plan_id"],
            ["service_plans.tenant_id", "service_plans.id"],
            name=op.f("fk_service_plan_assignments_tenant_id_plan_id_service_plans"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_service_plan_assignments_tenant_id_tenants"),
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_service_plan_assignments")),
        sa.UniqueConstraint(
            "tenant_id", "client_id", name=op.f("uq_service_plan_assignments_tenant_id_client_id")
        ),
    )
    with op.batch_alter_table("service_plan_assignments", schema=None) as batch_op:
        batch_op.create_index(
            "ix_service_plan_assignments_tenant_id_plan_id", ["tenant_id", "plan_id"], unique=False
        )

    if rls.is_postgres(op):
        for table in TENANT_OWNED_TABLES:
            rls.apply(op, rls.enable_sql(table))


def downgrade() -> None:
    with op.batch_alter_table("service_plan_assignments", schema=None) as batch_op:
        batch_op.drop_index("ix_service_plan_assignments_tenant_id_plan_id")
    op.drop_table("service_plan_assignments")
    op.drop_table("service_plans")
