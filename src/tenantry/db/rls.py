"""SQL for the database-enforced isolation: row-level security, grants, append-only tables.

Migrations call these so every tenant-owned table gets the very same policy:

    if rls.is_postgres(op):
        rls.apply(op, rls.enable_sql("tickets"))

The policy reads the transaction-local setting ``tenantry.tenant_ids`` (a comma-separated
list of UUIDs, set with BEGIN by db/engine.py). Unset or empty means no rows: a query
that forgot its scope returns nothing and cannot write.

Why the expression looks the way it does (measured, see bench/rls_cost.py and
tests/isolation): every function in it is immutable or stable, so PostgreSQL folds it
once per statement and uses the ``tenant_id``-leading primary key or index as an
``Index Cond``; nothing is applied to the ``tenant_id`` column itself, so no
LEAKPROOF question arises. Keep it that way when editing.

``FORCE ROW LEVEL SECURITY`` subjects the table owner too. A data migration that must
see every tenant's rows runs as a superuser, or sets the scope to the tenants it
touches; it does not turn the policy off.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, Protocol

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.db.scope import SCOPE_SETTING

POLICY_NAME = "tenant_isolation"
POLICY_EXPRESSION = (
    f"(tenant_id = ANY (string_to_array("
    f"coalesce(current_setting('{SCOPE_SETTING}', true), ''), ',')::uuid[]))"
)

# Transaction-local switch that lets DELETE through on append-only tables. Only the
# service layer sets it (tenant deletion, retention pruning), through
# ``allow_audit_deletion``, and only inside the unit of work that deletes.
AUDIT_MAINTENANCE_SETTING = "tenantry.audit_maintenance"

# Tables whose rows are never updated; deletes only under the maintenance setting.
APPEND_ONLY_TABLES: frozenset[str] = frozenset({"audit_events"})

APPEND_ONLY_FUNCTION = "tenantry_append_only"

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class _Executes(Protocol):
    def execute(self, sql: Any, /) -> Any: ...


def identifier(name: str) -> str:
    """Table and role names are ours, but they land in DDL: accept plain identifiers only."""
    if not _IDENTIFIER.match(name):
        raise ValueError(f"not a plain lower-case SQL identifier: {name!r}")
    return name


def is_postgres(op: Any) -> bool:
    """True inside a migration running on PostgreSQL (``op`` is ``alembic.op``)."""
    return bool(op.get_context().dialect.name == "postgresql")


def apply(op: _Executes, statements: Iterable[str]) -> None:
    """Run statements one by one (asyncpg prepares each: no multi-statement strings)."""
    for statement in statements:
        op.execute(statement)


def enable_sql(table: str) -> list[str]:
    """Row-level security, forced on the owner too, with the one tenant policy."""
    t = identifier(table)
    return [
        f"ALTER TABLE {t} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {t} FORCE ROW LEVEL SECURITY",
        f"CREATE POLICY {POLICY_NAME} ON {t} FOR ALL "
        f"USING {POLICY_EXPRESSION} WITH CHECK {POLICY_EXPRESSION}",
    ]


def disable_sql(table: str) -> list[str]:
    t = identifier(table)
    return [
        f"DROP POLICY IF EXISTS {POLICY_NAME} ON {t}",
        f"ALTER TABLE {t} NO FORCE ROW LEVEL SECURITY",
        f"ALTER TABLE {t} DISABLE ROW LEVEL SECURITY",
    ]


def append_only_function_sql() -> list[str]:
    """The trigger function: UPDATE always refused, DELETE only under the maintenance
    setting. It fires for every role, the owner and superusers included."""
    return [
        f"""CREATE OR REPLACE FUNCTION {APPEND_ONLY_FUNCTION}() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    IF TG_OP = 'DELETE'
       AND coalesce(current_setting('{AUDIT_MAINTENANCE_SETTING}', true), '') = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION '% on % refused: the table is append-only', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'deletions run only in tenant deletion and retention pruning';
END
$fn$"""
    ]


def append_only_sql(table: str) -> list[str]:
    """PostgreSQL trigger making ``table`` append-only (needs append_only_function_sql)."""
    t = identifier(table)
    return [
        f"CREATE TRIGGER {t}_append_only BEFORE UPDATE OR DELETE ON {t} "
        f"FOR EACH ROW EXECUTE FUNCTION {APPEND_ONLY_FUNCTION}()"
    ]


def drop_append_only_sql(table: str) -> list[str]:
    t = identifier(table)
    return [f"DROP TRIGGER IF EXISTS {t}_append_only ON {t}"]


def sqlite_append_only_sql(table: str) -> list[str]:
    """SQLite has no settings to gate DELETE on, so only UPDATE is refused there."""
    t = identifier(table)
    return [
        f"CREATE TRIGGER {t}_no_update BEFORE UPDATE ON {t} "
        f"BEGIN SELECT RAISE(ABORT, 'UPDATE on {t} refused: the table is append-only'); END"
    ]


def table_privileges(table: str) -> str:
    """What the application role may do on one table."""
    if table in APPEND_ONLY_TABLES:
        # DELETE is granted but the trigger admits it only under the maintenance setting.
        return "SELECT, INSERT, DELETE"
    return "SELECT, INSERT, UPDATE, DELETE"


def grants_sql(role: str, tables: Iterable[str], *, schema: str = "public") -> list[str]:
    """Grants for the application role, rebuilt from scratch so a stale privilege
    (e.g. UPDATE on a table that became append-only) does not survive."""
    r, s = identifier(role), identifier(schema)
    statements = [f"GRANT USAGE ON SCHEMA {s} TO {r}"]
    for table in sorted(tables):
        t = f"{s}.{identifier(table)}"
        statements.append(f"REVOKE ALL ON {t} FROM {r}")
        statements.append(f"GRANT {table_privileges(table)} ON {t} TO {r}")
    statements.append(f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA {s} TO {r}")
    return statements


async def allow_audit_deletion(session: AsyncSession) -> None:
    """Let the current transaction delete audit events (tenant deletion, retention).

    Transaction-local: it ends with the unit of work. No-op on SQLite, which does not
    guard DELETE.
    """
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(
            text("SELECT set_config(:name, 'on', true)"), {"name": AUDIT_MAINTENANCE_SETTING}
        )
