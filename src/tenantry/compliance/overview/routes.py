"""The MSP's compliance overview as API: ``GET /api/v1/msp/compliance/overview`` (a page
of rows with the totals) and ``….csv`` (every row the filters match). Thin: the reads
are in OverviewService, the scope is access's (compliance:read in each client)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from tenantry.compliance import auth
from tenantry.compliance.overview.schemas import SORTS, OverviewPage, OverviewQuery, build_query
from tenantry.compliance.overview.service import OverviewService, covered, today_in
from tenantry.http.deps import Work, get_db
from tenantry.http.params import Limit
from tenantry.kit.csv import CsvWriter

router = APIRouter(prefix="/api/v1/msp/compliance", tags=["compliance"])

Framework = Annotated[
    str, Query(description="Only this framework key (nist-csf, msp-baseline, …)", max_length=100)
]
ClientGroup = Annotated[str, Query(description="Only the clients of this client group (id)")]
ScoreBelow = Annotated[
    float | None,
    Query(gt=0, le=100, description="Only scores below this percentage (one decimal at most)"),
]
Overdue = Annotated[bool, Query(description="Only frameworks with overdue assessments")]
Sort = Annotated[str, Query(description=f"One of {', '.join(SORTS)} (default score: worst first)")]
NotStarted = Annotated[
    bool, Query(description="Also list the clients without an adopted framework")
]
Cursor = Annotated[str | None, Query(description="next_cursor of the page before")]

CSV_HEADER = (
    "client",
    "client_name",
    "framework",
    "framework_title",
    "score_percent",
    "implemented",
    "partial",
    "applicable",
    "requirements",
    "not_assessed",
    "overdue",
    "trend_percent",
    "changed_at",
)


@router.get("/overview", response_model=OverviewPage)
async def overview(
    request: Request,
    work: auth.MspComplianceRead,
    framework: Framework = "",
    client_group: ClientGroup = "",
    score_below: ScoreBelow = None,
    overdue: Overdue = False,
    sort: Sort = "score",
    not_started: NotStarted = False,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> OverviewPage:
    """Per client and adopted framework, from the kept scores: score, trend, counts and
    overdue assessments, for every client where the caller holds compliance:read; a
    page at a time (keyset), with the totals over the clients covered (the client group,
    whatever the other filters)."""
    q = build_query(
        framework=framework,
        client_group=client_group,
        score_below=score_below,
        overdue=overdue,
        sort=sort,
        cursor=cursor,
        limit=limit,
        not_started=not_started,
    )
    clients = await covered(work.session, work.ctx, q.client_group)
    today = today_in(work.ctx.tenant.time_zone)
    async with get_db(request).unit_of_work(clients.scope) as session:
        return await OverviewService(session).overview(clients, q, today=today)


@router.get(
    "/overview.csv",
    response_class=Response,
    responses={
        200: {
            "description": "Every row the filters match, as CSV",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        }
    },
)
async def overview_csv(
    request: Request,
    work: auth.MspComplianceRead,
    framework: Framework = "",
    client_group: ClientGroup = "",
    score_below: ScoreBelow = None,
    overdue: Overdue = False,
    sort: Sort = "score",
) -> Response:
    """The same rows as CSV (formula-safe), every page at once."""
    q = build_query(
        framework=framework,
        client_group=client_group,
        score_below=score_below,
        overdue=overdue,
        sort=sort,
    )
    return await csv_response(request, work, q)


async def csv_response(request: Request, work: Work, q: OverviewQuery) -> Response:
    """The export for the API and the page alike (made whole before the answer starts,
    so a failure is a problem document, not half a file)."""
    clients = await covered(work.session, work.ctx, q.client_group)
    today = today_in(work.ctx.tenant.time_zone)
    writer = CsvWriter()
    lines = [writer.row(CSV_HEADER)]
    async with get_db(request).unit_of_work(clients.scope) as session:
        async for r in OverviewService(session).every(clients, q, today=today):
            lines.append(
                writer.row(
                    (
                        r.tenant_slug,
                        r.tenant_name,
                        r.framework_key,
                        r.framework_title,
                        "" if r.score is None else f"{r.score:.1f}",
                        r.implemented,
                        r.partial,
                        r.applicable,
                        r.total,
                        r.not_assessed,
                        r.overdue,
                        " ".join("" if v is None else f"{v:.1f}" for v in r.trend),
                        r.changed_at.isoformat(),
                    )
                )
            )
    name = f"{work.ctx.tenant.slug}-compliance-overview.csv"
    return Response(
        "".join(lines),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="{name}"'},
    )
