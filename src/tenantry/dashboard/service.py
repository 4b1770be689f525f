"""The dashboard read: who is in it (the clients the caller reaches, in a client group),
their kept rows (one read of the MSP's own rows under its single-tenant scope), totals,
search, order and one page, the page's details, and the CSV's rows.

The order is made in memory over the light columns, as the per-client ticket counts
do (``psa/tickets/open_counts``): at 10,000 clients a few milliseconds, and every sort
is the same cost. The cursor carries an offset."""

from __future__ import annotations

import heapq
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

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
from tenantry.billing.service import SubscriptionService
from tenantry.dashboard import repository
from tenantry.dashboard.schemas import (
    DashboardPage,
    DashboardQuery,
    DashboardRow,
    DashboardTotals,
    FrameworkScoreOut,
    LimitOut,
    ManagedClients,
    ServicePlanOut,
    percent,
)
from tenantry.errors import NotFound, ValidationFailed
from tenantry.kit.pagination import OFFSET, decode_offset
from tenantry.psa.service_plans.service import ServicePlanService
from tenantry.tenancy import service as tenancy

# Who is on the dashboard: every client where the caller holds anything (the switcher's
# test: every role gives tenant:read).
REACH = "tenant:read"
# Up to this many clients, their rows are asked for by id.
FEW = 1_000
# A CSV export stops here: a spreadsheet, not a backup.
MAX_EXPORT = 100_000
_NEVER = "0000"
_FAR = "9999"


async def covered(
    session: AsyncSession, ctx: TenantContext, group: uuid.UUID | None
) -> CustomerScope:
    """The clients on the caller's dashboard, decided in their home unit of work. 404 from
    a home that is not an MSP (a client's own people: it has no clients); 422 on
    ``client_group`` when the MSP has no such group."""
    if ctx.relation != "home" or not ctx.tenant.is_msp:
        raise NotFound(f"{ctx.tenant.display_name} is not an MSP: it has no clients.")
    found = await customers_with(session, ctx.principal, REACH, home_version=ctx.home_version)
    if group is None:
        return found
    members = await client_group_members(session, ctx.tenant.id, group)
    if members is None:
        raise ValidationFailed("client_group", "is not one of your client groups")
    return within(found, members)


async def plan_choices(session: AsyncSession, ctx: TenantContext) -> list[tuple[uuid.UUID, str]]:
    """The MSP's service plans (the filter's choices), offered first, by name."""
    return [(p.id, p.name) for p, _ in await ServicePlanService(session).plans(ctx)]


async def on_plan(
    session: AsyncSession, ctx: TenantContext, clients: CustomerScope, plan: uuid.UUID | None
) -> CustomerScope:
    """Only the clients on this service plan (its assignments, one statement in the
    MSP's tenant); 422 on ``service_plan`` when the MSP has no such plan."""
    if plan is None:
        return clients
    if plan not in {p for p, _ in await plan_choices(session, ctx)}:
        raise ValidationFailed("service_plan", "is not one of your service plans")
    assigned = await ServicePlanService(session).assignments(ctx.tenant.id)
    return within(clients, {c for c, u in assigned.items() if u.plan_id == plan})


async def group_choices(session: AsyncSession, msp_id: uuid.UUID) -> list[tuple[uuid.UUID, str]]:
    return await client_groups(session, msp_id)


async def managed(
    session: AsyncSession, ctx: TenantContext, clients: CustomerScope
) -> ManagedClients:
    """The MSP's clients by state: MSP-wide for those who see its customers list
    (customers:read at home), else over the clients they reach (no pending ones)."""
    if "customers:read" in ctx.permissions:
        found = await tenancy.msp_client_totals(session, ctx.tenant.id)
        return ManagedClients(
            active=sum(n for s, st, n in found if s == "active" and st != "suspended"),
            suspended=sum(n for s, st, n in found if s == "active" and st == "suspended"),
            pending_link=sum(n for s, _, n in found if s == "pending"),
        )
    links = await tenancy.active_links_of_msp(session, ctx.tenant.id, clients.customers)
    suspended = sum(1 for _, status in links.values() if status == "suspended")
    return ManagedClients(active=len(links) - suspended, suspended=suspended, pending_link=0)


# One client as the order sees it: (client, open, breached, mean score, last activity).
Line = tuple[CustomerInScope, int, int, int | None, datetime | None]


def _decorated(
    lines: list[Line], sort: str, expiry: Mapping[uuid.UUID, tuple[datetime | None, str]]
) -> list[tuple[Any, ...]]:
    """Each line's sort key ending in its position: plain tuples, compared in C, made by
    one comprehension per sort (no function call per line; 10,000 lines a request)."""
    rev = sort.startswith("-")
    name = sort.lstrip("-")
    if name == "attention":
        return [
            (-b, -o, c.display_name.lower(), c.slug, n) for n, (c, o, b, _, _) in enumerate(lines)
        ]
    if name == "name":
        return [(c.display_name.lower(), c.slug, n) for n, (c, *_) in enumerate(lines)]
    if name == "score":
        # A client without a score after every scored one, both ways.
        return [
            (s is None, 0 if s is None else (-s if rev else s), c.display_name.lower(), c.slug, n)
            for n, (c, _, _, s, _) in enumerate(lines)
        ]
    if name == "open":
        sign = -1 if rev else 1
        return [
            (sign * o, c.display_name.lower(), c.slug, n) for n, (c, o, _, _, _) in enumerate(lines)
        ]
    if name == "breached":
        sign = -1 if rev else 1
        return [
            (sign * b, c.display_name.lower(), c.slug, n) for n, (c, _, b, _, _) in enumerate(lines)
        ]
    if name == "activity":
        return [
            (at.isoformat() if at else _NEVER, c.display_name.lower(), c.slug, n)
            for n, (c, _, _, _, at) in enumerate(lines)
        ]
    return [
        (_iso(expiry.get(c.id, (None, ""))[0]), c.display_name.lower(), c.slug, n)
        for n, (c, *_) in enumerate(lines)
    ]


def _limit(usage: Any) -> LimitOut:
    """A subscription limit's usage (``billing.schemas.LimitUsage``) as the totals show it."""
    return LimitOut(used=usage.used, limit=usage.limit, percent=usage.percent)


def _iso(at: datetime | None) -> str:
    return at.isoformat() if at else _FAR


class DashboardService:
    """Reads in a unit of work under the MSP's own scope (its rows only)."""

    def __init__(self, session: AsyncSession, msp_id: uuid.UUID) -> None:
        self.session = session
        self.msp_id = msp_id

    async def _lines(self, clients: CustomerScope, search: str | None, sort: str) -> list[Line]:
        wanted = (
            {
                cid: c
                for cid, c in clients.customers.items()
                if search in c.slug or search in c.display_name.lower()
            }
            if search
            else clients.customers
        )
        # A technician's few clients (or a group, a search) are asked for by id; the
        # admin's thousands are every row of the MSP.
        among = wanted if len(wanted) <= FEW else None
        rows = await repository.figures(
            self.session, self.msp_id, among, with_activity=sort.endswith("activity")
        )
        kept = {r[0]: r for r in rows}
        zero = (None, 0, 0, None, None)
        lines: list[Line] = []
        for cid, client in wanted.items():
            r = kept.get(cid, zero)
            lines.append((client, r[1], r[2], r[3], r[4]))
        return lines

    async def _ordered(self, lines: list[Line], sort: str, wanted: int | None) -> list[Line]:
        expiry: Mapping[uuid.UUID, tuple[datetime | None, str]] = {}
        if sort == "expiry":
            expiry = await tenancy.active_links_of_msp(self.session, self.msp_id)
        decorated = _decorated(lines, sort, expiry)
        reverse = sort in ("-name", "-activity")
        if wanted is not None and not reverse and wanted < len(decorated) // 4:
            chosen = heapq.nsmallest(wanted, decorated)
        else:
            chosen = sorted(decorated, reverse=reverse)
        return [lines[key[-1]] for key in chosen]

    async def dashboard(
        self, clients: CustomerScope, q: DashboardQuery, managed: ManagedClients
    ) -> DashboardPage:
        offset = decode_offset(q.cursor)
        lines = await self._lines(clients, q.search, q.sort)
        ordered = await self._ordered(lines, q.sort, offset + q.limit + 1)
        page = ordered[offset : offset + q.limit]
        more = len(ordered) > offset + q.limit
        scored = [line[3] for line in lines if line[3] is not None]
        usage = await SubscriptionService(self.session).usage(self.msp_id)
        totals = DashboardTotals(
            clients=len(lines),
            plan=usage.plan,
            client_tenants=_limit(usage.clients),
            technician_seats=_limit(usage.seats),
            managed=managed,
            average_score=percent((2 * sum(scored) + len(scored)) // (2 * len(scored)))
            if scored
            else None,
            scored_clients=len(scored),
            open_tickets=sum(line[1] for line in lines),
            sla_breaches=sum(line[2] for line in lines),
        )
        return DashboardPage(
            items=await self._rows(page),
            next_cursor=OFFSET.encode(offset + q.limit) if more else None,
            totals=totals,
        )

    async def _rows(self, lines: list[Line]) -> list[DashboardRow]:
        ids = [line[0].id for line in lines]
        details = await repository.details(self.session, self.msp_id, ids)
        links = await tenancy.active_links_of_msp(self.session, self.msp_id, ids) if ids else {}
        plans = await ServicePlanService(self.session).usage_of(self.msp_id, ids) if ids else {}
        rows = []
        for client, opened, breached, score_bp, _ in lines:
            d = details.get(client.id)
            expires, status = links.get(client.id, (None, "active"))
            plan = plans.get(client.id)
            rows.append(
                DashboardRow(
                    tenant_id=client.id,
                    tenant_slug=client.slug,
                    tenant_name=client.display_name,
                    tenant_status=status,
                    link_state="active",
                    link_expires_at=expires,
                    open_tickets=opened,
                    sla_breaches=breached,
                    score=percent(score_bp),
                    frameworks=[
                        FrameworkScoreOut(
                            framework_key=key,
                            framework_title=title,
                            score=percent(bp),
                            trend=[p for p in (percent(v) for v in recent) if p is not None],
                        )
                        for key, title, bp, recent in (d.scores if d else [])
                    ],
                    last_msp_activity_at=d.last_activity_at if d else None,
                    last_msp_activity_by=d.last_activity_by if d else None,
                    service_plan=ServicePlanOut(
                        plan_id=plan.plan_id,
                        plan_name=plan.plan_name,
                        included_users=plan.included_users,
                        counted_users=plan.counted_users,
                    )
                    if plan
                    else None,
                )
            )
        return rows

    async def every(self, clients: CustomerScope, q: DashboardQuery) -> list[DashboardRow]:
        """Every row the filters match, in the sort's order (the CSV export)."""
        lines = await self._lines(clients, q.search, q.sort)
        ordered = (await self._ordered(lines, q.sort, None))[:MAX_EXPORT]
        rows: list[DashboardRow] = []
        for first in range(0, len(ordered), 500):
            rows += await self._rows(ordered[first : first + 500])
        return rows
