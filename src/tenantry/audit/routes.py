"""Audit API: a tenant's trail, filtered and paged, and its streaming export."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from tenantry.audit import auth, export, msp_view, retention, trail
from tenantry.audit.schemas import (
    AuditEventOut,
    AuditSettingsIn,
    AuditSettingsOut,
    ExportFormat,
    TechnicianEventOut,
)
from tenantry.http.deps import get_db
from tenantry.http.params import Limit, QueryDateTime
from tenantry.kit.pagination import Page, check_limit

router = APIRouter(prefix="/api/v1/tenants/{tenant}", tags=["audit"])


@router.get("/audit-events", response_model=Page[AuditEventOut])
async def list_events(
    work: auth.AuditRead,
    actor: Annotated[uuid.UUID | None, Query(description="Only this user's events")] = None,
    action: Annotated[str | None, Query(description="Event type, e.g. tenant.renamed")] = None,
    since: Annotated[QueryDateTime | None, Query()] = None,
    until: Annotated[QueryDateTime | None, Query()] = None,
    limit: Limit = 50,
    cursor: Annotated[str | None, Query()] = None,
) -> Page[AuditEventOut]:
    """Every event in the tenant, newest first, including the MSP technicians' by name."""
    check_limit(limit)
    f = trail.event_filter(
        (work.ctx.tenant.id,), actor=actor, action=action, since=since, until=until
    )
    events, next_cursor = await trail.read_page(work.session, f, cursor=cursor, limit=limit)
    return Page[AuditEventOut](
        items=[AuditEventOut.model_validate(e) for e in events], next_cursor=next_cursor
    )


@router.get("/technician-events", response_model=Page[TechnicianEventOut])
async def technician_events(
    request: Request,
    work: auth.AuditRead,
    technician: Annotated[uuid.UUID | None, Query(description="Only this technician")] = None,
    customer: Annotated[str | None, Query(description="Only this customer (slug or id)")] = None,
    action: Annotated[str | None, Query(description="Event type, e.g. tenant.renamed")] = None,
    since: Annotated[QueryDateTime | None, Query()] = None,
    until: Annotated[QueryDateTime | None, Query()] = None,
    limit: Limit = 50,
    cursor: Annotated[str | None, Query()] = None,
) -> Page[TechnicianEventOut]:
    """The MSP's technicians' events across every customer where the caller holds
    `audit:read`, newest first: one query under a multi-tenant scope."""
    check_limit(limit)
    found = await auth.readable_customers(work)
    msp_view.require_msp(work.ctx.tenant, at_home=work.ctx.relation == "home")
    view = await msp_view.technician_view(
        get_db(request),
        work.ctx.tenant,
        auth.only_customer(found, customer),
        msp_view.TechnicianQuery(technician=technician, action=action, since=since, until=until),
        cursor=cursor,
        limit=limit,
    )
    return Page[TechnicianEventOut](items=view.items, next_cursor=view.next_cursor)


@router.get("/audit-settings", response_model=AuditSettingsOut)
async def get_audit_settings(work: auth.AuditRead) -> AuditSettingsOut:
    return await retention.settings_of(work.session, work.ctx.tenant.id)


@router.put("/audit-settings", response_model=AuditSettingsOut)
async def put_audit_settings(body: AuditSettingsIn, work: auth.SettingsManage) -> AuditSettingsOut:
    """How many days events are kept (`null`: all). Older events are pruned by
    `tenantry audit prune`, leaving an anchor so the rest still verifies."""
    await retention.set_retention(
        work.session, work.ctx.tenant.id, body.retention_days, actor=work.actor
    )
    return await retention.settings_of(work.session, work.ctx.tenant.id)


@router.get(
    "/audit-events/export",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/x-ndjson": {}, "text/csv": {}}}},
)
async def export_events(
    request: Request,
    work: auth.AuditRead,
    format: Annotated[ExportFormat, Query()] = "jsonl",
    actor: Annotated[uuid.UUID | None, Query()] = None,
    action: Annotated[str | None, Query()] = None,
    since: Annotated[QueryDateTime | None, Query()] = None,
    until: Annotated[QueryDateTime | None, Query()] = None,
) -> StreamingResponse:
    """The trail as JSON Lines or CSV, oldest first, streamed in constant memory."""
    f = trail.event_filter(
        (work.ctx.tenant.id,), actor=actor, action=action, since=since, until=until
    )
    db, scope, slug = get_db(request), work.ctx.scope, work.ctx.tenant.slug

    async def body() -> AsyncIterator[str]:
        # The request's unit of work ends before streaming starts: read in one of our own.
        async with db.unit_of_work(scope) as session:
            async for chunk in export.export_lines(session, f, format):
                yield chunk

    media = "text/csv" if format == "csv" else "application/x-ndjson"
    filename = f"{slug}-audit.{'csv' if format == 'csv' else 'jsonl'}"
    return StreamingResponse(
        body(),
        media_type=media,
        headers={"content-disposition": f'attachment; filename="{filename}"'},
    )
