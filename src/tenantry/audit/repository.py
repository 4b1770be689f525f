"""Queries of the audit trail (tenant-owned: always under the unit of work's scope)."""

from __future__ import annotations

import functools
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple, cast

from sqlalchemy import Row, Select, Table, bindparam, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from tenantry.audit.models import GENESIS, AuditAnchor, AuditChainHead, AuditEvent

# EventFilter lives in schemas (routes build it); named here too for older callers.
from tenantry.audit.schemas import EventFilter as EventFilter
from tenantry.db.base import new_id, utcnow
from tenantry.db.scope import ScopeViolation, session_scope
from tenantry.db.upsert import insert_missing


def filtered(f: EventFilter) -> Select[AuditEvent]:
    stmt = select(AuditEvent)
    if f.tenant_ids:
        stmt = stmt.where(AuditEvent.tenant_id.in_(f.tenant_ids))
    if f.actor_user_id:
        stmt = stmt.where(AuditEvent.actor_user_id == f.actor_user_id)
    if f.actor_home_tenant_id:
        stmt = stmt.where(AuditEvent.actor_home_tenant_id == f.actor_home_tenant_id)
    if f.actor_from_outside:
        stmt = stmt.where(
            AuditEvent.actor_home_tenant_id.is_not(None),
            AuditEvent.actor_home_tenant_id != f.actor_from_outside,
        )
    if f.action:
        stmt = stmt.where(AuditEvent.action == f.action)
    if f.since:
        stmt = stmt.where(AuditEvent.occurred_at >= f.since)
    if f.until:
        stmt = stmt.where(AuditEvent.occurred_at < f.until)
    return stmt


async def page(
    session: AsyncSession, f: EventFilter, *, before: tuple[datetime, uuid.UUID] | None, limit: int
) -> Sequence[AuditEvent]:
    """Newest first; keyset on (occurred_at, id) so it works across tenants too."""
    stmt = filtered(f)
    if before is not None:
        at, event_id = before
        stmt = stmt.where(
            (AuditEvent.occurred_at < at)
            | ((AuditEvent.occurred_at == at) & (AuditEvent.id < event_id))
        )
    stmt = stmt.order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc()).limit(limit)
    return (await session.scalars(stmt)).all()


async def stream(
    session: AsyncSession, f: EventFilter, batch: int = 1000
) -> AsyncIterator[Row[Any]]:
    """Oldest first, fetched in batches through a server-side cursor: constant memory
    whatever the size. Plain rows (attribute access by column name), not ORM objects:
    building an entity per event and tracking it in the session was most of an
    export's time (measured in bench/audit_overhead.py)."""
    stmt = (
        filtered(f)
        .with_only_columns(*AuditEvent.__table__.c)
        .order_by(AuditEvent.tenant_id, AuditEvent.seq)
    )
    result = await session.stream(stmt.execution_options(yield_per=batch))
    async for row in result:
        yield row


async def chain(
    session: AsyncSession, tenant_id: uuid.UUID, after_seq: int = 0, batch: int = 1000
) -> AsyncIterator[AuditEvent]:
    """One tenant's events after ``after_seq`` (an anchor), in chain order."""
    stmt = (
        select(AuditEvent)
        .where(AuditEvent.tenant_id == tenant_id, AuditEvent.seq > after_seq)
        .order_by(AuditEvent.seq)
        .execution_options(yield_per=batch)
    )
    result = await session.stream_scalars(stmt)
    async for event in result:
        yield event


async def latest_anchor(session: AsyncSession, tenant_id: uuid.UUID) -> AuditAnchor | None:
    return await session.scalar(
        select(AuditAnchor)
        .where(AuditAnchor.tenant_id == tenant_id)
        .order_by(AuditAnchor.pruned_through_seq.desc())
        .limit(1)
    )


async def first_seq_from(session: AsyncSession, tenant_id: uuid.UUID, at: datetime) -> int | None:
    """The first event at or after ``at``: everything before it may be pruned."""
    return await session.scalar(
        select(func.min(AuditEvent.seq)).where(
            AuditEvent.tenant_id == tenant_id, AuditEvent.occurred_at >= at
        )
    )


async def last_event_through(
    session: AsyncSession, tenant_id: uuid.UUID, seq: int | None
) -> AuditEvent | None:
    """The newest event with ``seq`` at most ``seq`` (None: the newest of all)."""
    stmt = select(AuditEvent).where(AuditEvent.tenant_id == tenant_id)
    if seq is not None:
        stmt = stmt.where(AuditEvent.seq <= seq)
    return await session.scalar(stmt.order_by(AuditEvent.seq.desc()).limit(1))


async def delete_through(session: AsyncSession, tenant_id: uuid.UUID, seq: int) -> int:
    result = await session.execute(
        delete(AuditEvent).where(AuditEvent.tenant_id == tenant_id, AuditEvent.seq <= seq)
    )
    return int(getattr(result, "rowcount", 0) or 0)


class ChainHead(NamedTuple):
    """Where a tenant's chain ends: the last event's seq and hash (0 and GENESIS: none)."""

    seq: int
    last_hash: str


async def head(
    session: AsyncSession, tenant_id: uuid.UUID, *, for_update: bool = False
) -> ChainHead | None:
    """The head as it is in the database now (plain values, never a cached entity:
    ``append`` moves it with a Core statement)."""
    stmt = select(AuditChainHead.seq, AuditChainHead.last_hash).where(
        AuditChainHead.tenant_id == tenant_id
    )
    row = (await session.execute(stmt.with_for_update() if for_update else stmt)).first()
    return None if row is None else ChainHead(row.seq, row.last_hash)


# ---------------------------------------------------------------- appending (the hot path)
#
# Every audited write appends an event, so these are Core statements prepared once and
# sent on the session's connection: no entity, no unit-of-work flush, and none of the
# ORM scope hooks (db/scope.py), whose job ``_connection`` does itself. PostgreSQL's
# row-level security applies to them as to any statement.

_HEADS = cast(Table, AuditChainHead.__table__)
_EVENTS = cast(Table, AuditEvent.__table__)


@dataclass(frozen=True, slots=True)
class _Statements:
    lock_head: Any
    advance_head: Any
    insert_event: Any
    append_in_one: Any
    from_head: dict[str, str]


@functools.cache
def _statements() -> _Statements:
    """Built on first use, not at import: a column the mapping types later (the
    tenant-owned base's ``tenant_id``) would leave its parameters untyped, and SQLite
    would be handed a UUID it cannot bind (the demo's first audit event failed)."""
    lock_head = (
        select(_HEADS.c.seq, _HEADS.c.last_hash)
        .where(_HEADS.c.tenant_id == bindparam("head_tenant_id"))
        .with_for_update()
    )
    # Moves the head to the new event, but only from where the caller saw it: a head
    # that moved meanwhile matches no row (compare-and-set), and nothing is written.
    advance_head = (
        update(_HEADS)
        .where(
            _HEADS.c.tenant_id == bindparam("head_tenant_id"),
            _HEADS.c.seq == bindparam("prev_seq"),
            _HEADS.c.last_hash == bindparam("prev_hash"),
        )
        .values(seq=bindparam("new_seq"), last_hash=bindparam("new_hash"))
    )
    # PostgreSQL: both in one statement. The event row is selected from the moved head,
    # so it exists exactly when the head moved, and takes its tenant, seq and hash from it.
    advanced = advance_head.returning(_HEADS.c.tenant_id, _HEADS.c.seq, _HEADS.c.last_hash).cte(
        "advanced"
    )
    from_head = {"tenant_id": "tenant_id", "seq": "seq", "hash": "last_hash"}
    append_in_one = (
        insert(_EVENTS)
        .from_select(
            [c.name for c in _EVENTS.c],
            select(
                *(
                    advanced.c[from_head[c.name]]
                    if c.name in from_head
                    else bindparam(f"event_{c.name}", type_=c.type)
                    for c in _EVENTS.c
                )
            ).select_from(advanced),
        )
        .add_cte(advanced)
    )
    return _Statements(lock_head, advance_head, insert(_EVENTS), append_in_one, from_head)


async def _connection(session: AsyncSession, tenant_id: uuid.UUID) -> AsyncConnection:
    """The unit of work's connection, for a tenant its scope covers. The ORM guard
    (db/scope.py) never sees these statements, so the scope is checked here, and the
    error is the guard's own."""
    if not session_scope(session.sync_session).covers(tenant_id):
        raise ScopeViolation(f"audit event of tenant {tenant_id} is outside the tenant scope")
    return await session.connection()


async def lock_head(session: AsyncSession, tenant_id: uuid.UUID) -> ChainHead:
    """The tenant's chain head, locked until the transaction ends (``FOR UPDATE`` on
    PostgreSQL; SQLite has one writer at a time). A tenant's first event makes the head
    (0, GENESIS): if another writer makes it at the same moment, the insert waits for
    theirs and adds nothing, and the head is read and locked after it."""
    connection = await _connection(session, tenant_id)
    row = (await connection.execute(_statements().lock_head, {"head_tenant_id": tenant_id})).first()
    if row is not None:
        return ChainHead(row.seq, row.last_hash)
    chain_start = {"tenant_id": tenant_id, "id": new_id(), "created_at": utcnow()}
    if await insert_missing(
        session, AuditChainHead, chain_start | {"seq": 0, "last_hash": GENESIS}, keys=["tenant_id"]
    ):
        return ChainHead(0, GENESIS)
    row = (await connection.execute(_statements().lock_head, {"head_tenant_id": tenant_id})).one()
    return ChainHead(row.seq, row.last_hash)


async def append(session: AsyncSession, event: AuditEvent, *, after: ChainHead) -> bool:
    """Insert ``event`` (seq, prev_hash and hash already set) and move its tenant's head
    to it, if the head is still ``after``; False (nothing written) if it is not.

    One round trip on PostgreSQL (a data-modifying CTE), two on SQLite."""
    connection = await _connection(session, event.tenant_id)
    moved = {
        "head_tenant_id": event.tenant_id,
        "prev_seq": after.seq,
        "prev_hash": after.last_hash,
        "new_seq": event.seq,
        "new_hash": event.hash,
    }
    built = _statements()
    if connection.dialect.name == "postgresql":
        values = {
            f"event_{c.name}": getattr(event, c.key)
            for c in _EVENTS.c
            if c.name not in built.from_head
        }
        result = await connection.execute(built.append_in_one, moved | values)
        return result.rowcount == 1
    if (await connection.execute(built.advance_head, moved)).rowcount != 1:
        return False
    await connection.execute(built.insert_event, {c.key: getattr(event, c.key) for c in _EVENTS.c})
    return True


async def events_about(
    session: AsyncSession,
    target_type: str,
    target_id: str,
    *,
    after_seq: int | None,
    limit: int,
) -> Sequence[AuditEvent]:
    """Events about one target in the scope's (the caller's own) trail, oldest first."""
    stmt = select(AuditEvent).where(
        AuditEvent.target_type == target_type, AuditEvent.target_id == target_id
    )
    if after_seq is not None:
        stmt = stmt.where(AuditEvent.seq > after_seq)
    return (await session.scalars(stmt.order_by(AuditEvent.seq).limit(limit))).all()


async def people_from(
    session: AsyncSession, home_tenant_id: uuid.UUID, limit: int = 50
) -> Sequence[tuple[str, datetime, int]]:
    """People from ``home_tenant_id`` who acted in the scope's tenant, from its own trail:
    (name as recorded, last time, how many events), most recent first. This is how a
    customer sees the technicians who act for its MSP without reading the MSP's data."""
    last = func.max(AuditEvent.occurred_at)
    rows = await session.execute(
        select(AuditEvent.actor_name, last, func.count())
        .where(
            AuditEvent.actor_home_tenant_id == home_tenant_id,
            AuditEvent.actor_user_id.is_not(None),
        )
        .group_by(AuditEvent.actor_name)
        .order_by(last.desc())
        .limit(limit)
    )
    return [(str(name), when, int(count)) for name, when, count in rows.all()]


async def last_action_by_home(
    session: AsyncSession, tenant_id: uuid.UUID, home_id: uuid.UUID
) -> tuple[datetime, str] | None:
    """(when, who) of the newest event in ``tenant_id`` by a user at home in ``home_id``."""
    row = (
        await session.execute(
            select(AuditEvent.occurred_at, AuditEvent.actor_name)
            .where(AuditEvent.tenant_id == tenant_id, AuditEvent.actor_home_tenant_id == home_id)
            .order_by(AuditEvent.seq.desc())
            .limit(1)
        )
    ).first()
    return (row[0], row[1]) if row else None
