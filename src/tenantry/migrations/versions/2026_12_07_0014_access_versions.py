"""Access versions: one counter per tenant that every change to what decides access
there moves, in the changing transaction itself (issue #15).

A worker keeps its access decisions and proves each one still fresh on every request
by reading two numbers (the caller's home tenant's and the target tenant's) in the
statement that resolves the target tenant. The counters are moved by triggers, so no
write path can forget: grants, custom roles, user groups and their members, client
groups and their members (the MSP's number), links and blocks (both ends), and any
update of a tenant row (its own number and that of every MSP ever linked to it: a
suspended or renamed client changes what the MSP's people see).

A tenant's row is created with the tenant (trigger) and deleted with it; an update
that finds no row moves nothing, and the reader treats a missing row as "never fresh"
(no decision is kept), so a missing row can only cost speed, never freshness.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 16:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TENANT_OWNED_TABLES: tuple[str, ...] = ()

# table → the tenant ids a row names, as SQL over the row alias ``R`` (NEW or OLD).
# A sub-select may give several ids; each entry becomes ``tenant_id IN (...)``.
BUMPS: dict[str, tuple[str, ...]] = {
    "grants": ("R.tenant_id",),
    "custom_roles": ("R.tenant_id",),
    "user_groups": ("R.tenant_id",),
    "user_group_members": ("SELECT tenant_id FROM user_groups WHERE id = R.group_id",),
    "tenant_groups": ("R.msp_tenant_id",),
    "tenant_group_members": ("SELECT msp_tenant_id FROM tenant_groups WHERE id = R.group_id",),
    "tenant_links": ("R.msp_tenant_id", "R.customer_tenant_id"),
    "access_blocks": ("R.msp_tenant_id", "R.customer_tenant_id"),
}
TENANT_UPDATE = ("R.id", "SELECT msp_tenant_id FROM tenant_links WHERE customer_tenant_id = R.id")


def _bump(row: str, ids: Sequence[str]) -> str:
    where = " OR ".join(f"tenant_id IN ({expr.replace('R.', row + '.')})" for expr in ids)
    # Built from the constants above, never from input.
    return f"UPDATE access_versions SET version = version + 1 WHERE {where}"  # noqa: S608


def _postgres() -> list[str]:
    statements: list[str] = []
    for table, ids in {**BUMPS, "tenants": TENANT_UPDATE}.items():
        events = "UPDATE" if table == "tenants" else "INSERT OR UPDATE OR DELETE"
        statements += [
            f"""CREATE FUNCTION tenantry_access_version_{table}() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
                IF TG_OP <> 'INSERT' THEN {_bump("OLD", ids)}; END IF;
                IF TG_OP <> 'DELETE' THEN {_bump("NEW", ids)}; END IF;
                RETURN NULL;
            END $$""",
            f"CREATE TRIGGER {table}_access_version AFTER {events} ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION tenantry_access_version_{table}()",
        ]
    statements += [
        """CREATE FUNCTION tenantry_access_version_row() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'INSERT' THEN
                INSERT INTO access_versions (tenant_id, version) VALUES (NEW.id, 1)
                ON CONFLICT (tenant_id) DO NOTHING;
            ELSE
                DELETE FROM access_versions WHERE tenant_id = OLD.id;
            END IF;
            RETURN NULL;
        END $$""",
        "CREATE TRIGGER tenants_access_version_row AFTER INSERT OR DELETE ON tenants "
        "FOR EACH ROW EXECUTE FUNCTION tenantry_access_version_row()",
    ]
    return statements


def _sqlite() -> list[str]:
    statements: list[str] = []
    for table, ids in {**BUMPS, "tenants": TENANT_UPDATE}.items():
        events: dict[str, tuple[str, ...]] = {"update": ("OLD", "NEW")}
        if table != "tenants":
            events |= {"insert": ("NEW",), "delete": ("OLD",)}
        for event, rows in events.items():
            body = " ".join(f"{_bump(row, ids)};" for row in rows)
            statements.append(
                f"CREATE TRIGGER {table}_access_version_{event} AFTER {event.upper()} "
                f"ON {table} BEGIN {body} END"
            )
    statements += [
        "CREATE TRIGGER tenants_access_version_insert AFTER INSERT ON tenants BEGIN "
        "INSERT OR IGNORE INTO access_versions (tenant_id, version) VALUES (NEW.id, 1); END",
        "CREATE TRIGGER tenants_access_version_delete AFTER DELETE ON tenants BEGIN "
        "DELETE FROM access_versions WHERE tenant_id = OLD.id; END",
    ]
    return statements


def upgrade() -> None:
    op.create_table(
        "access_versions",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_access_versions")),
    )
    op.execute("INSERT INTO access_versions (tenant_id, version) SELECT id, 1 FROM tenants")
    postgres = op.get_bind().dialect.name == "postgresql"
    for statement in _postgres() if postgres else _sqlite():
        op.execute(statement)


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    tables = [*BUMPS, "tenants"]
    if postgres:
        for table in tables:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_access_version ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS tenantry_access_version_{table}()")
        op.execute("DROP TRIGGER IF EXISTS tenants_access_version_row ON tenants")
        op.execute("DROP FUNCTION IF EXISTS tenantry_access_version_row()")
    else:
        for table in tables:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_access_version_{event}")
    op.drop_table("access_versions")
