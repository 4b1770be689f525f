"""The roles the app connects as, on PostgreSQL: the app role (LOGIN, NOINHERIT, owns
nothing, no BYPASSRLS) and ``tenantry_multi`` (the NOLOGIN role whose policy admits a list
of tenants). ``ensure_app_role`` creates or repairs both after every upgrade; see
db/migrate.py and db/rls.py for why they are shaped so."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import make_url, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from tenantry.config import Settings
from tenantry.db import rls

VERSION_TABLE = "alembic_version"

# Raised by concurrent CREATE/ALTER ROLE from parallel upgrades (e.g. test sessions).
_RETRY_SQLSTATES = frozenset({"23505", "42710", "XX000", "40001", "40P01"})


class MigrationError(RuntimeError):
    """The database cannot be brought into the state Tenantry requires."""


def app_role_name(settings: Settings) -> str:
    """The role the app connects as, or "" when it connects as the owner."""
    if settings.app_database_url:
        return make_url(settings.app_database_url).username or ""
    return settings.app_db_role


async def ensure_app_role(engine: AsyncEngine, settings: Settings) -> None:
    """Create/repair the application role, the multi role and their grants (PostgreSQL,
    idempotent)."""
    role = app_role_name(settings)
    if role:
        try:
            rls.identifier(role)
        except ValueError as exc:
            raise MigrationError(f"TENANTRY_APP_DB_ROLE: {exc}") from None
        if role == rls.MULTI_ROLE:
            raise MigrationError(
                f"TENANTRY_APP_DB_ROLE: {role!r} is the multi-tenant group role; "
                "the app connects as a role of its own"
            )
    for attempt in range(5):
        try:
            async with engine.connect() as conn:
                tables = await _app_tables(conn)
                await _ensure_multi_role(conn, tables)
                if role:
                    # Connecting as the owner (no role) still meets FORCE ROW LEVEL
                    # SECURITY, unless the owner is a superuser; `check` reports that.
                    await _ensure_app_role(conn, role, settings.app_db_password, tables)
                await conn.commit()
            return
        except DBAPIError as exc:
            sqlstate = getattr(exc.orig, "sqlstate", None)
            if sqlstate not in _RETRY_SQLSTATES or attempt == 4:
                raise
            await asyncio.sleep(0.05 * (attempt + 1))


async def scalar(conn: AsyncConnection, sql: str, **params: Any) -> Any:
    return (await conn.execute(text(sql), params)).scalar()


_ROLE_ATTRS = (
    "SELECT rolsuper, rolbypassrls, rolcanlogin, rolcreaterole, rolcreatedb, "
    "rolreplication, rolinherit FROM pg_roles WHERE rolname = :r"
)
_SAFE = "NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOREPLICATION"


async def _must_not_act_as_owner(conn: AsyncConnection, role: str, what: str) -> None:
    owner = await scalar(conn, "SELECT current_user")
    if await scalar(conn, "SELECT pg_has_role(:r, current_user, 'MEMBER')", r=role):
        raise MigrationError(
            f"{what} {role!r} is a member of the owner role {owner!r} and could "
            f"act as it; REVOKE {owner} FROM {role}"
        )
    owned = await owned_objects(conn, role)
    if owned:
        raise MigrationError(
            f"{what} {role!r} owns {', '.join(owned)}; it must own nothing "
            f"(REASSIGN OWNED BY {role} TO {owner})"
        )


async def _grant_tables(conn: AsyncConnection, role: str, tables: list[str]) -> None:
    schema = await scalar(conn, "SELECT current_schema()")
    for statement in rls.grants_sql(role, tables, schema=schema):
        await conn.execute(text(statement))


async def _ensure_multi_role(conn: AsyncConnection, tables: list[str]) -> None:
    """``tenantry_multi``: NOLOGIN, cannot bypass row-level security, owns nothing, and
    may do on each table what the app role may (the migration created it)."""
    role = rls.MULTI_ROLE
    attrs = (await conn.execute(text(_ROLE_ATTRS), {"r": role})).first()
    if attrs is None:
        for statement in rls.multi_role_sql():
            await conn.execute(text(statement))
    elif tuple(attrs[:6]) != (False, False, False, False, False, False):
        await conn.execute(text(f"ALTER ROLE {role} NOLOGIN {_SAFE}"))
    await _must_not_act_as_owner(conn, role, "the multi-tenant role")
    await _grant_tables(conn, role, tables)


async def _ensure_app_role(
    conn: AsyncConnection, role: str, password: str, tables: list[str]
) -> None:
    quote = conn.dialect.identifier_preparer.quote
    r = quote(role)
    owner = await scalar(conn, "SELECT current_user")
    if owner == role:
        raise MigrationError(
            f"the application role {role!r} is the migration owner; connect migrations as "
            "the owner (TENANTRY_DATABASE_URL) and the app as a different role"
        )
    attrs = (await conn.execute(text(_ROLE_ATTRS), {"r": role})).first()
    # NOINHERIT: as itself the app role meets only the one-tenant policy, although it
    # is a member of tenantry_multi (policies follow has_privs_of_role).
    wanted = f"LOGIN NOINHERIT {_SAFE}"
    if attrs is None:
        await conn.execute(text(f"CREATE ROLE {r} {wanted}"))
    elif tuple(attrs) != (False, False, True, False, False, False, False):
        await conn.execute(text(f"ALTER ROLE {r} {wanted}"))
    if password:
        # Quoted by the server (format %I/%L); the casts give the untyped parameters a type.
        statement = await scalar(
            conn,
            "SELECT format('ALTER ROLE %I WITH PASSWORD %L', CAST(:r AS text), CAST(:p AS text))",
            r=role,
            p=password,
        )
        await conn.execute(text(statement))

    await _must_not_act_as_owner(conn, role, "the application role")
    if not await is_direct_member(conn, role, rls.MULTI_ROLE):
        await conn.execute(text(f"GRANT {rls.MULTI_ROLE} TO {r}"))

    database = await scalar(conn, "SELECT current_database()")
    await conn.execute(text(f"GRANT CONNECT ON DATABASE {quote(database)} TO {r}"))
    await _grant_tables(conn, role, tables)


async def is_direct_member(conn: AsyncConnection, member: str, group: str) -> bool:
    return bool(
        await scalar(
            conn,
            "SELECT EXISTS (SELECT 1 FROM pg_auth_members m "
            "JOIN pg_roles g ON g.oid = m.roleid JOIN pg_roles u ON u.oid = m.member "
            "WHERE g.rolname = :g AND u.rolname = :u)",
            g=group,
            u=member,
        )
    )


async def owned_objects(conn: AsyncConnection, role: str) -> list[str]:
    rows = await conn.execute(
        text(
            "SELECT pg_describe_object(d.classid, d.objid, d.objsubid) FROM pg_shdepend d "
            "JOIN pg_roles r ON r.oid = d.refobjid "
            "JOIN pg_database db ON db.oid = d.dbid AND db.datname = current_database() "
            "WHERE r.rolname = :r AND d.deptype = 'o' ORDER BY 1"
        ),
        {"r": role},
    )
    return [str(name) for (name,) in rows]


async def _app_tables(conn: AsyncConnection) -> list[str]:
    rows = await conn.execute(
        text(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
            "AND tablename <> :version ORDER BY 1"
        ),
        {"version": VERSION_TABLE},
    )
    return [str(name) for (name,) in rows]


