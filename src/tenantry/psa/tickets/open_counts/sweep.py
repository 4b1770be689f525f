"""The breach sweep: open tickets whose target passed without a change get their flag,
and move into the kept breached counts. Until it comes by, the counts add such tickets
when read (repository.open_counts_by_tenant), so what a user sees is exact either way;
the sweep keeps that addition short.

Small units of work that cross tenants: each flags up to BATCH tickets under a scope of
exactly their tenants (row-level security admits those and no other), so a minute in
which every client breached at once is a few transactions per thousand tickets, not one
per client."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime

from tenantry.access.service import operator_scope
from tenantry.db.base import utcnow
from tenantry.db.engine import Database
from tenantry.logging import get_logger
from tenantry.psa.tickets.open_counts import repository
from tenantry.psa.tickets.open_counts.service import record_flagged
from tenantry.tenancy import service as tenancy

log = get_logger("tenantry.tickets")

# Tickets found per look across tenants, and flagged per unit of work (short
# transactions: a request changing one of them waits at most for one batch).
FIND_LIMIT = 5_000
BATCH = 200


async def sweep(db: Database, now: datetime | None = None) -> int:
    """Flag every open ticket overdue at ``now`` and unflagged; returns how many now
    count as breached. Safe to run in several processes at once: a ticket is flagged
    once (the UPDATE checks it is still unflagged), locked ones are left for later."""
    now = now or utcnow()
    async with db.platform_reader() as session:
        tenant_ids = await tenancy.every_tenant_id(session)
    flagged = 0
    while True:
        async with db.unit_of_work(operator_scope(tenant_ids)) as session:
            due = sorted(await repository.overdue_unflagged_ids(session, now, FIND_LIMIT))
        this_round = 0
        for first in range(0, len(due), BATCH):
            this_round += await _flag(db, due[first : first + BATCH], now)
        flagged += this_round
        # A full look may hide more; one that flagged nothing (all locked) waits.
        if len(due) < FIND_LIMIT or this_round == 0:
            return flagged


async def _flag(db: Database, tickets: list[tuple[uuid.UUID, uuid.UUID]], now: datetime) -> int:
    """One batch in one unit of work over the tenants it names."""
    try:
        async with db.unit_of_work(operator_scope({t for t, _ in tickets})) as session:
            flagged = await repository.flag_overdue(session, tickets, now)
            await record_flagged(session, flagged)
    except Exception as exc:  # one batch's trouble must not stop the others
        log.warning("breach sweep failed", tickets=len(tickets), error=repr(exc))
        return 0
    return len(flagged)


async def sweep_forever(db: Database, interval: float = 60.0) -> None:
    """The app's background sweep, every ``interval`` seconds. Cancel the task to stop."""
    while True:
        try:
            flagged = await sweep(db)
            if flagged:
                log.info("ticket breaches swept", flagged=flagged)
        except Exception as exc:  # the database may be restarting: try again next time
            log.warning("breach sweep failed", error=repr(exc))
        await asyncio.sleep(interval)
