"""Framework library pages (``/t/{tenant}/compliance/library``): what this tenant may
adopt, one framework's requirements as a tree, the author form, the import form with its
per-line (or per-path) errors, and the editing of a framework the tenant wrote. Thin: the
rules are in LibraryService and AuthoringService."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse

from tenantry.compliance import auth
from tenantry.compliance.library.authoring import AuthoringService
from tenantry.compliance.library.schemas import RequirementChanges, RequirementIn
from tenantry.compliance.library.service import LibraryService
from tenantry.errors import TenantryError, ValidationFailed
from tenantry.http.deps import Work
from tenantry.web.forms import field_errors
from tenantry.web.render import redirect_with_notice, render

router = APIRouter(include_in_schema=False)
WRITE = "compliance:write"
Text = Annotated[str, Form(max_length=30_000)]


def _base(work: Work) -> str:
    return f"/t/{work.ctx.tenant.slug}/compliance/library"


@router.get("/t/{tenant}/compliance/library", response_class=HTMLResponse)
async def library(request: Request, work: auth.ComplianceRead) -> HTMLResponse:
    found = await LibraryService(work.session).available(work.ctx)
    return render(
        request,
        "compliance/library/list.html",
        {"base": _base(work), "frameworks": found, "can_write": work.ctx.can(WRITE)},
    )


def _form_page(
    request: Request,
    work: Work,
    template: str,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    problems: list[str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    return render(
        request,
        template,
        {
            "base": _base(work),
            "form": form or {},
            "errors": errors or {},
            "problems": problems or [],
        },
        status=status,
    )


@router.get("/t/{tenant}/compliance/library/new", response_class=HTMLResponse)
async def new_framework(request: Request, work: auth.ComplianceWrite) -> HTMLResponse:
    return _form_page(request, work, "compliance/library/new.html", {"version": "1"})


@router.post("/t/{tenant}/compliance/library/new", response_model=None)
async def create_framework(
    request: Request,
    work: auth.ComplianceWrite,
    key: Text = "",
    version: Text = "1",
    title: Text = "",
    description: Text = "",
) -> HTMLResponse | RedirectResponse:
    form = {"key": key, "version": version, "title": title, "description": description}
    try:
        fw = await AuthoringService(work.session).create(work.ctx, **form, actor=work.actor)
    except TenantryError as exc:
        return _form_page(
            request, work, "compliance/library/new.html", form, field_errors(exc), status=422
        )
    return redirect_with_notice(
        request, f"{_base(work)}/{fw.id}", f"Framework {fw.title} created; add its requirements."
    )


@router.get("/t/{tenant}/compliance/library/import", response_class=HTMLResponse)
async def import_form(request: Request, work: auth.ComplianceWrite) -> HTMLResponse:
    return _form_page(request, work, "compliance/library/import.html", {"format": "oscal"})


@router.post("/t/{tenant}/compliance/library/import", response_model=None)
async def import_framework(
    request: Request,
    work: auth.ComplianceWrite,
    file: UploadFile | None = None,
    format: Text = "oscal",
    key: Text = "",
    title: Text = "",
    version: Text = "",
) -> HTMLResponse | RedirectResponse:
    form = {"format": format, "key": key, "title": title, "version": version}
    limit: int = request.app.state.settings.max_import_bytes
    data = await file.read(limit + 1) if file is not None else b""
    service = AuthoringService(work.session)
    try:
        if format == "csv":
            fw = await service.import_csv(
                work.ctx,
                data,
                key=key,
                title=title,
                version=version or "1",
                max_bytes=limit,
                actor=work.actor,
            )
        elif format == "oscal":
            fw = await service.import_oscal(
                work.ctx,
                data,
                key=key,
                title=title,
                version=version,
                max_bytes=limit,
                actor=work.actor,
            )
        else:
            raise ValidationFailed("format", "must be OSCAL or CSV")
    except TenantryError as exc:
        # An import's problems name their line or JSON path: listed under the form.
        listed = exc.extra.get("errors") or []
        problems = [
            str(e["message"])
            for e in listed
            if isinstance(e, dict) and ("line" in e or "path" in e)
        ]
        errors = {} if problems else field_errors(exc)
        return _form_page(
            request, work, "compliance/library/import.html", form, errors, problems, status=422
        )
    return redirect_with_notice(
        request, f"{_base(work)}/{fw.id}", f"Imported {fw.title}: nothing else was changed."
    )


async def _detail(
    request: Request,
    work: Work,
    ref: str,
    *,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    library = LibraryService(work.session)
    content = await library.content(work.ctx, ref)
    authored: Any = None
    rows: list[Any] = []
    if content.origin == "own" and content.source_id is not None:
        authored, rows = await library.authored(work.ctx, content.source_id)
    children: dict[str | None, list[Any]] = {}
    for r in content.requirements:
        children.setdefault(r.parent_ref, []).append(r)
    return render(
        request,
        "compliance/library/detail.html",
        {
            "base": _base(work),
            "fw": content,
            "ref": ref,
            "children": children,
            "authored": authored,
            "headings": [r for r in rows if not r.assessable],
            "ids": {r.ref: r.id for r in rows},
            "positions": {r.ref: r.position for r in rows},
            "last": len(rows) - 1,
            "can_edit": authored is not None and work.ctx.can(WRITE),
            "is_msp": work.ctx.tenant.is_msp,
            "form": form or {},
            "errors": errors or {},
        },
        status=status,
    )


@router.get("/t/{tenant}/compliance/library/{ref}", response_class=HTMLResponse)
async def framework(request: Request, ref: str, work: auth.ComplianceRead) -> HTMLResponse:
    return await _detail(request, work, ref)


@router.post("/t/{tenant}/compliance/library/{framework_id}/requirements", response_model=None)
async def add_requirement(
    request: Request,
    framework_id: str,
    work: auth.ComplianceWrite,
    ref: Text = "",
    title: Text = "",
    description: Text = "",
    group: Text = "",
    heading: Text = "",
) -> HTMLResponse | RedirectResponse:
    form = {"ref": ref, "title": title, "description": description, "group": group}
    try:
        body = RequirementIn.model_validate(
            {**form, "group": group or None, "heading": heading == "on"}
        )
        item = await AuthoringService(work.session).add_requirement(
            work.ctx, framework_id, body, actor=work.actor
        )
    except (TenantryError, ValueError) as exc:
        errors = (
            field_errors(exc) if isinstance(exc, TenantryError) else {"form": "Check the fields."}
        )
        return await _detail(request, work, framework_id, form=form, errors=errors, status=422)
    return redirect_with_notice(request, f"{_base(work)}/{framework_id}", f"{item.ref} added.")


@router.post(
    "/t/{tenant}/compliance/library/{framework_id}/requirements/{requirement}/move",
    response_model=None,
)
async def move_requirement(
    request: Request,
    framework_id: str,
    requirement: str,
    work: auth.ComplianceWrite,
    position: Annotated[int, Form(ge=0, le=100_000)] = 0,
) -> RedirectResponse:
    await AuthoringService(work.session).update_requirement(
        work.ctx,
        framework_id,
        requirement,
        RequirementChanges(position=position),
        actor=work.actor,
    )
    return redirect_with_notice(request, f"{_base(work)}/{framework_id}", "Moved.")


@router.post(
    "/t/{tenant}/compliance/library/{framework_id}/requirements/{requirement}/remove",
    response_model=None,
)
async def remove_requirement(
    request: Request, framework_id: str, requirement: str, work: auth.ComplianceWrite
) -> HTMLResponse | RedirectResponse:
    try:
        await AuthoringService(work.session).remove_requirement(
            work.ctx, framework_id, requirement, actor=work.actor
        )
    except ValidationFailed as exc:
        return await _detail(request, work, framework_id, errors={"form": exc.message}, status=422)
    return redirect_with_notice(request, f"{_base(work)}/{framework_id}", f"{requirement} removed.")


@router.post("/t/{tenant}/compliance/library/{framework_id}/share", response_model=None)
async def share_framework(
    request: Request,
    framework_id: str,
    work: auth.ComplianceWrite,
    shared: Text = "",
) -> HTMLResponse | RedirectResponse:
    try:
        fw = await AuthoringService(work.session).share(
            work.ctx, framework_id, shared == "on", actor=work.actor
        )
    except ValidationFailed as exc:
        return await _detail(request, work, framework_id, errors={"form": exc.message}, status=422)
    said = "shared with all your clients" if fw.shared else "no longer shared"
    return redirect_with_notice(request, f"{_base(work)}/{framework_id}", f"{fw.title} {said}.")


@router.post("/t/{tenant}/compliance/library/{framework_id}/delete", response_model=None)
async def delete_framework(
    request: Request, framework_id: str, work: auth.ComplianceWrite
) -> RedirectResponse:
    await AuthoringService(work.session).delete(work.ctx, framework_id, actor=work.actor)
    return redirect_with_notice(
        request, _base(work), "Framework deleted; clients that adopted it keep their copy."
    )
