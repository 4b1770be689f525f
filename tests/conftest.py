"""Shared fixtures: one migrated database per backend per test session.

Every test that asks for ``settings``, ``database`` or ``owner_engine`` runs twice,
once per backend (ids ``sqlite`` and ``postgres``), and finds every table empty: the
tables are emptied after each test.

* ``backend``: ``"sqlite"`` or ``"postgres"`` (session-scoped, parametrized). To run a
  test on one backend only: ``@pytest.mark.parametrize("backend", ["postgres"],
  indirect=True)``.
* ``settings``: ``tenantry.config.Settings`` for that backend. ``database_url`` is the
  owner's URL; on PostgreSQL the app connects as ``settings.app_db_role``.
* ``database``: ``tenantry.db.engine.Database(settings)``, shared by the session (its
  pool is reused from test to test, as in production; do not dispose it). On
  PostgreSQL it connects as the application role, so row-level security applies: a
  unit of work of one tenant sets ``tenantry.tenant_id``; one of several switches to
  the role ``tenantry_multi`` and sets ``tenantry.tenant_ids`` (tenantry/db/rls.py).
* ``owner_engine``: an ``AsyncEngine`` as the table owner (on PostgreSQL the
  ``postgres`` superuser, which bypasses row-level security), for seeding rows and
  raw checks.

Async tests are plain ``async def`` functions: they run on anyio (asyncio only).

PostgreSQL: a fresh database ``tenantry_t_<pid>_<random>`` per session on
``TENANTRY_TEST_POSTGRES_URL`` (default ``postgresql://postgres@127.0.0.1:5432/postgres``;
it must be a superuser: it creates a database and the app role, and the owner's view of
the rows must bypass row-level security), dropped at the end. If it is unreachable the
postgres half fails, unless ``TENANTRY_TEST_SKIP_POSTGRES=1``. The roles
``tenantry_app`` (NOINHERIT) and ``tenantry_multi`` belong to the cluster: sessions
running side by side share them, and they outlive the session (``tenantry db upgrade``
repairs them idempotently; a test that must alter one does so inside a transaction it
rolls back).
"""

from __future__ import annotations

import inspect
import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

import tenantry.db.models_registry  # noqa: F401  (complete metadata before collection)
from tenantry.config import Settings
from tenantry.db.base import Base
from tenantry.db.engine import Database, async_url, build_engine
from tenantry.db.migrate import upgrade
from tenantry.db.roles import VERSION_TABLE

# Shared harnesses (tests/harness/): ``cli`` runs the ``tenantry`` command, ``browser``
# is a headless Chromium (module scope).
pytest_plugins = ["tests.harness.cli", "tests.harness.browser"]

BACKENDS = ["sqlite", "postgres"]
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
TEST_SECRET = "test-secret-key-not-for-production-0123456789abcdef"


# ---------------------------------------------------------------- anyio


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    # Session-wide so session-scoped async fixtures (engines, pools) share one loop.
    return "asyncio"


@pytest.hookimpl(tryfirst=True)
def pytest_pycollect_makeitem(collector: pytest.Collector, name: str, obj: object) -> None:
    """Run every ``async def`` test on anyio without each test saying so.

    Runs before anyio's own hook (conftest hooks are called first), which then sees
    the marker and adds the ``anyio_backend`` fixture.
    """
    if not isinstance(collector, pytest.Module | pytest.Class):
        return
    if not collector.istestfunction(obj, name):
        return
    inner = getattr(getattr(obj, "hypothesis", None), "inner_test", obj)
    if inspect.iscoroutinefunction(inner):
        pytest.mark.anyio(obj)


# ---------------------------------------------------------------- databases


@dataclass
class BackendDb:
    name: str
    settings: Settings
    database: Database
    owner_engine: AsyncEngine
    tables: list[str]  # children first, for emptying


def _postgres_base_url() -> str:
    return os.environ.get("TENANTRY_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)


def _plain_dsn(url: str, database: str | None = None) -> str:
    """A libpq-style DSN for asyncpg (no SQLAlchemy driver suffix)."""
    parsed = make_url(url.replace("postgres://", "postgresql://", 1))
    parsed = parsed.set(drivername="postgresql")
    if database is not None:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


async def _admin_connect() -> asyncpg.Connection:
    url = _postgres_base_url()
    try:
        return await asyncpg.connect(_plain_dsn(url), timeout=10)
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        problem = f"{type(exc).__name__}: {exc}"
    # Outside the except block, so the report shows this message, not a traceback chain.
    message = (
        f"PostgreSQL is unreachable at {url} ({problem}). Start it (see "
        "/work/shared/TOOLS.md), point TENANTRY_TEST_POSTGRES_URL at one, or set "
        "TENANTRY_TEST_SKIP_POSTGRES=1 to skip the postgres half of the suite."
    )
    if os.environ.get("TENANTRY_TEST_SKIP_POSTGRES") == "1":
        pytest.skip(message)
    pytest.fail(message, pytrace=False)


def _tables_children_first() -> list[str]:
    """Every table a test may fill, children first. Reference tables (the shipped
    framework library, loaded by ``upgrade``) hold the same rows for every test."""
    from tenantry.db.base import reference_tables

    kept = set(reference_tables())
    return [t.name for t in reversed(Base.metadata.sorted_tables) if t.name not in kept]


@pytest.fixture(scope="session", params=BACKENDS, ids=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
async def _backend_db(
    backend: str, anyio_backend: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[BackendDb]:
    # ``anyio_backend`` is requested so this async fixture also serves sync tests.
    if backend == "sqlite":
        path: Path = tmp_path_factory.mktemp("sqlite") / "tenantry.db"
        settings = Settings(database_url=f"sqlite:///{path}", secret_key=TEST_SECRET)
        await upgrade(settings)
        async with _opened(backend, settings) as db:
            yield db
        return

    admin = await _admin_connect()
    name = f"tenantry_t_{os.getpid()}_{secrets.token_hex(4)}"
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        settings = Settings(
            database_url=_plain_dsn(_postgres_base_url(), name),
            app_db_role="tenantry_app",
            app_db_password="",
            app_database_url="",
            secret_key=TEST_SECRET,
        )
        await upgrade(settings)
        async with _opened(backend, settings) as db:
            yield db
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@asynccontextmanager
async def _opened(name: str, settings: Settings) -> AsyncIterator[BackendDb]:
    """The app's Database and the owner's engine for one migrated database."""
    db = BackendDb(
        name,
        settings,
        Database(settings),
        build_engine(async_url(settings.database_url), settings),
        _tables_children_first(),
    )
    try:
        yield db
    finally:
        await db.database.dispose()
        await db.owner_engine.dispose()


async def _empty_tables(db: BackendDb) -> None:
    async with db.owner_engine.begin() as conn:
        if db.name == "postgres":
            # A test that left a transaction open would make TRUNCATE wait forever.
            await conn.execute(text("SET LOCAL lock_timeout = '10s'"))
            # Only tables holding rows: TRUNCATE of an empty table still costs a file swap.
            probe = " UNION ALL ".join(
                f"SELECT '{t}' WHERE EXISTS (SELECT 1 FROM {t})" for t in db.tables
            )
            filled = [row[0] for row in await conn.execute(text(probe))]
            if filled:
                await conn.execute(text(f"TRUNCATE {', '.join(filled)} CASCADE"))
        else:
            for table in db.tables:
                if table != VERSION_TABLE:
                    await conn.execute(text(f"DELETE FROM {table}"))


@pytest.fixture
async def _clean_db(_backend_db: BackendDb) -> AsyncIterator[BackendDb]:
    yield _backend_db
    await _empty_tables(_backend_db)


@pytest.fixture
def settings(_clean_db: BackendDb) -> Settings:
    return _clean_db.settings


@pytest.fixture
def database(_clean_db: BackendDb) -> Database:
    return _clean_db.database


@pytest.fixture
def owner_engine(_clean_db: BackendDb) -> AsyncEngine:
    return _clean_db.owner_engine
