"""Raw SQL as the application role on PostgreSQL: row-level security alone keeps
tenants apart, whatever the ORM does. Every tenant-owned table is checked."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
import sqlalchemy as sa
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from tenantry.config import Settings
from tenantry.db import rls
from tenantry.db.base import Base, tenant_owned_tables
from tenantry.db.engine import Database
from tenantry.db.scope import SCOPE_SETTING

from .helpers import TwoTenants, count_by_tenant, fresh_row, tenant_owned_params

pytestmark = pytest.mark.parametrize("backend", ["postgres"], indirect=True)

INSUFFICIENT_PRIVILEGE = "42501"


@asynccontextmanager
async def app_tx(
    database: Database, scope: str | None = None, *, maintenance: bool = False
) -> AsyncIterator[AsyncConnection]:
    """One transaction as the app role; the scope set the way the app sets it."""
    async with database.engine.connect() as conn, conn.begin():
        if scope is not None:
            await conn.execute(
                text("SELECT set_config(:name, :value, true)"),
                {"name": SCOPE_SETTING, "value": scope},
            )
        if maintenance:
            await conn.execute(
                text("SELECT set_config(:name, 'on', true)"),
                {"name": rls.AUDIT_MAINTENANCE_SETTING},
            )
        yield conn


def sqlstate(exc: DBAPIError) -> str | None:
    return getattr(exc.orig, "sqlstate", None)


async def tenants_seen(conn: AsyncConnection, table: str) -> set[uuid.UUID]:
    rows = await conn.execute(text(f"SELECT DISTINCT tenant_id FROM {table}"))
    return {r[0] for r in rows}


# ---------------------------------------------------------------- no scope


@pytest.mark.parametrize("table", tenant_owned_params())
async def test_without_scope_a_table_reads_empty(
    table: str, database: Database, owner_engine: AsyncEngine, two_tenants: TwoTenants
) -> None:
    both = {two_tenants.a.tenant_id, two_tenants.b.tenant_id}
    assert set(await count_by_tenant(owner_engine, table)) == both
    async with app_tx(database) as conn:
        assert await conn.scalar(text(f"SELECT count(*) FROM {table}")) == 0
    async with app_tx(database, "") as conn:
        assert await conn.scalar(text(f"SELECT count(*) FROM {table}")) == 0


@pytest.mark.parametrize("table", tenant_owned_params())
async def test_without_scope_inserts_are_refused(
    table: str, database: Database, two_tenants: TwoTenants
) -> None:
    row = fresh_row(table, two_tenants.a)
    with pytest.raises(DBAPIError, match="row-level security") as caught:
        async with app_tx(database) as conn:
            await conn.execute(sa.insert(Base.metadata.tables[table]).values(row))
    assert sqlstate(caught.value) == INSUFFICIENT_PRIVILEGE


# ---------------------------------------------------------------- scope A


@pytest.mark.parametrize("table", tenant_owned_params())
async def test_scope_a_sees_only_a(
    table: str, database: Database, two_tenants: TwoTenants
) -> None:
    a, b = two_tenants.a.tenant_id, two_tenants.b.tenant_id
    async with app_tx(database, str(a)) as conn:
        assert await tenants_seen(conn, table) == {a}
        explicit = text(f"SELECT count(*) FROM {table} WHERE tenant_id = :b")
        assert await conn.scalar(explicit, {"b": b}) == 0


@pytest.mark.parametrize("table", tenant_owned_params())
async def test_a_scope_of_several_tenants_sees_each(
    table: str, database: Database, two_tenants: TwoTenants
) -> None:
    a, b = two_tenants.a.tenant_id, two_tenants.b.tenant_id
    async with app_tx(database, f"{a},{b}") as conn:
        assert await tenants_seen(conn, table) == {a, b}


@pytest.mark.parametrize("table", tenant_owned_params())
async def test_scope_a_cannot_insert_update_or_delete_b(
    table: str, database: Database, owner_engine: AsyncEngine, two_tenants: TwoTenants
) -> None:
    a, b = two_tenants.a, two_tenants.b
    before = await count_by_tenant(owner_engine, table)

    with pytest.raises(DBAPIError, match="row-level security"):
        async with app_tx(database, str(a.tenant_id)) as conn:
            await conn.execute(sa.insert(Base.metadata.tables[table]).values(fresh_row(table, b)))

    update_b = text(f"UPDATE {table} SET created_at = created_at WHERE tenant_id = :b")
    if table in rls.APPEND_ONLY_TABLES:
        with pytest.raises(DBAPIError, match="permission denied"):
            async with app_tx(database, str(a.tenant_id)) as conn:
                await conn.execute(update_b, {"b": b.tenant_id})
    else:
        async with app_tx(database, str(a.tenant_id)) as conn:
            assert (await conn.execute(update_b, {"b": b.tenant_id})).rowcount == 0
        # Moving one's own row into B is refused by WITH CHECK.
        with pytest.raises(DBAPIError, match="row-level security"):
            async with app_tx(database, str(a.tenant_id)) as conn:
                await conn.execute(
                    text(f"UPDATE {table} SET tenant_id = :b WHERE tenant_id = :a"),
                    {"a": a.tenant_id, "b": b.tenant_id},
                )

    async with app_tx(database, str(a.tenant_id), maintenance=True) as conn:
        deleted = await conn.execute(
            text(f"DELETE FROM {table} WHERE tenant_id = :b"), {"b": b.tenant_id}
        )
        assert deleted.rowcount == 0

    assert await count_by_tenant(owner_engine, table) == before


async def test_the_scope_ends_with_its_transaction(
    database: Database, two_tenants: TwoTenants
) -> None:
    """Same pooled connection, next transaction: the previous scope is gone."""
    table = tenant_owned_tables()[0]
    async with database.engine.connect() as conn:
        pid = await conn.scalar(text("SELECT pg_backend_pid()"))
        await conn.commit()
        async with conn.begin():
            await conn.execute(
                text("SELECT set_config(:n, :v, true)"),
                {"n": SCOPE_SETTING, "v": str(two_tenants.a.tenant_id)},
            )
            assert await conn.scalar(text(f"SELECT count(*) FROM {table}")) > 0
        async with conn.begin():
            assert await conn.scalar(text("SELECT pg_backend_pid()")) == pid
            assert await conn.scalar(text(f"SELECT count(*) FROM {table}")) == 0
            assert await conn.scalar(text("SELECT current_setting(:n, true)"),
                                     {"n": SCOPE_SETTING}) in ("", None)


@pytest.mark.parametrize("table", tenant_owned_params())
async def test_the_policy_uses_a_tenant_id_leading_index(
    table: str, database: Database, two_tenants: TwoTenants
) -> None:
    """The policy's expression is stable and leaves tenant_id bare, so the planner can
    use it as an index condition (a volatile or non-leakproof one would force a scan)."""
    async with app_tx(database, str(two_tenants.a.tenant_id)) as conn:
        await conn.execute(text("SET LOCAL enable_seqscan = off"))
        plan = "\n".join(r[0] for r in await conn.execute(text(f"EXPLAIN SELECT * FROM {table}")))
    assert "Seq Scan" not in plan, plan
    assert "Index Cond: (tenant_id = ANY" in plan, plan


# ---------------------------------------------------------------- the role itself


async def test_the_app_role_is_plain_and_owns_nothing(
    database: Database, settings: Settings, owner_engine: AsyncEngine
) -> None:
    async with owner_engine.connect() as conn:
        owner = await conn.scalar(text("SELECT current_user"))
    async with database.engine.connect() as conn:
        me = await conn.scalar(text("SELECT current_user"))
        assert me == settings.app_db_role != owner
        attrs = (
            await conn.execute(
                text("SELECT rolsuper, rolbypassrls, rolcreaterole, rolcreatedb "
                     "FROM pg_roles WHERE rolname = current_user")
            )
        ).one()
        assert tuple(attrs) == (False, False, False, False)
        owned = await conn.scalar(
            text(
                "SELECT count(*) FROM pg_shdepend d JOIN pg_database db ON db.oid = d.dbid "
                "WHERE db.datname = current_database() AND d.deptype = 'o' "
                "AND d.refobjid = (SELECT oid FROM pg_roles WHERE rolname = current_user)"
            )
        )
        assert owned == 0
        owns_tables = await conn.scalar(
            text("SELECT count(*) FROM pg_tables WHERE tableowner = current_user")
        )
        assert owns_tables == 0
        assert not await conn.scalar(text("SELECT pg_has_role(current_user, :o, 'MEMBER')"),
                                     {"o": owner})
        assert not await conn.scalar(
            text("SELECT has_schema_privilege(current_schema(), 'CREATE')")
        )


@pytest.mark.parametrize("table", tenant_owned_params())
async def test_the_app_role_cannot_switch_the_policy_off(
    table: str, database: Database, two_tenants: TwoTenants
) -> None:
    with pytest.raises(DBAPIError, match="row-level security"):
        async with app_tx(database) as conn:
            await conn.execute(text("SET LOCAL row_security = off"))
            await conn.execute(text(f"SELECT count(*) FROM {table}"))
    for ddl in (
        f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY",
        f"DROP POLICY {rls.POLICY_NAME} ON {table}",
    ):
        with pytest.raises(DBAPIError, match="must be owner") as caught:
            async with app_tx(database) as conn:
                await conn.execute(text(ddl))
        assert sqlstate(caught.value) == INSUFFICIENT_PRIVILEGE


# ---------------------------------------------------------------- append-only audit


async def test_audit_events_cannot_be_updated_by_the_app(
    database: Database, two_tenants: TwoTenants
) -> None:
    a = two_tenants.a.tenant_id
    with pytest.raises(DBAPIError, match="permission denied") as caught:
        async with app_tx(database, str(a), maintenance=True) as conn:
            await conn.execute(
                text("UPDATE audit_events SET action = 'forged' WHERE tenant_id = :a"), {"a": a}
            )
    assert sqlstate(caught.value) == INSUFFICIENT_PRIVILEGE


async def test_audit_events_cannot_be_updated_even_by_the_owner(
    owner_engine: AsyncEngine, two_tenants: TwoTenants
) -> None:
    with pytest.raises(DBAPIError, match="append-only"):
        async with owner_engine.begin() as conn:
            await conn.execute(
                text("SELECT set_config(:n, 'on', true)"), {"n": rls.AUDIT_MAINTENANCE_SETTING}
            )
            await conn.execute(text("UPDATE audit_events SET action = 'forged'"))


async def test_audit_events_are_deleted_only_under_the_maintenance_setting(
    database: Database, owner_engine: AsyncEngine, two_tenants: TwoTenants
) -> None:
    a, b = two_tenants.a.tenant_id, two_tenants.b.tenant_id
    delete = text("DELETE FROM audit_events WHERE tenant_id = :t")

    with pytest.raises(DBAPIError, match="append-only") as caught:
        async with app_tx(database, str(a)) as conn:
            await conn.execute(delete, {"t": a})
    assert sqlstate(caught.value) == INSUFFICIENT_PRIVILEGE

    async with database.engine.connect() as conn:
        async with conn.begin():
            await conn.execute(
                text("SELECT set_config(:n, :v, true), set_config(:m, 'on', true)"),
                {"n": SCOPE_SETTING, "v": str(a), "m": rls.AUDIT_MAINTENANCE_SETTING},
            )
            assert (await conn.execute(delete, {"t": a})).rowcount == 1
        # The switch was transaction-local: the next transaction on this very
        # connection is refused again.
        with pytest.raises(DBAPIError, match="append-only"):
            async with conn.begin():
                await conn.execute(
                    text("SELECT set_config(:n, :v, true)"), {"n": SCOPE_SETTING, "v": str(b)}
                )
                await conn.execute(delete, {"t": b})

    assert await count_by_tenant(owner_engine, "audit_events") == {b: 1}
