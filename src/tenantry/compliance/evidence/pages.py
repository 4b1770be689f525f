"""Evidence in the web UI. ``panel.html`` is a fragment the assessment page includes
(``evidence_panel``, made by ``panel()``): the assessment's evidence, removed evidence
as history, an upload form and a link form. The forms post here and land back on the
assessment page (``/t/<slug>/compliance/assessments/{id}``); a refusal shows this
domain's own evidence page with the error beside its field. Thin: the rules are in
EvidenceService."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from tenantry.compliance import auth
from tenantry.compliance.evidence.download import download_response, read_upload
from tenantry.compliance.evidence.rules import ACCEPTED_WORDS, describe_size
from tenantry.compliance.evidence.service import EvidenceService
from tenantry.errors import Conflict, TenantryError
from tenantry.http.deps import Work
from tenantry.web.forms import field_errors
from tenantry.web.render import redirect_with_notice, render

router = APIRouter(include_in_schema=False)

# What the file input offers (the server decides from the bytes whatever is chosen).
ACCEPT = (
    ".pdf,.png,.jpg,.jpeg,.gif,.webp,.txt,.csv,.docx,.xlsx,.pptx,.odt,.ods,.odp,"
    "application/pdf,image/png,image/jpeg,image/gif,image/webp,text/plain,text/csv"
)


def assessment_href(slug: str, assessment_id: str | uuid.UUID) -> str:
    return f"/t/{slug}/compliance/assessments/{assessment_id}"


async def panel(
    request: Request,
    work: Work,
    assessment_id: str | uuid.UUID,
    *,
    errors: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The context of ``compliance/evidence/panel.html`` for one assessment of the
    tenant (404 for any other): include it as ``evidence_panel``."""
    items = await EvidenceService(work.session).for_assessment(work.ctx, assessment_id)
    slug = work.ctx.tenant.slug
    base = assessment_href(slug, assessment_id)
    limit: int = request.app.state.settings.evidence_max_bytes
    return {
        "items": [e for e in items if e.removed_at is None],
        "removed": [e for e in items if e.removed_at is not None],
        "upload_action": f"{base}/evidence",
        "link_action": f"{base}/evidence/links",
        "evidence_base": f"/t/{slug}/compliance/evidence",
        "can_write": work.ctx.can("compliance:write"),
        "errors": errors or {},
        "form": form or {},
        "max_size": describe_size(limit),
        "accepted": ACCEPTED_WORDS,
        "accept": ACCEPT,
    }


async def _page(
    request: Request,
    work: Work,
    assessment_id: str,
    *,
    errors: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    context = await panel(request, work, assessment_id, errors=errors, form=form)
    return render(
        request,
        "compliance/evidence/page.html",
        {
            "evidence_panel": context,
            "assessment_href": assessment_href(work.ctx.tenant.slug, assessment_id),
        },
        status=status,
    )


def _refused(exc: TenantryError) -> dict[str, str]:
    if exc.status >= 500 or exc.status in (401, 403, 404):
        raise exc
    return field_errors(exc)


@router.get("/t/{tenant}/compliance/assessments/{assessment_id}/evidence", response_model=None)
async def evidence_page(
    request: Request, assessment_id: str, work: auth.ComplianceRead
) -> HTMLResponse:
    return await _page(request, work, assessment_id)


@router.post("/t/{tenant}/compliance/assessments/{assessment_id}/evidence", response_model=None)
async def upload_evidence(
    request: Request,
    assessment_id: str,
    work: auth.ComplianceWrite,
    file: Annotated[UploadFile | None, File()] = None,
) -> HTMLResponse | RedirectResponse:
    try:
        name, data = await read_upload(request, file)
        evidence = await EvidenceService(work.session).add_file(
            work.ctx,
            assessment_id,
            name,
            data,
            max_bytes=request.app.state.settings.evidence_max_bytes,
            actor=work.actor,
        )
    except TenantryError as exc:
        errors = _refused(exc)
        return await _page(request, work, assessment_id, errors=errors, status=exc.status)
    return redirect_with_notice(
        request,
        assessment_href(work.ctx.tenant.slug, assessment_id),
        f"Evidence {evidence.name} uploaded.",
    )


@router.post(
    "/t/{tenant}/compliance/assessments/{assessment_id}/evidence/links", response_model=None
)
async def add_link(
    request: Request,
    assessment_id: str,
    work: auth.ComplianceWrite,
    url: Annotated[str, Form(max_length=4096)] = "",
    name: Annotated[str, Form(max_length=1000)] = "",
) -> HTMLResponse | RedirectResponse:
    try:
        evidence = await EvidenceService(work.session).add_link(
            work.ctx, assessment_id, url, name or None, actor=work.actor
        )
    except TenantryError as exc:
        errors = _refused(exc)
        form = {"url": url, "name": name}
        return await _page(
            request, work, assessment_id, errors=errors, form=form, status=exc.status
        )
    return redirect_with_notice(
        request,
        assessment_href(work.ctx.tenant.slug, assessment_id),
        f"Link {evidence.name} added as evidence.",
    )


@router.post("/t/{tenant}/compliance/evidence/{evidence_id}/remove", response_model=None)
async def remove_evidence(
    request: Request, evidence_id: str, work: auth.ComplianceWrite
) -> RedirectResponse:
    service = EvidenceService(work.session)
    try:
        evidence = await service.remove(work.ctx, evidence_id, actor=work.actor)
    except Conflict as exc:
        # Removed meanwhile (another tab, a colleague): say so where the list is.
        evidence = await service.get(work.ctx, evidence_id)
        return redirect_with_notice(
            request, assessment_href(work.ctx.tenant.slug, evidence.assessment_id), exc.detail
        )
    return redirect_with_notice(
        request,
        assessment_href(work.ctx.tenant.slug, evidence.assessment_id),
        f"Evidence {evidence.name} removed; it stays listed as history.",
    )


@router.get("/t/{tenant}/compliance/evidence/{evidence_id}/file", response_model=None)
async def download_evidence(evidence_id: str, work: auth.ComplianceRead) -> Response:
    evidence, data = await EvidenceService(work.session).file(work.ctx, evidence_id)
    return download_response(evidence, data)
