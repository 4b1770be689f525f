"""Notifications: one message to one person about a link event, in-app and by email.

Tenant-owned by the recipient's HOME tenant (``tenant_id`` leads the keys), under
row-level security like every tenant-owned table. The email columns make the table its
own outbox: rows are written ``pending`` in the unit of work that caused them and sent
after it committed; a sweep retries with backoff. ``ix_notifications_email_next_at_pending``
is the outbox sweep's index across tenants (partial: pending rows only), marked as such
in the model.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 12:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from tenantry.db import rls

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Tenant-owned tables this revision creates (a test compares the union over all
# revisions with the mapped TenantOwned classes).
TENANT_OWNED_TABLES: tuple[str, ...] = ("notifications",)


def upgrade() -> None:
    op.create_table(
        "notifications",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("body", sa.String(length=2000), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=False),
        sa.Column("link_id", sa.Uuid(), nullable=True),
        sa.Column("dedupe_key", sa.String(length=200), nullable=True),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "email_status",
            sa.Enum(
                "pending",
                "sent",
                "failed",
                "none",
                name="notification_email_status",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("email_attempts", sa.Integer(), nullable=False),
        sa.Column("email_next_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("emailed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_notifications_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_notifications")),
        sa.UniqueConstraint(
            "tenant_id",
            "user_id",
            "dedupe_key",
            name=op.f("uq_notifications_tenant_id_user_id_dedupe_key"),
        ),
    )
    op.create_index(
        "ix_notifications_tenant_id_user_id_id", "notifications", ["tenant_id", "user_id", "id"]
    )
    op.create_index(
        "ix_notifications_tenant_id_user_id_unread",
        "notifications",
        ["tenant_id", "user_id"],
        sqlite_where=sa.text("read_at IS NULL"),
        postgresql_where=sa.text("read_at IS NULL"),
    )
    op.create_index(
        "ix_notifications_email_next_at_pending",
        "notifications",
        ["email_next_at"],
        sqlite_where=sa.text("email_status = 'pending'"),
        postgresql_where=sa.text("email_status = 'pending'"),
    )
    if rls.is_postgres(op):
        for table in TENANT_OWNED_TABLES:
            rls.apply(op, rls.enable_sql(table))


def downgrade() -> None:
    op.drop_index("ix_notifications_email_next_at_pending", "notifications")
    op.drop_index("ix_notifications_tenant_id_user_id_unread", "notifications")
    op.drop_index("ix_notifications_tenant_id_user_id_id", "notifications")
    op.drop_table("notifications")
