"""Appending to a chain: every event follows the one before it, whatever the order of
writers: many events in one unit of work, in two tenants at once, a tenant's very first
event, a session that comes back after others wrote, a rolled-back savepoint, and two
transactions writing one tenant's chain at the same time."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from sqlalchemy import select

from tenantry.access.service import operator_scope
from tenantry.audit import service as audit
from tenantry.audit.changes import changed
from tenantry.audit.models import GENESIS, AuditChainHead, AuditEvent
from tenantry.audit.schemas import OPERATOR, AuditAction
from tenantry.db.engine import Database
from tenantry.db.scope import ScopeViolation
from tests.factories import make_tenant


async def _nothing(*args: Any, **kwargs: Any) -> None:
    return None


@pytest.fixture
async def two(database: Database) -> tuple[uuid.UUID, uuid.UUID]:
    """Two tenants, each with its chain begun (``tenant.created``, seq 1)."""
    a = await make_tenant(database, "alpha")
    b = await make_tenant(database, "beta")
    return a.id, b.id


@pytest.fixture
async def unchained(database: Database) -> uuid.UUID:
    """A tenant with no audit event yet, hence no chain head."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(audit, "record", _nothing)
        tenant = await make_tenant(database, "fresh")
    return tenant.id


async def rename(session: Any, tenant_id: uuid.UUID, n: int = 0) -> AuditEvent:
    return await audit.record(
        session,
        tenant_id=tenant_id,
        actor=OPERATOR,
        action=AuditAction.TENANT_RENAMED,
        target_type="tenant",
        target_id=tenant_id,
        changes=changed("display_name", n, n + 1),
    )


async def stored(database: Database, tenant_id: uuid.UUID) -> list[AuditEvent]:
    async with database.unit_of_work(operator_scope([tenant_id])) as session:
        return list(await session.scalars(select(AuditEvent).order_by(AuditEvent.seq)))


async def assert_whole(database: Database, tenant_id: uuid.UUID, events: int) -> None:
    """The chain verifies, holds ``events`` events numbered 1..events, and its head is
    the last one."""
    async with database.unit_of_work(operator_scope([tenant_id])) as session:
        report = await audit.verify_chain(session, tenant_id)
        head = await session.scalar(select(AuditChainHead))
    assert report.ok, report.reason
    rows = await stored(database, tenant_id)
    assert [e.seq for e in rows] == list(range(1, events + 1))
    assert head is not None and (head.seq, head.last_hash) == (events, rows[-1].hash)


async def test_many_events_in_one_unit_of_work_in_two_tenants(
    database: Database, two: tuple[uuid.UUID, uuid.UUID]
) -> None:
    a, b = two
    async with database.unit_of_work(operator_scope([a, b])) as session:
        written = [await rename(session, tenant, n) for n in range(30) for tenant in (a, b)]
    # What record() returned is what was stored.
    assert [e.seq for e in written if e.tenant_id == a] == list(range(2, 32))
    by_id = {e.id: e for e in [*await stored(database, a), *await stored(database, b)]}
    assert all(
        (by_id[e.id].seq, by_id[e.id].prev_hash, by_id[e.id].hash) == (e.seq, e.prev_hash, e.hash)
        for e in written
    )
    await assert_whole(database, a, 31)
    await assert_whole(database, b, 31)


async def test_the_first_event_of_a_tenant_starts_its_chain(
    database: Database, unchained: uuid.UUID
) -> None:
    async with database.unit_of_work(operator_scope([unchained])) as session:
        first = await rename(session, unchained)
        second = await rename(session, unchained, 1)
    assert (first.seq, first.prev_hash) == (1, GENESIS)
    assert (second.seq, second.prev_hash) == (2, first.hash)
    await assert_whole(database, unchained, 2)


async def test_a_session_that_comes_back_after_others_wrote_follows_them(
    database: Database, two: tuple[uuid.UUID, uuid.UUID]
) -> None:
    a, _ = two
    session = database.session(operator_scope([a]))
    try:
        await rename(session, a, 1)
        await session.commit()
        async with database.unit_of_work(operator_scope([a])) as other:
            await rename(other, a, 2)
        # The head this session last left (seq 2) has moved on to seq 3.
        assert (await rename(session, a, 3)).seq == 4
        await session.commit()
    finally:
        await session.close()
    await assert_whole(database, a, 4)


async def test_an_event_rolled_back_with_its_savepoint_leaves_no_gap(
    database: Database, two: tuple[uuid.UUID, uuid.UUID]
) -> None:
    a, _ = two
    async with database.unit_of_work(operator_scope([a])) as session:
        await rename(session, a, 1)
        with pytest.raises(LookupError):
            async with session.begin_nested():
                await rename(session, a, 2)
                raise LookupError("the change this event recorded failed")
        assert (await rename(session, a, 3)).seq == 3
    await assert_whole(database, a, 3)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_a_tenant_outside_the_scope_is_refused_without_row_level_security(
    database: Database, two: tuple[uuid.UUID, uuid.UUID], unchained: uuid.UUID
) -> None:
    # SQLite has only the application's guard: record() itself must refuse, whether the
    # chain exists (b) or would be started (unchained), and before or after an event
    # the scope does cover was written in the same unit of work.
    a, b = two
    for outside in (b, unchained):
        with pytest.raises(ScopeViolation, match="outside the tenant scope"):
            async with database.unit_of_work(operator_scope([a])) as session:
                await rename(session, a)
                await rename(session, outside)
        with pytest.raises(ScopeViolation):
            async with database.unit_of_work(operator_scope([a])) as session:
                await rename(session, outside)
    await assert_whole(database, a, 1)
    await assert_whole(database, b, 1)
    async with database.unit_of_work(operator_scope([unchained])) as session:
        assert await session.scalar(select(AuditChainHead)) is None


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
async def test_concurrent_writers_of_one_chain_never_fork_it(
    database: Database, two: tuple[uuid.UUID, uuid.UUID]
) -> None:
    a, _ = two

    async def writer(units: int, per_unit: int) -> list[int]:
        seqs = []
        for _ in range(units):
            async with database.unit_of_work(operator_scope([a])) as session:
                for n in range(per_unit):
                    seqs.append((await rename(session, a, n)).seq)
                    await asyncio.sleep(0)  # let the other writers in between
        return seqs

    async def one_session_writer(units: int, per_unit: int) -> list[int]:
        # One session over many transactions: the head it remembers from its last one
        # has usually moved on by its next (the compare-and-set path).
        seqs = []
        session = database.session(operator_scope([a]))
        try:
            for _ in range(units):
                for n in range(per_unit):
                    seqs.append((await rename(session, a, n)).seq)
                    await asyncio.sleep(0)
                await session.commit()
        finally:
            await session.close()
        return seqs

    written = await asyncio.gather(writer(20, 1), writer(10, 3), one_session_writer(10, 3))
    seqs = sorted(s for w in written for s in w)
    assert seqs == list(range(2, 82))
    await assert_whole(database, a, 81)


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
async def test_two_first_events_at_once_start_one_chain(
    database: Database, unchained: uuid.UUID
) -> None:
    # The first writer makes the head and holds it uncommitted; the second cannot see
    # it, tries to make it too, waits for the first to commit, then follows it.
    first_wrote, second_started = asyncio.Event(), asyncio.Event()

    async def first() -> int:
        async with database.unit_of_work(operator_scope([unchained])) as session:
            seq = (await rename(session, unchained, 1)).seq
            first_wrote.set()
            await second_started.wait()
            await asyncio.sleep(0.3)  # the second is now waiting on the head
        return seq

    async def second() -> int:
        await first_wrote.wait()
        async with database.unit_of_work(operator_scope([unchained])) as session:
            second_started.set()
            return (await rename(session, unchained, 2)).seq

    assert await asyncio.gather(first(), second()) == [1, 2]
    await assert_whole(database, unchained, 2)
