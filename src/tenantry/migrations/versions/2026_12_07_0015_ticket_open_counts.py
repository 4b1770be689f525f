"""Open and breached tickets per client, kept as the tickets change (issue #15).

``ticket_open_counts``: per (tenant, assignee; NULL = unassigned) the open tickets and
those of them with a breach flag, tenant-owned under row-level security. Two partial
unique indexes make the key, because NULL never equals NULL in a unique index.

``ix_tickets_first_response_due_at_unflagged`` and ``ix_tickets_resolution_due_at_unflagged``:
the tickets whose target is pending and not flagged, by due time. The breach sweep reads
them across tenants (marked so in the model); the counts add the ones already overdue.

The upgrade flags every target already missed (what the next change of such a ticket
would have recorded), then fills the counts with one grouped INSERT over the tickets.
The table owner is subject to row-level security (FORCE): when it is neither superuser
nor BYPASSRLS, both run per tenant under that tenant's scope instead.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 18:00:00+00:00
"""

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from tenantry.db import rls

revision: str = "0015"
down_revision: str | Sequence[str] | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TENANT_OWNED_TABLES: tuple[str, ...] = ("ticket_open_counts",)

OPEN = ("new", "open", "waiting_on_customer", "on_hold")
UNFLAGGED = {
    "sqlite": "first_response_breached = 0 AND resolution_breached = 0",
    "postgresql": "NOT first_response_breached AND NOT resolution_breached",
}

# The columns this revision reads and writes, as they are at this revision.
tickets = sa.table(
    "tickets",
    sa.column("tenant_id", sa.Uuid()),
    sa.column("status", sa.String()),
    sa.column("assignee_user_id", sa.Uuid()),
    sa.column("first_responded_at", sa.DateTime(timezone=True)),
    sa.column("first_response_due_at", sa.DateTime(timezone=True)),
    sa.column("resolved_at", sa.DateTime(timezone=True)),
    sa.column("resolution_due_at", sa.DateTime(timezone=True)),
    sa.column("first_response_breached", sa.Boolean()),
    sa.column("resolution_breached", sa.Boolean()),
)
open_counts = sa.table(
    "ticket_open_counts",
    sa.column("tenant_id", sa.Uuid()),
    sa.column("id", sa.Uuid()),
    sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("assignee_user_id", sa.Uuid()),
    sa.column("open", sa.Integer()),
    sa.column("breached", sa.Integer()),
)


def upgrade() -> None:
    op.create_table(
        "ticket_open_counts",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("assignee_user_id", sa.Uuid(), nullable=True),
        sa.Column("open", sa.Integer(), nullable=False),
        sa.Column("breached", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_ticket_open_counts_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_ticket_open_counts")),
    )
    op.create_index(
        "ix_ticket_open_counts_tenant_id_assignee_user_id",
        "ticket_open_counts",
        ["tenant_id", "assignee_user_id"],
        unique=True,
        sqlite_where=sa.text("assignee_user_id IS NOT NULL"),
        postgresql_where=sa.text("assignee_user_id IS NOT NULL"),
    )
    op.create_index(
        "ix_ticket_open_counts_tenant_id_unassigned",
        "ticket_open_counts",
        ["tenant_id"],
        unique=True,
        sqlite_where=sa.text("assignee_user_id IS NULL"),
        postgresql_where=sa.text("assignee_user_id IS NULL"),
    )
    dialect = op.get_context().dialect.name
    flags = UNFLAGGED[dialect]
    for column, pending in (
        ("first_response_due_at", "first_responded_at IS NULL"),
        ("resolution_due_at", "resolved_at IS NULL"),
    ):
        where = sa.text(f"{flags} AND {pending} AND {column} IS NOT NULL")
        op.create_index(
            f"ix_tickets_{column}_unflagged",
            "tickets",
            [column],
            sqlite_where=where,
            postgresql_where=where,
        )
    _flag_and_fill(dialect)
    if rls.is_postgres(op):
        for table in TENANT_OWNED_TABLES:
            rls.apply(op, rls.enable_sql(table))
        # Statistics at once: the first reads plan on the filled table, not an empty one.
        op.execute("ANALYZE ticket_open_counts")


def _flag_and_fill(dialect: str) -> None:
    connection = op.get_bind()
    if dialect != "postgresql" or _sees_every_row():
        for statement in _flag_and_fill_statements(dialect, None):
            connection.execute(statement)
        return
    # Under forced row-level security the owner sees one tenant at a time, as the app.
    tenant_ids = list(connection.execute(sa.text("SELECT id FROM tenants ORDER BY id")).scalars())
    for tenant_id in tenant_ids:
        connection.execute(
            sa.text("SELECT set_config(:name, :value, true)"),
            {"name": rls.TENANT_SETTING, "value": str(tenant_id)},
        )
        for statement in _flag_and_fill_statements(dialect, tenant_id):
            connection.execute(statement)
    connection.execute(sa.text("SELECT set_config(:name, '', true)"), {"name": rls.TENANT_SETTING})


def _flag_and_fill_statements(dialect: str, tenant_id: uuid.UUID | None) -> list[sa.Executable]:
    """Flag the targets already missed, then count the open tickets: one UPDATE and one
    grouped INSERT … SELECT (of one tenant, or of all)."""
    t = tickets.c
    now = datetime.now(UTC)
    one = [t.tenant_id == tenant_id] if tenant_id is not None else []
    first_response_late = sa.and_(t.first_responded_at.is_(None), t.first_response_due_at < now)
    resolution_late = sa.and_(t.resolved_at.is_(None), t.resolution_due_at < now)
    flag = (
        sa.update(tickets)
        .where(
            t.status.in_(OPEN),
            ~t.first_response_breached,
            ~t.resolution_breached,
            sa.or_(first_response_late, resolution_late),
            *one,
        )
        .values(
            first_response_breached=sa.case(
                (first_response_late, sa.true()), else_=t.first_response_breached
            ),
            resolution_breached=sa.case((resolution_late, sa.true()), else_=t.resolution_breached),
        )
    )
    new_id = (
        sa.func.gen_random_uuid()
        if dialect == "postgresql"
        else sa.func.lower(sa.func.hex(sa.func.randomblob(16)))
    )
    flagged = sa.or_(t.first_response_breached, t.resolution_breached)
    counted = (
        sa.select(
            t.tenant_id,
            new_id,
            sa.literal(now, sa.DateTime(timezone=True)),
            t.assignee_user_id,
            sa.func.count(),
            sa.func.sum(sa.case((flagged, 1), else_=0)),
        )
        .where(t.status.in_(OPEN), *one)
        .group_by(t.tenant_id, t.assignee_user_id)
    )
    fill = sa.insert(open_counts).from_select(
        ["tenant_id", "id", "created_at", "assignee_user_id", "open", "breached"], counted
    )
    return [flag, fill]


def _sees_every_row() -> bool:
    return bool(
        op.get_bind()
        .execute(
            sa.text("SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user")
        )
        .scalar()
    )


def downgrade() -> None:
    op.drop_index("ix_tickets_resolution_due_at_unflagged", "tickets")
    op.drop_index("ix_tickets_first_response_due_at_unflagged", "tickets")
    op.drop_index("ix_ticket_open_counts_tenant_id_unassigned", "ticket_open_counts")
    op.drop_index("ix_ticket_open_counts_tenant_id_assignee_user_id", "ticket_open_counts")
    op.drop_table("ticket_open_counts")
