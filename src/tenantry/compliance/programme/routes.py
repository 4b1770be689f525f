"""The programme API (``/api/v1/tenants/{tenant}/compliance/…``: adopted frameworks,
assessments, measures, scores, the report's CSV) and the MSP's apply-to-many
(``/api/v1/msp/compliance/apply``). Thin: the rules are in the services."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from tenantry.compliance import auth
from tenantry.compliance.library.service import LibraryService
from tenantry.compliance.programme import report
from tenantry.compliance.programme.apply import ApplyService
from tenantry.compliance.programme.auth import MspComplianceWrite
from tenantry.compliance.programme.measures import MeasureService
from tenantry.compliance.programme.models import AdoptedFramework, FrameworkScore, Measure
from tenantry.compliance.programme.schemas import (
    AdoptedOut,
    AdoptIn,
    ApplyIn,
    ApplyReport,
    ApplyTarget,
    AssessmentChanges,
    AssessmentOut,
    AssessmentPatch,
    HistoryOut,
    MapIn,
    MeasureIn,
    MeasureOut,
    MeasurePatch,
    MeasureValues,
    RequirementOut,
    ScoreOut,
    ScorePoint,
)
from tenantry.compliance.programme.service import ProgrammeService
from tenantry.errors import NotFound, ValidationFailed
from tenantry.http.deps import Work
from tenantry.http.params import Limit
from tenantry.kit.pagination import Page

router = APIRouter(prefix="/api/v1/tenants/{tenant}/compliance", tags=["compliance"])
msp_router = APIRouter(prefix="/api/v1/msp/compliance", tags=["compliance"])

Cursor = Annotated[str | None, Query()]


def adopted_out(framework: AdoptedFramework, score: FrameworkScore | None) -> AdoptedOut:
    out = AdoptedOut.model_validate(framework)
    if score is not None:
        out.score_bp = score.score_bp
        out.recent = list(score.recent or [])
    return out


async def measure_out(work: Work, measure: Measure) -> MeasureOut:
    mapped = await MeasureService(work.session).requirement_ids(work.ctx, [measure.id])
    out = MeasureOut.model_validate(measure)
    out.requirement_ids = mapped.get(measure.id, [])
    return out


# ---------------------------------------------------------------- adopted frameworks


@router.get("/adopted", response_model=Page[AdoptedOut])
async def list_adopted(work: auth.ComplianceRead) -> Page[AdoptedOut]:
    rows = await ProgrammeService(work.session).frameworks(work.ctx)
    return Page[AdoptedOut](items=[adopted_out(f, s) for f, s in rows])


@router.post("/adopted", response_model=AdoptedOut, status_code=status.HTTP_201_CREATED)
async def adopt(body: AdoptIn, work: auth.ComplianceWrite) -> AdoptedOut:
    """Adopt ``KEY@VERSION`` of the shipped library, or a written framework by id."""
    try:
        content = await LibraryService(work.session).content(work.ctx, body.framework.strip())
    except NotFound as exc:
        raise ValidationFailed("framework", "is not a framework this tenant may adopt") from exc
    framework = await ProgrammeService(work.session).adopt(work.ctx, content, actor=work.actor)
    rows = await ProgrammeService(work.session).frameworks(work.ctx)
    return adopted_out(framework, next((s for f, s in rows if f.id == framework.id), None))


@router.get("/adopted/{framework_id}", response_model=AdoptedOut)
async def get_adopted(framework_id: str, work: auth.ComplianceRead) -> AdoptedOut:
    service = ProgrammeService(work.session)
    framework = await service.framework(work.ctx, framework_id)
    rows = await service.frameworks(work.ctx)
    return adopted_out(framework, next((s for f, s in rows if f.id == framework.id), None))


@router.delete("/adopted/{framework_id}", status_code=status.HTTP_204_NO_CONTENT)
async def retire(framework_id: str, work: auth.ComplianceWrite) -> Response:
    await ProgrammeService(work.session).retire(work.ctx, framework_id, actor=work.actor)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/adopted/{framework_id}/requirements", response_model=Page[RequirementOut])
async def requirements(
    framework_id: str,
    work: auth.ComplianceRead,
    status_: Annotated[str | None, Query(alias="status", max_length=50)] = None,
    limit: Limit = 200,
    cursor: Cursor = None,
) -> Page[RequirementOut]:
    """In reading order, each with its assessment and effective status; ``status``
    filters on the effective status."""
    items, next_cursor = await ProgrammeService(work.session).requirements(
        work.ctx, framework_id, status=status_ or None, cursor=cursor, limit=limit
    )
    return Page[RequirementOut](items=items, next_cursor=next_cursor)


# ---------------------------------------------------------------- assessments


@router.get("/assessments/{assessment_id}", response_model=AssessmentOut)
async def get_assessment(assessment_id: str, work: auth.ComplianceRead) -> AssessmentOut:
    assessment, _ = await ProgrammeService(work.session).assessment(work.ctx, assessment_id)
    return AssessmentOut.model_validate(assessment)


@router.patch("/assessments/{assessment_id}", response_model=AssessmentOut)
async def assess(
    assessment_id: str, body: AssessmentPatch, work: auth.ComplianceWrite
) -> AssessmentOut:
    assessment = await ProgrammeService(work.session).assess(
        work.ctx, assessment_id, AssessmentChanges.of(body), actor=work.actor
    )
    return AssessmentOut.model_validate(assessment)


@router.get("/assessments/{assessment_id}/history", response_model=Page[HistoryOut])
async def assessment_history(
    assessment_id: str, work: auth.ComplianceRead, limit: Limit = 50, cursor: Cursor = None
) -> Page[HistoryOut]:
    rows, next_cursor = await ProgrammeService(work.session).history(
        work.ctx, assessment_id, cursor=cursor, limit=limit
    )
    return Page[HistoryOut](
        items=[HistoryOut.model_validate(r) for r in rows], next_cursor=next_cursor
    )


# ---------------------------------------------------------------- measures


@router.get("/measures", response_model=Page[MeasureOut])
async def list_measures(
    work: auth.ComplianceRead, limit: Limit = 50, cursor: Cursor = None
) -> Page[MeasureOut]:
    service = MeasureService(work.session)
    rows, next_cursor = await service.page(work.ctx, cursor=cursor, limit=limit)
    mapped = await service.requirement_ids(work.ctx, [m.id for m in rows])
    items = []
    for measure in rows:
        out = MeasureOut.model_validate(measure)
        out.requirement_ids = mapped.get(measure.id, [])
        items.append(out)
    return Page[MeasureOut](items=items, next_cursor=next_cursor)


@router.post("/measures", response_model=MeasureOut, status_code=status.HTTP_201_CREATED)
async def create_measure(body: MeasureIn, work: auth.ComplianceWrite) -> MeasureOut:
    measure = await MeasureService(work.session).create(
        work.ctx, MeasureValues.of(body), actor=work.actor
    )
    return await measure_out(work, measure)


@router.get("/measures/{measure_id}", response_model=MeasureOut)
async def get_measure(measure_id: str, work: auth.ComplianceRead) -> MeasureOut:
    return await measure_out(work, await MeasureService(work.session).get(work.ctx, measure_id))


@router.patch("/measures/{measure_id}", response_model=MeasureOut)
async def update_measure(
    measure_id: str, body: MeasurePatch, work: auth.ComplianceWrite
) -> MeasureOut:
    measure = await MeasureService(work.session).update(
        work.ctx, measure_id, MeasureValues.of(body), actor=work.actor
    )
    return await measure_out(work, measure)


@router.delete("/measures/{measure_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_measure(measure_id: str, work: auth.ComplianceWrite) -> Response:
    await MeasureService(work.session).delete(work.ctx, measure_id, actor=work.actor)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/measures/{measure_id}/requirements", response_model=MeasureOut)
async def map_measure(measure_id: str, body: MapIn, work: auth.ComplianceWrite) -> MeasureOut:
    measure = await MeasureService(work.session).map(
        work.ctx, measure_id, body.requirement_id, actor=work.actor
    )
    return await measure_out(work, measure)


@router.delete("/measures/{measure_id}/requirements/{requirement_id}", response_model=MeasureOut)
async def unmap_measure(
    measure_id: str, requirement_id: str, work: auth.ComplianceWrite
) -> MeasureOut:
    measure = await MeasureService(work.session).unmap(
        work.ctx, measure_id, requirement_id, actor=work.actor
    )
    return await measure_out(work, measure)


# ---------------------------------------------------------------- scores and report


@router.get("/scores", response_model=Page[ScoreOut])
async def scores(
    work: auth.ComplianceRead,
    points: Annotated[int, Query(ge=0, le=500, description="History points per framework")] = 50,
) -> Page[ScoreOut]:
    rows = await ProgrammeService(work.session).scores(work.ctx, points=points)
    items = []
    for score, history in rows:
        out = ScoreOut.model_validate(score)
        out.history = [ScorePoint.model_validate(p) for p in history]
        items.append(out)
    return Page[ScoreOut](items=items)


@router.get("/report.csv", response_class=Response)
async def report_csv(work: auth.ComplianceRead) -> Response:
    """Every assessment of every adopted framework (the quarterly review's CSV)."""
    built = await report.build(work.session, work.ctx)
    return Response(
        report.as_csv(built),
        media_type="text/csv; charset=utf-8",
        headers={
            "content-disposition": f'attachment; filename="{work.ctx.tenant.slug}-compliance.csv"'
        },
    )


# ---------------------------------------------------------------- across clients


@msp_router.post("/apply", response_model=ApplyReport)
async def apply(body: ApplyIn, work: MspComplianceWrite) -> ApplyReport:
    """Adopt a framework in one client, a client group or all clients, with a result per
    client (adopted, already_adopted, not_permitted, failed with a reason)."""
    return await ApplyService(work.session).apply(
        work.ctx, body.framework, ApplyTarget.of(body), actor=work.actor
    )
