"""Rebuilding the dashboard's rows from their sources: the tickets' kept open counts, the
kept compliance scores and the audit trail. For a database upgraded with clients in it
(migration 0027 creates the table empty), and to repair. Runs per MSP, a batch of
clients per unit of work under a scope of the MSP and those clients (as the app's
changes do), so it can run while the app serves: a change racing with it is redone by
the next rebuild, never lost twice."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.access.service import operator_scope
from tenantry.audit import service as audit
from tenantry.compliance.programme import scoring
from tenantry.dashboard import keeping
from tenantry.db.engine import Database
from tenantry.psa.tickets.open_counts import service as open_counts
from tenantry.tenancy import service as tenancy

BATCH = 200
# The kept rows count breaches by their flags (the sweep flags them): read the counts
# as of a time before any target, so no unflagged overdue ticket is added.
_FLAGS_ONLY = datetime(1970, 1, 1, tzinfo=UTC)


async def row_of(session: AsyncSession, msp: uuid.UUID, client: uuid.UUID) -> None:
    """One client's row from its sources, in the running unit of work (its scope covers
    the client; the MSP's is added). A link that becomes active starts the row right:
    the client may have had tickets and scores before the MSP managed it."""
    counts = await open_counts.per_client(
        session, [client], assignee=None, unassigned=False, now=_FLAGS_ONLY
    )
    await keeping.rebuild_row(
        session,
        msp,
        client,
        open_breached=counts.get(client, (0, 0)),
        scores=await scoring.current(session, client),
        last_activity=await audit.last_action_by_home(session, client, msp),
    )


async def rebuild(
    db: Database,
    msp_ids: list[uuid.UUID] | None = None,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Rebuild the rows of these MSPs (None: every MSP); returns the rows written."""
    async with db.platform_reader() as session:
        if msp_ids is None:
            msp_ids = [t.id for t in await tenancy.tenants_oldest_first(session) if t.is_msp]
        clients = {m: sorted(await tenancy.active_links_of_msp(session, m)) for m in msp_ids}
    written = 0
    for msp, ids in clients.items():
        async with db.unit_of_work(operator_scope([msp])) as session:
            await keeping.forget_others(session, msp, ids)
        for first in range(0, len(ids), BATCH):
            batch = ids[first : first + BATCH]
            async with db.unit_of_work(operator_scope([msp, *batch])) as session:
                for client in batch:
                    await row_of(session, msp, client)
            written += len(batch)
            if progress is not None:
                progress(len(batch))
    return written
