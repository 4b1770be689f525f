"""Lists of tickets: one client's (filters, search, sort) and the MSP-wide reads over a
multi-tenant scope (the caller opened that unit of work with the tenants it may read).

The cursor is an opaque position carrying an offset: lists sort on any column (due
times are nullable) and are read a page or two deep, so an offset behind the opaque
cursor is simpler than a keyset per sort order."""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any, TypeVar

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.db.base import utcnow
from tenantry.errors import ValidationFailed
from tenantry.kit.pagination import MAX_LIMIT, OFFSET, check_limit, decode_offset
from tenantry.psa.tickets import repository
from tenantry.psa.tickets.models import Ticket
from tenantry.psa.tickets.open_counts import service as open_counts
from tenantry.psa.tickets.schemas import SORTS, TicketFilter

# A CSV export stops here: a spreadsheet, not a backup.
MAX_EXPORT = 50_000


class TicketLists:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def find(
        self, f: TicketFilter, *, sort: str, cursor: str | None, limit: int
    ) -> tuple[list[Ticket], str | None]:
        """A page of tickets and the cursor of the next one (None on the last)."""
        offset = self._checked(f, sort, cursor, limit)
        rows = await repository.page(
            self.session, f, sort=sort, offset=offset, limit=limit, now=utcnow()
        )
        return _paged(list(rows), offset, limit)

    async def find_rows(
        self, f: TicketFilter, *, sort: str, cursor: str | None, limit: int
    ) -> tuple[list[Row[Any]], str | None]:
        """``find`` as read-only rows (a list to show, nothing to change)."""
        offset = self._checked(f, sort, cursor, limit)
        rows = await repository.page_rows(
            self.session, f, sort=sort, offset=offset, limit=limit, now=utcnow()
        )
        return _paged(list(rows), offset, limit)

    async def every(self, f: TicketFilter, sort: str) -> list[Ticket]:
        """Every ticket the filter matches (up to MAX_EXPORT), for an export."""
        rows: list[Ticket] = []
        cursor: str | None = None
        while True:
            batch, cursor = await self.find(f, sort=sort, cursor=cursor, limit=MAX_LIMIT)
            rows.extend(batch)
            if cursor is None or len(rows) >= MAX_EXPORT:
                return rows

    @staticmethod
    def _checked(f: TicketFilter, sort: str, cursor: str | None, limit: int) -> int:
        """The offset the cursor names, once the sort, search and limit are valid."""
        check_limit(limit)
        if sort not in SORTS:
            raise ValidationFailed("sort", "must be one of " + ", ".join(SORTS))
        if f.q is not None and len(f.q) > 200:
            raise ValidationFailed("q", "must be at most 200 characters long")
        return decode_offset(cursor)

    async def counts(self, f: TicketFilter) -> dict[uuid.UUID, tuple[int, int]]:
        """(open, breached) tickets per client with open tickets, for the filter's
        tenants and assignee (me, none or a user), from the counts kept as tickets
        change (open_counts/): no scan of the tickets. The kept counts know nothing of
        the other filters, so a filter that sets them is a programming error."""
        if replace(f, tenant_ids=frozenset(), assignee=None, unassigned=False) != _COUNTABLE:
            raise ValueError("open counts are kept per assignee only")
        return await open_counts.per_client(
            self.session, f.tenant_ids, assignee=f.assignee, unassigned=f.unassigned, now=utcnow()
        )


_COUNTABLE = TicketFilter(tenant_ids=frozenset())

T = TypeVar("T")


def _paged(rows: list[T], offset: int, limit: int) -> tuple[list[T], str | None]:
    """A page read one row long: its rows, and the next page's cursor if that row came."""
    more = len(rows) > limit
    return rows[:limit], OFFSET.encode(offset + limit) if more else None
