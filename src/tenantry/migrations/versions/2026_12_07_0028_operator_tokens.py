"""Operator tokens: the instance operator's bearer credentials for its HTTP API (#17).

A platform table (no tenant owns the operator), outside row-level security, reached only
through the operator domain's repository. Secrets are stored as their digest only.

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-08 00:40:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0028"
down_revision: str | Sequence[str] | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TENANT_OWNED_TABLES: tuple[str, ...] = ()


def upgrade() -> None:
    op.create_table(
        "operator_tokens",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operator_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_operator_tokens_token_hash")),
    )


def downgrade() -> None:
    op.drop_table("operator_tokens")
