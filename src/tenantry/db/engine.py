"""Engines, sessions and the unit of work.

Two kinds of session:
* ``platform_reader()``: autocommit reads of platform tables (who is the caller,
  which tenant, which grants) before any tenant scope exists.
* ``unit_of_work(scope)``: one transaction with the tenant scope bound. On
  PostgreSQL the scope travels with ``BEGIN`` in the same simple-protocol
  message, so setting it costs no extra round trip (see ScopedConnection).

On PostgreSQL a scope of one tenant sets ``tenantry.tenant_id``; a scope of several
switches the transaction to the role ``tenantry_multi`` and sets ``tenantry.tenant_ids``
(db/rls.py explains why). Both are transaction-local: nothing outlives the transaction.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session, SessionTransaction
from sqlalchemy.pool import NullPool

from tenantry.config import Settings
from tenantry.db import rls
from tenantry.db.scope import NO_SCOPE, TenantScope, session_scope, set_session_scope


def scope_sql(scope: TenantScope) -> list[str]:
    """The statements that put a running transaction under ``scope`` (none for none).

    One tenant: ``SET LOCAL tenantry.tenant_id = ...``. Several: ``SET LOCAL ROLE
    tenantry_multi`` and ``SET LOCAL tenantry.tenant_ids = ...``. All transaction-local.
    """
    ids = scope.tenant_ids
    if not ids:
        return []
    if len(ids) == 1:
        return rls.single_scope_sql(next(iter(ids)))
    return rls.multi_scope_sql(ids)


# Scopes of more tenants than this are cached apart, and only a few of them: an MSP-wide
# scope's text is about 37 bytes a tenant (370 kB at 10,000 clients), and each change of
# an MSP's customers makes a new one, so thousands kept would be gigabytes. The access
# layer hands the same scope object back while nothing changes (access/kept_reach.py).
MANY_TENANTS = 100


def begin_suffix(scope: TenantScope) -> str:
    """What ScopedConnection appends to ``BEGIN`` for ``scope`` ("" for none). Built for
    every transaction, so cached: a few microseconds are a tenth of the budget."""
    if len(scope.tenant_ids) > MANY_TENANTS:
        return _many_tenants_suffix(scope)
    return _suffix(scope)


def _build_suffix(scope: TenantScope) -> str:
    return "".join(f" {statement};" for statement in scope_sql(scope))


_suffix = functools.lru_cache(maxsize=4096)(_build_suffix)
_many_tenants_suffix = functools.lru_cache(maxsize=16)(_build_suffix)


class ScopedConnection(asyncpg.Connection):  # type: ignore[misc]
    """asyncpg connection that appends the pending tenant scope to ``BEGIN``.

    SQLAlchemy's asyncpg adapter sends ``BEGIN`` lazily, right before the first
    statement of a transaction. Sending the scope statements (``scope_sql``) in the
    same simple-protocol message makes the scope transaction-local (safe behind a
    transaction-pooling PgBouncer) without a round trip of its own. No scope: a plain
    ``BEGIN``; both settings are unset, so tenant-owned tables answer nothing.
    """

    # Appended to the next BEGIN (``begin_suffix``), handed over by the Session.
    tenantry_begin: str = ""

    async def execute(self, query: str, *args: Any, timeout: float | None = None) -> str:  # noqa: ASYNC109 - asyncpg's signature
        if not args and self.tenantry_begin and query.startswith("BEGIN"):
            query = f"{query.rstrip(';')};{self.tenantry_begin}"
        result: str = await super().execute(query, *args, timeout=timeout)
        return result


def async_url(url: str) -> URL:
    """``sqlite:///x`` → aiosqlite, ``postgresql://`` → asyncpg: the driver is ours to pick."""
    parsed = make_url(url.replace("postgres://", "postgresql://", 1))
    if parsed.drivername in ("sqlite", "sqlite+pysqlite"):
        return parsed.set(drivername="sqlite+aiosqlite")
    if parsed.drivername.startswith("postgresql"):
        return parsed.set(drivername="postgresql+asyncpg")
    return parsed


def app_url(settings: Settings) -> URL:
    """The URL the running app uses: on PostgreSQL, as the non-owner app role."""
    if settings.app_database_url:
        return async_url(settings.app_database_url)
    url = async_url(settings.database_url)
    if url.get_backend_name() == "postgresql" and settings.app_db_role:
        url = url.set(username=settings.app_db_role, password=settings.app_db_password or None)
    return url


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def build_engine(url: URL, settings: Settings, *, owner: bool = False) -> AsyncEngine:
    if url.get_backend_name() == "sqlite":
        engine = create_async_engine(url, **({"poolclass": NullPool} if owner else {}))
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    connect_args: dict[str, Any] = {
        "connection_class": ScopedConnection,
        "statement_cache_size": settings.db_statement_cache_size,
        "server_settings": {"application_name": "tenantry"},
    }
    pool_args: dict[str, Any] = (
        {"poolclass": NullPool}
        if owner
        else {"pool_size": settings.db_pool_size, "max_overflow": settings.db_pool_size}
    )
    engine = create_async_engine(url, connect_args=connect_args, **pool_args)
    event.listen(engine.sync_engine, "checkout", _forget_scope)
    return engine


def _forget_scope(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    # A connection used outside a Session (health checks, CLI) must not BEGIN with
    # the scope of whoever used it last.
    driver = getattr(dbapi_connection, "driver_connection", None)
    if isinstance(driver, ScopedConnection):
        driver.tenantry_begin = ""


class Database:
    def __init__(self, settings: Settings, *, engine: AsyncEngine | None = None) -> None:
        self.settings = settings
        self.engine = engine or build_engine(app_url(settings), settings)
        self.is_postgres = self.engine.dialect.name == "postgresql"
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False, autoflush=False)
        self._reader = async_sessionmaker(
            self.engine.execution_options(isolation_level="AUTOCOMMIT"),
            expire_on_commit=False,
            autoflush=False,
        )

    @asynccontextmanager
    async def platform_reader(self) -> AsyncIterator[AsyncSession]:
        """Autocommit reads of platform tables. Tenant-owned tables answer nothing here."""
        async with self._reader() as session:
            set_session_scope(session.sync_session, NO_SCOPE)
            yield session

    @asynccontextmanager
    async def unit_of_work(self, scope: TenantScope) -> AsyncIterator[AsyncSession]:
        """One transaction with ``scope`` bound; commits on success, rolls back on error."""
        async with self._sessions() as session:
            set_session_scope(session.sync_session, scope)
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise

    def session(self, scope: TenantScope) -> AsyncSession:
        """A session the caller commits itself (request dependency, CLI, tests)."""
        session = self._sessions()
        set_session_scope(session.sync_session, scope)
        return session

    async def dispose(self) -> None:
        await self.engine.dispose()


async def widen_scope(session: AsyncSession, scope: TenantScope) -> None:
    """Replace a running unit of work's scope with a wider one (rare paths only: a tenant
    created or deleted inside the transaction, e.g. an MSP writing audit events in its
    own tenant and in the customer it just created).

    On PostgreSQL, going from one tenant (or none) to several switches the transaction to
    the multi role and sets the list; from none to one sets the one tenant. Still
    transaction-local. The ORM scope follows at once.
    """
    current = session_scope(session.sync_session)
    if not current.tenant_ids <= scope.tenant_ids:
        raise ValueError("widen_scope may only add tenants")
    if scope == current:
        return
    if session.get_bind().dialect.name != "postgresql" or not session.in_transaction():
        # No transaction on PostgreSQL yet: its BEGIN will carry the new scope.
        session.sync_session.info["tenantry_scope"] = scope
        return
    # Open the transaction first if it is still pending, so its BEGIN carries the old
    # scope and the statements below take it from there.
    connection = await session.connection()
    session.sync_session.info["tenantry_scope"] = scope
    if len(current.tenant_ids) > 1:  # already under the multi role: the list grows
        statements = rls.multi_scope_sql(scope.tenant_ids, switch_role=False)
    else:
        statements = scope_sql(scope)
    for statement in statements:
        # One by one: asyncpg prepares each statement (SET ROLE takes no parameter).
        await connection.exec_driver_sql(statement)


@event.listens_for(Session, "after_begin")
def _hand_scope_to_driver(
    session: Session, transaction: SessionTransaction, connection: Any
) -> None:
    """Give the driver connection this transaction's scope before its BEGIN is sent."""
    if connection.dialect.name != "postgresql":
        return
    driver = connection.connection.driver_connection
    if isinstance(driver, ScopedConnection):
        driver.tenantry_begin = begin_suffix(session_scope(session))
