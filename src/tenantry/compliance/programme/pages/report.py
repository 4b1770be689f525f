"""``/t/<slug>/compliance/report``: the printable report for a quarterly review (each
framework with score and trend, every assessment), and the same rows as CSV."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from tenantry.compliance import auth
from tenantry.compliance.charts import line_chart, percent
from tenantry.compliance.programme import report
from tenantry.compliance.programme.pages.frameworks import STATUS_LABELS, base_of
from tenantry.db.base import utcnow
from tenantry.web.render import render

router = APIRouter(include_in_schema=False)


@router.get("/t/{tenant}/compliance/report", response_class=HTMLResponse)
async def report_page(request: Request, work: auth.ComplianceRead) -> HTMLResponse:
    built = await report.build(work.session, work.ctx)
    frameworks = [
        {
            "framework": f,
            "score": s,
            "percent": percent(s.score_bp if s else None),
            "chart": line_chart(
                [(p.created_at, p.score_bp) for p in history],
                label=f"{f.title}: score over time",
                height=140,
            ),
            "rows": [r for r in built.rows if r.framework_id == f.id],
        }
        for f, s, history in built.frameworks
    ]
    return render(
        request,
        "compliance/programme/report.html",
        {
            "home": base_of(work),
            "frameworks": frameworks,
            "labels": STATUS_LABELS,
            "made_at": utcnow(),
        },
    )


@router.get("/t/{tenant}/compliance/report.csv", response_class=Response)
async def report_csv(work: auth.ComplianceRead) -> Response:
    built = await report.build(work.session, work.ctx)
    return Response(
        report.as_csv(built),
        media_type="text/csv; charset=utf-8",
        headers={
            "content-disposition": f'attachment; filename="{work.ctx.tenant.slug}-compliance.csv"'
        },
    )
