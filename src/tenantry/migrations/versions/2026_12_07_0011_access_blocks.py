"""Blocks: a customer stops one technician, or one user group, of its MSP from acting in
it without narrowing the whole link (issue #14).

``access_blocks`` is a platform table owned by access: the access decision reads it
with the grants, before any tenant scope exists. Exactly one of ``user_id`` and
``user_group_id`` is set (a CHECK); one block per (customer, user) and per (customer,
group). Deleting the customer, the MSP, the user or the group deletes the rows that
name them (ON DELETE CASCADE). A block outlives the link's end: it is the customer's
decision about a person, kept until the customer undoes it.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 12:40:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TENANT_OWNED_TABLES: tuple[str, ...] = ()


def upgrade() -> None:
    op.create_table(
        "access_blocks",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("customer_tenant_id", sa.Uuid(), nullable=False),
        sa.Column("msp_tenant_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("user_group_id", sa.Uuid(), nullable=True),
        sa.Column("created_by_user_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(user_id IS NULL) <> (user_group_id IS NULL)",
            name=op.f("ck_access_blocks_one_of_user_or_group"),
        ),
        sa.ForeignKeyConstraint(
            ["customer_tenant_id"],
            ["tenants.id"],
            name=op.f("fk_access_blocks_customer_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["msp_tenant_id"],
            ["tenants.id"],
            name=op.f("fk_access_blocks_msp_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_access_blocks_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_group_id"],
            ["user_groups.id"],
            name=op.f("fk_access_blocks_user_group_id_user_groups"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_blocks")),
        sa.UniqueConstraint(
            "customer_tenant_id",
            "user_id",
            name=op.f("uq_access_blocks_customer_tenant_id_user_id"),
        ),
        sa.UniqueConstraint(
            "customer_tenant_id",
            "user_group_id",
            name=op.f("uq_access_blocks_customer_tenant_id_user_group_id"),
        ),
    )
    op.create_index("ix_access_blocks_user_id", "access_blocks", ["user_id"])
    op.create_index("ix_access_blocks_user_group_id", "access_blocks", ["user_group_id"])
    op.create_index("ix_access_blocks_msp_tenant_id", "access_blocks", ["msp_tenant_id"])


def downgrade() -> None:
    op.drop_index("ix_access_blocks_msp_tenant_id", "access_blocks")
    op.drop_index("ix_access_blocks_user_group_id", "access_blocks")
    op.drop_index("ix_access_blocks_user_id", "access_blocks")
    op.drop_table("access_blocks")
