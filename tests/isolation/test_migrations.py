"""The migration tree builds exactly the mapped schema, and upgrade is idempotent."""

from __future__ import annotations

import warnings
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantry.config import Settings
from tenantry.db.base import Base
from tenantry.db.migrate import check, current_revision, head_revision, upgrade


def _diff(connection: Connection) -> list[Any]:
    with warnings.catch_warnings():
        # SQLite cannot reflect expression indexes; alembic warns and skips them.
        warnings.filterwarnings("ignore", message=".*expression-based index")
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))


async def test_the_migrated_schema_matches_the_models(owner_engine: AsyncEngine) -> None:
    async with owner_engine.connect() as conn:
        assert await conn.run_sync(_diff) == []


async def test_upgrade_twice_is_harmless_and_status_is_clean(settings: Settings) -> None:
    await upgrade(settings)
    assert await current_revision(settings) == head_revision()
    status = await check(settings)
    assert status.problems == ()
    assert status.ok
