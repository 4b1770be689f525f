"""``/msp/compliance``: the MSP's compliance overview across clients (filters in the query
string, keyset pages, totals, a sparkline per row) and its CSV. Thin: the reads are in
OverviewService; the routes module makes the CSV for both."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from tenantry.compliance import auth
from tenantry.compliance.overview.routes import csv_response
from tenantry.compliance.overview.schemas import SORTS, OverviewQuery, build_query
from tenantry.compliance.overview.service import (
    OverviewService,
    covered,
    group_choices,
    today_in,
)
from tenantry.compliance.overview.sparkline import sparkline
from tenantry.errors import ValidationFailed
from tenantry.http.deps import get_db
from tenantry.web.render import render

router = APIRouter(include_in_schema=False)

BASE = "/msp/compliance"
PAGE_SIZE = 50
# The query string's filters, as the form names them.
FILTERS = ("framework", "client_group", "score_below", "overdue", "sort", "not_started")


def _values(request: Request) -> dict[str, str]:
    return {k: request.query_params.get(k, "").strip() for k in (*FILTERS, "cursor")}


def _query(values: dict[str, str], errors: dict[str, str]) -> OverviewQuery:
    """The query from the form's values; a refused value is left out (and its error
    shown next to its field) so the rest of the page still answers."""
    for _ in range(len(values) + 1):
        try:
            return build_query(
                framework=values["framework"],
                client_group=values["client_group"],
                score_below=values["score_below"],
                overdue=values["overdue"] in ("1", "on", "true", "yes"),
                sort=values["sort"],
                cursor=values["cursor"],
                limit=PAGE_SIZE,
                not_started=values["not_started"] in ("1", "on", "true", "yes"),
            )
        except ValidationFailed as exc:
            if exc.field not in values or exc.field in errors:
                raise
            errors[exc.field] = exc.message
            values[exc.field] = ""
    raise AssertionError("unreachable")  # pragma: no cover


def _href(values: dict[str, str], **override: str) -> str:
    merged = {**values, **override}
    pairs = [(k, v) for k, v in merged.items() if v]
    return BASE + ("?" + urlencode(pairs) if pairs else "")


@router.get(BASE, response_class=HTMLResponse)
async def overview_page(request: Request, work: auth.MspComplianceRead) -> HTMLResponse:
    """Every client's standing per adopted framework, worst first by default."""
    values = _values(request)
    errors: dict[str, str] = {}
    q = _query(values, errors)
    try:
        clients = await covered(work.session, work.ctx, q.client_group)
    except ValidationFailed as exc:
        errors[exc.field] = exc.message
        values["client_group"] = ""
        q = _query(values, errors)
        clients = await covered(work.session, work.ctx, None)
    groups = await group_choices(work.session, work.ctx.tenant.id)
    today = today_in(work.ctx.tenant.time_zone)
    async with get_db(request).unit_of_work(clients.scope) as session:
        service = OverviewService(session)
        try:
            page = await service.overview(clients, q, today=today)
        except ValidationFailed as exc:  # a cursor from another sort, or not ours
            errors[exc.field] = exc.message
            values["cursor"] = ""
            q = _query(values, errors)
            page = await service.overview(clients, q, today=today)
    rows: list[dict[str, Any]] = [
        {
            "r": r,
            "spark": sparkline(r.trend),
            "href": f"/t/{r.tenant_slug}/compliance/frameworks/{r.framework_id}",
        }
        for r in page.items
    ]
    plain = {k: v for k, v in values.items() if k != "cursor"}
    return render(
        request,
        "compliance/overview/overview.html",
        {
            "base": BASE,
            "values": values,
            "rows": rows,
            "totals": page.totals,
            "not_started_clients": page.not_started_clients,
            "groups": groups,
            "sorts": SORTS,
            "sort": q.sort,
            "sort_href": {s: _href(plain, sort=s) for s in SORTS},
            "next_href": _href(plain, cursor=page.next_cursor) if page.next_cursor else None,
            "first_href": _href(plain) if values["cursor"] else None,
            "not_started_href": _href(plain, not_started="1"),
            "overdue_href": _href(plain, overdue="1"),
            "framework_href": {
                f.framework_key: _href(plain, framework=f.framework_key)
                for f in page.totals.frameworks
            },
            "csv_href": BASE + ".csv" + (_href(plain)[len(BASE) :]),
            "filter_errors": errors,
            "today": today,
        },
    )


@router.get(BASE + ".csv", response_model=None)
async def overview_page_csv(request: Request, work: auth.MspComplianceRead) -> Response:
    values = _values(request)
    q = build_query(
        framework=values["framework"],
        client_group=values["client_group"],
        score_below=values["score_below"],
        overdue=values["overdue"] in ("1", "on", "true", "yes"),
        sort=values["sort"],
    )
    return await csv_response(request, work, q)
