"""Self sign-up of MSPs: pending sign-ups waiting for their emailed link (issue #17).

A platform table: it exists before any tenant does, so it is outside row-level security
and reached only through the sign-up domain's repository. The link's secret is stored
as its digest only.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-07 23:40:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0026"
down_revision: str | Sequence[str] | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TENANT_OWNED_TABLES: tuple[str, ...] = ()


def upgrade() -> None:
    op.create_table(
        "signup_requests",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("admin_name", sa.String(length=200), nullable=False),
        sa.Column("organisation", sa.String(length=200), nullable=False),
        sa.Column("slug", sa.String(length=63), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source_address", sa.String(length=64), nullable=True),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_tenant_id", sa.Uuid(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signup_requests")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_signup_requests_token_hash")),
    )
    op.create_index("ix_signup_requests_slug_expires_at", "signup_requests", ["slug", "expires_at"])
    op.create_index("ix_signup_requests_expires_at", "signup_requests", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_signup_requests_expires_at", table_name="signup_requests")
    op.drop_index("ix_signup_requests_slug_expires_at", table_name="signup_requests")
    op.drop_table("signup_requests")
