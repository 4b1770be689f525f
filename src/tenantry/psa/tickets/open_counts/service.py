"""Keeping the open counts (how a ticket is counted, moves by the difference) and
reading them per client, a page at a time."""

from __future__ import annotations

import heapq
import uuid
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, Protocol, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.dashboard import keeping
from tenantry.kit.pagination import OFFSET, check_limit, decode_offset
from tenantry.psa.tickets.models import OPEN_STATUSES, Ticket
from tenantry.psa.tickets.open_counts import repository

_NIL = uuid.UUID(int=0)


@dataclass(frozen=True, slots=True)
class CountedAs:
    """Where one open ticket is counted: its tenant's row for its assignee."""

    tenant_id: uuid.UUID
    assignee_user_id: uuid.UUID | None
    breached: bool


def counted_as(ticket: Ticket) -> CountedAs | None:
    """How the kept counts hold the ticket as its row is now (None: not open). Breached
    means flagged; an overdue ticket without a flag is added at read time."""
    if ticket.status not in OPEN_STATUSES:
        return None
    flagged = bool(ticket.first_response_breached or ticket.resolution_breached)
    return CountedAs(ticket.tenant_id, ticket.assignee_user_id, flagged)


Move = tuple[CountedAs | None, CountedAs | None]


async def record_moves(session: AsyncSession, moves: Iterable[Move]) -> None:
    """Move the kept counts from how each ticket was counted to how it is now, summed
    per row first (a bulk change of 500 tickets touches a few rows, in a fixed order)."""
    deltas: dict[tuple[uuid.UUID, uuid.UUID | None], list[int]] = {}
    for before, after in moves:
        for counted, sign in ((before, -1), (after, 1)):
            if counted is None:
                continue
            delta = deltas.setdefault((counted.tenant_id, counted.assignee_user_id), [0, 0])
            delta[0] += sign
            delta[1] += sign if counted.breached else 0

    def order(key: tuple[uuid.UUID, uuid.UUID | None]) -> tuple[uuid.UUID, bool, uuid.UUID]:
        return key[0], key[1] is not None, key[1] or _NIL

    changed: list[tuple[uuid.UUID, uuid.UUID | None, int, int]] = []
    for key in sorted(deltas, key=order):
        opened, breached = deltas[key]
        if opened or breached:
            changed.append((key[0], key[1], opened, breached))
    if changed:
        await repository.adjust_open_counts(session, changed)
        # The same moves, per client, on its MSP's dashboard row (after the counts'
        # rows: one lock order).
        per_client: dict[uuid.UUID, tuple[int, int]] = {}
        for tenant_id, _, opened, breached in changed:
            o, b = per_client.get(tenant_id, (0, 0))
            per_client[tenant_id] = (o + opened, b + breached)
        await keeping.tickets_moved(session, per_client)


@asynccontextmanager
async def counting(session: AsyncSession, tickets: Sequence[Ticket]) -> AsyncIterator[None]:
    """Around a change of these tickets (read locked for it): afterwards the kept counts
    move by the difference. Nothing moves when the change raises; its unit of work
    rolls back anyway."""
    before = [counted_as(t) for t in tickets]
    yield
    await record_moves(session, zip(before, [counted_as(t) for t in tickets], strict=True))


async def record_flagged(
    session: AsyncSession, flagged: Sequence[tuple[uuid.UUID, uuid.UUID | None]]
) -> None:
    """Open tickets the sweep just flagged, as (tenant, assignee): each now counts as
    breached."""
    await record_moves(
        session,
        [(CountedAs(t, a, breached=False), CountedAs(t, a, breached=True)) for t, a in flagged],
    )


# ---- reading


async def per_client(
    session: AsyncSession,
    tenant_ids: Iterable[uuid.UUID],
    *,
    assignee: uuid.UUID | None,
    unassigned: bool,
    now: datetime,
) -> dict[uuid.UUID, tuple[int, int]]:
    """(open, breached) of each tenant with open tickets (for one assignee, or the
    unassigned ones, if asked): the kept rows plus the tickets overdue since the sweep
    last looked. Exact at ``now``; no scan of the tickets."""
    ids = frozenset(tenant_ids)
    if not ids:
        return {}
    return await repository.open_counts_by_tenant(
        session, ids, assignee=assignee, unassigned=unassigned, now=now
    )


class Client(Protocol):
    @property
    def id(self) -> uuid.UUID: ...
    @property
    def slug(self) -> str: ...
    @property
    def display_name(self) -> str: ...


C = TypeVar("C", bound=Client)


@dataclass(frozen=True, slots=True)
class ClientCounts(Generic[C]):
    """One page of clients with their (open, breached), and the totals of all pages."""

    rows: list[tuple[C, int, int]]
    next_cursor: str | None
    total_open: int
    total_breached: int
    clients_with_open: int


def client_page(
    clients: Mapping[uuid.UUID, C],
    counts: Mapping[uuid.UUID, tuple[int, int]],
    *,
    include_empty: bool,
    cursor: str | None,
    limit: int,
) -> ClientCounts[C]:
    """Most breached first, then most open, then by name; clients without open tickets
    only with ``include_empty`` (after the others). The cursor carries an offset, as the
    ticket lists' do: a client whose counts change between two pages may move past it.
    The whole order is a few milliseconds at 10,000 clients (the rows are in memory)."""
    check_limit(limit)
    offset = decode_offset(cursor)
    counted = {t: c for t, c in counts.items() if t in clients}
    # Plain tuples, compared in C (no key function), and only the first pages sorted.
    ranked = [
        (-breached, -opened, clients[t].display_name.lower(), clients[t].slug, t)
        for t, (opened, breached) in counted.items()
    ]
    if include_empty:
        ranked += [
            (0, 0, c.display_name.lower(), c.slug, t)
            for t, c in clients.items()
            if t not in counted
        ]
    wanted = offset + limit + 1
    first = heapq.nsmallest(wanted, ranked) if wanted < len(ranked) // 4 else sorted(ranked)
    page = first[offset : offset + limit]
    rows = [(clients[t], -less_open, -less_breached) for less_breached, less_open, *_, t in page]
    return ClientCounts(
        rows=rows,
        next_cursor=OFFSET.encode(offset + limit) if len(first) > offset + limit else None,
        total_open=sum(n for n, _ in counted.values()),
        total_breached=sum(b for _, b in counted.values()),
        clients_with_open=sum(1 for n, _ in counted.values() if n),
    )
