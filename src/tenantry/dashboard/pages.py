"""``/msp/dashboard``: the MSP admin's landing page (totals on top, one row per client,
filters in the query string, offset pages, a sparkline per framework) and its CSV.
Thin: the reads are DashboardService's; the routes module makes the CSV for both."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from tenantry.compliance.charts import sparkline
from tenantry.dashboard import auth
from tenantry.dashboard.routes import csv_response
from tenantry.dashboard.schemas import SORTS, DashboardQuery, build_query
from tenantry.dashboard.service import (
    DashboardService,
    covered,
    group_choices,
    managed,
    on_plan,
    plan_choices,
)
from tenantry.errors import ValidationFailed
from tenantry.web.render import render

router = APIRouter(include_in_schema=False)

BASE = "/msp/dashboard"
PAGE_SIZE = 50
FILTERS = ("client_group", "service_plan", "q", "sort")


def _values(request: Request) -> dict[str, str]:
    return {k: request.query_params.get(k, "").strip() for k in (*FILTERS, "cursor")}


def _query(values: dict[str, str], errors: dict[str, str]) -> DashboardQuery:
    """The query from the form's values; a refused value is left out (its error shown
    next to its field) so the rest of the page still answers."""
    for _ in range(len(values) + 1):
        try:
            return build_query(
                client_group=values["client_group"],
                service_plan=values["service_plan"],
                q=values["q"],
                sort=values["sort"],
                cursor=values["cursor"],
                limit=PAGE_SIZE,
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


def _flip(sort: str, column: str, first: str) -> str:
    """The sort a column heading asks for: its first direction, or the other one when
    the list is sorted by it already."""
    if sort == first:
        return first[1:] if first.startswith("-") else "-" + first
    return first


@router.get(BASE, response_class=HTMLResponse)
async def dashboard_page(request: Request, work: auth.MspDashboardRead) -> HTMLResponse:
    """Every client the caller reaches at a glance."""
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
    try:
        clients = await on_plan(work.session, work.ctx, clients, q.service_plan)
    except ValidationFailed as exc:
        errors[exc.field] = exc.message
        values["service_plan"] = ""
        q = _query(values, errors)
    service = DashboardService(work.session, work.ctx.tenant.id)
    counts = await managed(work.session, work.ctx, clients)
    try:
        page = await service.dashboard(clients, q, counts)
    except ValidationFailed as exc:  # a cursor not ours
        errors[exc.field] = exc.message
        values["cursor"] = ""
        q = _query(values, errors)
        page = await service.dashboard(clients, q, counts)
    rows: list[dict[str, Any]] = [
        {
            "r": r,
            "base": f"/t/{r.tenant_slug}",
            "sparks": [
                sparkline(
                    [round(v * 100) for v in f.trend],
                    label=f"{r.tenant_name}: {f.framework_title} score trend",
                    width=64,
                    height=18,
                )
                for f in r.frameworks
            ],
        }
        for r in page.items
    ]
    plain = {k: v for k, v in values.items() if k != "cursor"}
    headings = {
        "name": "name",
        "score": "score",
        "open": "-open",
        "breached": "-breached",
        "activity": "-activity",
        "expiry": "expiry",
    }
    return render(
        request,
        "dashboard/dashboard.html",
        {
            "base": BASE,
            "values": values,
            "rows": rows,
            "totals": page.totals,
            "groups": await group_choices(work.session, work.ctx.tenant.id),
            "plans": await plan_choices(work.session, work.ctx),
            # The plan's page is the owner's (billing:manage); others see the figures.
            "can_bill": "billing:manage" in work.ctx.permissions,
            "sorts": SORTS,
            "sort": q.sort,
            "sort_href": {
                col: _href(plain, sort=_flip(q.sort, col, first)) for col, first in headings.items()
            },
            "next_href": _href(plain, cursor=page.next_cursor) if page.next_cursor else None,
            "first_href": _href(plain) if values["cursor"] else None,
            "csv_href": BASE + ".csv" + (_href(plain)[len(BASE) :]),
            "filter_errors": errors,
        },
    )


@router.get(BASE + ".csv", response_model=None)
async def dashboard_page_csv(request: Request, work: auth.MspDashboardRead) -> Response:
    values = _values(request)
    q = build_query(
        client_group=values["client_group"],
        service_plan=values["service_plan"],
        q=values["q"],
        sort=values["sort"],
    )
    return await csv_response(work, q)
