"""Retention: the oldest events go, an anchor stays, and what remains still verifies and
still names a broken link."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantry.access.service import operator_scope
from tenantry.audit import retention
from tenantry.audit import service as audit
from tenantry.audit.changes import changed
from tenantry.audit.models import AuditAnchor, AuditEvent
from tenantry.audit.schemas import OPERATOR, AuditAction
from tenantry.config import Settings
from tenantry.db.engine import Database
from tenantry.errors import Conflict
from tenantry.tenancy.models import Tenant
from tenantry.tenancy.service import TenancyService
from tests.audit.test_chain import tamper
from tests.harness.cli import Cli

START = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[datetime]]:
    """The time record() stamps on events; tests move it forward."""
    now = [START]
    monkeypatch.setattr(audit, "utcnow", lambda: now[0])
    yield now


@pytest.fixture
async def tenant_id(database: Database, clock: list[datetime]) -> uuid.UUID:
    """Six events, one a day: its creation (day 0) and five renames (days 1..5)."""
    async with database.unit_of_work(operator_scope([])) as session:
        tenant = await TenancyService(session).create_tenant(
            name="Contoso", display_name=None, is_msp=False, actor=OPERATOR
        )
        for n in range(1, 6):
            clock[0] = START + timedelta(days=n)
            await audit.record(
                session,
                tenant_id=tenant.id,
                actor=OPERATOR,
                action=AuditAction.TENANT_RENAMED,
                target_type="tenant",
                target_id=tenant.id,
                changes=changed("display_name", n - 1, n),
            )
    clock[0] = START + timedelta(days=10)
    return tenant.id


async def prune(
    database: Database, tenant_id: uuid.UUID, before: datetime
) -> retention.PruneResult | None:
    async with database.unit_of_work(operator_scope([tenant_id])) as session:
        return await retention.prune(session, tenant_id, before)


async def verify(database: Database, tenant_id: uuid.UUID) -> audit.ChainReport:
    async with database.unit_of_work(operator_scope([tenant_id])) as session:
        return await audit.verify_chain(session, tenant_id)


async def seqs(database: Database, tenant_id: uuid.UUID) -> list[int]:
    async with database.unit_of_work(operator_scope([tenant_id])) as session:
        rows = await session.scalars(
            select(AuditEvent.seq).where(AuditEvent.tenant_id == tenant_id).order_by("seq")
        )
        return list(rows)


async def test_prune_keeps_an_anchor_and_the_rest_verifies(
    database: Database, tenant_id: uuid.UUID
) -> None:
    result = await prune(database, tenant_id, START + timedelta(days=3))
    assert result is not None
    assert (result.events_pruned, result.pruned_through_seq) == (3, 3)
    # Events 4..6 remain, and the pruning itself was recorded as #7.
    assert await seqs(database, tenant_id) == [4, 5, 6, 7]
    async with database.unit_of_work(operator_scope([tenant_id])) as session:
        anchor = await session.scalar(select(AuditAnchor))
        pruned = await session.scalar(select(AuditEvent).where(AuditEvent.seq == 7))
        fourth = await session.scalar(select(AuditEvent).where(AuditEvent.seq == 4))
    assert anchor is not None and pruned is not None and fourth is not None
    assert anchor.anchor_hash == fourth.prev_hash and anchor.events_pruned == 3
    assert pruned.action == "audit.pruned"
    assert pruned.changes["pruned_through_seq"] == [None, 3]
    assert pruned.changes["events_pruned"] == [None, 3]
    report = await verify(database, tenant_id)
    assert report.ok, report.reason
    assert report.events == 4

    # Nothing more is old enough: no second anchor, no event.
    assert await prune(database, tenant_id, START + timedelta(days=3)) is None
    # A later cut starts from the anchor and makes a newer one.
    again = await prune(database, tenant_id, START + timedelta(days=5, hours=1))
    assert again is not None and again.pruned_through_seq == 6 and again.events_pruned == 3
    assert await seqs(database, tenant_id) == [7, 8]
    assert (await verify(database, tenant_id)).ok


async def test_pruning_stops_at_the_first_newer_event(
    database: Database, tenant_id: uuid.UUID, clock: list[datetime]
) -> None:
    # An event stamped out of order (another host's clock) must not leave a hole.
    async with database.unit_of_work(operator_scope([tenant_id])) as session:
        clock[0] = START - timedelta(days=1)
        await audit.record(
            session, tenant_id=tenant_id, actor=OPERATOR, action=AuditAction.TENANT_RENAMED
        )
    clock[0] = START + timedelta(days=10)
    result = await prune(database, tenant_id, START + timedelta(days=3))
    assert result is not None and result.pruned_through_seq == 3
    assert await seqs(database, tenant_id) == [4, 5, 6, 7, 8]
    assert (await verify(database, tenant_id)).ok


async def test_an_event_altered_after_pruning_is_named(
    database: Database, tenant_id: uuid.UUID, owner_engine: AsyncEngine
) -> None:
    await prune(database, tenant_id, START + timedelta(days=3))
    await tamper(owner_engine, "UPDATE audit_events SET actor_name = 'x' WHERE seq = 5")
    report = await verify(database, tenant_id)
    assert report.broken_at == 5 and "altered" in (report.reason or "")


async def test_an_event_deleted_after_the_anchor_is_named(
    database: Database, tenant_id: uuid.UUID, owner_engine: AsyncEngine
) -> None:
    await prune(database, tenant_id, START + timedelta(days=3))
    await tamper(owner_engine, "DELETE FROM audit_events WHERE seq = 4")
    report = await verify(database, tenant_id)
    assert report.broken_at == 4 and "missing" in (report.reason or "")


async def test_a_removed_anchor_is_noticed(
    database: Database, tenant_id: uuid.UUID, owner_engine: AsyncEngine
) -> None:
    await prune(database, tenant_id, START + timedelta(days=3))
    await tamper(owner_engine, "DELETE FROM audit_anchors")
    report = await verify(database, tenant_id)
    assert report.broken_at == 1 and "missing" in (report.reason or "")


async def test_a_planted_anchor_does_not_hide_deleted_events(
    database: Database, tenant_id: uuid.UUID, owner_engine: AsyncEngine
) -> None:
    """Deleting the oldest events and writing an anchor that fits is caught: no
    audit.pruned event in the chain vouches for that anchor."""
    async with database.unit_of_work(operator_scope([tenant_id])) as session:
        third = await session.scalar(select(AuditEvent).where(AuditEvent.seq == 3))
    assert third is not None
    anchor_id = uuid.uuid4()
    tid = str(tenant_id) if owner_engine.dialect.name == "postgresql" else tenant_id.hex
    aid = str(anchor_id) if owner_engine.dialect.name == "postgresql" else anchor_id.hex
    await tamper(
        owner_engine,
        "DELETE FROM audit_events WHERE seq <= 3",
        "INSERT INTO audit_anchors (tenant_id, id, pruned_through_seq, anchor_hash, "
        f"events_pruned, pruned_before, pruned_at, created_at) VALUES ('{tid}', '{aid}', 3, "
        f"'{third.hash}', 3, '2026-01-04 00:00:00', '2026-01-11 00:00:00', "
        "'2026-01-11 00:00:00')",
    )
    report = await verify(database, tenant_id)
    assert not report.ok and "audit.pruned" in (report.reason or "")


async def test_a_tampered_chain_is_not_pruned(
    database: Database, tenant_id: uuid.UUID, owner_engine: AsyncEngine
) -> None:
    # Pruning would destroy the evidence: refused, nothing deleted.
    await tamper(owner_engine, "UPDATE audit_events SET actor_name = 'x' WHERE seq = 2")
    with pytest.raises(Conflict):
        await prune(database, tenant_id, START + timedelta(days=3))
    assert await seqs(database, tenant_id) == [1, 2, 3, 4, 5, 6]


async def test_the_append_only_guard_still_holds_outside_pruning(
    database: Database, tenant_id: uuid.UUID
) -> None:
    if database.engine.dialect.name != "postgresql":
        pytest.skip("SQLite does not guard DELETE (no transaction settings)")
    from sqlalchemy.exc import DBAPIError

    with pytest.raises(DBAPIError, match="append-only"):
        async with database.unit_of_work(operator_scope([tenant_id])) as session:
            await session.execute(
                AuditEvent.__table__.delete().where(AuditEvent.tenant_id == tenant_id)
            )

    # ---------------------------------------------------------------- settings and CLI


async def _set_retention(database: Database, tenant_id: uuid.UUID, days: int | None) -> None:
    async with database.unit_of_work(operator_scope([tenant_id])) as session:
        await retention.set_retention(session, tenant_id, days, actor=OPERATOR)


def test_cli_prune_applies_each_tenants_retention(
    cli: Cli, database: Database, settings: Settings, tenant_id: uuid.UUID
) -> None:
    import asyncio

    async def set_it() -> None:
        # A Database of its own: the shared one's pool belongs to the tests' event loop.
        own = Database(settings)
        try:
            await _set_retention(own, tenant_id, 30)
        finally:
            await own.dispose()

    asyncio.run(set_it())
    # 30 days after day 2 (and before day 3): the first three events are past retention.
    now = (START + timedelta(days=32, hours=12)).isoformat()
    result = cli("audit", "prune", "--now", now, "--json")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    # Only the tenant with a retention period; its settings change (#7) was recent.
    assert report == [
        {
            "tenant": "contoso",
            "pruned_before": (START + timedelta(days=2, hours=12)).isoformat(),
            "events_pruned": 3,
            "pruned_through_seq": 3,
        }
    ]
    verified = cli("audit", "verify", "--json")
    assert verified.exit_code == 0, verified.stdout
    assert all(r["ok"] for r in json.loads(verified.stdout))
    bad = cli("audit", "prune", "--now", "yesterday")
    assert bad.exit_code != 0 and "--now" in bad.stderr
    bad = cli("audit", "prune", "--now", "2027-01-01T00:00:00")
    assert bad.exit_code != 0 and "time zone" in bad.stderr


async def test_retention_is_validated_and_audited(database: Database, tenant_id: uuid.UUID) -> None:
    from tenantry.errors import ValidationFailed

    for days in (0, 29, 36_501):
        with pytest.raises(ValidationFailed) as caught:
            await _set_retention(database, tenant_id, days)
        assert caught.value.field == "retention_days"
    await _set_retention(database, tenant_id, 90)
    await _set_retention(database, tenant_id, 90)  # no change: no event
    await _set_retention(database, tenant_id, None)
    async with database.unit_of_work(operator_scope([tenant_id])) as session:
        changes = list(
            await session.scalars(
                select(AuditEvent.changes)
                .where(AuditEvent.action == "audit.settings_changed")
                .order_by(AuditEvent.seq)
            )
        )
        tenant = await session.get(Tenant, tenant_id)
        total = await session.scalar(select(func.count()).select_from(AuditEvent))
    assert changes == [
        {"audit_retention_days": [None, 90]},
        {"audit_retention_days": [90, None]},
    ]
    assert tenant is not None and tenant.audit_retention_days is None
    assert total == 8
