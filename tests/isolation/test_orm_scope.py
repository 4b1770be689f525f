"""The ORM scope through ``Database.unit_of_work`` / ``platform_reader``, on SQLite and
PostgreSQL alike. Every tenant-owned mapped class is checked."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import asyncpg
import pytest
from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from tenantry.access.widening import Why, widen
from tenantry.audit.models import AuditEvent
from tenantry.audit.schemas import OPERATOR, AuditAction
from tenantry.audit.service import record
from tenantry.config import Settings
from tenantry.db import rls
from tenantry.db.base import Base, TenantOwned, utcnow
from tenantry.db.engine import Database
from tenantry.db.scope import NO_SCOPE, ScopeViolation, TenantScope, set_session_scope
from tenantry.tenancy.models import Tenant

from .helpers import TenantRows, TwoTenants, count_by_tenant, fresh_row


def tenant_owned_classes() -> list[Any]:
    classes = {m.class_ for m in Base.registry.mappers if issubclass(m.class_, TenantOwned)}
    return [pytest.param(c, id=c.__tablename__) for c in sorted(classes, key=lambda c: c.__name__)]


def as_object(cls: Any, row: dict[str, Any]) -> Any:
    """An ORM instance from a row keyed by column names."""
    mapper = cls.__mapper__
    table = cls.__table__
    return cls(**{mapper.get_property_by_column(table.c[k]).key: v for k, v in row.items()})


def scope(*ids: uuid.UUID) -> TenantScope:
    return TenantScope.of(ids)


async def tenants_of(session: AsyncSession, cls: Any) -> list[uuid.UUID]:
    return list((await session.scalars(select(cls.tenant_id))).all())


async def pg_scope(session: AsyncSession) -> tuple[str, str, str]:
    """(current_user, tenantry.tenant_id, tenantry.tenant_ids) inside the transaction;
    unset settings read as ""."""
    row = (
        await session.execute(
            text(
                "SELECT current_user, coalesce(current_setting(:one, true), ''), "
                "coalesce(current_setting(:many, true), '')"
            ),
            {"one": rls.TENANT_SETTING, "many": rls.TENANTS_SETTING},
        )
    ).one()
    return (str(row[0]), str(row[1]), str(row[2]))


def listed(*ids: uuid.UUID) -> str:
    return ",".join(sorted(str(i) for i in ids))


async def raw_count(session: AsyncSession, table: str = "audit_events") -> int:
    """Rows row-level security lets through: raw SQL, which the ORM scope does not see."""
    return int(await session.scalar(text(f"SELECT count(*) FROM {table}")) or 0)


# ---------------------------------------------------------------- reads


@pytest.mark.parametrize("cls", tenant_owned_classes())
async def test_reads_return_only_rows_in_scope(
    cls: Any, database: Database, two_tenants: TwoTenants
) -> None:
    a, b = two_tenants.a.tenant_id, two_tenants.b.tenant_id
    b_row = two_tenants.b.rows[cls.__tablename__]

    async with database.unit_of_work(scope(a)) as session:
        assert set(await tenants_of(session, cls)) == {a}
        assert await session.get(cls, (b, b_row["id"])) is None
    async with database.unit_of_work(scope(a, b)) as session:
        assert set(await tenants_of(session, cls)) == {a, b}
    async with database.unit_of_work(NO_SCOPE) as session:
        assert await tenants_of(session, cls) == []
    async with database.platform_reader() as session:
        assert await tenants_of(session, cls) == []


def hidden_entity_statements() -> list[Any]:
    """Statements naming a tenant-owned entity only in FROM, a join, a subquery, or as a
    Core table: ``state.all_mappers`` does not list it, yet the scope must apply."""
    shapes = {
        "count_select_from": lambda c: select(func.count()).select_from(c),
        "join_from_platform": lambda c: select(Tenant.id).join(c, c.tenant_id == Tenant.id),
        "in_subquery": lambda c: select(Tenant.id).where(Tenant.id.in_(select(c.tenant_id))),
        "from_subquery": lambda c: select(func.count()).select_from(select(c.id).subquery()),
        "core_table": lambda c: select(func.count()).select_from(c.__table__),
    }
    return [pytest.param(f, id=name) for name, f in shapes.items()]


@pytest.mark.parametrize("shape", hidden_entity_statements())
@pytest.mark.parametrize("cls", tenant_owned_classes())
async def test_reads_naming_the_entity_only_in_from_join_or_subquery_stay_in_scope(
    cls: Any, shape: Any, database: Database, two_tenants: TwoTenants
) -> None:
    a = two_tenants.a.tenant_id
    async with database.unit_of_work(scope(a)) as session:
        result = list((await session.execute(shape(cls))).scalars())
    assert result in ([1], [a]), result


# ---------------------------------------------------------------- writes


@pytest.mark.parametrize("cls", tenant_owned_classes())
async def test_adding_a_row_outside_the_scope_raises(
    cls: Any, database: Database, owner_engine: AsyncEngine, two_tenants: TwoTenants
) -> None:
    a, b = two_tenants.a, two_tenants.b
    before = await count_by_tenant(owner_engine, cls.__tablename__)
    with pytest.raises(ScopeViolation):
        async with database.unit_of_work(scope(a.tenant_id)) as session:
            session.add(as_object(cls, fresh_row(cls.__tablename__, b)))
            await session.flush()
    for target in (cls, cls.__table__):  # ORM entity and Core table alike
        with pytest.raises(ScopeViolation):
            async with database.unit_of_work(scope(a.tenant_id)) as session:
                await session.execute(insert(target).values(fresh_row(cls.__tablename__, b)))
    with pytest.raises(ScopeViolation):
        async with database.platform_reader() as session:
            session.add(as_object(cls, fresh_row(cls.__tablename__, a)))
            await session.flush()
    assert await count_by_tenant(owner_engine, cls.__tablename__) == before


@pytest.mark.parametrize("cls", tenant_owned_classes())
async def test_bulk_updates_touch_only_rows_in_scope(
    cls: Any, database: Database, owner_engine: AsyncEngine, two_tenants: TwoTenants
) -> None:
    a, b = two_tenants.a.tenant_id, two_tenants.b.tenant_id
    statement = update(cls).values(created_at=utcnow() + timedelta(days=1))
    if cls.__tablename__ in rls.APPEND_ONLY_TABLES:
        # Refused by the database on both backends (trigger; on PostgreSQL also no grant).
        with pytest.raises(DBAPIError, match=r"append-only|permission denied"):
            async with database.unit_of_work(scope(a)) as session:
                await session.execute(statement)
        return
    async with database.unit_of_work(scope(a)) as session:
        assert (await session.execute(statement)).rowcount == 1  # type: ignore[attr-defined]
    async with owner_engine.connect() as conn:
        table = cls.__table__
        dates = dict((await conn.execute(select(table.c.tenant_id, table.c.created_at))).all())
    assert dates[a] > dates[b]


async def test_deleting_in_scope_removes_that_tenants_rows_and_no_other(
    database: Database, owner_engine: AsyncEngine, two_tenants: TwoTenants
) -> None:
    """What tenant deletion will do: every tenant-owned table, children first."""
    a, b = two_tenants.a.tenant_id, two_tenants.b.tenant_id
    classes = {m.class_.__tablename__: m.class_ for m in Base.registry.mappers
               if issubclass(m.class_, TenantOwned)}
    children_first = [t.name for t in reversed(Base.metadata.sorted_tables) if t.name in classes]
    async with database.unit_of_work(scope(a)) as session:
        await rls.allow_audit_deletion(session)
        for name in children_first:
            await session.execute(delete(classes[name]))
    for name in children_first:
        assert await count_by_tenant(owner_engine, name) == {b: 1}, name


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
async def test_audit_delete_without_the_maintenance_switch_is_refused_on_postgres(
    database: Database, two_tenants: TwoTenants
) -> None:
    # SQLite has no setting to gate DELETE on; only UPDATE is refused there.
    with pytest.raises(DBAPIError, match="append-only"):
        async with database.unit_of_work(scope(two_tenants.a.tenant_id)) as session:
            await session.execute(delete(AuditEvent))


async def test_the_audit_service_writes_within_scope_only(
    database: Database, owner_engine: AsyncEngine, two_tenants: TwoTenants
) -> None:
    a, b = two_tenants.a.tenant_id, two_tenants.b.tenant_id
    async with database.unit_of_work(scope(a)) as session:
        event = await record(
            session, tenant_id=a, actor=OPERATOR, action=AuditAction.TENANT_RENAMED
        )
    assert event.tenant_id == a
    with pytest.raises(ScopeViolation):
        async with database.unit_of_work(scope(a)) as session:
            await record(session, tenant_id=b, actor=OPERATOR, action=AuditAction.TENANT_RENAMED)
    assert await count_by_tenant(owner_engine, "audit_events") == {a: 2, b: 1}
    async with database.unit_of_work(scope(b)) as session:
        assert set(await tenants_of(session, AuditEvent)) == {b}


async def test_the_scope_of_a_running_unit_of_work_is_fixed(
    database: Database, two_tenants: TwoTenants
) -> None:
    with pytest.raises(ScopeViolation):
        async with database.unit_of_work(scope(two_tenants.a.tenant_id)) as session:
            await session.execute(select(AuditEvent))
            set_session_scope(session.sync_session, scope(two_tenants.b.tenant_id))


# ---------------------------------------------------------------- pooled connections


async def test_a_pooled_connection_never_carries_the_previous_scope(
    backend: str, settings: Settings, two_tenants: TwoTenants
) -> None:
    a, b = two_tenants.a.tenant_id, two_tenants.b.tenant_id
    app = settings.app_db_role
    # One pooled connection, so the sessions below surely reuse the scoped one.
    db = Database(settings.model_copy(update={"db_pool_size": 1}))
    pg = backend == "postgres"
    try:
        async with db.unit_of_work(scope(a, b)) as session:
            assert set(await tenants_of(session, AuditEvent)) == {a, b}
            if pg:
                pid = await session.scalar(text("SELECT pg_backend_pid()"))
                assert await pg_scope(session) == (rls.MULTI_ROLE, "", listed(a, b))

        async with db.unit_of_work(scope(a)) as session:
            assert set(await tenants_of(session, AuditEvent)) == {a}
            if pg:
                assert await session.scalar(text("SELECT pg_backend_pid()")) == pid
                assert await pg_scope(session) == (app, str(a), "")
                assert await raw_count(session) == 1

        async with db.platform_reader() as session:
            assert await tenants_of(session, AuditEvent) == []
            if pg:
                assert await session.scalar(text("SELECT pg_backend_pid()")) == pid
                assert await pg_scope(session) == (app, "", "")
                # Raw SQL is not rescued by the ORM: row-level security answers.
                assert await raw_count(session) == 0

        async with db.unit_of_work(scope(a, b)) as session:
            assert len(await tenants_of(session, AuditEvent)) == 2
        async with db.unit_of_work(NO_SCOPE) as session:
            assert await tenants_of(session, AuditEvent) == []
            if pg:
                assert await session.scalar(text("SELECT pg_backend_pid()")) == pid
                assert await pg_scope(session) == (app, "", "")
                assert await raw_count(session) == 0

        if pg:
            async with db.unit_of_work(scope(a, b)) as session:
                assert await raw_count(session) == 2
            # A Core connection outside any Session after a scoped unit of work.
            async with db.engine.connect() as conn:
                assert await conn.scalar(text("SELECT pg_backend_pid()")) == pid
                assert await conn.scalar(text("SELECT current_user")) == app
                assert await conn.scalar(text("SELECT count(*) FROM audit_events")) == 0
    finally:
        await db.dispose()


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
async def test_one_tenant_sets_the_tenant_several_switch_to_the_multi_role(
    database: Database, settings: Settings, two_tenants: TwoTenants
) -> None:
    """What a unit of work puts in force on PostgreSQL, and what raw SQL then sees."""
    a, b = two_tenants.a.tenant_id, two_tenants.b.tenant_id
    app = settings.app_db_role
    async with database.unit_of_work(scope(a)) as session:
        assert await pg_scope(session) == (app, str(a), "")
        assert await raw_count(session) == 1
    async with database.unit_of_work(scope(a, b)) as session:
        assert await pg_scope(session) == (rls.MULTI_ROLE, "", listed(a, b))
        assert await raw_count(session) == 2
    async with database.unit_of_work(NO_SCOPE) as session:
        assert await pg_scope(session) == (app, "", "")
        assert await raw_count(session) == 0


# ---------------------------------------------------------------- widening


async def test_widen_mid_transaction_admits_the_new_tenant_only(
    backend: str,
    database: Database,
    settings: Settings,
    owner_engine: AsyncEngine,
    two_tenants: TwoTenants,
    third_tenant: TenantRows,
) -> None:
    """An MSP creating a customer writes audit events in both in one transaction: the
    unit of work starts on one tenant and widens; a third tenant stays out."""
    a, b, c = two_tenants.a.tenant_id, two_tenants.b.tenant_id, third_tenant.tenant_id
    pg = backend == "postgres"
    async with database.unit_of_work(scope(a)) as session:
        assert set(await tenants_of(session, AuditEvent)) == {a}  # the transaction runs
        if pg:
            assert await pg_scope(session) == (settings.app_db_role, str(a), "")
        await widen(session, b, why=Why.OPERATOR)
        if pg:
            user, _, tenant_ids = await pg_scope(session)
            assert (user, tenant_ids) == (rls.MULTI_ROLE, listed(a, b))
            assert await raw_count(session) == 2
        await record(session, tenant_id=a, actor=OPERATOR, action=AuditAction.TENANT_CREATED)
        await record(session, tenant_id=b, actor=OPERATOR, action=AuditAction.TENANT_CREATED)
        assert sorted(map(str, await tenants_of(session, AuditEvent))) == sorted(
            map(str, [a, a, b, b])
        )
        with pytest.raises(ScopeViolation):
            await record(session, tenant_id=c, actor=OPERATOR, action=AuditAction.TENANT_CREATED)
        session.expunge_all()  # the refused objects stay pending otherwise
        if pg:
            # Below the ORM (a Core insert on the connection): row-level security refuses.
            row = fresh_row("audit_events", third_tenant)
            with pytest.raises(DBAPIError, match="row-level security"):
                async with session.begin_nested():
                    connection = await session.connection()
                    await connection.execute(insert(AuditEvent.__table__).values(row))
        await widen(session, a, b, why=Why.OPERATOR)  # nothing new: nothing to do
        await widen(session, c, why=Why.OPERATOR)  # several to more: the list grows
        if pg:
            assert (await pg_scope(session))[2] == listed(a, b, c)
            assert await raw_count(session) == 5
        await record(session, tenant_id=c, actor=OPERATOR, action=AuditAction.TENANT_CREATED)
    assert await count_by_tenant(owner_engine, "audit_events") == {a: 2, b: 2, c: 2}


async def test_widen_from_no_tenant_to_one(
    backend: str, database: Database, settings: Settings, two_tenants: TwoTenants
) -> None:
    a = two_tenants.a.tenant_id
    async with database.unit_of_work(NO_SCOPE) as session:
        assert await tenants_of(session, AuditEvent) == []
        await widen(session, a, why=Why.OPERATOR)
        assert await tenants_of(session, AuditEvent) == [a]
        if backend == "postgres":
            assert await pg_scope(session) == (settings.app_db_role, str(a), "")
            assert await raw_count(session) == 1


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
async def test_the_scope_travels_with_begin(
    database: Database, two_tenants: TwoTenants, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = two_tenants.a.tenant_id, two_tenants.b.tenant_id
    sent: list[str] = []
    # Spy below ScopedConnection, on what asyncpg really sends as a simple query.
    original = asyncpg.Connection.execute

    async def spy(self: asyncpg.Connection, query: str, *args: Any, **kwargs: Any) -> str:
        sent.append(query)
        return await original(self, query, *args, **kwargs)  # type: ignore[no-any-return]

    monkeypatch.setattr(asyncpg.Connection, "execute", spy)

    def begins() -> list[str]:
        return [q for q in sent if q.startswith("BEGIN")]

    def scoping_outside_begin() -> list[str]:
        return [
            q for q in sent if ("set_config" in q or "SET LOCAL" in q) and not q.startswith("BEGIN")
        ]

    # One tenant: the setting, no role switch, in the one message that opens the transaction.
    async with database.unit_of_work(scope(a)) as session:
        assert set(await tenants_of(session, AuditEvent)) == {a}
    assert len(begins()) == 1, sent
    assert begins()[0].endswith(f"; SET LOCAL {rls.TENANT_SETTING} = '{a}';"), begins()
    assert "ROLE" not in begins()[0] and rls.TENANTS_SETTING not in begins()[0]
    assert not scoping_outside_begin(), sent

    # Several tenants: the role switch and the list, still in that one message.
    sent.clear()
    async with database.unit_of_work(scope(b, a)) as session:
        assert set(await tenants_of(session, AuditEvent)) == {a, b}
    assert len(begins()) == 1, sent
    assert begins()[0].endswith(
        f"; SET LOCAL ROLE {rls.MULTI_ROLE}; SET LOCAL {rls.TENANTS_SETTING} = '{listed(a, b)}';"
    ), begins()
    assert f"{rls.TENANT_SETTING} " not in begins()[0]
    assert not scoping_outside_begin(), sent

    # No scope: a plain BEGIN.
    sent.clear()
    async with database.unit_of_work(NO_SCOPE) as session:
        assert await tenants_of(session, AuditEvent) == []
    assert len(begins()) == 1 and ";" not in begins()[0].rstrip(";"), sent
    assert not scoping_outside_begin(), sent

    sent.clear()
    async with database.platform_reader() as session:
        assert (await pg_scope(session))[1:] == ("", "")
    assert not begins(), sent
