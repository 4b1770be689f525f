"""Every query of ``msp_dashboard_rows``: the additions and rewrites that keep it, and the
dashboard's reads (run under the MSP's own single-tenant scope)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, null, select
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.dashboard.models import ClientRollup
from tenantry.db.base import new_id, utcnow
from tenantry.db.upsert import add_to, upsert

KEYS = ["tenant_id", "client_id"]


async def add_tickets(
    session: AsyncSession, deltas: Sequence[tuple[uuid.UUID, uuid.UUID, int, int]]
) -> None:
    """Add (open, breached) to each (MSP, client) row, made at need; rows are written in
    the order given (callers sort), so two transactions lock them in the same order."""
    now = utcnow()
    await add_to(
        session,
        ClientRollup,
        [
            {
                "tenant_id": msp,
                "client_id": client,
                "id": new_id(),
                "created_at": now,
                "updated_at": now,
                "open": opened,
                "breached": breached,
                "scores": [],
            }
            for msp, client, opened, breached in deltas
        ],
        keys=KEYS,
        add=["open", "breached"],
    )


def _row(msp: uuid.UUID, client: uuid.UUID, **values: Any) -> dict[str, Any]:
    now = utcnow()
    return {
        "tenant_id": msp,
        "client_id": client,
        "id": new_id(),
        "created_at": now,
        "updated_at": now,
        "open": 0,
        "breached": 0,
        "scores": [],
        **values,
    }


async def set_scores(
    session: AsyncSession,
    msp: uuid.UUID,
    client: uuid.UUID,
    scores: list[Any],
    score_bp: int | None,
) -> None:
    values = _row(msp, client, scores=scores, score_bp=score_bp)
    await upsert(
        session,
        ClientRollup,
        values,
        keys=KEYS,
        update={"scores": scores, "score_bp": score_bp, "updated_at": values["updated_at"]},
    )


async def set_activity(
    session: AsyncSession, msp: uuid.UUID, client: uuid.UUID, at: datetime, by: str
) -> None:
    values = _row(msp, client, last_activity_at=at, last_activity_by=by)
    await upsert(
        session,
        ClientRollup,
        values,
        keys=KEYS,
        update={"last_activity_at": at, "last_activity_by": by, "updated_at": at},
    )


async def replace(session: AsyncSession, msp: uuid.UUID, client: uuid.UUID, **values: Any) -> None:
    """Every figure of one row at once (the rebuild)."""
    row = _row(msp, client, **values)
    update = {
        k: v for k, v in row.items() if k not in ("tenant_id", "client_id", "id", "created_at")
    }
    await upsert(session, ClientRollup, row, keys=KEYS, update=update)


async def delete_rows(session: AsyncSession, msp: uuid.UUID, clients: Iterable[uuid.UUID]) -> int:
    result = await session.execute(
        delete(ClientRollup)
        .where(ClientRollup.tenant_id == msp, ClientRollup.client_id.in_(sorted(set(clients))))
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


# ---- reading (under the MSP's scope)


async def figures(
    session: AsyncSession,
    msp: uuid.UUID,
    among: Iterable[uuid.UUID] | None,
    *,
    with_activity: bool,
) -> Sequence[Any]:
    """(client, open, breached, mean score, last activity) rows of the MSP's rows (of the
    clients ``among``, when given: a technician's few): the light columns, for totals,
    filters and sorting in one read. The time only when the order needs it (each one is
    a conversion per row)."""
    c = ClientRollup
    activity = c.last_activity_at if with_activity else null()
    stmt = select(c.client_id, c.open, c.breached, c.score_bp, activity).where(c.tenant_id == msp)
    if among is not None:
        stmt = stmt.where(c.client_id.in_(sorted(set(among))))
    return (await session.execute(stmt)).all()


async def details(
    session: AsyncSession, msp: uuid.UUID, clients: Iterable[uuid.UUID]
) -> Mapping[uuid.UUID, ClientRollup]:
    """The whole rows of these clients (a page's: scores and who acted last)."""
    ids = sorted(set(clients))
    if not ids:
        return {}
    found = await session.scalars(
        select(ClientRollup).where(ClientRollup.tenant_id == msp, ClientRollup.client_id.in_(ids))
    )
    return {r.client_id: r for r in found.all()}


async def delete_rows_except(
    session: AsyncSession, msp: uuid.UUID, keep: Iterable[uuid.UUID]
) -> int:
    """The MSP's rows of clients no longer among ``keep`` (a link that ended)."""
    kept = sorted(set(keep))
    stmt = delete(ClientRollup).where(ClientRollup.tenant_id == msp)
    if kept:
        stmt = stmt.where(ClientRollup.client_id.not_in(kept))
    result = await session.execute(stmt.execution_options(synchronize_session=False))
    return int(getattr(result, "rowcount", 0) or 0)
