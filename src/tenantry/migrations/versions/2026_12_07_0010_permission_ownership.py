"""Who owns what inside a managed client (access rule 10): two new permissions and the
ceilings cleaned of what means nothing inside a client.

* ``rates:manage`` (work types and hourly rates, before guarded by ``invoices:write``)
  and ``sla:manage`` (the SLA policy, before ``settings:manage``): every link ceiling,
  requested ceiling and custom role that held the old permission gets the new one, so
  nobody loses an ability they had.
* Link ceilings (given and requested) lose the permissions that mean nothing inside a
  client: creating, changing, deleting and listing customers, managing links, the
  MSP's own plan. Custom roles keep them (an MSP's roles use them at home).

JSON columns are rewritten in Python over the rows (the same on SQLite and PostgreSQL).
The permission names are spelled out here: a migration must not change meaning when
the catalog in code changes later. Downgrade takes the two new permissions away again;
the meaningless ones removed from ceilings are not put back (they never gave anything
inside a client).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 12:00:00+00:00
"""

from collections.abc import Callable, Iterable, Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TENANT_OWNED_TABLES: tuple[str, ...] = ()

# new permission ← the permission that gave its ability before
SPLIT_FROM = {"rates:manage": "invoices:write", "sla:manage": "settings:manage"}
MEANINGLESS_IN_CLIENT = frozenset(
    {
        "billing:manage",
        "customers:read",
        "customers:create",
        "customers:manage",
        "customers:delete",
        "links:manage",
    }
)

links = sa.table(
    "tenant_links",
    sa.column("id", sa.Uuid()),
    sa.column("ceiling", sa.JSON()),
    sa.column("requested_ceiling", sa.JSON()),
)
custom_roles = sa.table(
    "custom_roles",
    sa.column("id", sa.Uuid()),
    sa.column("permissions", sa.JSON()),
)


def upgraded(permissions: Iterable[str], *, ceiling: bool) -> list[str]:
    """One stored permission list after this revision (a ceiling also loses the
    permissions that mean nothing inside a client)."""
    held = set(permissions or ())
    for new, old in SPLIT_FROM.items():
        if old in held:
            held.add(new)
    if ceiling:
        held -= MEANINGLESS_IN_CLIENT
    return sorted(held)


def downgraded(permissions: Iterable[str]) -> list[str]:
    return sorted(set(permissions or ()) - set(SPLIT_FROM))


def _rewrite(
    table: sa.TableClause, columns: Sequence[str], change: Callable[[list[str]], list[str]]
) -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.select(table.c.id, *(table.c[c] for c in columns))).all()
    for row in rows:
        values: dict[str, list[str]] = {}
        for n, column in enumerate(columns, start=1):
            before = list(row[n] or [])
            after = change(before)
            if sorted(before) != after:
                values[column] = after
        if values:
            bind.execute(sa.update(table).where(table.c.id == row[0]).values(**values))


def upgrade() -> None:
    _rewrite(links, ("ceiling", "requested_ceiling"), lambda held: upgraded(held, ceiling=True))
    _rewrite(custom_roles, ("permissions",), lambda held: upgraded(held, ceiling=False))


def downgrade() -> None:
    _rewrite(links, ("ceiling", "requested_ceiling"), downgraded)
    _rewrite(custom_roles, ("permissions",), downgraded)
