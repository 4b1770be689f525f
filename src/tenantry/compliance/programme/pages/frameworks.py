"""``/t/<slug>/compliance``: the adopted frameworks with score and trend and the adopt
form; one framework's requirements with effective status, a status filter and an inline
assess form each; one assessment with its history."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from tenantry.compliance import auth
from tenantry.compliance.charts import line_chart, percent, sparkline
from tenantry.compliance.evidence import pages as evidence_pages
from tenantry.compliance.library.service import LibraryService
from tenantry.compliance.programme.models import ASSESSMENT_STATUSES
from tenantry.compliance.programme.schemas import AssessmentChanges
from tenantry.compliance.programme.service import ProgrammeService
from tenantry.errors import NotFound, TenantryError, ValidationFailed
from tenantry.http.deps import Work
from tenantry.web.forms import field_errors
from tenantry.web.render import redirect_with_notice, render

router = APIRouter(include_in_schema=False)
STATUS_LABELS = {
    "not_assessed": "Not assessed",
    "not_implemented": "Not implemented",
    "partial": "Partially",
    "implemented": "Implemented",
    "not_applicable": "Not applicable",
}


def base_of(work: Work) -> str:
    return f"/t/{work.ctx.tenant.slug}/compliance"


async def available_to(work: Work) -> list[tuple[str, str]]:
    """(reference, label) of every framework the tenant may adopt: the shipped library
    (newest versions first), its own and those its MSP shares."""
    found = await LibraryService(work.session).available(work.ctx)
    return [
        (f.ref, f"{f.title} ({f.version}{'' if f.latest or f.origin != 'library' else ', older'})")
        for f in found
    ]


async def _home(
    request: Request,
    work: Work,
    *,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    service = ProgrammeService(work.session)
    rows = []
    for framework, score in await service.frameworks(work.ctx):
        recent = list(score.recent or []) if score else []
        rows.append(
            {
                "framework": framework,
                "score": score,
                "percent": percent(score.score_bp if score else None),
                "trend": sparkline(recent, label=f"{framework.title}: score trend"),
            }
        )
    return render(
        request,
        "compliance/programme/home.html",
        {
            "base": base_of(work),
            "rows": rows,
            "available": await available_to(work),
            "form": form or {},
            "errors": errors or {},
            "can_write": work.ctx.can("compliance:write"),
        },
        status=status,
    )


@router.get("/t/{tenant}/compliance", response_class=HTMLResponse)
async def home(request: Request, work: auth.ComplianceRead) -> HTMLResponse:
    return await _home(request, work)


@router.post("/t/{tenant}/compliance/adopted", response_model=None)
async def adopt(
    request: Request,
    work: auth.ComplianceWrite,
    framework: Annotated[str, Form(max_length=200)] = "",
) -> HTMLResponse | RedirectResponse:
    form = {"framework": framework}
    try:
        if not framework.strip():
            raise ValidationFailed("framework", "must name a framework")
        try:
            content = await LibraryService(work.session).content(work.ctx, framework.strip())
        except NotFound as exc:
            raise ValidationFailed("framework", "is not a framework you may adopt") from exc
        adopted = await ProgrammeService(work.session).adopt(work.ctx, content, actor=work.actor)
    except TenantryError as exc:
        return await _home(request, work, form=form, errors=field_errors(exc), status=422)
    return redirect_with_notice(
        request, f"{base_of(work)}/frameworks/{adopted.id}", f"{adopted.title} adopted."
    )


@router.post("/t/{tenant}/compliance/frameworks/{framework_id}/retire", response_model=None)
async def retire(
    request: Request,
    framework_id: str,
    work: auth.ComplianceWrite,
    confirm: Annotated[str, Form(max_length=200)] = "",
) -> HTMLResponse | RedirectResponse:
    service = ProgrammeService(work.session)
    framework = await service.framework(work.ctx, framework_id)
    if confirm.strip() != framework.key:
        return await _framework_page(
            request,
            work,
            framework_id,
            errors={"confirm": f"must be {framework.key} to retire it"},
            status=422,
        )
    await service.retire(work.ctx, framework.id, actor=work.actor)
    return redirect_with_notice(request, base_of(work), f"{framework.title} retired.")


async def _framework_page(
    request: Request,
    work: Work,
    framework_id: str,
    *,
    status_filter: str = "",
    cursor: str | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    service = ProgrammeService(work.session)
    framework = await service.framework(work.ctx, framework_id)
    filter_errors: dict[str, str] = {}
    try:
        items, next_cursor = await service.requirements(
            work.ctx, framework.id, status=status_filter or None, cursor=cursor, limit=200
        )
    except ValidationFailed as exc:
        filter_errors[exc.field] = exc.message
        status_filter, cursor = "", None
        items, next_cursor = await service.requirements(work.ctx, framework.id, limit=200)
    history = next(
        (
            h
            for s, h in await service.scores(work.ctx, points=100)
            if s.framework_id == framework.id
        ),
        [],
    )
    score = next((s for f, s in await service.frameworks(work.ctx) if f.id == framework.id), None)
    base = f"{base_of(work)}/frameworks/{framework.id}"
    return render(
        request,
        "compliance/programme/framework.html",
        {
            "base": base,
            "home": base_of(work),
            "framework": framework,
            "score": score,
            "percent": percent(score.score_bp if score else None),
            "chart": line_chart(
                [(p.created_at, p.score_bp) for p in history],
                label=f"{framework.title}: score over time",
            ),
            "history": history,
            "items": items,
            "statuses": ASSESSMENT_STATUSES,
            "labels": STATUS_LABELS,
            "status_filter": status_filter,
            "filter_errors": filter_errors,
            "next_href": f"{base}?{urlencode({'status': status_filter, 'cursor': next_cursor})}"
            if next_cursor
            else None,
            "errors": errors or {},
            "can_write": work.ctx.can("compliance:write"),
            "back": f"{base}?{urlencode({'status': status_filter})}" if status_filter else base,
        },
        status=status,
    )


@router.get("/t/{tenant}/compliance/frameworks/{framework_id}", response_class=HTMLResponse)
async def framework_page(
    request: Request,
    framework_id: str,
    work: auth.ComplianceRead,
    status: Annotated[str, Query(max_length=50)] = "",
    cursor: Annotated[str | None, Query(max_length=4096)] = None,
) -> HTMLResponse:
    return await _framework_page(
        request, work, framework_id, status_filter=status.strip(), cursor=cursor
    )


async def _assessment_page(
    request: Request,
    work: Work,
    assessment_id: str,
    *,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    service = ProgrammeService(work.session)
    assessment, requirement = await service.assessment(work.ctx, assessment_id)
    framework = await service.framework(work.ctx, assessment.framework_id)
    history, _ = await service.history(work.ctx, assessment.id, limit=200)
    current = {
        "status": assessment.status,
        "na_reason": assessment.na_reason,
        "owner": str(assessment.owner_user_id or assessment.owner_name or ""),
        "due_on": assessment.due_on.isoformat() if assessment.due_on else "",
        "notes": assessment.notes,
    }
    return render(
        request,
        "compliance/programme/assessment.html",
        {
            "home": base_of(work),
            "base": f"{base_of(work)}/assessments/{assessment.id}",
            "framework": framework,
            "requirement": requirement,
            "assessment": assessment,
            "effective": await service.effective_status(work.ctx, assessment),
            "history": history,
            "statuses": ASSESSMENT_STATUSES,
            "labels": STATUS_LABELS,
            "form": {**current, **(form or {})},
            "errors": errors or {},
            "can_write": work.ctx.can("compliance:write"),
            "evidence_panel": await evidence_pages.panel(request, work, assessment.id),
        },
        status=status,
    )


@router.get("/t/{tenant}/compliance/assessments/{assessment_id}", response_class=HTMLResponse)
async def assessment_page(
    request: Request, assessment_id: str, work: auth.ComplianceRead
) -> HTMLResponse:
    return await _assessment_page(request, work, assessment_id)


@router.post("/t/{tenant}/compliance/assessments/{assessment_id}", response_model=None)
async def assess(
    request: Request,
    assessment_id: str,
    work: auth.ComplianceWrite,
    status: Annotated[str | None, Form(max_length=50)] = None,
    na_reason: Annotated[str | None, Form(max_length=10_000)] = None,
    owner: Annotated[str | None, Form(max_length=1000)] = None,
    due_on: Annotated[str | None, Form(max_length=50)] = None,
    notes: Annotated[str | None, Form(max_length=10_000)] = None,
    back: Annotated[str, Form(max_length=2000)] = "",
) -> HTMLResponse | RedirectResponse:
    """The full form (detail page) or the inline one (status and reason only, from the
    framework page, which it goes back to)."""
    given: dict[str, Any] = {
        "status": status,
        "na_reason": na_reason,
        "owner": owner,
        "notes": notes,
    }
    changes = AssessmentChanges(
        **{k: v for k, v in given.items() if v is not None},
        **({"due_on": due_on} if due_on is not None else {}),
    )
    try:
        assessment = await ProgrammeService(work.session).assess(
            work.ctx, assessment_id, changes, actor=work.actor
        )
    except NotFound:
        raise
    except TenantryError as exc:
        form = {k: v for k, v in {**given, "due_on": due_on}.items() if v is not None}
        return await _assessment_page(
            request, work, assessment_id, form=form, errors=field_errors(exc), status=422
        )
    # Back to the framework page only (never an address from elsewhere).
    target = back if back.startswith(f"{base_of(work)}/frameworks/") else None
    return redirect_with_notice(
        request,
        target or f"{base_of(work)}/assessments/{assessment.id}",
        "Assessment saved.",
    )
