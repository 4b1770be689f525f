"""``/t/<slug>/compliance/measures``: applied measures (list, create) and one measure
(edit, map to a requirement of any adopted framework, unmap, delete)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from tenantry.compliance import auth
from tenantry.compliance.programme.measures import MeasureService
from tenantry.compliance.programme.models import MEASURE_STATUSES
from tenantry.compliance.programme.pages.frameworks import base_of
from tenantry.compliance.programme.schemas import IMPLEMENTERS, MeasureValues, RequirementOut
from tenantry.compliance.programme.service import ProgrammeService
from tenantry.errors import NotFound, TenantryError, ValidationFailed
from tenantry.http.deps import Work
from tenantry.web.forms import field_errors
from tenantry.web.render import redirect_with_notice, render

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
Text = Annotated[str, Form(max_length=10_000)]


def _values(
    title: str, description: str, status: str, implemented_by: str, owner_name: str
) -> dict[str, str]:
    return {
        "title": title,
        "description": description,
        "status": status,
        "implemented_by": implemented_by,
        "owner_name": owner_name,
    }


async def _list(
    request: Request,
    work: Work,
    *,
    cursor: str | None = None,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    service = MeasureService(work.session)
    try:
        rows, next_cursor = await service.page(work.ctx, cursor=cursor, limit=PAGE_SIZE)
    except ValidationFailed:
        cursor = None
        rows, next_cursor = await service.page(work.ctx, limit=PAGE_SIZE)
    mapped = await service.requirement_ids(work.ctx, [m.id for m in rows])
    return render(
        request,
        "compliance/programme/measures.html",
        {
            "home": base_of(work),
            "base": f"{base_of(work)}/measures",
            "measures": [(m, len(mapped.get(m.id, []))) for m in rows],
            "cursor": cursor,
            "next_cursor": next_cursor,
            "statuses": MEASURE_STATUSES,
            "implementers": IMPLEMENTERS,
            "form": form or {"status": "planned", "implemented_by": "client"},
            "errors": errors or {},
            "can_write": work.ctx.can("compliance:write"),
        },
        status=status,
    )


@router.get("/t/{tenant}/compliance/measures", response_class=HTMLResponse)
async def measures(
    request: Request,
    work: auth.ComplianceRead,
    cursor: Annotated[str | None, Query(max_length=4096)] = None,
) -> HTMLResponse:
    return await _list(request, work, cursor=cursor)


@router.post("/t/{tenant}/compliance/measures", response_model=None)
async def create(
    request: Request,
    work: auth.ComplianceWrite,
    title: Text = "",
    description: Text = "",
    status: Text = "planned",
    implemented_by: Text = "client",
    owner_name: Text = "",
) -> HTMLResponse | RedirectResponse:
    form = _values(title, description, status, implemented_by, owner_name)
    try:
        measure = await MeasureService(work.session).create(
            work.ctx, MeasureValues(**form), actor=work.actor
        )
    except TenantryError as exc:
        return await _list(request, work, form=form, errors=field_errors(exc), status=422)
    return redirect_with_notice(
        request, f"{base_of(work)}/measures/{measure.id}", f"Measure {measure.title} added."
    )


async def _requirements(work: Work) -> list[tuple[str, list[RequirementOut]]]:
    """Every assessable requirement of every adopted framework, for the map form."""
    service = ProgrammeService(work.session)
    found = []
    for framework, _ in await service.frameworks(work.ctx):
        items: list[RequirementOut] = []
        cursor = None
        while True:
            page, cursor = await service.requirements(
                work.ctx, framework.id, cursor=cursor, limit=200
            )
            items += [r for r in page if r.assessable]
            if cursor is None:
                break
        found.append((framework.title, items))
    return found


async def _detail(
    request: Request,
    work: Work,
    measure_id: str,
    *,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    service = MeasureService(work.session)
    measure = await service.get(work.ctx, measure_id)
    mapped = set((await service.requirement_ids(work.ctx, [measure.id]))[measure.id])
    groups = await _requirements(work)
    current = _values(
        measure.title,
        measure.description,
        measure.status,
        measure.implemented_by,
        measure.owner_name,
    )
    return render(
        request,
        "compliance/programme/measure.html",
        {
            "home": base_of(work),
            "base": f"{base_of(work)}/measures/{measure.id}",
            "measure": measure,
            "mapped": [(title, [r for r in rs if r.id in mapped]) for title, rs in groups],
            "unmapped": [(title, [r for r in rs if r.id not in mapped]) for title, rs in groups],
            "statuses": MEASURE_STATUSES,
            "implementers": IMPLEMENTERS,
            "form": {**current, **(form or {})},
            "errors": errors or {},
            "can_write": work.ctx.can("compliance:write"),
        },
        status=status,
    )


@router.get("/t/{tenant}/compliance/measures/{measure_id}", response_class=HTMLResponse)
async def measure_page(
    request: Request, measure_id: str, work: auth.ComplianceRead
) -> HTMLResponse:
    return await _detail(request, work, measure_id)


@router.post("/t/{tenant}/compliance/measures/{measure_id}", response_model=None)
async def update(
    request: Request,
    measure_id: str,
    work: auth.ComplianceWrite,
    title: Text = "",
    description: Text = "",
    status: Text = "planned",
    implemented_by: Text = "client",
    owner_name: Text = "",
) -> HTMLResponse | RedirectResponse:
    form = _values(title, description, status, implemented_by, owner_name)
    try:
        measure = await MeasureService(work.session).update(
            work.ctx, measure_id, MeasureValues(**form), actor=work.actor
        )
    except NotFound:
        raise
    except TenantryError as exc:
        return await _detail(
            request, work, measure_id, form=form, errors=field_errors(exc), status=422
        )
    return redirect_with_notice(
        request, f"{base_of(work)}/measures/{measure.id}", f"{measure.title} saved."
    )


@router.post("/t/{tenant}/compliance/measures/{measure_id}/requirements", response_model=None)
async def map_requirement(
    request: Request,
    measure_id: str,
    work: auth.ComplianceWrite,
    requirement_id: Annotated[str, Form(max_length=100)] = "",
) -> HTMLResponse | RedirectResponse:
    service = MeasureService(work.session)
    try:
        try:
            wanted = uuid.UUID(requirement_id.strip())
        except ValueError as exc:
            await service.get(work.ctx, measure_id)  # an unknown measure is a 404 first
            raise ValidationFailed("requirement_id", "choose a requirement") from exc
        measure = await service.map(work.ctx, measure_id, wanted, actor=work.actor)
    except NotFound:
        raise
    except TenantryError as exc:
        return await _detail(request, work, measure_id, errors=field_errors(exc), status=422)
    return redirect_with_notice(
        request, f"{base_of(work)}/measures/{measure.id}", "Requirement mapped."
    )


@router.post(
    "/t/{tenant}/compliance/measures/{measure_id}/requirements/{requirement_id}/remove",
    response_model=None,
)
async def unmap_requirement(
    request: Request, measure_id: str, requirement_id: str, work: auth.ComplianceWrite
) -> RedirectResponse:
    measure = await MeasureService(work.session).unmap(
        work.ctx, measure_id, requirement_id, actor=work.actor
    )
    return redirect_with_notice(
        request, f"{base_of(work)}/measures/{measure.id}", "Requirement unmapped."
    )


@router.post("/t/{tenant}/compliance/measures/{measure_id}/delete", response_model=None)
async def delete(request: Request, measure_id: str, work: auth.ComplianceWrite) -> RedirectResponse:
    service = MeasureService(work.session)
    measure = await service.get(work.ctx, measure_id)
    title = measure.title
    await service.delete(work.ctx, measure.id, actor=work.actor)
    return redirect_with_notice(request, f"{base_of(work)}/measures", f"{title} deleted.")
