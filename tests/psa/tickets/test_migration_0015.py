"""Migration 0015 on existing tickets, both databases: targets already missed get their
flag, the open counts come out equal to a recount, and downgrade removes the table
(the test database steps down to 0013 and up again)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from alembic import command
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantry.config import Settings
from tenantry.db import migrate
from tenantry.db.engine import Database
from tenantry.psa.tickets.models import Ticket, TicketOpenCount
from tests.factories import make_tenant


async def _downgrade(engine: AsyncEngine, revision: str) -> None:
    cfg = migrate.alembic_config()

    def run(connection: sa.Connection) -> None:
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, revision)

    async with engine.connect() as conn:
        await conn.run_sync(run)
        await conn.commit()


def _ticket(tenant_id: uuid.UUID, number: int, status: str, **values: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "tenant_id": tenant_id,
        "id": uuid.uuid4(),
        "created_at": now,
        "updated_at": now,
        "number": number,
        "title": f"#{number}",
        "description": "",
        "status": status,
        "priority": "P3",
        "category": "",
        "tags": [],
        "sla_consumed_seconds": 0,
        "first_response_breached": False,
        "resolution_breached": False,
        # Every row names every column: an executemany takes its columns from the first.
        **dict.fromkeys(("assignee_user_id", "first_response_due_at", "resolution_due_at")),
        **dict.fromkeys(("resolved_at", "first_responded_at")),
        **values,
    }


async def test_upgrade_flags_missed_targets_and_counts_open_tickets(
    settings: Settings, database: Database, owner_engine: AsyncEngine
) -> None:
    a = (await make_tenant(database, "mig-a")).id
    b = (await make_tenant(database, "mig-b")).id
    someone = uuid.uuid4()
    past = datetime.now(UTC) - timedelta(hours=1)
    future = datetime.now(UTC) + timedelta(hours=1)
    rows = [
        _ticket(a, 1, "new"),
        _ticket(a, 2, "open", assignee_user_id=someone, first_response_due_at=past),
        _ticket(a, 3, "on_hold", assignee_user_id=someone, resolution_breached=True),
        _ticket(a, 4, "resolved", resolution_due_at=past, resolved_at=past),
        _ticket(a, 5, "closed", resolution_due_at=past),
        _ticket(a, 6, "open", resolution_due_at=future),
        _ticket(b, 1, "waiting_on_customer"),
    ]
    await _downgrade(owner_engine, "0013")
    try:
        async with owner_engine.begin() as conn:
            await conn.execute(sa.insert(Ticket.__table__), rows)
    finally:
        await migrate.upgrade(settings)
    assert await migrate.current_revision(settings) == migrate.head_revision()

    async with owner_engine.connect() as conn:
        kept = {
            (r.tenant_id, r.assignee_user_id): (r.open, r.breached)
            for r in await conn.execute(sa.select(TicketOpenCount.__table__))
        }
        flags = {
            (r.tenant_id, r.number): (r.first_response_breached, r.resolution_breached)
            for r in await conn.execute(sa.select(Ticket.__table__))
        }
    assert kept == {(a, None): (2, 0), (a, someone): (2, 2), (b, None): (1, 0)}
    assert flags[(a, 2)] == (True, False)  # overdue and open: flagged
    assert flags[(a, 4)] == flags[(a, 5)] == (False, False)  # done: left as it was
    assert flags[(a, 6)] == (False, False)  # not due yet

    await _downgrade(owner_engine, "0013")
    try:
        async with owner_engine.connect() as conn:
            tables = await conn.run_sync(lambda c: sa.inspect(c).get_table_names())
        assert "ticket_open_counts" not in tables
    finally:
        await migrate.upgrade(settings)
