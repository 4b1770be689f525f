"""Recently used tenants: per user, the last tenants they switched into (at most 10,
most recent first), so the tenant switcher can list them right after home.

Tenant-owned by the user's HOME tenant (``tenant_id``): which clients a technician
works in is the MSP's own data, read in the home scope the switcher already runs in,
under row-level security like any other tenant work. ``recent_tenant_id`` names the
tenant used; it only orders the switcher's list, never grants anything. Deleting that
tenant removes the rows that name it (ON DELETE CASCADE, which on PostgreSQL runs as the
table owner past row-level security); deleting the home tenant removes its users' rows
like any tenant-owned row. ``user_id`` has no foreign key, as in every tenant-owned
table (users are platform rows, deleted with their home tenant).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 03:30:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from tenantry.db import rls

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Tenant-owned tables this revision creates (a test compares the union over all
# revisions with the mapped TenantOwned classes).
TENANT_OWNED_TABLES: tuple[str, ...] = ("recent_tenants",)


def upgrade() -> None:
    op.create_table(
        "recent_tenants",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("recent_tenant_id", sa.Uuid(), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_recent_tenants_tenant_id_tenants")
        ),
        sa.ForeignKeyConstraint(
            ["recent_tenant_id"],
            ["tenants.id"],
            name=op.f("fk_recent_tenants_recent_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_recent_tenants")),
        sa.UniqueConstraint(
            "tenant_id",
            "user_id",
            "recent_tenant_id",
            name=op.f("uq_recent_tenants_tenant_id_user_id_recent_tenant_id"),
        ),
    )
    # The switcher's read: one user's rows, newest first.
    op.create_index(
        "ix_recent_tenants_tenant_id_user_id_used_at",
        "recent_tenants",
        ["tenant_id", "user_id", "used_at"],
    )
    if rls.is_postgres(op):
        for table in TENANT_OWNED_TABLES:
            rls.apply(op, rls.enable_sql(table))


def downgrade() -> None:
    op.drop_index("ix_recent_tenants_tenant_id_user_id_used_at", "recent_tenants")
    op.drop_table("recent_tenants")
