"""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
Create Date: ${create_date}

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
${imports if imports else ""}
revision: str = ${repr(up_revision)}
down_revision: str | Sequence[str] | None = ${repr(down_revision)}
branch_labels: str | Sequence[str] | None = ${repr(branch_labels)}
depends_on: str | Sequence[str] | None = ${repr(depends_on)}

# Tenant-owned tables this revision creates (kept explicit; a test compares the union
# over all revisions with the mapped TenantOwned classes).
TENANT_OWNED_TABLES: tuple[str, ...] = ()


def upgrade() -> None:
    ${upgrades if upgrades else "pass"}
    if rls.is_postgres(op):
        for table in TENANT_OWNED_TABLES:
            rls.apply(op, rls.enable_sql(table))


def downgrade() -> None:
    ${downgrades if downgrades else "pass"}
