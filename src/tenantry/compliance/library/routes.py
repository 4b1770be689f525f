"""Framework library API (``/api/v1/tenants/{tenant}/compliance/library`` and the authored
frameworks under ``…/compliance/frameworks``): thin, the rules are in the services."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, Response, UploadFile, status

from tenantry.compliance import auth
from tenantry.compliance.library.authoring import AuthoringService
from tenantry.compliance.library.schemas import (
    AuthoredDetailOut,
    AuthoredOut,
    AuthoredRequirementOut,
    AvailableOut,
    ContentOut,
    FrameworkChanges,
    FrameworkIn,
    FrameworkPatch,
    RequirementChanges,
    RequirementIn,
    RequirementPatch,
    ShareIn,
)
from tenantry.compliance.library.service import LibraryService
from tenantry.http.deps import Work

router = APIRouter(prefix="/api/v1/tenants/{tenant}/compliance", tags=["compliance library"])


async def _detail(work: Work, framework_id: str) -> AuthoredDetailOut:
    fw, rows = await LibraryService(work.session).authored(work.ctx, framework_id)
    return AuthoredDetailOut(
        **AuthoredOut.model_validate(fw).model_dump(),
        requirements=[AuthoredRequirementOut.model_validate(r) for r in rows],
    )


@router.get("/library", response_model=list[AvailableOut])
async def list_available(work: auth.ComplianceRead) -> list[AvailableOut]:
    """What this tenant may adopt: the shipped library (every version, ``latest`` marked),
    its own frameworks and those its MSP shared with its clients."""
    found = await LibraryService(work.session).available(work.ctx)
    return [AvailableOut.model_validate(a) for a in found]


@router.get("/library/{ref}", response_model=ContentOut)
async def framework_content(ref: str, work: auth.ComplianceRead) -> ContentOut:
    """One framework's requirements in reading order; ``ref`` is ``KEY@VERSION`` of the
    shipped library or an authored framework's id."""
    return ContentOut.model_validate(await LibraryService(work.session).content(work.ctx, ref))


@router.post("/frameworks", response_model=AuthoredDetailOut, status_code=status.HTTP_201_CREATED)
async def create_framework(body: FrameworkIn, work: auth.ComplianceWrite) -> AuthoredDetailOut:
    fw = await AuthoringService(work.session).create(
        work.ctx, **body.model_dump(), actor=work.actor
    )
    return await _detail(work, str(fw.id))


@router.post(
    "/frameworks/import/oscal",
    response_model=AuthoredDetailOut,
    status_code=status.HTTP_201_CREATED,
)
async def import_oscal(
    request: Request,
    file: UploadFile,
    work: auth.ComplianceWrite,
    key: Annotated[str, Form()] = "",
    title: Annotated[str, Form()] = "",
    version: Annotated[str, Form()] = "",
) -> AuthoredDetailOut:
    """An OSCAL catalog (JSON). Groups become group headings, controls requirements. The
    whole file or nothing; errors name the JSON path (``catalog.groups[0].controls[3].id``)."""
    limit: int = request.app.state.settings.max_import_bytes
    fw = await AuthoringService(work.session).import_oscal(
        work.ctx,
        await file.read(limit + 1),
        key=key,
        title=title,
        version=version,
        max_bytes=limit,
        actor=work.actor,
    )
    return await _detail(work, str(fw.id))


@router.post(
    "/frameworks/import/csv", response_model=AuthoredDetailOut, status_code=status.HTTP_201_CREATED
)
async def import_csv(
    request: Request,
    file: UploadFile,
    work: auth.ComplianceWrite,
    key: Annotated[str, Form()],
    title: Annotated[str, Form()],
    version: Annotated[str, Form()] = "1",
) -> AuthoredDetailOut:
    """CSV with a header line: id, title, description, group. The whole file or nothing;
    errors name the line."""
    limit: int = request.app.state.settings.max_import_bytes
    fw = await AuthoringService(work.session).import_csv(
        work.ctx,
        await file.read(limit + 1),
        key=key,
        title=title,
        version=version,
        max_bytes=limit,
        actor=work.actor,
    )
    return await _detail(work, str(fw.id))


@router.patch("/frameworks/{framework_id}", response_model=AuthoredDetailOut)
async def update_framework(
    framework_id: str, body: FrameworkPatch, work: auth.ComplianceWrite
) -> AuthoredDetailOut:
    await AuthoringService(work.session).update(
        work.ctx, framework_id, FrameworkChanges.of(body), actor=work.actor
    )
    return await _detail(work, framework_id)


@router.delete("/frameworks/{framework_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_framework(framework_id: str, work: auth.ComplianceWrite) -> Response:
    await AuthoringService(work.session).delete(work.ctx, framework_id, actor=work.actor)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/frameworks/{framework_id}/share", response_model=AuthoredDetailOut)
async def share_framework(
    framework_id: str, body: ShareIn, work: auth.ComplianceWrite
) -> AuthoredDetailOut:
    """Share with all clients of this MSP (``shared: true``) or stop sharing. Clients that
    adopted it keep their copy."""
    await AuthoringService(work.session).share(
        work.ctx, framework_id, body.shared, actor=work.actor
    )
    return await _detail(work, framework_id)


@router.post(
    "/frameworks/{framework_id}/requirements",
    response_model=AuthoredDetailOut,
    status_code=status.HTTP_201_CREATED,
)
async def add_requirement(
    framework_id: str, body: RequirementIn, work: auth.ComplianceWrite
) -> AuthoredDetailOut:
    await AuthoringService(work.session).add_requirement(
        work.ctx, framework_id, body, actor=work.actor
    )
    return await _detail(work, framework_id)


@router.patch(
    "/frameworks/{framework_id}/requirements/{requirement}", response_model=AuthoredDetailOut
)
async def update_requirement(
    framework_id: str, requirement: str, body: RequirementPatch, work: auth.ComplianceWrite
) -> AuthoredDetailOut:
    """``requirement`` is the requirement's ref or id; ``position`` moves it."""
    await AuthoringService(work.session).update_requirement(
        work.ctx, framework_id, requirement, RequirementChanges.of(body), actor=work.actor
    )
    return await _detail(work, framework_id)


@router.delete(
    "/frameworks/{framework_id}/requirements/{requirement}",
    status_code=status.HTTP_204_NO_CONTENT,
)
async def remove_requirement(
    framework_id: str, requirement: str, work: auth.ComplianceWrite
) -> Response:
    await AuthoringService(work.session).remove_requirement(
        work.ctx, framework_id, requirement, actor=work.actor
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)
