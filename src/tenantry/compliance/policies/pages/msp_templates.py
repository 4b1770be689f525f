"""``/t/{msp}/compliance/policy-templates``: the MSP's policy templates (list, add, edit,
delete) and "Copy to client", which creates a draft policy in the chosen client and opens
it there. Thin: the rules are in PolicyTemplateService."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from tenantry.compliance import auth
from tenantry.compliance.policies.markdown import render as render_markdown
from tenantry.compliance.policies.schemas import TemplateChanges
from tenantry.compliance.policies.template_service import PolicyTemplateService
from tenantry.errors import NotFound, TenantryError, ValidationFailed
from tenantry.http.deps import Work
from tenantry.web.forms import field_errors
from tenantry.web.render import redirect_with_notice, render

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
Text = Annotated[str, Form(max_length=400_000)]
Line = Annotated[str, Form(max_length=1000)]


def _base(work: Work) -> str:
    return f"/t/{work.ctx.tenant.slug}/compliance/policy-templates"


async def _list_page(
    request: Request,
    work: Work,
    *,
    cursor: str | None,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    service = PolicyTemplateService(work.session)
    try:
        rows, next_cursor = await service.page(work.ctx, cursor=cursor, limit=PAGE_SIZE)
    except ValidationFailed:
        cursor = None
        rows, next_cursor = await service.page(work.ctx, cursor=None, limit=PAGE_SIZE)
    base = _base(work)
    return render(
        request,
        "compliance/policies/templates.html",
        {
            "base": base,
            "templates": rows,
            "cursor": cursor,
            "next_href": f"{base}?{urlencode({'cursor': next_cursor})}" if next_cursor else None,
            "form": form or {},
            "errors": errors or {},
            "can_write": work.ctx.can("compliance:write"),
        },
        status=status,
    )


@router.get("/t/{tenant}/compliance/policy-templates", response_class=HTMLResponse)
async def templates(
    request: Request, work: auth.ComplianceRead, cursor: Annotated[str | None, Query()] = None
) -> HTMLResponse:
    return await _list_page(request, work, cursor=cursor)


@router.post("/t/{tenant}/compliance/policy-templates", response_model=None)
async def create_template(
    request: Request,
    work: auth.ComplianceWrite,
    title: Line = "",
    category: Line = "",
    summary: Text = "",
    body_markdown: Text = "",
) -> HTMLResponse | RedirectResponse:
    form = {
        "title": title,
        "category": category,
        "summary": summary,
        "body_markdown": body_markdown,
    }
    try:
        row = await PolicyTemplateService(work.session).create(
            work.ctx,
            title=title,
            category=category,
            summary=summary,
            body_markdown=body_markdown,
            actor=work.actor,
        )
    except TenantryError as exc:
        return await _list_page(
            request, work, cursor=None, form=form, errors=field_errors(exc), status=422
        )
    return redirect_with_notice(request, f"{_base(work)}/{row.id}", f"Template {row.title} added.")


async def _template_page(
    request: Request,
    work: Work,
    template_id: str,
    *,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    copy_form: dict[str, str] | None = None,
    copy_errors: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    row = await PolicyTemplateService(work.session).get(work.ctx, template_id)
    current = {
        "title": row.title,
        "category": row.category,
        "summary": row.summary,
        "body_markdown": row.body_markdown,
    }
    return render(
        request,
        "compliance/policies/template.html",
        {
            "base": _base(work),
            "template": row,
            "body_html": render_markdown(row.body_markdown),
            "form": {**current, **(form or {})},
            "errors": errors or {},
            "copy_form": copy_form or {},
            "copy_errors": copy_errors or {},
            "can_write": work.ctx.can("compliance:write"),
        },
        status=status,
    )


@router.get("/t/{tenant}/compliance/policy-templates/{template_id}", response_class=HTMLResponse)
async def template_page(
    request: Request, template_id: str, work: auth.ComplianceRead
) -> HTMLResponse:
    return await _template_page(request, work, template_id)


@router.post("/t/{tenant}/compliance/policy-templates/{template_id}", response_model=None)
async def update_template(
    request: Request,
    template_id: str,
    work: auth.ComplianceWrite,
    title: Line = "",
    category: Line = "",
    summary: Text = "",
    body_markdown: Text = "",
) -> HTMLResponse | RedirectResponse:
    form = {
        "title": title,
        "category": category,
        "summary": summary,
        "body_markdown": body_markdown,
    }
    try:
        row = await PolicyTemplateService(work.session).update(
            work.ctx, template_id, TemplateChanges(**form), actor=work.actor
        )
    except NotFound:
        raise
    except TenantryError as exc:
        return await _template_page(
            request, work, template_id, form=form, errors=field_errors(exc), status=422
        )
    return redirect_with_notice(request, f"{_base(work)}/{row.id}", f"{row.title} saved.")


@router.post("/t/{tenant}/compliance/policy-templates/{template_id}/delete", response_model=None)
async def delete_template(
    request: Request, template_id: str, work: auth.ComplianceWrite
) -> RedirectResponse:
    await PolicyTemplateService(work.session).delete(work.ctx, template_id, actor=work.actor)
    return redirect_with_notice(request, _base(work), "Template deleted.")


@router.post("/t/{tenant}/compliance/policy-templates/{template_id}/copy", response_model=None)
async def copy_template(
    request: Request,
    template_id: str,
    work: auth.ComplianceWrite,
    client: Annotated[str, Form(max_length=100)] = "",
) -> HTMLResponse | RedirectResponse:
    service = PolicyTemplateService(work.session)
    await service.get(work.ctx, template_id)
    try:
        there, policy = await service.copy_to_client(
            work.ctx, template_id, client, actor=work.actor
        )
    except TenantryError as exc:
        # A client the caller cannot see or write in is named next to the field, like a
        # typo: the form stays on the template, and nothing was created.
        errors = field_errors(exc)
        if "client" not in errors:
            field, message = next(iter(errors.items()))
            errors = {"client": message if field == "form" else f"{field}: {message}"}
        status = exc.status if exc.status in (403, 404) else 422
        return await _template_page(
            request,
            work,
            template_id,
            copy_form={"client": client},
            copy_errors=errors,
            status=status,
        )
    return redirect_with_notice(
        request,
        f"/t/{there.tenant.slug}/compliance/policies/{policy.id}/edit",
        f"Draft policy {policy.title} created in {there.tenant.display_name}.",
    )
