"""The dashboard as API: ``GET /api/v1/msp/dashboard`` (a page of clients with the totals)
and ``….csv`` (every client the filters match). Thin: the reads are DashboardService's."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from tenantry.dashboard import auth
from tenantry.dashboard.schemas import SORTS, DashboardPage, DashboardQuery, build_query
from tenantry.dashboard.service import DashboardService, covered, managed, on_plan
from tenantry.http.deps import Work
from tenantry.http.params import Limit
from tenantry.kit.csv import CsvWriter

router = APIRouter(prefix="/api/v1/msp", tags=["dashboard"])

ClientGroup = Annotated[str, Query(description="Only the clients of this client group (id)")]
ServicePlan = Annotated[str, Query(description="Only the clients on this service plan (id)")]
Search = Annotated[str, Query(description="Clients whose name or slug contains this")]
Sort = Annotated[str, Query(description=f"One of {', '.join(SORTS)}")]
Cursor = Annotated[str | None, Query(description="next_cursor of the page before")]

CSV_HEADER = (
    "client",
    "client_name",
    "status",
    "link_state",
    "link_expires_at",
    "open_tickets",
    "sla_breaches",
    "score_percent",
    "frameworks",
    "last_msp_activity_at",
    "last_msp_activity_by",
    "service_plan",
    "included_users",
    "counted_users",
)


@router.get("/dashboard", response_model=DashboardPage)
async def dashboard(
    work: auth.MspDashboardRead,
    client_group: ClientGroup = "",
    service_plan: ServicePlan = "",
    q: Search = "",
    sort: Sort = "",
    limit: Limit = 50,
    cursor: Cursor = None,
) -> DashboardPage:
    """One row per client the caller reaches (a page at a time), with the totals over
    them: link, compliance per adopted framework, open tickets and breaches, last MSP
    activity. Figures from the MSP's kept rows, never counted per request."""
    query = build_query(
        client_group=client_group,
        service_plan=service_plan,
        q=q,
        sort=sort,
        cursor=cursor,
        limit=limit,
    )
    clients = await on_plan(
        work.session,
        work.ctx,
        await covered(work.session, work.ctx, query.client_group),
        query.service_plan,
    )
    counts = await managed(work.session, work.ctx, clients)
    return await DashboardService(work.session, work.ctx.tenant.id).dashboard(
        clients, query, counts
    )


@router.get(
    "/dashboard.csv",
    response_class=Response,
    responses={
        200: {
            "description": "Every client the filters match, as CSV",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        }
    },
)
async def dashboard_csv(
    work: auth.MspDashboardRead,
    client_group: ClientGroup = "",
    service_plan: ServicePlan = "",
    q: Search = "",
    sort: Sort = "",
) -> Response:
    """The same rows as CSV (formula-safe), every page at once."""
    query = build_query(client_group=client_group, service_plan=service_plan, q=q, sort=sort)
    return await csv_response(work, query)


async def csv_response(work: Work, query: DashboardQuery) -> Response:
    clients = await on_plan(
        work.session,
        work.ctx,
        await covered(work.session, work.ctx, query.client_group),
        query.service_plan,
    )
    rows = await DashboardService(work.session, work.ctx.tenant.id).every(clients, query)
    writer = CsvWriter()
    lines = [writer.row(CSV_HEADER)]
    for r in rows:
        lines.append(
            writer.row(
                (
                    r.tenant_slug,
                    r.tenant_name,
                    r.tenant_status,
                    r.link_state,
                    r.link_expires_at.isoformat() if r.link_expires_at else "",
                    r.open_tickets,
                    r.sla_breaches,
                    "" if r.score is None else f"{r.score:.1f}",
                    " ".join(
                        f"{f.framework_key}={'' if f.score is None else f'{f.score:.1f}'}"
                        for f in r.frameworks
                    ),
                    r.last_msp_activity_at.isoformat() if r.last_msp_activity_at else "",
                    r.last_msp_activity_by or "",
                    r.service_plan.plan_name if r.service_plan else "",
                    r.service_plan.included_users if r.service_plan else "",
                    r.service_plan.counted_users if r.service_plan else "",
                )
            )
        )
    name = f"{work.ctx.tenant.slug}-dashboard.csv"
    return Response(
        "".join(lines),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="{name}"'},
    )
