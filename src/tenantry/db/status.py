"""`tenantry db status`: the revision, and on PostgreSQL whether isolation is really in
force (forced row-level security with exactly our two policies on every tenant-owned
table, the app role's attributes, membership and privileges)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from tenantry.config import Settings
from tenantry.db import rls
from tenantry.db.migrate import current_at, head_revision, owner_engine
from tenantry.db.roles import (
    VERSION_TABLE,
    app_role_name,
    is_direct_member,
    owned_objects,
    scalar,
)


@dataclass(frozen=True, slots=True)
class DbStatus:
    backend: str
    current: str | None
    head: str
    app_role: str
    problems: tuple[str, ...] = field(default=())

    @property
    def up_to_date(self) -> bool:
        return self.current == self.head

    @property
    def ok(self) -> bool:
        return self.up_to_date and not self.problems


async def check(settings: Settings) -> DbStatus:
    """Revision, and on PostgreSQL whether isolation is really in force (for `db status`)."""
    import tenantry.db.models_registry  # noqa: F401  (complete metadata)
    from tenantry.db.base import tenant_owned_tables

    engine = owner_engine(settings)
    problems: list[str] = []
    role = app_role_name(settings) if engine.dialect.name == "postgresql" else ""
    try:
        async with engine.connect() as conn:
            current = await conn.run_sync(current_at)
            if engine.dialect.name == "postgresql" and current is not None:
                problems += await _pg_problems(conn, role, tenant_owned_tables())
    finally:
        await engine.dispose()
    head = head_revision()
    if current != head:
        problems.append(
            f"database at revision {current}, code at {head}: run `tenantry db upgrade`"
        )
    return DbStatus(engine.dialect.name, current, head, role, tuple(problems))


async def _pg_problems(conn: AsyncConnection, role: str, tenant_owned: list[str]) -> list[str]:
    problems: list[str] = []
    rows = await conn.execute(
        text(
            "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity, "
            "EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid "
            "  AND p.polname = :single AND p.polpermissive AND p.polcmd = '*' "
            "  AND p.polroles = '{0}'::oid[]), "
            "EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid "
            "  AND p.polname = :multi AND p.polpermissive AND p.polcmd = '*' "
            "  AND p.polroles = ARRAY(SELECT oid FROM pg_roles WHERE rolname = :multi_role)), "
            "(SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid) "
            "FROM pg_class c WHERE c.relnamespace = current_schema()::regnamespace "
            "AND c.relkind = 'r'"
        ),
        {
            "single": rls.POLICY_NAME,
            "multi": rls.MULTI_POLICY_NAME,
            "multi_role": rls.MULTI_ROLE,
        },
    )
    tables = {name: tuple(state) for name, *state in rows}
    for table in tenant_owned:
        state = tables.get(table)
        if state is None:
            problems.append(f"tenant-owned table {table} is missing")
        elif state[:2] != (True, True):
            problems.append(f"tenant-owned table {table} lacks (forced) row-level security")
        elif state[2:] != (True, True, 2):
            problems.append(
                f"tenant-owned table {table} must have exactly the policies "
                f"{rls.POLICY_NAME} (to public) and {rls.MULTI_POLICY_NAME} "
                f"(to {rls.MULTI_ROLE})"
            )
    for table in sorted(rls.APPEND_ONLY_TABLES & tables.keys()):
        trigger = await scalar(
            conn,
            "SELECT count(*) FROM pg_trigger WHERE tgrelid = CAST(:t AS regclass) "
            "AND tgname = :name AND tgenabled <> 'D'",
            t=table,
            name=f"{table}_append_only",
        )
        if not trigger:
            problems.append(f"{table} has no enabled append-only trigger")

    multi_ok = await _multi_role_problems(conn, role, list(tables), problems)
    if not role:
        if not await scalar(conn, "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"):
            problems.append(
                "no application role configured: the app would connect as the owner "
                f"(and could not switch to {rls.MULTI_ROLE} for work across tenants)"
            )
        return problems
    attrs = (
        await conn.execute(
            text("SELECT rolsuper, rolbypassrls, rolinherit FROM pg_roles WHERE rolname = :r"),
            {"r": role},
        )
    ).first()
    if attrs is None:
        return [*problems, f"application role {role} does not exist: run `tenantry db upgrade`"]
    if attrs[0] or attrs[1]:
        problems.append(f"application role {role} is superuser or has BYPASSRLS")
    if attrs[2]:
        problems.append(
            f"application role {role} is INHERIT: the {rls.MULTI_ROLE} policy would apply "
            "to every query (slow one-tenant lists); run `tenantry db upgrade`"
        )
    if multi_ok and not await is_direct_member(conn, role, rls.MULTI_ROLE):
        problems.append(
            f"application role {role} is not a member of {rls.MULTI_ROLE}: work across "
            "tenants would fail; run `tenantry db upgrade`"
        )
    owned = await owned_objects(conn, role)
    if owned:
        problems.append(f"application role {role} owns {', '.join(owned)}")
    if await scalar(conn, "SELECT pg_has_role(:r, current_user, 'MEMBER')", r=role):
        problems.append(f"application role {role} is a member of the owner role")
    problems += await _privilege_problems(conn, role, tables)
    return problems


async def _multi_role_problems(
    conn: AsyncConnection, app_role: str, tables: list[str], problems: list[str]
) -> bool:
    """Append what is wrong with tenantry_multi; False when it does not exist."""
    multi = rls.MULTI_ROLE
    attrs = (
        await conn.execute(
            text("SELECT rolsuper, rolbypassrls, rolcanlogin FROM pg_roles WHERE rolname = :r"),
            {"r": multi},
        )
    ).first()
    if attrs is None:
        problems.append(f"role {multi} does not exist: run `tenantry db upgrade`")
        return False
    if any(attrs):
        problems.append(f"role {multi} is superuser, has BYPASSRLS or can log in")
    owned = await owned_objects(conn, multi)
    if owned:
        problems.append(f"role {multi} owns {', '.join(owned)}")
    groups = await conn.execute(
        text(
            "SELECT g.rolname FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid "
            "JOIN pg_roles u ON u.oid = m.member WHERE u.rolname = :r ORDER BY 1"
        ),
        {"r": multi},
    )
    names = [str(name) for (name,) in groups]
    if names:
        problems.append(f"role {multi} is a member of {', '.join(names)}; it must be of none")
    # Any role other than the app role that has the multi role's privileges without
    # switching to it (an inheriting member) meets the multi-tenant policy in every query.
    # pg_has_role(..., 'USAGE') is has_privs_of_role(), which decides whether a policy
    # applies.
    inheriting = await conn.execute(
        text(
            "SELECT u.rolname FROM pg_roles u, pg_roles g WHERE g.rolname = :r "
            "AND u.oid <> g.oid AND NOT u.rolsuper AND u.rolname <> :app "
            "AND pg_has_role(u.oid, g.oid, 'USAGE') ORDER BY 1"
        ),
        {"r": multi, "app": app_role},
    )
    names = [str(name) for (name,) in inheriting]
    if names:
        problems.append(
            f"role(s) {', '.join(names)} inherit {multi}: its policy applies to their every "
            "query; make them NOINHERIT or revoke the membership"
        )
    problems += await _privilege_problems(conn, multi, tables)
    return True


async def _privilege_problems(conn: AsyncConnection, role: str, tables: Iterable[str]) -> list[str]:
    problems: list[str] = []
    for table in tables:
        if table == VERSION_TABLE:
            continue
        can_update = await scalar(
            conn, "SELECT has_table_privilege(:r, CAST(:t AS regclass), 'UPDATE')", r=role, t=table
        )
        can_select = await scalar(
            conn, "SELECT has_table_privilege(:r, CAST(:t AS regclass), 'SELECT')", r=role, t=table
        )
        if not can_select:
            problems.append(f"role {role} cannot read {table}: run `tenantry db upgrade`")
        if can_update and table in rls.APPEND_ONLY_TABLES:
            problems.append(f"role {role} may UPDATE the append-only {table}")
        if table in rls.READ_ONLY_TABLES and (
            can_update
            or await scalar(
                conn,
                "SELECT has_table_privilege(:r, CAST(:t AS regclass), 'INSERT, DELETE')",
                r=role,
                t=table,
            )
        ):
            problems.append(f"role {role} may change the read-only reference table {table}")
    return problems


