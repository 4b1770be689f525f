"""Keeping the dashboard's rows in step, in the transaction of the change in the client.

Called by the owners of the figures: the tickets' open counts (``tickets_moved``), the
compliance programme's kept scores (``scores_kept``), the audit trail for an action of
the MSP's people inside a client (``msp_acted``), and customer deletion
(``forget_client``). Each finds the client's managing MSP (an active link; none: there
is no dashboard to keep) and widens the unit of work to it with ``Why.DASHBOARD``: the
row is the MSP's, the change is the client's.

Lock order: a change locks its own rows (tickets, counts, scores) first, then the
dashboard row, then the audit chain's head (``msp_acted`` runs before the event is
appended), so two transactions on one client queue instead of deadlocking."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.access.widening import Why, widen
from tenantry.dashboard import repository
from tenantry.db.scope import session_scope
from tenantry.tenancy.directory import msp_of, msps_of


async def _reach(session: AsyncSession, msps: Iterable[uuid.UUID]) -> None:
    scope = session_scope(session.sync_session)
    missing = sorted({m for m in msps if not scope.covers(m)})
    if missing:
        await widen(session, *missing, why=Why.DASHBOARD)


async def tickets_moved(
    session: AsyncSession, per_client: Mapping[uuid.UUID, tuple[int, int]]
) -> None:
    """The clients' open and breached tickets moved by these (open, breached)."""
    moved = {c: d for c, d in per_client.items() if d != (0, 0)}
    if not moved:
        return
    msps = await msps_of(session, moved)
    deltas = sorted((msps[c], c, o, b) for c, (o, b) in moved.items() if c in msps)
    if not deltas:
        return
    await _reach(session, {m for m, *_ in deltas})
    await repository.add_tickets(session, deltas)


def summary(
    scores: Sequence[tuple[str, str, int | None, Sequence[int]]],
) -> tuple[list[Any], int | None]:
    """The row's ``scores`` (by framework key) and their mean in basis points (None: no
    framework has a score), rounded half up."""
    ordered = sorted(scores, key=lambda s: s[0])
    stored = [[key, title, bp, list(recent)] for key, title, bp, recent in ordered]
    scored = [bp for _, _, bp, _ in ordered if bp is not None]
    mean = (2 * sum(scored) + len(scored)) // (2 * len(scored)) if scored else None
    return stored, mean


async def scores_kept(
    session: AsyncSession,
    client: uuid.UUID,
    scores: Sequence[tuple[str, str, int | None, Sequence[int]]],
) -> None:
    """The client's kept compliance scores now, one (key, title, score, recent) per
    adopted framework."""
    found = await msp_of(session, client)
    if found is None:
        return
    msp = found[0].id
    stored, mean = summary(scores)
    await _reach(session, [msp])
    await repository.set_scores(session, msp, client, stored, mean)


async def msp_acted(
    session: AsyncSession, msp: uuid.UUID, client: uuid.UUID, at: datetime, by: str
) -> None:
    """One of the MSP's people acted in the client through its link (the audit event's
    actor). The scope is widened once (``_reach`` sees it covered after); each event
    moves the row (locked by this transaction after the first: one short statement)."""
    await _reach(session, [msp])
    await repository.set_activity(session, msp, client, at, by)


async def forget_client(session: AsyncSession, client: uuid.UUID) -> int:
    """A client about to be deleted: its row in its managing MSP's tenant goes too
    (call it before the client's links go)."""
    found = await msp_of(session, client)
    if found is None:
        return 0
    await _reach(session, [found[0].id])
    return await repository.delete_rows(session, found[0].id, [client])


async def rebuild_row(
    session: AsyncSession,
    msp: uuid.UUID,
    client: uuid.UUID,
    *,
    open_breached: tuple[int, int],
    scores: Sequence[tuple[str, str, int | None, Sequence[int]]],
    last_activity: tuple[datetime, str] | None,
) -> None:
    """Every figure of one row from its sources (the rebuild command)."""
    stored, mean = summary(scores)
    await _reach(session, [msp])
    await repository.replace(
        session,
        msp,
        client,
        open=open_breached[0],
        breached=open_breached[1],
        scores=stored,
        score_bp=mean,
        last_activity_at=last_activity[0] if last_activity else None,
        last_activity_by=last_activity[1] if last_activity else None,
    )


async def forget_others(session: AsyncSession, msp: uuid.UUID, clients: Iterable[uuid.UUID]) -> int:
    """The MSP's rows of clients it no longer manages (the rebuild; scope: the MSP)."""
    return await repository.delete_rows_except(session, msp, clients)
