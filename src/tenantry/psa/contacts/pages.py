"""Contacts pages (``/t/{tenant}/contacts``): list with search, a form to add one, and
the CSV import with its report. Thin: the rules are in ContactService."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse

from tenantry.errors import NotFound, TenantryError, ValidationFailed
from tenantry.http.deps import Work
from tenantry.psa.contacts import auth
from tenantry.psa.contacts.schemas import ContactChanges, ImportReport
from tenantry.psa.contacts.service import ContactService
from tenantry.web.forms import field_errors
from tenantry.web.render import redirect_with_notice, render

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50


async def _page(
    request: Request,
    work: Work,
    *,
    q: str,
    cursor: str | None,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    report: ImportReport | None = None,
    status: int = 200,
) -> HTMLResponse:
    service = ContactService(work.session)
    try:
        contacts, next_cursor = await service.list(
            work.ctx, query=q or None, cursor=cursor, limit=PAGE_SIZE
        )
    except ValidationFailed:
        # A stale or hand-edited cursor: the first page rather than an error.
        cursor = None
        contacts, next_cursor = await service.list(
            work.ctx, query=q or None, cursor=None, limit=PAGE_SIZE
        )
    base = f"/t/{work.ctx.tenant.slug}/contacts"
    return render(
        request,
        "psa/contacts/list.html",
        {
            "base": base,
            "contacts": contacts,
            "q": q,
            "cursor": cursor,
            "next_href": base + "?" + urlencode({"q": q, "cursor": next_cursor})
            if next_cursor
            else None,
            "form": form or {},
            "errors": errors or {},
            "report": report,
            "can_write": work.ctx.can("contacts:write"),
        },
        status=status,
    )


@router.get("/t/{tenant}/contacts", response_class=HTMLResponse)
async def contacts(
    request: Request,
    work: auth.ContactsRead,
    q: Annotated[str, Query(max_length=100)] = "",
    cursor: Annotated[str | None, Query()] = None,
) -> HTMLResponse:
    return await _page(request, work, q=q.strip(), cursor=cursor)


@router.post("/t/{tenant}/contacts", response_model=None)
async def create_contact(
    request: Request,
    work: auth.ContactsWrite,
    name: Annotated[str, Form(max_length=1000)] = "",
    email: Annotated[str, Form(max_length=1000)] = "",
    phone: Annotated[str, Form(max_length=1000)] = "",
    job_title: Annotated[str, Form(max_length=1000)] = "",
) -> HTMLResponse | RedirectResponse:
    form = {"name": name, "email": email, "phone": phone, "job_title": job_title}
    try:
        contact = await ContactService(work.session).create(work.ctx, **form, actor=work.actor)
    except TenantryError as exc:
        return await _page(
            request, work, q="", cursor=None, form=form, errors=field_errors(exc), status=422
        )
    return redirect_with_notice(
        request,
        f"/t/{work.ctx.tenant.slug}/contacts?" + urlencode({"q": contact.email}),
        f"Contact {contact.name} added.",
    )


@router.post("/t/{tenant}/contacts/import", response_model=None)
async def import_contacts(
    request: Request,
    work: auth.ContactsWrite,
    file: UploadFile | None = None,
) -> HTMLResponse:
    limit: int = request.app.state.settings.max_import_bytes
    data = await file.read(limit + 1) if file is not None else b""
    try:
        report = await ContactService(work.session).import_csv(
            work.ctx, data, actor=work.actor, max_bytes=limit
        )
    except TenantryError as exc:
        return await _page(request, work, q="", cursor=None, errors=field_errors(exc), status=422)
    return await _page(request, work, q="", cursor=None, report=report)


async def _edit_page(
    request: Request,
    work: Work,
    contact_id: str,
    *,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    contact = await ContactService(work.session).get(work.ctx, contact_id)
    current = {
        "name": contact.name,
        "email": contact.email,
        "phone": contact.phone,
        "job_title": contact.job_title,
    }
    return render(
        request,
        "psa/contacts/edit.html",
        {
            "base": f"/t/{work.ctx.tenant.slug}/contacts",
            "contact": contact,
            "form": {**current, **(form or {})},
            "errors": errors or {},
            "can_write": work.ctx.can("contacts:write"),
        },
        status=status,
    )


@router.get("/t/{tenant}/contacts/{contact_id}", response_class=HTMLResponse)
async def contact_page(
    request: Request,
    contact_id: str,
    work: auth.ContactsRead,
) -> HTMLResponse:
    return await _edit_page(request, work, contact_id)


@router.post("/t/{tenant}/contacts/{contact_id}", response_model=None)
async def update_contact(
    request: Request,
    contact_id: str,
    work: auth.ContactsWrite,
    name: Annotated[str, Form(max_length=1000)] = "",
    email: Annotated[str, Form(max_length=1000)] = "",
    phone: Annotated[str, Form(max_length=1000)] = "",
    job_title: Annotated[str, Form(max_length=1000)] = "",
) -> HTMLResponse | RedirectResponse:
    form = {"name": name, "email": email, "phone": phone, "job_title": job_title}
    try:
        contact = await ContactService(work.session).update(
            work.ctx, contact_id, ContactChanges(**form), actor=work.actor
        )
    except NotFound:
        raise
    except TenantryError as exc:
        return await _edit_page(
            request, work, contact_id, form=form, errors=field_errors(exc), status=422
        )
    return redirect_with_notice(
        request, f"/t/{work.ctx.tenant.slug}/contacts/{contact.id}", f"{contact.name} saved."
    )
