"""SQL for the database-enforced isolation: row-level security, grants, append-only tables.

Migrations call these so every tenant-owned table gets the very same policies:

    if rls.is_postgres(op):
        rls.apply(op, rls.enable_sql("tickets"))

Two transaction-local settings carry the scope, set with BEGIN by db/engine.py:

* ``tenantry.tenant_id`` (``TENANT_SETTING``): one tenant, the ordinary request. Read by
  the policy ``tenant_isolation`` (``TO PUBLIC``): ``tenant_id = <the setting>``.
* ``tenantry.tenant_ids`` (``TENANTS_SETTING``): comma-separated tenants, MSP-wide work.
  Read by the policy ``tenant_isolation_multi``, which applies only to the role
  ``tenantry_multi`` (``MULTI_ROLE``); the transaction switches to it with
  ``SET LOCAL ROLE``.

Permissive policies are OR'ed, but a policy applies to the current role only if that
role has the privileges of the policy's role (``has_privs_of_role``), and the app role
is ``NOINHERIT``: as itself it meets the one-tenant policy alone. Unset or empty
settings mean no rows: a query that forgot its scope returns nothing and cannot write.

Why two policies (measured, see bench/rls_cost.py): with ``tenant_id = ANY(<array>)``
the planner cannot know the array holds one tenant, so "the latest 50 rows of a tenant"
read all of the tenant's rows and sorted them (5x the cost of ``WHERE tenant_id = $1``
at 1M rows / 1,000 tenants). The scalar ``tenant_id = <setting>::uuid`` joins the
planner's equivalence class for ``tenant_id``, so the ``(tenant_id, created_at)`` index
is read in order and the scan stops after 50 rows.

The list policy is ``tenant_id IN (SELECT unnest(<the list>))``, not ``tenant_id =
ANY(<the list>)``: an ``ANY`` over a non-constant array is re-evaluated for every row it
filters, so an MSP admin's view over 10,000 clients parsed a 370 kB setting per row
(minutes). The sub-select is planned as a hashed SubPlan: the list is parsed and hashed
once per statement, each row costs one probe (bench/run.py, "MSP-wide open tickets";
EXPLAIN in docs/ARCHITECTURE.md). It cannot be an index condition, so for small lists
the ORM scope (db/scope.py) also puts ``tenant_id IN (...)`` into the statement, which
can.

Keep the expressions as they are when editing: every function in them is immutable or
stable, so PostgreSQL evaluates the one-tenant setting once per statement and uses the
``tenant_id``-leading primary key or index as an ``Index Cond``; nothing is applied to
the ``tenant_id`` column itself, so no LEAKPROOF question arises.

``FORCE ROW LEVEL SECURITY`` subjects the table owner too. A data migration that must
see every tenant's rows runs as a superuser, or sets the scope to the tenants it
touches; it does not turn the policies off.

``tenantry_multi`` is a fixed, cluster-wide name: roles belong to the cluster, not to a
database, and the policies must name their role in DDL, so the migration cannot pick a
per-deployment name that the code would then have to look up. Every Tenantry database in
one cluster shares the role (see docs/ARCHITECTURE.md).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from typing import Any, Protocol

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

# The one tenant of an ordinary unit of work.
TENANT_SETTING = "tenantry.tenant_id"
# The tenants of an MSP-wide unit of work (read only under MULTI_ROLE).
TENANTS_SETTING = "tenantry.tenant_ids"

# NOLOGIN group role the app role is a (non-inheriting) member of. Fixed name: the
# policies name it. No superuser, no BYPASSRLS, owns nothing.
MULTI_ROLE = "tenantry_multi"

POLICY_NAME = "tenant_isolation"
MULTI_POLICY_NAME = "tenant_isolation_multi"
POLICY_NAMES: tuple[str, ...] = (POLICY_NAME, MULTI_POLICY_NAME)

POLICY_EXPRESSION = f"(tenant_id = nullif(current_setting('{TENANT_SETTING}', true), '')::uuid)"
MULTI_POLICY_EXPRESSION = (
    f"(tenant_id IN (SELECT unnest(string_to_array("
    f"coalesce(current_setting('{TENANTS_SETTING}', true), ''), ',')::uuid[])))"
)
# What the list policy was up to revision 0008 (kept for that migration's downgrade).
MULTI_POLICY_EXPRESSION_0001 = (
    f"(tenant_id = ANY (string_to_array("
    f"coalesce(current_setting('{TENANTS_SETTING}', true), ''), ',')::uuid[]))"
)

# Transaction-local switch that lets DELETE through on append-only tables. Only the
# service layer sets it (tenant deletion, retention pruning), through
# ``allow_audit_deletion``, and only inside the unit of work that deletes.
AUDIT_MAINTENANCE_SETTING = "tenantry.audit_maintenance"

# Tables whose rows are never updated; deletes only under the maintenance setting.
APPEND_ONLY_TABLES: frozenset[str] = frozenset({"audit_events"})

APPEND_ONLY_FUNCTION = "tenantry_append_only"

# Reference tables (``db.base.ReferenceTable``: the shipped framework library): the app
# and multi roles may only read them; ``tenantry db upgrade`` loads them as the owner.
# Kept explicit here (a test compares it with the mapped classes) so that granting does
# not depend on importing every model.
READ_ONLY_TABLES: frozenset[str] = frozenset({"library_frameworks", "library_requirements"})

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


def multi_role_sql() -> list[str]:
    """Create ``tenantry_multi`` unless it exists (the policies name it, so it must exist
    first). Idempotent and safe when parallel migrations of other databases in the
    cluster race to create it. Its attributes are repaired by ``tenantry.db.migrate``."""
    return [
        f"""DO $do$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{MULTI_ROLE}') THEN
        CREATE ROLE {MULTI_ROLE} NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE
            NOREPLICATION;
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;  -- created meanwhile by a parallel migration
END
$do$"""
    ]


def enable_sql(table: str) -> list[str]:
    """Row-level security, forced on the owner too, with the two tenant policies
    (needs ``multi_role_sql`` first)."""
    t = identifier(table)
    return [
        f"ALTER TABLE {t} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {t} FORCE ROW LEVEL SECURITY",
        f"CREATE POLICY {POLICY_NAME} ON {t} FOR ALL TO PUBLIC "
        f"USING {POLICY_EXPRESSION} WITH CHECK {POLICY_EXPRESSION}",
        f"CREATE POLICY {MULTI_POLICY_NAME} ON {t} FOR ALL TO {MULTI_ROLE} "
        f"USING {MULTI_POLICY_EXPRESSION} WITH CHECK {MULTI_POLICY_EXPRESSION}",
    ]


def disable_sql(table: str) -> list[str]:
    t = identifier(table)
    return [
        f"DROP POLICY IF EXISTS {MULTI_POLICY_NAME} ON {t}",
        f"DROP POLICY IF EXISTS {POLICY_NAME} ON {t}",
        f"ALTER TABLE {t} NO FORCE ROW LEVEL SECURITY",
        f"ALTER TABLE {t} DISABLE ROW LEVEL SECURITY",
    ]


def _uuid_literal(value: uuid.UUID | str) -> str:
    # A UUID prints as hex digits and dashes only, so the literal needs no escaping;
    # anything else is parsed as one first.
    return str(value if isinstance(value, uuid.UUID) else uuid.UUID(str(value)))


def single_scope_sql(tenant_id: uuid.UUID | str) -> list[str]:
    """Statements that scope the running transaction to one tenant (the app role as is).

    ``SET LOCAL`` is ``set_config(..., true)`` without a SELECT: no plan, no result row.
    Sent with every BEGIN, that difference is measurable (bench/rls_cost.py: about 0.03 ms
    a transaction, 1.15x instead of 1.05x of a query without row-level security).
    """
    return [f"SET LOCAL {TENANT_SETTING} = '{_uuid_literal(tenant_id)}'"]


def multi_scope_sql(
    tenant_ids: Iterable[uuid.UUID | str], *, switch_role: bool = True
) -> list[str]:
    """Statements that scope the running transaction to several tenants: switch to the
    multi role (transaction-local; ``switch_role=False`` when already switched) and set
    the list. Valid with one tenant too (the benchmark shows what that costs)."""
    ids = ",".join(sorted(_uuid_literal(t) for t in tenant_ids))
    statements = [f"SET LOCAL ROLE {MULTI_ROLE}"] if switch_role else []
    return [*statements, f"SET LOCAL {TENANTS_SETTING} = '{ids}'"]


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
    """What the application role (and the multi role) may do on one table."""
    if table in READ_ONLY_TABLES:
        return "SELECT"
    if table in APPEND_ONLY_TABLES:
        # DELETE is granted but the trigger admits it only under the maintenance setting.
        return "SELECT, INSERT, DELETE"
    return "SELECT, INSERT, UPDATE, DELETE"


def grants_sql(role: str, tables: Iterable[str], *, schema: str = "public") -> list[str]:
    """Grants for the application role or the multi role (each gets the same), rebuilt
    from scratch so a stale privilege (e.g. UPDATE on a table that became append-only)
    does not survive."""
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
