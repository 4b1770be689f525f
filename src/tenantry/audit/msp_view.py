"""The MSP's technicians' events across its customers, newest first.

It reads under the scope it is given: the route asks access which customers the caller
may audit (``access.scopes.customers_with``) and passes that in, so this module imports
nothing from access (access records events through ``audit.service``)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from tenantry.audit import trail
from tenantry.audit.schemas import TechnicianEventOut
from tenantry.db.engine import Database
from tenantry.db.scope import TenantScope
from tenantry.errors import NotFound


class Customer(Protocol):
    @property
    def id(self) -> uuid.UUID: ...
    @property
    def slug(self) -> str: ...
    @property
    def display_name(self) -> str: ...


class Readable(Protocol):
    """The customers whose trail the caller may read and the scope covering them
    (``access.scopes.CustomerScope`` is one)."""

    @property
    def scope(self) -> TenantScope: ...
    @property
    def customers(self) -> Mapping[uuid.UUID, Customer]: ...


class Msp(Protocol):
    """The tenant the view is asked in (``TenantRef`` is one)."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def display_name(self) -> str: ...
    @property
    def is_msp(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class TechnicianQuery:
    technician: uuid.UUID | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True, slots=True)
class TechnicianView:
    items: list[TechnicianEventOut]
    next_cursor: str | None


def require_msp(msp: Msp, *, at_home: bool) -> None:
    if not at_home or not msp.is_msp:
        raise NotFound(f"{msp.display_name} is not an MSP: it has no technicians' view.")


async def technician_view(
    db: Database,
    msp: Msp,
    readable: Readable,
    query: TechnicianQuery,
    *,
    cursor: str | None = None,
    limit: int = 50,
    forgiving: bool = False,
) -> TechnicianView:
    """The MSP's technicians' events in the customers of ``readable``, newest first. One
    query, in a unit of work of its own under the multi-tenant scope of those customers;
    events of the MSP's own tenant and of anyone not at home in the MSP (the customer's
    own staff) are not part of this view."""
    # The scope alone limits the tenants (RLS on PostgreSQL, the ORM scope on both), so
    # the statement carries no list of thousands of ids of its own.
    f = trail.event_filter(
        (),
        actor=query.technician,
        actor_home_tenant_id=msp.id,
        action=query.action,
        since=query.since,
        until=query.until,
    )
    trail.position(cursor, forgiving=forgiving)  # a bad cursor is refused before reading
    if not readable.customers:
        return TechnicianView([], None)
    async with db.unit_of_work(readable.scope) as session:
        events, next_cursor = await trail.read_page(
            session, f, cursor=cursor, limit=limit, forgiving=forgiving
        )
    items = []
    for event in events:
        item = TechnicianEventOut.model_validate(event)
        where = readable.customers.get(event.tenant_id)
        if where is not None:
            item.tenant_slug, item.tenant_display_name = where.slug, where.display_name
        items.append(item)
    return TechnicianView(items, next_cursor)
