"""The migration tree builds exactly the mapped schema, upgrade is idempotent, and
`db status` names what would undo the isolation."""

from __future__ import annotations

import secrets
import warnings
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantry.config import Settings
from tenantry.db import rls
from tenantry.db.base import Base, tenant_owned_tables
from tenantry.db.migrate import current_revision, head_revision, upgrade
from tenantry.db.status import _pg_problems, check


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


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
async def test_status_names_what_would_undo_the_two_policy_design(
    settings: Settings, owner_engine: AsyncEngine
) -> None:
    """`db status` (check) reports an inheriting app role, a missing membership, a missing
    policy, a multi role short of a privilege, and another role inheriting it. The roles
    belong to the cluster: everything is changed in a transaction that is rolled back."""
    app, multi = settings.app_db_role, rls.MULTI_ROLE
    stranger = f"tenantry_t_inheritor_{secrets.token_hex(4)}"
    async with owner_engine.connect() as conn:
        tx = await conn.begin()
        try:
            await conn.execute(text("SET LOCAL lock_timeout = '10s'"))
            assert await _pg_problems(conn, app, tenant_owned_tables()) == []
            for statement in (
                f"ALTER ROLE {app} INHERIT",
                f"REVOKE {multi} FROM {app}",
                f"DROP POLICY {rls.MULTI_POLICY_NAME} ON audit_events",
                f"REVOKE SELECT ON audit_chain_heads FROM {multi}",
                f"CREATE ROLE {stranger} INHERIT",
                f"GRANT {multi} TO {stranger}",
            ):
                await conn.execute(text(statement))
            problems = "\n".join(await _pg_problems(conn, app, tenant_owned_tables()))
        finally:
            await tx.rollback()
    assert f"application role {app} is INHERIT" in problems
    assert f"application role {app} is not a member of {multi}" in problems
    assert "tenant-owned table audit_events must have exactly the policies" in problems
    assert f"role {multi} cannot read audit_chain_heads" in problems
    assert f"role(s) {stranger} inherit {multi}" in problems
