"""The MSP dashboard's rows (issue #17): one per (MSP, client), owned by the MSP.

``msp_dashboard_rows``: open and breached tickets, the kept compliance scores of every
adopted framework (and their mean), and when the MSP's people last acted in the client,
kept in the transaction of each change (dashboard/keeping.py). Tenant-owned under
row-level security; unique on (tenant_id, client_id).

The table starts empty; ``tenantry dashboard rebuild`` fills it from the tickets' open
counts, the kept scores and the audit trail (run it once after upgrading a database with
clients; the rebuild runs per MSP under ordinary scopes, as the app does).

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-07 23:45:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from tenantry.db import rls

revision: str = "0027"
down_revision: str | Sequence[str] | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TENANT_OWNED_TABLES: tuple[str, ...] = ("msp_dashboard_rows",)


def upgrade() -> None:
    op.create_table(
        "msp_dashboard_rows",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("open", sa.Integer(), nullable=False),
        sa.Column("breached", sa.Integer(), nullable=False),
        sa.Column("scores", sa.JSON(), nullable=False),
        sa.Column("score_bp", sa.Integer(), nullable=True),
        sa.Column("last_activity_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_activity_by", sa.String(length=200), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_msp_dashboard_rows_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_msp_dashboard_rows")),
        sa.UniqueConstraint(
            "tenant_id", "client_id", name=op.f("uq_msp_dashboard_rows_tenant_id_client_id")
        ),
    )
    if rls.is_postgres(op):
        for table in TENANT_OWNED_TABLES:
            rls.apply(op, rls.enable_sql(table))


def downgrade() -> None:
    op.drop_table("msp_dashboard_rows")
