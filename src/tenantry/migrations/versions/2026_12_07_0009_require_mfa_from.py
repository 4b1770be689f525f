"""A grace period for "second factor required": ``tenants.require_mfa_from``.

When an admin requires a second factor, users without one (and their API tokens) stop
working at once. With a date, the requirement takes effect then: until it, those users
keep working and are asked to set one up. Null means the requirement is in force as soon
as it is set (every existing row: nothing changes for them).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 08:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TENANT_OWNED_TABLES: tuple[str, ...] = ()


def upgrade() -> None:
    with op.batch_alter_table("tenants") as batch:
        batch.add_column(sa.Column("require_mfa_from", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tenants") as batch:
        batch.drop_column("require_mfa_from")
