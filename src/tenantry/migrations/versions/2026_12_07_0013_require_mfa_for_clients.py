"""Two-step sign-in for an MSP's delegated staff, and who ended a link.

``tenants.require_mfa_for_clients``: an MSP can require a second factor of everyone who
acts in its clients. Existing rows get false, so nobody is locked out by the upgrade;
new MSP tenants are created with it on (``TenancyService``).

``tenant_links.ended_by_user_id``: who ended a link, on either side. ``decided_by_user_id``
names the customer's people only; the MSP's technician who opens a client whose link
ended is told who ended it (issue #14). Null for links ended before this migration and
for expiry.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 12:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TENANT_OWNED_TABLES: tuple[str, ...] = ()


def upgrade() -> None:
    with op.batch_alter_table("tenants") as batch:
        batch.add_column(
            sa.Column(
                "require_mfa_for_clients", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
    with op.batch_alter_table("tenant_links") as batch:
        batch.add_column(sa.Column("ended_by_user_id", sa.Uuid(), nullable=True))


def downgrade() -> None:
    # A plain DROP COLUMN (SQLite 3.35+ has it): a batch copy of ``tenants`` would drop
    # the table under every foreign key that names it, which SQLite refuses.
    op.drop_column("tenant_links", "ended_by_user_id")
    op.drop_column("tenants", "require_mfa_for_clients")
