"""Reading a tenant's trail: a filter from request input, pages newest first."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.audit import repository
from tenantry.audit.models import AuditEvent
from tenantry.audit.schemas import EventFilter
from tenantry.errors import ValidationFailed
from tenantry.kit.pagination import Keyset, page_of

# Newest first, ties by id: one keyset for a tenant's trail and the MSP-wide view.
POSITION = Keyset(datetime, uuid.UUID)


def event_filter(
    tenant_ids: tuple[uuid.UUID, ...],
    *,
    actor: uuid.UUID | None = None,
    actor_home_tenant_id: uuid.UUID | None = None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> EventFilter:
    """A filter from request input; naive times are refused (which zone was meant?)."""
    for name, value in (("since", since), ("until", until)):
        if value is not None and value.tzinfo is None:
            raise ValidationFailed(name, "must carry a time zone (RFC 3339, e.g. ...Z)")
    if since is not None and until is not None and until <= since:
        raise ValidationFailed("until", "must be after since")
    return EventFilter(
        tenant_ids=tenant_ids,
        actor_user_id=actor,
        actor_home_tenant_id=actor_home_tenant_id,
        action=action or None,
        since=since,
        until=until,
    )


def position(cursor: str | None, *, forgiving: bool = False) -> tuple[datetime, uuid.UUID] | None:
    """Where a page starts. A cursor this API did not make is a 422 on ``cursor``; with
    ``forgiving`` (the pages: a stale or hand-edited link) it is the first page."""
    try:
        at = POSITION.decode(cursor)
    except ValidationFailed:
        if forgiving:
            return None
        raise
    return None if at is None else (at[0], at[1])


async def read_page(
    session: AsyncSession,
    f: EventFilter,
    *,
    cursor: str | None,
    limit: int,
    forgiving: bool = False,
) -> tuple[list[AuditEvent], str | None]:
    """A page of events under the session's scope, newest first, and the next cursor."""
    before = position(cursor, forgiving=forgiving)
    events = await repository.page(session, f, before=before, limit=limit + 1)
    return page_of(events, limit, lambda e: (e.occurred_at, e.id))


async def events_about(
    session: AsyncSession,
    target_type: str,
    target_id: str,
    *,
    after_seq: int | None,
    limit: int,
) -> Sequence[AuditEvent]:
    """One target's events in the unit of work's trail, oldest first (a link's history)."""
    return await repository.events_about(
        session, target_type, target_id, after_seq=after_seq, limit=limit
    )


async def people_from(
    session: AsyncSession, home_tenant_id: uuid.UUID, limit: int = 50
) -> Sequence[tuple[str, datetime, int]]:
    """People from ``home_tenant_id`` who acted in the scope's tenant, read from its own
    trail: (name as recorded, last time, how many events), most recent first. This is how
    a customer sees the technicians who act for its MSP without reading the MSP's data."""
    return await repository.people_from(session, home_tenant_id, limit)
