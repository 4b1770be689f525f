"""Tenant branding: one row per tenant with its logo (PNG or JPEG bytes, at most
256 KiB, type decided from the magic bytes by the branding service) and an optional
accent colour. The printable invoice shows the issuing MSP's logo.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 09:10:00+00:00

A new tenant-owned table (a ``TenantOwned`` model) must be listed in
TENANT_OWNED_TABLES and get its two policies on PostgreSQL in upgrade():
    if rls.is_postgres(op):
        rls.apply(op, rls.enable_sql("<table>"))
tests/isolation checks both.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from tenantry.db import rls

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Tenant-owned tables this revision creates (a test compares the union over all
# revisions with the mapped TenantOwned classes).
TENANT_OWNED_TABLES: tuple[str, ...] = ("tenant_branding",)


def upgrade() -> None:
    op.create_table(
        "tenant_branding",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("logo", sa.LargeBinary(), nullable=True),
        sa.Column("logo_content_type", sa.String(length=32), nullable=True),
        sa.Column("logo_size", sa.Integer(), nullable=True),
        sa.Column("logo_sha256", sa.String(length=64), nullable=True),
        sa.Column("accent_colour", sa.String(length=7), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_tenant_branding_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_tenant_branding")),
        sa.UniqueConstraint("tenant_id", name=op.f("uq_tenant_branding_tenant_id")),
    )
    if rls.is_postgres(op):
        for table in TENANT_OWNED_TABLES:
            rls.apply(op, rls.enable_sql(table))


def downgrade() -> None:
    op.drop_table("tenant_branding")
