"""The operator's plans, each MSP's subscription, the MSP's requests for more, and the
history of every change to a subscription (issue #17).

``plans``, ``msp_subscriptions`` and ``plan_requests`` are platform tables owned by
billing (the operator's side, read outside any tenant scope); ``subscription_changes``
is tenant-owned by the MSP, under row-level security.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07 23:50:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from tenantry.db import rls

revision: str = "0024"
down_revision: str | Sequence[str] | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TENANT_OWNED_TABLES: tuple[str, ...] = ("subscription_changes",)


def upgrade() -> None:
    op.create_table(
        "plans",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("max_clients", sa.Integer(), nullable=True),
        sa.Column("max_seats", sa.Integer(), nullable=True),
        sa.Column("max_storage_bytes", sa.BigInteger(), nullable=True),
        sa.Column("features", sa.JSON(), nullable=False),
        sa.Column("trial_days", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plans")),
        sa.UniqueConstraint("name", name=op.f("uq_plans_name")),
    )
    op.create_table(
        "msp_subscriptions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("msp_tenant_id", sa.Uuid(), nullable=False),
        sa.Column("plan_id", sa.Uuid(), nullable=False),
        sa.Column("seats", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("storage_bytes", sa.BigInteger(), nullable=False),
        sa.Column("alerted", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["msp_tenant_id"],
            ["tenants.id"],
            name=op.f("fk_msp_subscriptions_msp_tenant_id_tenants"),
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["plans.id"], name=op.f("fk_msp_subscriptions_plan_id_plans")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_msp_subscriptions")),
        sa.UniqueConstraint("msp_tenant_id", name=op.f("uq_msp_subscriptions_msp_tenant_id")),
    )
    op.create_index("ix_msp_subscriptions_plan_id", "msp_subscriptions", ["plan_id"])
    op.create_table(
        "plan_requests",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("msp_tenant_id", sa.Uuid(), nullable=False),
        sa.Column("plan_id", sa.Uuid(), nullable=True),
        sa.Column("seats", sa.Integer(), nullable=True),
        sa.Column("note", sa.String(length=1000), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("requested_by_user_id", sa.Uuid(), nullable=True),
        sa.Column("requested_by_name", sa.String(length=254), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_note", sa.String(length=1000), nullable=False),
        sa.ForeignKeyConstraint(
            ["msp_tenant_id"], ["tenants.id"], name=op.f("fk_plan_requests_msp_tenant_id_tenants")
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["plans.id"], name=op.f("fk_plan_requests_plan_id_plans")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_requests")),
    )
    op.create_index("ix_plan_requests_status_created_at", "plan_requests", ["status", "created_at"])
    op.create_index(
        "ix_plan_requests_msp_tenant_id_created_at",
        "plan_requests",
        ["msp_tenant_id", "created_at"],
    )
    op.create_table(
        "subscription_changes",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("actor_name", sa.String(length=254), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_subscription_changes_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_subscription_changes")),
    )
    op.create_index(
        "ix_subscription_changes_tenant_id_created_at",
        "subscription_changes",
        ["tenant_id", "created_at"],
    )
    if rls.is_postgres(op):
        for table in TENANT_OWNED_TABLES:
            rls.apply(op, rls.enable_sql(table))


def downgrade() -> None:
    op.drop_index("ix_subscription_changes_tenant_id_created_at", "subscription_changes")
    op.drop_table("subscription_changes")
    op.drop_index("ix_plan_requests_msp_tenant_id_created_at", "plan_requests")
    op.drop_index("ix_plan_requests_status_created_at", "plan_requests")
    op.drop_table("plan_requests")
    op.drop_index("ix_msp_subscriptions_plan_id", "msp_subscriptions")
    op.drop_table("msp_subscriptions")
    op.drop_table("plans")
