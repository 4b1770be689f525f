"""The compliance overview's default sort (worst score first across clients): an index on
the kept scores' sort key, so that the first page reads its rows in order and stops,
instead of joining and sorting every score row of the MSP's clients. Not tenant-led
(the view is across clients; compliance/overview/models.py says why). No new table.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07 20:15:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | Sequence[str] | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Tenant-owned tables this revision creates (kept explicit; a test compares the union
# over all revisions with the mapped TenantOwned classes).
TENANT_OWNED_TABLES: tuple[str, ...] = ()

INDEX = "ix_compliance_scores_score_key"
# As compliance/overview/models.py says it (SCORE_KEY): the repository's default sort key.
SCORE_KEY = sa.text("coalesce(score_bp, 10001)")


def upgrade() -> None:
    op.create_index(INDEX, "compliance_scores", [SCORE_KEY])


def downgrade() -> None:
    op.drop_index(INDEX, table_name="compliance_scores")
