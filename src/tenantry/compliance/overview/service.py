"""The overview across clients: read, never computed. The programme keeps one score row
per client and adopted framework (``compliance_scores``, with its last twelve scores)
in the transaction that changes it; this reads those rows over the caller's
multi-tenant scope, a page at a time in SQL (keyset on the sort's columns), with the
overdue assessments of the page's rows and the totals in a few grouped reads.

Who is in it: ``access.scopes.customers_with(…, "compliance:read")`` (the switcher's
per-client decision), narrowed to a client group when one is asked for."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.access.context import TenantContext
from tenantry.access.scopes import (
    CustomerInScope,
    CustomerScope,
    client_group_members,
    client_groups,
    customers_with,
    within,
)
from tenantry.compliance.overview import repository
from tenantry.compliance.overview.repository import Names, Selection
from tenantry.compliance.overview.schemas import (
    ClientRef,
    FrameworkTotal,
    OverviewPage,
    OverviewQuery,
    OverviewRow,
    OverviewTotals,
    percent,
)
from tenantry.db.base import utcnow
from tenantry.errors import NotFound, ValidationFailed
from tenantry.kit.pagination import Keyset, decode_cursor
from tenantry.tenancy import service as tenancy

# The cursor: the sort, then the last row's sort key (score key, lowered name, slug,
# framework key; the name order without the score).
_BY_SCORE = Keyset(str, int, str, str, str)
_BY_NAME = Keyset(str, str, str, str)
_NOT_OURS = "is not a cursor this API returned"
# Listed on request, by name: a screenful of clients still to start, not a directory.
NOT_STARTED_LISTED = 500
# A CSV export stops here: a spreadsheet, not a backup.
MAX_EXPORT = 100_000


def _names() -> Names:
    """The tenants table joined to the score rows (tenancy hands the piece over)."""
    table, on = tenancy.joined_tenant(repository.SCORE_TENANT)
    return Names(table=table, on=on, slug=table.slug, display_name=table.display_name)


async def covered(
    session: AsyncSession, ctx: TenantContext, group: uuid.UUID | None
) -> CustomerScope:
    """The clients the overview covers, decided in the caller's home unit of work: every
    client of their MSP where they hold compliance:read now, or those of the MSP's
    client ``group`` (422 on ``client_group`` when the MSP has no such group). 404 from
    a home that is not an MSP: it has no clients."""
    if ctx.relation != "home" or not ctx.tenant.is_msp:
        raise NotFound(f"{ctx.tenant.display_name} is not an MSP: it has no clients.")
    found = await customers_with(
        session, ctx.principal, "compliance:read", home_version=ctx.home_version
    )
    if group is None:
        return found
    members = await client_group_members(session, ctx.tenant.id, group)
    if members is None:
        raise ValidationFailed("client_group", "is not one of your client groups")
    return within(found, members)


async def group_choices(session: AsyncSession, msp_id: uuid.UUID) -> list[tuple[uuid.UUID, str]]:
    """The MSP's client groups for the filter, by name."""
    return await client_groups(session, msp_id)


def today_in(time_zone: str, now: datetime | None = None) -> date:
    """Today where the MSP is: an assessment due before it is overdue."""
    try:
        zone = ZoneInfo(time_zone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return (now or utcnow()).astimezone(zone).date()


def _cursor_after(q: OverviewQuery) -> tuple[Any, ...] | None:
    raw = decode_cursor(q.cursor)
    if raw is None:
        return None
    if not raw or raw[0] != q.sort:
        raise ValidationFailed("cursor", _NOT_OURS + " for this sort")
    keyset = _BY_NAME if q.sort == "name" else _BY_SCORE
    decoded = keyset.decode(q.cursor)
    assert decoded is not None
    return decoded[1:]


def _average(total_bp: int, scored: int) -> float | None:
    """The mean of ``scored`` scores summing to ``total_bp``, in percent with one decimal,
    rounded half up from the exact sum (no float average in between)."""
    if not scored:
        return None
    return ((2 * total_bp + 10 * scored) // (20 * scored)) / 10


def _row(r: Any, overdue: int) -> OverviewRow:
    return OverviewRow(
        tenant_id=r.tenant_id,
        tenant_slug=r.slug,
        tenant_name=r.display_name,
        framework_id=r.framework_id,
        framework_key=r.framework_key,
        framework_title=r.framework_title,
        score=percent(r.score_bp),
        score_bp=r.score_bp,
        implemented=r.implemented,
        partial=r.partial,
        applicable=r.applicable,
        total=r.total,
        not_assessed=r.not_assessed,
        overdue=overdue,
        trend=[percent(v) for v in (r.recent or [])],
        changed_at=r.changed_at,
    )


class OverviewService:
    """Reads in a unit of work opened with the covered clients' scope (``clients.scope``)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def _selection(self, clients: CustomerScope, q: OverviewQuery, today: date) -> Selection:
        return Selection(
            # The kept scope's own set: the repository sees by identity that filtering
            # on it would only repeat the unit of work's scope.
            tenant_ids=clients.scope.tenant_ids,
            framework_key=q.framework,
            below_bp=q.below_bp,
            overdue_only=q.overdue_only,
            today=today,
        )

    async def overview(
        self, clients: CustomerScope, q: OverviewQuery, *, today: date
    ) -> OverviewPage:
        """One page of rows in the order asked, with the totals over the covered clients
        (whatever the other filters), and on request the clients not started yet."""
        after = _cursor_after(q)
        sel = self._selection(clients, q, today)
        rows = await repository.page(
            self.session, sel, _names(), sort=q.sort, after=after, limit=q.limit + 1
        )
        more = len(rows) > q.limit
        rows = rows[: q.limit]
        next_cursor = None
        if more and rows:
            last = rows[-1]
            keys = [getattr(last, f"k{n}") for n in range(3 if q.sort == "name" else 4)]
            next_cursor = (_BY_NAME if q.sort == "name" else _BY_SCORE).encode(q.sort, *keys)
        totals = await self.totals(clients, today)
        not_started = (
            await self.not_started(clients.customers, clients) if q.list_not_started else None
        )
        return OverviewPage(
            items=[_row(r, int(r.overdue)) for r in rows],
            next_cursor=next_cursor,
            totals=totals,
            not_started_clients=not_started,
        )

    async def totals(self, clients: CustomerScope, today: date) -> OverviewTotals:
        ids = clients.scope.tenant_ids
        if not ids:
            return OverviewTotals(
                clients=0, with_programme=0, not_started=0, with_overdue=0, frameworks=[]
            )
        frameworks, started, overdue = await repository.totals(self.session, ids, today)
        return OverviewTotals(
            clients=len(clients.customers),
            with_programme=started,
            not_started=len(clients.customers) - started,
            with_overdue=overdue,
            frameworks=[
                FrameworkTotal(
                    framework_key=key,
                    framework_title=title,
                    clients=adopted,
                    scored=scored,
                    average=_average(total, scored),
                )
                for key, title, adopted, scored, total in frameworks
            ],
        )

    async def not_started(
        self, customers: Mapping[uuid.UUID, CustomerInScope], clients: CustomerScope
    ) -> list[ClientRef]:
        started = await repository.tenants_with_programme(self.session, clients.scope.tenant_ids)
        waiting = sorted(
            (c for t, c in customers.items() if t not in started),
            key=lambda c: (c.display_name.lower(), c.slug),
        )
        return [
            ClientRef(tenant_id=c.id, tenant_slug=c.slug, tenant_name=c.display_name)
            for c in waiting[:NOT_STARTED_LISTED]
        ]

    async def every(
        self, clients: CustomerScope, q: OverviewQuery, *, today: date
    ) -> AsyncIterator[OverviewRow]:
        """Every row the filters match, in the sort's order (the CSV export)."""
        sel = self._selection(clients, q, today)
        overdue = await repository.overdue_everywhere(self.session, sel.tenant_ids, today)
        result = await repository.every(self.session, sel, _names(), sort=q.sort)
        for n, r in enumerate(result):
            if n >= MAX_EXPORT:
                break
            yield _row(r, overdue.get((r.tenant_id, r.framework_id), 0))
