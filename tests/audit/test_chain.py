"""The audit trail is tamper-evident: `tenantry audit verify` names the first broken link."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantry.access.service import operator_scope
from tenantry.audit import service as audit
from tenantry.audit.changes import changed
from tenantry.audit.schemas import OPERATOR, AuditAction
from tenantry.config import Settings
from tenantry.db.engine import Database, async_url, build_engine
from tenantry.tenancy.service import TenancyService
from tests.harness.cli import Cli


@pytest.fixture
async def tenant_id(database: Database) -> uuid.UUID:
    """A tenant with six events: its creation and five renames."""
    async with database.unit_of_work(operator_scope([])) as session:
        tenant = await TenancyService(session).create_tenant(
            name="Contoso", display_name=None, is_msp=False, actor=OPERATOR
        )
        for n in range(5):
            await audit.record(
                session,
                tenant_id=tenant.id,
                actor=OPERATOR,
                action=AuditAction.TENANT_RENAMED,
                target_type="tenant",
                target_id=tenant.id,
                changes=changed("display_name", n, n + 1),
            )
    return tenant.id


async def verify(database: Database, tenant_id: uuid.UUID) -> audit.ChainReport:
    async with database.unit_of_work(operator_scope([tenant_id])) as session:
        return await audit.verify_chain(session, tenant_id)


async def tamper(owner_engine: AsyncEngine, *statements: str) -> None:
    """Run SQL as the owner with the append-only guard out of the way, as an attacker
    with database access would."""
    async with owner_engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execute(text("SET LOCAL session_replication_role = replica"))
        else:
            await conn.execute(text("DROP TRIGGER IF EXISTS audit_events_no_update"))
        for statement in statements:
            await conn.execute(text(statement))
        if conn.dialect.name == "sqlite":
            await conn.execute(
                text(
                    "CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events BEGIN "
                    "SELECT RAISE(ABORT, 'UPDATE on audit_events refused: the table is "
                    "append-only'); END"
                )
            )


async def test_an_untouched_chain_verifies(database: Database, tenant_id: uuid.UUID) -> None:
    report = await verify(database, tenant_id)
    assert report.ok and report.events == 6


async def test_a_changed_event_is_named(
    database: Database, tenant_id: uuid.UUID, owner_engine: AsyncEngine
) -> None:
    await tamper(owner_engine, "UPDATE audit_events SET actor_name = 'someone else' WHERE seq = 3")
    report = await verify(database, tenant_id)
    assert report.broken_at == 3 and "altered" in (report.reason or "")


async def test_a_deleted_event_is_named(
    database: Database, tenant_id: uuid.UUID, owner_engine: AsyncEngine
) -> None:
    await tamper(owner_engine, "DELETE FROM audit_events WHERE seq = 4")
    report = await verify(database, tenant_id)
    assert report.broken_at == 4 and "missing" in (report.reason or "")


async def test_reordered_events_are_named(
    database: Database, tenant_id: uuid.UUID, owner_engine: AsyncEngine
) -> None:
    # Swap two events' places in the sequence.
    await tamper(
        owner_engine,
        "UPDATE audit_events SET seq = 1000 WHERE seq = 2",
        "UPDATE audit_events SET seq = 2 WHERE seq = 5",
        "UPDATE audit_events SET seq = 5 WHERE seq = 1000",
    )
    report = await verify(database, tenant_id)
    assert report.broken_at == 2


async def test_events_cut_from_the_end_are_noticed(
    database: Database, tenant_id: uuid.UUID, owner_engine: AsyncEngine
) -> None:
    await tamper(owner_engine, "DELETE FROM audit_events WHERE seq >= 5")
    report = await verify(database, tenant_id)
    assert report.broken_at == 5 and "removed from the end" in (report.reason or "")


def test_cli_verify_and_export(cli: Cli, settings: Settings, tenant_id: uuid.UUID) -> None:
    result = cli("audit", "verify", "--tenant", "contoso", "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)[0]["ok"] is True

    exported = cli("audit", "export", "--tenant", "contoso")
    lines = [json.loads(line) for line in exported.stdout.splitlines()]
    assert [e["seq"] for e in lines] == [1, 2, 3, 4, 5, 6]
    assert lines[0]["action"] == "tenant.created"
    as_csv = cli("audit", "export", "--tenant", "contoso", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert len(rows) == 6 and rows[2]["seq"] == "3"
    # The stored changes as written, and beside them as people read them.
    assert json.loads(rows[1]["changes"]) == {"display_name": [0, 1]}
    assert rows[1]["changes_text"] == "display_name: 0 → 1"
    bad = cli("audit", "export", "--tenant", "contoso", "--format", "xml")
    assert bad.exit_code != 0 and "--format" in bad.stderr

    async def break_it() -> None:
        engine = build_engine(async_url(settings.database_url), settings, owner=True)
        try:
            await tamper(engine, "UPDATE audit_events SET target_label = 'x' WHERE seq = 2")
        finally:
            await engine.dispose()

    asyncio.run(break_it())
    result = cli("audit", "verify", "--tenant", "contoso")
    assert result.exit_code == 1
    assert "event #2 was altered" in result.stdout
