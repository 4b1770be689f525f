"""MSP-wide reads at 10,000 clients: a hashed list policy and a newest-first ticket index.

* The list policy (``tenant_isolation_multi``, the multi role only) becomes
  ``tenant_id IN (SELECT unnest(<list>))``. As ``tenant_id = ANY(<list>)`` PostgreSQL
  re-parsed the whole setting for every row it filtered: an MSP admin's open-ticket view
  over 10,000 clients did not answer within a minute. Now the list is hashed once per
  statement (db/rls.py).
* ``ix_tickets_updated_at``: the MSP-wide view lists the newest open tickets of every
  client; without an index on ``updated_at`` alone PostgreSQL sorted every open ticket
  of every client (0.6 s at 1M tickets) to return 50. The one index of a tenant-owned
  table that does not lead with ``tenant_id``, on purpose (docs/ARCHITECTURE.md).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 04:00:00+00:00
"""

from collections.abc import Sequence

from alembic import op

from tenantry.db import rls

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TENANT_OWNED_TABLES: tuple[str, ...] = ()


def _set_list_policy(expression: str) -> None:
    # Every table that has the list policy, whatever revision created it.
    quoted = expression.replace("'", "''")
    op.execute(
        f"""DO $do$
DECLARE t record;
BEGIN
    FOR t IN
        SELECT c.relname FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid
        WHERE p.polname = '{rls.MULTI_POLICY_NAME}'
          AND c.relnamespace = current_schema()::regnamespace
    LOOP
        EXECUTE format('ALTER POLICY {rls.MULTI_POLICY_NAME} ON %I USING %s WITH CHECK %s',
                       t.relname, '{quoted}', '{quoted}');
    END LOOP;
END
$do$"""  # noqa: S608 - our own constants (db/rls.py), no input
    )


def upgrade() -> None:
    if rls.is_postgres(op):
        _set_list_policy(rls.MULTI_POLICY_EXPRESSION)
    op.create_index("ix_tickets_updated_at", "tickets", ["updated_at"])


def downgrade() -> None:
    op.drop_index("ix_tickets_updated_at", "tickets")
    if rls.is_postgres(op):
        _set_list_policy(rls.MULTI_POLICY_EXPRESSION_0001)
