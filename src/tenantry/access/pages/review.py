"""Why: the access review (page and CSV) and one user's explanation."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from tenantry.access import schemas
from tenantry.access.auth import (
    Reader,
)
from tenantry.access.pages.common import (
    admin_of,
    base_of,
)
from tenantry.access.permissions import CATALOG
from tenantry.access.routes import csv_response
from tenantry.access.why import WhyService, review_csv_rows
from tenantry.errors import ValidationFailed
from tenantry.web.render import render

router = APIRouter(include_in_schema=False)


@router.get("/t/{tenant}/access/review", response_class=HTMLResponse)
async def review_page(request: Request, work: Reader) -> HTMLResponse:
    review = await WhyService(work.session, work.ctx.tenant).review_all()
    return render(
        request,
        "access/review.html",
        {"base": base_of(work), "review": review, "catalog_size": len(CATALOG)},
    )


@router.get("/t/{tenant}/access/review.csv", response_model=None)
async def review_csv(work: Reader) -> Response:
    review = await WhyService(work.session, work.ctx.tenant).review_all()
    return csv_response(review_csv_rows(review), work.ctx.tenant.slug)


@router.get("/t/{tenant}/access/explain", response_class=HTMLResponse)
async def explain_page(
    request: Request, work: Reader, user: Annotated[str, Query(max_length=254)] = ""
) -> HTMLResponse:
    explanation: schemas.Explanation | None = None
    errors: dict[str, str] = {}
    if user.strip():
        try:
            explanation = await WhyService(work.session, work.ctx.tenant).explain(user)
        except ValidationFailed as exc:
            errors = {exc.field: exc.message}
    users = await admin_of(work).home_users()
    return render(
        request,
        "access/explain.html",
        {
            "base": base_of(work),
            "user": user,
            "users": users,
            "explanation": explanation,
            "errors": errors,
        },
        status=422 if errors else 200,
    )
