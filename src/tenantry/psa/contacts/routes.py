"""Contacts API (``/api/v1/tenants/{tenant}/contacts``): thin, the rules are in ContactService."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, UploadFile, status

from tenantry.http.params import Limit
from tenantry.kit.pagination import Page
from tenantry.psa.contacts import auth
from tenantry.psa.contacts.schemas import (
    ContactChanges,
    ContactIn,
    ContactOut,
    ContactPatch,
    ImportReport,
)
from tenantry.psa.contacts.service import ContactService

router = APIRouter(prefix="/api/v1/tenants/{tenant}/contacts", tags=["contacts"])


@router.get("", response_model=Page[ContactOut])
async def list_contacts(
    work: auth.ContactsRead,
    q: Annotated[str | None, Query(description="Search name, email, phone, job title")] = None,
    limit: Limit = 50,
    cursor: Annotated[str | None, Query()] = None,
) -> Page[ContactOut]:
    rows, next_cursor = await ContactService(work.session).list(
        work.ctx, query=q, cursor=cursor, limit=limit
    )
    return Page[ContactOut](
        items=[ContactOut.model_validate(c) for c in rows], next_cursor=next_cursor
    )


@router.post("", response_model=ContactOut, status_code=status.HTTP_201_CREATED)
async def create_contact(
    body: ContactIn,
    work: auth.ContactsWrite,
) -> ContactOut:
    contact = await ContactService(work.session).create(
        work.ctx, **body.model_dump(), actor=work.actor
    )
    return ContactOut.model_validate(contact)


@router.post("/import", response_model=ImportReport)
async def import_contacts(
    request: Request,
    file: UploadFile,
    work: auth.ContactsWrite,
) -> ImportReport:
    """CSV with a header line (name, email, optional phone and job_title). Valid rows are
    created; each rejected row is reported with its line number, field and reason."""
    limit: int = request.app.state.settings.max_import_bytes
    data = await file.read(limit + 1)
    return await ContactService(work.session).import_csv(
        work.ctx, data, actor=work.actor, max_bytes=limit
    )


@router.get("/{contact_id}", response_model=ContactOut)
async def get_contact(
    contact_id: str,
    work: auth.ContactsRead,
) -> ContactOut:
    return ContactOut.model_validate(await ContactService(work.session).get(work.ctx, contact_id))


@router.patch("/{contact_id}", response_model=ContactOut)
async def update_contact(
    contact_id: str,
    body: ContactPatch,
    work: auth.ContactsWrite,
) -> ContactOut:
    contact = await ContactService(work.session).update(
        work.ctx, contact_id, ContactChanges.of(body), actor=work.actor
    )
    return ContactOut.model_validate(contact)
