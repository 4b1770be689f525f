"""Raw SQL as the application role on PostgreSQL: row-level security alone keeps
tenants apart, whatever the ORM does. Every tenant-owned table is checked.

Two policies per table (db/rls.py): ``tenant_isolation`` (to PUBLIC) reads the one
tenant in ``tenantry.tenant_id``; ``tenant_isolation_multi`` (to ``tenantry_multi``)
reads the list in ``tenantry.tenant_ids``. The app role is NOINHERIT, so it meets the
list policy only after ``SET LOCAL ROLE tenantry_multi``.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import AsyncIterator, Sequence
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

from .helpers import TenantRows, TwoTenants, count_by_tenant, fresh_row, tenant_owned_params

pytestmark = pytest.mark.parametrize("backend", ["postgres"], indirect=True)

INSUFFICIENT_PRIVILEGE = "42501"
MULTI = rls.MULTI_ROLE


async def set_one(conn: AsyncConnection, tenant: uuid.UUID | str) -> None:
    await conn.execute(
        text("SELECT set_config(:n, :v, true)"), {"n": rls.TENANT_SETTING, "v": str(tenant)}
    )


async def set_many(
    conn: AsyncConnection, tenants: Sequence[uuid.UUID | str], *, switch_role: bool = True
) -> None:
    if switch_role:
        await conn.execute(text(f"SET LOCAL ROLE {MULTI}"))
    await conn.execute(
        text("SELECT set_config(:n, :v, true)"),
        {"n": rls.TENANTS_SETTING, "v": ",".join(str(t) for t in tenants)},
    )


@asynccontextmanager
async def app_tx(
    database: Database,
    one: uuid.UUID | str | None = None,
    *,
    many: Sequence[uuid.UUID | str] | None = None,
    maintenance: bool = False,
) -> AsyncIterator[AsyncConnection]:
    """One transaction as the app role; the scope set the way the app sets it: ``one``
    tenant as the app role, or ``many`` under the multi role."""
    async with database.engine.connect() as conn, conn.begin():
        if one is not None:
            await set_one(conn, one)
        if many is not None:
            await set_many(conn, many)
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


async def who_and_what(conn: AsyncConnection) -> tuple[str, str, str]:
    """(current_user, tenantry.tenant_id, tenantry.tenant_ids); unset settings as ""."""
    row = (
        await conn.execute(
            text(
                "SELECT current_user, coalesce(current_setting(:one, true), ''), "
                "coalesce(current_setting(:many, true), '')"
            ),
            {"one": rls.TENANT_SETTING, "many": rls.TENANTS_SETTING},
        )
    ).one()
    return (str(row[0]), str(row[1]), str(row[2]))


# ---------------------------------------------------------------- no scope


@pytest.mark.parametrize("table", tenant_owned_params())
async def test_without_scope_a_table_reads_empty(
    table: str, database: Database, owner_engine: AsyncEngine, two_tenants: TwoTenants
) -> None:
    both = {two_tenants.a.tenant_id, two_tenants.b.tenant_id}
    assert set(await count_by_tenant(owner_engine, table)) == both
    count = text(f"SELECT count(*) FROM {table}")
    async with app_tx(database) as conn:
        assert await conn.scalar(count) == 0
    async with app_tx(database, "") as conn:
        assert await conn.scalar(count) == 0
    async with app_tx(database, many=[]) as conn:  # the multi role, an empty list
        assert await conn.scalar(count) == 0
    async with database.engine.connect() as conn, conn.begin():
        await conn.execute(text(f"SET LOCAL ROLE {MULTI}"))  # the multi role, no list
        assert await conn.scalar(count) == 0


@pytest.mark.parametrize("table", tenant_owned_params())
async def test_without_scope_inserts_are_refused(
    table: str, database: Database, two_tenants: TwoTenants
) -> None:
    row = fresh_row(table, two_tenants.a)
    with pytest.raises(DBAPIError, match="row-level security") as caught:
        async with app_tx(database) as conn:
            await conn.execute(sa.insert(Base.metadata.tables[table]).values(row))
    assert sqlstate(caught.value) == INSUFFICIENT_PRIVILEGE
    with pytest.raises(DBAPIError, match="row-level security"):
        async with app_tx(database, many=[]) as conn:
            await conn.execute(sa.insert(Base.metadata.tables[table]).values(row))


# ---------------------------------------------------------------- one tenant


@pytest.mark.parametrize("table", tenant_owned_params())
async def test_scope_a_sees_only_a(
    table: str, database: Database, two_tenants: TwoTenants
) -> None:
    a, b = two_tenants.a.tenant_id, two_tenants.b.tenant_id
    async with app_tx(database, a) as conn:
        assert await tenants_seen(conn, table) == {a}
        explicit = text(f"SELECT count(*) FROM {table} WHERE tenant_id = :b")
        assert await conn.scalar(explicit, {"b": b}) == 0


@pytest.mark.parametrize("table", tenant_owned_params())
async def test_scope_a_cannot_insert_update_or_delete_b(
    table: str, database: Database, owner_engine: AsyncEngine, two_tenants: TwoTenants
) -> None:
    a, b = two_tenants.a, two_tenants.b
    before = await count_by_tenant(owner_engine, table)

    with pytest.raises(DBAPIError, match="row-level security"):
        async with app_tx(database, a.tenant_id) as conn:
            await conn.execute(sa.insert(Base.metadata.tables[table]).values(fresh_row(table, b)))

    update_b = text(f"UPDATE {table} SET created_at = created_at WHERE tenant_id = :b")
    if table in rls.APPEND_ONLY_TABLES:
        with pytest.raises(DBAPIError, match="permission denied"):
            async with app_tx(database, a.tenant_id) as conn:
                await conn.execute(update_b, {"b": b.tenant_id})
    else:
        async with app_tx(database, a.tenant_id) as conn:
            assert (await conn.execute(update_b, {"b": b.tenant_id})).rowcount == 0
        # Moving one's own row into B is refused by WITH CHECK.
        with pytest.raises(DBAPIError, match="row-level security"):
            async with app_tx(database, a.tenant_id) as conn:
                await conn.execute(
                    text(f"UPDATE {table} SET tenant_id = :b WHERE tenant_id = :a"),
                    {"a": a.tenant_id, "b": b.tenant_id},
                )

    async with app_tx(database, a.tenant_id, maintenance=True) as conn:
        deleted = await conn.execute(
            text(f"DELETE FROM {table} WHERE tenant_id = :b"), {"b": b.tenant_id}
        )
        assert deleted.rowcount == 0

    assert await count_by_tenant(owner_engine, table) == before


# ---------------------------------------------------------------- several tenants


@pytest.mark.parametrize("table", tenant_owned_params())
async def test_the_multi_role_sees_the_listed_tenants_and_no_other(
    table: str,
    database: Database,
    owner_engine: AsyncEngine,
    two_tenants: TwoTenants,
    third_tenant: TenantRows,
) -> None:
    a, b, c = two_tenants.a, two_tenants.b, third_tenant
    ab = [a.tenant_id, b.tenant_id]
    before = await count_by_tenant(owner_engine, table)

    async with app_tx(database, many=ab) as conn:
        assert await who_and_what(conn) == (MULTI, "", f"{a.tenant_id},{b.tenant_id}")
        assert await tenants_seen(conn, table) == set(ab)
        explicit = text(f"SELECT count(*) FROM {table} WHERE tenant_id = :c")
        assert await conn.scalar(explicit, {"c": c.tenant_id}) == 0

    with pytest.raises(DBAPIError, match="row-level security") as caught:
        async with app_tx(database, many=ab) as conn:
            await conn.execute(sa.insert(Base.metadata.tables[table]).values(fresh_row(table, c)))
    assert sqlstate(caught.value) == INSUFFICIENT_PRIVILEGE

    if table not in rls.APPEND_ONLY_TABLES:
        touch = text(f"UPDATE {table} SET created_at = created_at WHERE tenant_id = :t")
        async with app_tx(database, many=ab) as conn:
            assert (await conn.execute(touch, {"t": b.tenant_id})).rowcount == 1  # listed
            assert (await conn.execute(touch, {"t": c.tenant_id})).rowcount == 0  # not listed
        with pytest.raises(DBAPIError, match="row-level security"):
            async with app_tx(database, many=ab) as conn:
                await conn.execute(
                    text(f"UPDATE {table} SET tenant_id = :c WHERE tenant_id = :b"),
                    {"b": b.tenant_id, "c": c.tenant_id},
                )

    async with app_tx(database, many=ab, maintenance=True) as conn:
        deleted = await conn.execute(
            text(f"DELETE FROM {table} WHERE tenant_id = :c"), {"c": c.tenant_id}
        )
        assert deleted.rowcount == 0

    assert await count_by_tenant(owner_engine, table) == before


@pytest.mark.parametrize("table", tenant_owned_params())
async def test_the_list_without_the_role_switch_gives_nothing(
    table: str, database: Database, two_tenants: TwoTenants
) -> None:
    """The app role is NOINHERIT: as itself, only the one-tenant policy applies to it."""
    a, b = two_tenants.a, two_tenants.b
    async with database.engine.connect() as conn:
        async with conn.begin():
            await set_many(conn, [a.tenant_id, b.tenant_id], switch_role=False)
            assert (await who_and_what(conn))[0] != MULTI
            assert await conn.scalar(text(f"SELECT count(*) FROM {table}")) == 0
        with pytest.raises(DBAPIError, match="row-level security"):
            async with conn.begin():
                await set_many(conn, [a.tenant_id], switch_role=False)
                await conn.execute(
                    sa.insert(Base.metadata.tables[table]).values(fresh_row(table, a))
                )


async def test_a_role_that_is_not_a_member_cannot_switch_to_the_multi_role(
    owner_engine: AsyncEngine,
) -> None:
    outsider = f"tenantry_t_outsider_{secrets.token_hex(4)}"
    async with owner_engine.connect() as conn:
        # Created, used and gone with one rolled-back transaction: nothing outlives it.
        with pytest.raises(DBAPIError, match="permission denied to set role") as caught:
            async with conn.begin():
                await conn.execute(text(f"CREATE ROLE {outsider} LOGIN"))
                await conn.execute(text(f"SET LOCAL SESSION AUTHORIZATION {outsider}"))
                await conn.execute(text(f"SET LOCAL ROLE {MULTI}"))
        assert sqlstate(caught.value) == INSUFFICIENT_PRIVILEGE
        exists = text("SELECT count(*) FROM pg_roles WHERE rolname = :r")
        assert await conn.scalar(exists, {"r": outsider}) == 0


async def test_the_app_role_is_noinherit_and_a_member_of_the_multi_role(
    database: Database, settings: Settings
) -> None:
    async with database.engine.connect() as conn:
        row = (
            await conn.execute(
                text(
                    # 'USAGE' asks has_privs_of_role(), which decides whether a
                    # policy applies; 'MEMBER' whether SET ROLE is allowed.
                    "SELECT rolinherit, pg_has_role(current_user, :m, 'MEMBER'), "
                    "pg_has_role(current_user, :m, 'USAGE') "
                    "FROM pg_roles WHERE rolname = current_user"
                ),
                {"m": MULTI},
            )
        ).one()
    # Member (may SET ROLE), but holds none of its privileges, so none of its policies.
    assert tuple(row) == (False, True, False)
    assert settings.app_db_role != MULTI


# ---------------------------------------------------------------- transaction-local


async def test_the_scope_and_the_role_end_with_their_transaction(
    database: Database, settings: Settings, two_tenants: TwoTenants
) -> None:
    """Same pooled connection, next transaction: the app role again, nothing set."""
    a, b = two_tenants.a.tenant_id, two_tenants.b.tenant_id
    table = tenant_owned_tables()[0]
    count = text(f"SELECT count(*) FROM {table}")
    app = settings.app_db_role
    async with database.engine.connect() as conn:
        pid = await conn.scalar(text("SELECT pg_backend_pid()"))
        await conn.commit()
        async with conn.begin():
            await set_one(conn, a)
            assert await who_and_what(conn) == (app, str(a), "")
            assert await conn.scalar(count) == 1
        async with conn.begin():
            assert await who_and_what(conn) == (app, "", "")
            assert await conn.scalar(count) == 0
            await set_many(conn, [a, b])
            assert await who_and_what(conn) == (MULTI, "", f"{a},{b}")
            assert await conn.scalar(count) == 2
        async with conn.begin():
            assert await conn.scalar(text("SELECT pg_backend_pid()")) == pid
            assert await who_and_what(conn) == (app, "", "")
            assert await conn.scalar(count) == 0
        # Also after a rollback.
        async with conn.begin() as tx:
            await set_many(conn, [a, b])
            await tx.rollback()
        async with conn.begin():
            assert await who_and_what(conn) == (app, "", "")
            assert await conn.scalar(count) == 0


async def test_a_statement_prepared_in_one_mode_answers_right_in_the_other(
    database: Database, two_tenants: TwoTenants
) -> None:
    """asyncpg caches prepared statements per connection; PostgreSQL re-plans a statement
    under row-level security when the role changes, so cached plans never leak."""
    a, b = two_tenants.a.tenant_id, two_tenants.b.tenant_id
    seen = text("SELECT DISTINCT tenant_id FROM audit_events")
    async with database.engine.connect() as conn:
        for _ in range(3):  # several rounds: past PostgreSQL's switch to a generic plan
            async with conn.begin():
                await set_one(conn, a)
                assert {r[0] for r in await conn.execute(seen)} == {a}
            async with conn.begin():
                await set_many(conn, [a, b])
                assert {r[0] for r in await conn.execute(seen)} == {a, b}
            async with conn.begin():
                await set_one(conn, b)
                assert {r[0] for r in await conn.execute(seen)} == {b}
            async with conn.begin():
                assert list(await conn.execute(seen)) == []


# ---------------------------------------------------------------- plans


@pytest.mark.parametrize("table", tenant_owned_params())
async def test_the_policies_use_a_tenant_id_leading_index(
    table: str, database: Database, two_tenants: TwoTenants
) -> None:
    """The policies' expressions are stable and leave tenant_id bare, so the planner can
    use them as index conditions (a volatile or non-leakproof one would force a scan)."""
    explain = text(f"EXPLAIN SELECT * FROM {table}")
    async with app_tx(database, two_tenants.a.tenant_id) as conn:
        await conn.execute(text("SET LOCAL enable_seqscan = off"))
        plan = "\n".join(r[0] for r in await conn.execute(explain))
    assert "Seq Scan" not in plan, plan
    assert f"Index Cond: (tenant_id = (NULLIF(current_setting('{rls.TENANT_SETTING}'" in plan
    assert "ANY" not in plan, plan  # the list policy does not apply to the app role

    # The list policy: the list is parsed and hashed once per statement (a hashed
    # SubPlan), never re-read per row, whatever the number of tenants (db/rls.py).
    async with app_tx(database, many=[two_tenants.a.tenant_id, two_tenants.b.tenant_id]) as conn:
        plan = "\n".join(r[0] for r in await conn.execute(explain))
    assert "hashed SubPlan" in plan, plan


PROBE = "rls_plan_probe"


@pytest.fixture
async def list_probe(owner_engine: AsyncEngine, settings: Settings) -> AsyncIterator[list[str]]:
    """A tenant-owned-shaped table with a (tenant_id, created_at) index under the real
    policies and grants: 40,000 rows over 80 tenants, interleaved. Yields tenant ids."""
    async with owner_engine.begin() as conn:
        await conn.execute(
            text(
                f"CREATE TABLE {PROBE} (tenant_id uuid NOT NULL, id bigint NOT NULL, "
                "created_at timestamptz NOT NULL, title text NOT NULL, "
                "PRIMARY KEY (tenant_id, id))"
            )
        )
        await conn.execute(text(f"CREATE INDEX ON {PROBE} (tenant_id, created_at)"))
        await conn.execute(
            text(
                f"INSERT INTO {PROBE} SELECT t.ids[1 + g % 80], g, "
                "now() - g * interval '1 second', 'item ' || g "
                "FROM generate_series(1, 40000) g, "
                "(SELECT array_agg(gen_random_uuid()) AS ids FROM generate_series(1, 80)) t"
            )
        )
        for statement in rls.enable_sql(PROBE):
            await conn.execute(text(statement))
        for role in (settings.app_db_role, MULTI):
            for statement in rls.grants_sql(role, [PROBE]):
                await conn.execute(text(statement))
        await conn.execute(text(f"ANALYZE {PROBE}"))
        found = await conn.execute(text(f"SELECT DISTINCT tenant_id FROM {PROBE}"))
        tenants = [str(r[0]) for r in found]
    try:
        yield tenants
    finally:
        async with owner_engine.begin() as conn:
            await conn.execute(text(f"DROP TABLE {PROBE}"))


async def test_a_tenants_latest_rows_are_read_in_index_order(
    database: Database, list_probe: list[str]
) -> None:
    """The point of the one-tenant policy: "latest 50 of a tenant" walks the
    (tenant_id, created_at) index backwards and stops; no Sort of all the tenant's rows
    (what the list policy got, because the planner cannot know the list has one id)."""
    tenant = list_probe[0]
    latest = f"SELECT id, created_at FROM {PROBE} {{where}} ORDER BY created_at DESC LIMIT 50"
    async with app_tx(database, tenant) as conn:
        for where in ("", "WHERE tenant_id = :t"):  # the policy alone; plus the ORM's WHERE
            sql = latest.format(where=where)
            plan = "\n".join(
                r[0] for r in await conn.execute(text(f"EXPLAIN {sql}"), {"t": tenant})
            )
            assert f"Index Scan Backward using {PROBE}_tenant_id_created_at_idx" in plan, plan
            assert "Sort" not in plan, plan
            rows = (await conn.execute(text(sql), {"t": tenant})).all()
            assert len(rows) == 50
        assert await conn.scalar(text(f"SELECT count(DISTINCT tenant_id) FROM {PROBE}")) == 1


# ---------------------------------------------------------------- the roles themselves


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


async def test_the_multi_role_is_plain_owns_nothing_and_belongs_to_no_role(
    owner_engine: AsyncEngine,
) -> None:
    async with owner_engine.connect() as conn:
        attrs = (
            await conn.execute(
                text(
                    "SELECT rolsuper, rolbypassrls, rolcanlogin, rolcreaterole, rolcreatedb, "
                    "rolreplication FROM pg_roles WHERE rolname = :m"
                ),
                {"m": MULTI},
            )
        ).one()
        assert tuple(attrs) == (False,) * 6
        owned = await conn.scalar(
            text(
                "SELECT count(*) FROM pg_shdepend d JOIN pg_roles r ON r.oid = d.refobjid "
                "WHERE r.rolname = :m AND d.deptype = 'o'"
            ),
            {"m": MULTI},
        )
        assert owned == 0
        groups = await conn.scalar(
            text(
                "SELECT count(*) FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.member "
                "WHERE r.rolname = :m"
            ),
            {"m": MULTI},
        )
        assert groups == 0


@pytest.mark.parametrize("table", tenant_owned_params())
async def test_neither_role_can_switch_the_policies_off(
    table: str, database: Database, two_tenants: TwoTenants
) -> None:
    for many in (None, [two_tenants.a.tenant_id]):
        with pytest.raises(DBAPIError, match="row-level security"):
            async with app_tx(database, many=many) as conn:
                await conn.execute(text("SET LOCAL row_security = off"))
                await conn.execute(text(f"SELECT count(*) FROM {table}"))
        for ddl in (
            f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY",
            f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY",
            f"DROP POLICY {rls.POLICY_NAME} ON {table}",
            f"DROP POLICY {rls.MULTI_POLICY_NAME} ON {table}",
        ):
            with pytest.raises(DBAPIError, match="must be owner") as caught:
                async with app_tx(database, many=many) as conn:
                    await conn.execute(text(ddl))
            assert sqlstate(caught.value) == INSUFFICIENT_PRIVILEGE


# ---------------------------------------------------------------- append-only audit


async def test_audit_events_cannot_be_updated_by_the_app(
    database: Database, two_tenants: TwoTenants
) -> None:
    a = two_tenants.a.tenant_id
    update = text("UPDATE audit_events SET action = 'forged' WHERE tenant_id = :a")
    for one, many in ((a, None), (None, [a])):
        with pytest.raises(DBAPIError, match="permission denied") as caught:
            async with app_tx(database, one, many=many, maintenance=True) as conn:
                await conn.execute(update, {"a": a})
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
        async with app_tx(database, a) as conn:
            await conn.execute(delete, {"t": a})
    assert sqlstate(caught.value) == INSUFFICIENT_PRIVILEGE

    async with database.engine.connect() as conn:
        async with conn.begin():
            await conn.execute(
                text("SELECT set_config(:n, :v, true), set_config(:m, 'on', true)"),
                {"n": rls.TENANT_SETTING, "v": str(a), "m": rls.AUDIT_MAINTENANCE_SETTING},
            )
            assert (await conn.execute(delete, {"t": a})).rowcount == 1
        # The switch was transaction-local: the next transaction on this very
        # connection is refused again, under either role.
        for many in (False, True):
            with pytest.raises(DBAPIError, match="append-only"):
                async with conn.begin():
                    if many:
                        await set_many(conn, [b])
                    else:
                        await set_one(conn, b)
                    await conn.execute(delete, {"t": b})

    assert await count_by_tenant(owner_engine, "audit_events") == {b: 1}
