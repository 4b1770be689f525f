"""``/t/{tenant}/compliance/policies``: the list, one policy (its published text, its
versions, approve and publish for those who may, acknowledging, who has and who has not)
and the editor of its draft.

Everyone in the tenant (``tenant:read``) reads the published policies and acknowledges
them; drafts, the version history and the acknowledgement lists need ``compliance:read``.
"""

from __future__ import annotations

import uuid
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from tenantry.compliance import auth
from tenantry.compliance.policies.auth import TenantRead
from tenantry.compliance.policies.markdown import render as render_markdown
from tenantry.compliance.policies.schemas import PolicyChanges, parse_review_on
from tenantry.compliance.policies.service import PolicyService
from tenantry.errors import NotFound, TenantryError, ValidationFailed
from tenantry.http.deps import Work
from tenantry.web.forms import field_errors
from tenantry.web.render import redirect_with_notice, render

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
Text = Annotated[str, Form(max_length=400_000)]
Line = Annotated[str, Form(max_length=1000)]
MaybeText = Annotated[str | None, Form(max_length=400_000)]
MaybeLine = Annotated[str | None, Form(max_length=1000)]


def _base(work: Work) -> str:
    return f"/t/{work.ctx.tenant.slug}/compliance/policies"


async def _list_page(
    request: Request,
    work: Work,
    *,
    cursor: str | None,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    service = PolicyService(work.session)
    reader = work.ctx.can("compliance:read")
    try:
        rows, next_cursor = await service.page(
            work.ctx, cursor=cursor, limit=PAGE_SIZE, published_only=not reader
        )
    except ValidationFailed:
        cursor = None
        rows, next_cursor = await service.page(
            work.ctx, cursor=None, limit=PAGE_SIZE, published_only=not reader
        )
    base = _base(work)
    principal = work.ctx.principal
    return render(
        request,
        "compliance/policies/list.html",
        {
            "base": base,
            "policies": rows,
            "cursor": cursor,
            "next_href": f"{base}?{urlencode({'cursor': next_cursor})}" if next_cursor else None,
            "form": form or {},
            "errors": errors or {},
            "reader": reader,
            "can_write": work.ctx.can("compliance:write"),
            # Where the MSP's templates are: its own tenant (for its people acting here).
            "templates_href": f"/t/{principal.home_tenant_slug}/compliance/policy-templates"
            if principal.home_is_msp
            else None,
        },
        status=status,
    )


@router.get("/t/{tenant}/compliance/policies", response_class=HTMLResponse)
async def policies(
    request: Request, work: TenantRead, cursor: Annotated[str | None, Query()] = None
) -> HTMLResponse:
    return await _list_page(request, work, cursor=cursor)


@router.post("/t/{tenant}/compliance/policies", response_model=None)
async def create_policy(
    request: Request,
    work: auth.ComplianceWrite,
    title: Line = "",
    summary: Text = "",
    owner_name: Line = "",
) -> HTMLResponse | RedirectResponse:
    form = {"title": title, "summary": summary, "owner_name": owner_name}
    try:
        policy = await PolicyService(work.session).create(
            work.ctx, title=title, summary=summary, owner_name=owner_name, actor=work.actor
        )
    except TenantryError as exc:
        return await _list_page(
            request, work, cursor=None, form=form, errors=field_errors(exc), status=422
        )
    return redirect_with_notice(
        request, f"{_base(work)}/{policy.id}/edit", f"Policy {policy.title} created: write it."
    )


async def _policy_page(
    request: Request,
    work: Work,
    policy_id: str,
    *,
    shown: str | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    service = PolicyService(work.session)
    policy = await service.get(work.ctx, policy_id)
    reader = work.ctx.can("compliance:read")
    if not reader and policy.current_version_id is None:
        # Unpublished policies are the compliance team's drafts.
        raise NotFound("No such policy.")
    versions = await service.versions(work.ctx, policy) if reader else []
    current = await service.current(work.ctx, policy)
    version = current
    if reader and shown:
        version = next((v for v in versions if str(v.id) == shown), current)
    elif reader and version is None and versions:
        version = versions[0]
    acks = await service.acknowledgements(work.ctx, policy) if reader else None
    own = work.ctx.relation == "home"
    return render(
        request,
        "compliance/policies/detail.html",
        {
            "base": _base(work),
            "policy": policy,
            "versions": versions,
            "in_force": current,
            "version": version,
            "body_html": render_markdown(version.body_markdown) if version else None,
            "acks": acks,
            "reader": reader,
            "own_person": own,
            "acknowledged": await service.acknowledged_by(
                work.ctx, policy, work.ctx.principal.user_id
            ),
            "can_write": work.ctx.can("compliance:write"),
            "can_approve": work.ctx.can("compliance:approve"),
            "errors": errors or {},
        },
        status=status,
    )


@router.get("/t/{tenant}/compliance/policies/{policy_id}", response_class=HTMLResponse)
async def policy_page(
    request: Request,
    policy_id: str,
    work: TenantRead,
    version: Annotated[str | None, Query(max_length=64)] = None,
) -> HTMLResponse:
    return await _policy_page(request, work, policy_id, shown=version)


async def _edit_page(
    request: Request,
    work: Work,
    policy_id: str,
    *,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    service = PolicyService(work.session)
    policy = await service.get(work.ctx, policy_id)
    versions = await service.versions(work.ctx, policy)
    draft = next((v for v in versions if v.state == "draft"), None)
    current = {
        "title": policy.title,
        "summary": policy.summary,
        "owner_name": policy.owner_name,
        "review_on": policy.review_on.isoformat() if policy.review_on else "",
        "body_markdown": draft.body_markdown if draft else "",
        "change_note": draft.change_note if draft else "",
    }
    return render(
        request,
        "compliance/policies/edit.html",
        {
            "base": _base(work),
            "policy": policy,
            "draft": draft,
            "open_version": next((v for v in versions if v.state == "approved"), None),
            "has_published": policy.current_version_id is not None,
            "form": {**current, **(form or {})},
            "errors": errors or {},
        },
        status=status,
    )


@router.get("/t/{tenant}/compliance/policies/{policy_id}/edit", response_class=HTMLResponse)
async def edit_page(request: Request, policy_id: str, work: auth.ComplianceWrite) -> HTMLResponse:
    return await _edit_page(request, work, policy_id)


@router.post("/t/{tenant}/compliance/policies/{policy_id}/edit", response_model=None)
async def save_policy(
    request: Request,
    policy_id: str,
    work: auth.ComplianceWrite,
    title: Line = "",
    summary: Text = "",
    owner_name: Line = "",
    review_on: Line = "",
    body_markdown: MaybeText = None,
    change_note: MaybeLine = None,
) -> HTMLResponse | RedirectResponse:
    form = {"title": title, "summary": summary, "owner_name": owner_name, "review_on": review_on}
    if body_markdown is not None:
        form["body_markdown"] = body_markdown
    if change_note is not None:
        form["change_note"] = change_note
    service = PolicyService(work.session)
    policy = await service.get(work.ctx, policy_id)
    try:
        # One savepoint for both changes: a refused text leaves the details unchanged too.
        async with work.session.begin_nested():
            await _save(work, service, policy.id, form, body_markdown, change_note)
    except NotFound:
        raise
    except TenantryError as exc:
        return await _edit_page(
            request, work, policy_id, form=form, errors=field_errors(exc), status=422
        )
    return redirect_with_notice(request, f"{_base(work)}/{policy.id}", f"{policy.title} saved.")


async def _save(
    work: Work,
    service: PolicyService,
    policy_id: uuid.UUID,
    form: dict[str, str],
    body_markdown: str | None,
    change_note: str | None,
) -> None:
    review = parse_review_on(form["review_on"])
    changes = PolicyChanges(
        title=form["title"],
        summary=form["summary"],
        owner_name=form["owner_name"],
        review_on=review,
        clear_review=review is None,
    )
    policy = await service.update(work.ctx, policy_id, changes, actor=work.actor)
    if body_markdown is None and change_note is None:
        return
    versions = await service.versions(work.ctx, policy)
    draft = next((v for v in versions if v.state == "draft"), None)
    if draft is None:
        raise ValidationFailed("state", "there is no draft to save the text into")
    await service.edit_version(
        work.ctx,
        policy.id,
        draft.id,
        body_markdown=body_markdown,
        change_note=change_note,
        actor=work.actor,
    )


@router.post("/t/{tenant}/compliance/policies/{policy_id}/versions", response_model=None)
async def new_version(
    request: Request, policy_id: str, work: auth.ComplianceWrite, change_note: Line = ""
) -> HTMLResponse | RedirectResponse:
    try:
        version = await PolicyService(work.session).new_version(
            work.ctx, policy_id, change_note=change_note, actor=work.actor
        )
    except NotFound:
        raise
    except TenantryError as exc:
        return await _policy_page(request, work, policy_id, errors=field_errors(exc), status=422)
    return redirect_with_notice(
        request, f"{_base(work)}/{policy_id}/edit", f"Draft version {version.number} started."
    )


async def _step(
    request: Request, work: Work, policy_id: str, version_id: str, step: str
) -> HTMLResponse | RedirectResponse:
    service = PolicyService(work.session)
    try:
        run = service.approve if step == "approve" else service.publish
        version = await run(work.ctx, policy_id, version_id, actor=work.actor)
    except NotFound:
        raise
    except TenantryError as exc:
        return await _policy_page(request, work, policy_id, errors=field_errors(exc), status=422)
    done = "approved" if step == "approve" else "published"
    return redirect_with_notice(
        request,
        f"{_base(work)}/{policy_id}?{urlencode({'version': str(version.id)})}",
        f"Version {version.number} {done}.",
    )


@router.post(
    "/t/{tenant}/compliance/policies/{policy_id}/versions/{version_id}/approve",
    response_model=None,
)
async def approve(
    request: Request, policy_id: str, version_id: str, work: auth.ComplianceApprove
) -> HTMLResponse | RedirectResponse:
    return await _step(request, work, policy_id, version_id, "approve")


@router.post(
    "/t/{tenant}/compliance/policies/{policy_id}/versions/{version_id}/publish",
    response_model=None,
)
async def publish(
    request: Request, policy_id: str, version_id: str, work: auth.ComplianceApprove
) -> HTMLResponse | RedirectResponse:
    return await _step(request, work, policy_id, version_id, "publish")


@router.post("/t/{tenant}/compliance/policies/{policy_id}/acknowledge", response_model=None)
async def acknowledge(
    request: Request, policy_id: str, work: TenantRead
) -> HTMLResponse | RedirectResponse:
    try:
        await PolicyService(work.session).acknowledge(work.ctx, policy_id, actor=work.actor)
    except NotFound:
        raise
    except TenantryError as exc:
        return await _policy_page(
            request, work, policy_id, errors=field_errors(exc), status=exc.status
        )
    return redirect_with_notice(
        request, f"{_base(work)}/{policy_id}", "Thank you: your acknowledgement is recorded."
    )
