"""The compliance overview across clients (issue #16): a partial index on the assessments
that can be overdue (a due date, and not implemented or not applicable), so that counting
the overdue ones of thousands of clients reads a small index instead of every assessment.
Tenant-led; no new table.

Revision ID: 0022
Revises: 0017
Create Date: 2026-12-07 18:51:39+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | Sequence[str] | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Tenant-owned tables this revision creates (kept explicit; a test compares the union
# over all revisions with the mapped TenantOwned classes).
TENANT_OWNED_TABLES: tuple[str, ...] = ()

INDEX = "ix_compliance_assessments_tenant_id_framework_id_due_on_open"
# As compliance/overview/models.py says it: the repository's terms, statuses as literals.
OPEN = sa.text("due_on IS NOT NULL AND status NOT IN ('implemented', 'not_applicable')")


def upgrade() -> None:
    op.create_index(
        INDEX,
        "compliance_assessments",
        ["tenant_id", "framework_id", "due_on"],
        sqlite_where=OPEN,
        postgresql_where=OPEN,
    )


def downgrade() -> None:
    op.drop_index(INDEX, table_name="compliance_assessments")
