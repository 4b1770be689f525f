"""Evidence API under ``/api/v1/tenants/{tenant}/compliance`` (read: ``compliance:read``;
add and remove: ``compliance:write``). A file is a multipart upload (field ``file``);
a link is JSON. Thin: the rules are in EvidenceService."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, UploadFile, status
from fastapi.responses import Response

from tenantry.compliance import auth
from tenantry.compliance.evidence.download import (
    DOWNLOAD_RESPONSES,
    download_response,
    read_upload,
)
from tenantry.compliance.evidence.schemas import EvidenceLinkIn, EvidenceOut, EvidenceStorageOut
from tenantry.compliance.evidence.service import EvidenceService
from tenantry.http.params import Limit
from tenantry.kit.pagination import Page

router = APIRouter(prefix="/api/v1/tenants/{tenant}/compliance", tags=["compliance"])


@router.get("/assessments/{assessment_id}/evidence", response_model=Page[EvidenceOut])
async def list_evidence(
    assessment_id: str,
    work: auth.ComplianceRead,
    limit: Limit = 50,
    cursor: Annotated[str | None, Query(max_length=4096)] = None,
) -> Page[EvidenceOut]:
    """The assessment's evidence in the order added, removed evidence included
    (``removed_at`` set): the history of what was shown."""
    rows, next_cursor = await EvidenceService(work.session).page(
        work.ctx, assessment_id, cursor=cursor, limit=limit
    )
    return Page(items=[EvidenceOut.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.post(
    "/assessments/{assessment_id}/evidence",
    response_model=EvidenceOut,
    status_code=status.HTTP_201_CREATED,
)
async def upload_evidence(
    request: Request,
    assessment_id: str,
    work: auth.ComplianceWrite,
    file: UploadFile | None = None,
) -> EvidenceOut:
    """Upload a file (multipart field ``file``): PDF, PNG, JPEG, GIF, WebP, plain text or
    CSV, DOCX/XLSX/PPTX or ODF, decided from its bytes; at most
    ``TENANTRY_EVIDENCE_MAX_BYTES`` (10 MiB by default). Refusals are a 422 on ``file``
    (413 for a body far past the limit) and store nothing."""
    name, data = await read_upload(request, file)
    evidence = await EvidenceService(work.session).add_file(
        work.ctx,
        assessment_id,
        name,
        data,
        max_bytes=request.app.state.settings.evidence_max_bytes,
        actor=work.actor,
    )
    return EvidenceOut.model_validate(evidence)


@router.post(
    "/assessments/{assessment_id}/evidence/links",
    response_model=EvidenceOut,
    status_code=status.HTTP_201_CREATED,
)
async def add_link(
    assessment_id: str, body: EvidenceLinkIn, work: auth.ComplianceWrite
) -> EvidenceOut:
    """A link as evidence: an http:// or https:// address (else a 422 on ``url``)."""
    evidence = await EvidenceService(work.session).add_link(
        work.ctx, assessment_id, body.url, body.name, actor=work.actor
    )
    return EvidenceOut.model_validate(evidence)


@router.get("/evidence/{evidence_id}", response_model=EvidenceOut)
async def get_evidence(evidence_id: str, work: auth.ComplianceRead) -> EvidenceOut:
    return EvidenceOut.model_validate(
        await EvidenceService(work.session).get(work.ctx, evidence_id)
    )


@router.get(
    "/evidence/{evidence_id}/file",
    response_class=Response,
    responses=DOWNLOAD_RESPONSES,
)
async def download_evidence(evidence_id: str, work: auth.ComplianceRead) -> Response:
    """The file as uploaded, as an attachment with the type sniffed at upload."""
    evidence, data = await EvidenceService(work.session).file(work.ctx, evidence_id)
    return download_response(evidence, data)


@router.delete("/evidence/{evidence_id}", response_model=EvidenceOut)
async def remove_evidence(evidence_id: str, work: auth.ComplianceWrite) -> EvidenceOut:
    """Mark evidence removed: the row stays (the history), a file's bytes are deleted."""
    evidence = await EvidenceService(work.session).remove(work.ctx, evidence_id, actor=work.actor)
    return EvidenceOut.model_validate(evidence)


@router.get("/evidence-storage", response_model=EvidenceStorageOut)
async def evidence_storage(request: Request, work: auth.ComplianceRead) -> EvidenceStorageOut:
    """What the tenant's evidence files take now (removed files' bytes are deleted)."""
    used = await EvidenceService(work.session).storage_used(work.ctx)
    limit: int = request.app.state.settings.evidence_max_bytes
    return EvidenceStorageOut(used_bytes=used, max_file_bytes=limit)
