"""Alembic environment: one migration tree for SQLite and PostgreSQL, run as the owner.

``tenantry.db.migrate`` hands over an open connection in ``config.attributes``;
run without one (plain ``alembic`` with an ini file), it connects to
``TENANTRY_DATABASE_URL`` itself.
"""

from __future__ import annotations

import asyncio
import warnings
from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

import tenantry.db.models_registry  # noqa: F401  (every table must be in the metadata)
from tenantry.config import Settings
from tenantry.db.base import Base, UTCDateTime
from tenantry.db.engine import async_url

config = context.config
target_metadata = Base.metadata


def render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    # Migrations must not import app types that may change later: spell the column
    # type the database sees.
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _configure(**kwargs: Any) -> None:
    context.configure(
        target_metadata=target_metadata,
        render_item=render_item,
        compare_type=True,
        # SQLite alters tables by copying them; harmless on PostgreSQL.
        render_as_batch=True,
        **kwargs,
    )


def run_offline() -> None:
    _configure(url=async_url(Settings().database_url), literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_on(connection: Connection) -> None:
    _configure(connection=connection)
    with warnings.catch_warnings():
        # SQLite batch mode reflects the table it alters and cannot reflect the
        # expression index on tenants (lower(display_name)); ADD COLUMN keeps it in
        # place, so the warning only cluttered `tenantry serve --demo`'s first screen.
        warnings.filterwarnings("ignore", message=".*expression-based index")
        with context.begin_transaction():
            context.run_migrations()


async def _run_own_connection() -> None:
    engine = create_async_engine(async_url(Settings().database_url), poolclass=pool.NullPool)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(run_on)
            await connection.commit()
    finally:
        await engine.dispose()


if context.is_offline_mode():
    run_offline()
elif (given := config.attributes.get("connection")) is not None:
    run_on(given)
else:
    asyncio.run(_run_own_connection())
