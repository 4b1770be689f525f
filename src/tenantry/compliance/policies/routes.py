"""Policies API (``/api/v1/tenants/{tenant}/compliance/policies`` and, in an MSP's own
tenant, ``…/compliance/policy-templates``): thin, the rules are in the services."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from tenantry.compliance import auth
from tenantry.compliance.policies.auth import TenantRead
from tenantry.compliance.policies.schemas import (
    AcknowledgementsOut,
    Acknowledger,
    CopyIn,
    PolicyChanges,
    PolicyDetailOut,
    PolicyIn,
    PolicyOut,
    PolicyPatch,
    TemplateChanges,
    TemplateIn,
    TemplateOut,
    TemplatePatch,
    VersionIn,
    VersionOut,
    VersionPatch,
)
from tenantry.compliance.policies.service import PolicyService
from tenantry.compliance.policies.template_service import PolicyTemplateService
from tenantry.http.deps import Work
from tenantry.http.params import Limit
from tenantry.kit.pagination import Page

router = APIRouter(prefix="/api/v1/tenants/{tenant}/compliance", tags=["compliance"])
Cursor = Annotated[str | None, Query()]


async def _detail(work: Work, policy_id: str) -> PolicyDetailOut:
    service = PolicyService(work.session)
    policy = await service.get(work.ctx, policy_id)
    versions = await service.versions(work.ctx, policy)
    return PolicyDetailOut(
        **PolicyOut.model_validate(policy).model_dump(),
        versions=[VersionOut.model_validate(v) for v in versions],
    )


@router.get("/policies", response_model=Page[PolicyOut])
async def list_policies(
    work: auth.ComplianceRead, limit: Limit = 50, cursor: Cursor = None
) -> Page[PolicyOut]:
    rows, next_cursor = await PolicyService(work.session).page(work.ctx, cursor=cursor, limit=limit)
    return Page[PolicyOut](
        items=[PolicyOut.model_validate(p) for p in rows], next_cursor=next_cursor
    )


@router.post("/policies", response_model=PolicyDetailOut, status_code=status.HTTP_201_CREATED)
async def create_policy(body: PolicyIn, work: auth.ComplianceWrite) -> PolicyDetailOut:
    """A new policy with its draft version 1."""
    policy = await PolicyService(work.session).create(
        work.ctx, **body.model_dump(), actor=work.actor
    )
    return await _detail(work, str(policy.id))


@router.get("/policies/{policy_id}", response_model=PolicyDetailOut)
async def get_policy(policy_id: str, work: auth.ComplianceRead) -> PolicyDetailOut:
    return await _detail(work, policy_id)


@router.patch("/policies/{policy_id}", response_model=PolicyOut)
async def update_policy(policy_id: str, body: PolicyPatch, work: auth.ComplianceWrite) -> PolicyOut:
    policy = await PolicyService(work.session).update(
        work.ctx, policy_id, PolicyChanges.of(body), actor=work.actor
    )
    return PolicyOut.model_validate(policy)


@router.get("/policies/{policy_id}/versions", response_model=list[VersionOut])
async def list_versions(policy_id: str, work: auth.ComplianceRead) -> list[VersionOut]:
    service = PolicyService(work.session)
    policy = await service.get(work.ctx, policy_id)
    return [VersionOut.model_validate(v) for v in await service.versions(work.ctx, policy)]


@router.post(
    "/policies/{policy_id}/versions",
    response_model=VersionOut,
    status_code=status.HTTP_201_CREATED,
)
async def new_version(policy_id: str, body: VersionIn, work: auth.ComplianceWrite) -> VersionOut:
    """A new draft, starting from the published version's text."""
    version = await PolicyService(work.session).new_version(
        work.ctx, policy_id, change_note=body.change_note, actor=work.actor
    )
    return VersionOut.model_validate(version)


@router.patch("/policies/{policy_id}/versions/{version_id}", response_model=VersionOut)
async def edit_version(
    policy_id: str, version_id: str, body: VersionPatch, work: auth.ComplianceWrite
) -> VersionOut:
    """Only a draft is edited (else 422 on ``state``)."""
    version = await PolicyService(work.session).edit_version(
        work.ctx,
        policy_id,
        version_id,
        body_markdown=body.body_markdown,
        change_note=body.change_note,
        actor=work.actor,
    )
    return VersionOut.model_validate(version)


@router.post("/policies/{policy_id}/versions/{version_id}/approve", response_model=VersionOut)
async def approve_version(
    policy_id: str, version_id: str, work: auth.ComplianceApprove
) -> VersionOut:
    version = await PolicyService(work.session).approve(
        work.ctx, policy_id, version_id, actor=work.actor
    )
    return VersionOut.model_validate(version)


@router.post("/policies/{policy_id}/versions/{version_id}/publish", response_model=VersionOut)
async def publish_version(
    policy_id: str, version_id: str, work: auth.ComplianceApprove
) -> VersionOut:
    """The approved version becomes the policy's current one; the one before is
    superseded, and everyone acknowledges anew."""
    version = await PolicyService(work.session).publish(
        work.ctx, policy_id, version_id, actor=work.actor
    )
    return VersionOut.model_validate(version)


@router.post("/policies/{policy_id}/acknowledge", response_model=Acknowledger)
async def acknowledge(policy_id: str, work: TenantRead) -> Acknowledger:
    """The caller, one of the tenant's own people, acknowledges the published version
    (403 ``not-own-user`` for the MSP's technicians acting here)."""
    row = await PolicyService(work.session).acknowledge(work.ctx, policy_id, actor=work.actor)
    return Acknowledger(user_id=row.user_id, name=row.user_name, at=row.at)


@router.get("/policies/{policy_id}/acknowledgements", response_model=AcknowledgementsOut)
async def acknowledgements(policy_id: str, work: auth.ComplianceRead) -> AcknowledgementsOut:
    service = PolicyService(work.session)
    return await service.acknowledgements(work.ctx, await service.get(work.ctx, policy_id))


# ---------------------------------------------------------------- the MSP's templates


@router.get("/policy-templates", response_model=Page[TemplateOut])
async def list_templates(
    work: auth.ComplianceRead, limit: Limit = 50, cursor: Cursor = None
) -> Page[TemplateOut]:
    rows, next_cursor = await PolicyTemplateService(work.session).page(
        work.ctx, cursor=cursor, limit=limit
    )
    return Page[TemplateOut](
        items=[TemplateOut.model_validate(t) for t in rows], next_cursor=next_cursor
    )


@router.post("/policy-templates", response_model=TemplateOut, status_code=status.HTTP_201_CREATED)
async def create_template(body: TemplateIn, work: auth.ComplianceWrite) -> TemplateOut:
    row = await PolicyTemplateService(work.session).create(
        work.ctx, **body.model_dump(), actor=work.actor
    )
    return TemplateOut.model_validate(row)


@router.get("/policy-templates/{template_id}", response_model=TemplateOut)
async def get_template(template_id: str, work: auth.ComplianceRead) -> TemplateOut:
    row = await PolicyTemplateService(work.session).get(work.ctx, template_id)
    return TemplateOut.model_validate(row)


@router.patch("/policy-templates/{template_id}", response_model=TemplateOut)
async def update_template(
    template_id: str, body: TemplatePatch, work: auth.ComplianceWrite
) -> TemplateOut:
    row = await PolicyTemplateService(work.session).update(
        work.ctx, template_id, TemplateChanges.of(body), actor=work.actor
    )
    return TemplateOut.model_validate(row)


@router.delete("/policy-templates/{template_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_template(template_id: str, work: auth.ComplianceWrite) -> Response:
    await PolicyTemplateService(work.session).delete(work.ctx, template_id, actor=work.actor)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/policy-templates/{template_id}/copy",
    response_model=PolicyOut,
    status_code=status.HTTP_201_CREATED,
)
async def copy_template(template_id: str, body: CopyIn, work: auth.ComplianceWrite) -> PolicyOut:
    """A draft policy in one of the MSP's clients, in one action. The caller needs
    ``compliance:write`` here and in the client (404 for a client they cannot see, 403
    naming the permission where they lack it)."""
    _there, policy = await PolicyTemplateService(work.session).copy_to_client(
        work.ctx, template_id, body.client, actor=work.actor
    )
    return PolicyOut.model_validate(policy)
