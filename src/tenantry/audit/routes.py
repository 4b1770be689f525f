"""Audit API: a tenant's trail, filtered and paged, and its streaming export."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse

from tenantry.access.scopes import customers_with
from tenantry.audit import repository
from tenantry.audit import service as audit
from tenantry.audit.schemas import (
    AuditEventOut,
    AuditSettingsIn,
    AuditSettingsOut,
    TechnicianEventOut,
)
from tenantry.errors import ValidationFailed
from tenantry.http.deps import Work, get_db, in_tenant
from tenantry.pagination import Page, check_limit, decode_cursor, encode_cursor

router = APIRouter(prefix="/api/v1/tenants/{tenant}", tags=["audit"])


def _filter(
    tenant_id: uuid.UUID,
    actor: uuid.UUID | None,
    action: str | None,
    since: datetime | None,
    until: datetime | None,
) -> repository.EventFilter:
    return audit.event_filter((tenant_id,), actor=actor, action=action, since=since, until=until)


def _before(cursor: str | None) -> tuple[datetime, uuid.UUID] | None:
    after = decode_cursor(cursor)
    try:
        return (datetime.fromisoformat(after[0]), uuid.UUID(after[1])) if after else None
    except (ValueError, IndexError, TypeError) as exc:
        raise ValidationFailed("cursor", "is not a cursor this API returned") from exc


@router.get("/audit-events", response_model=Page[AuditEventOut])
async def list_events(
    work: Annotated[Work, Depends(in_tenant("audit:read"), scope="function")],
    actor: Annotated[uuid.UUID | None, Query(description="Only this user's events")] = None,
    action: Annotated[str | None, Query(description="Event type, e.g. tenant.renamed")] = None,
    since: Annotated[datetime | None, Query()] = None,
    until: Annotated[datetime | None, Query()] = None,
    limit: Annotated[int, Query()] = 50,
    cursor: Annotated[str | None, Query()] = None,
) -> Page[AuditEventOut]:
    """Every event in the tenant, newest first, including the MSP technicians' by name."""
    check_limit(limit)
    f = _filter(work.ctx.tenant.id, actor, action, since, until)
    events = await repository.page(work.session, f, before=_before(cursor), limit=limit + 1)
    next_cursor = None
    if len(events) > limit:
        last = events[limit - 1]
        next_cursor = encode_cursor([last.occurred_at.isoformat(), str(last.id)])
    return Page[AuditEventOut](
        items=[AuditEventOut.model_validate(e) for e in events[:limit]], next_cursor=next_cursor
    )


@router.get("/technician-events", response_model=Page[TechnicianEventOut])
async def technician_events(
    request: Request,
    work: Annotated[Work, Depends(in_tenant("audit:read"), scope="function")],
    technician: Annotated[uuid.UUID | None, Query(description="Only this technician")] = None,
    customer: Annotated[str | None, Query(description="Only this customer (slug or id)")] = None,
    action: Annotated[str | None, Query(description="Event type, e.g. tenant.renamed")] = None,
    since: Annotated[datetime | None, Query()] = None,
    until: Annotated[datetime | None, Query()] = None,
    limit: Annotated[int, Query()] = 50,
    cursor: Annotated[str | None, Query()] = None,
) -> Page[TechnicianEventOut]:
    """The MSP's technicians' events across every customer where the caller holds
    `audit:read`, newest first: one query under a multi-tenant scope."""
    check_limit(limit)
    view = await audit.technician_view(
        get_db(request),
        work.ctx,
        await customers_with(work.session, work.ctx.principal, "audit:read"),
        technician=technician,
        customer=customer,
        action=action,
        since=since,
        until=until,
        before=_before(cursor),
        limit=limit,
    )
    return Page[TechnicianEventOut](items=view.items, next_cursor=view.next_cursor)


@router.get("/audit-settings", response_model=AuditSettingsOut)
async def get_audit_settings(
    work: Annotated[Work, Depends(in_tenant("audit:read"), scope="function")],
) -> AuditSettingsOut:
    return await audit.settings_of(work.session, work.ctx.tenant.id)


@router.put("/audit-settings", response_model=AuditSettingsOut)
async def put_audit_settings(
    body: AuditSettingsIn,
    work: Annotated[Work, Depends(in_tenant("settings:manage"), scope="function")],
) -> AuditSettingsOut:
    """How many days events are kept (`null`: all). Older events are pruned by
    `tenantry audit prune`, leaving an anchor so the rest still verifies."""
    await audit.set_retention(work.session, work.ctx.tenant.id, body.retention_days, work.actor)
    return await audit.settings_of(work.session, work.ctx.tenant.id)


@router.get(
    "/audit-events/export",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/x-ndjson": {}, "text/csv": {}}}},
)
async def export_events(
    request: Request,
    work: Annotated[Work, Depends(in_tenant("audit:read"), scope="function")],
    format: Annotated[Literal["jsonl", "csv"], Query()] = "jsonl",
    actor: Annotated[uuid.UUID | None, Query()] = None,
    action: Annotated[str | None, Query()] = None,
    since: Annotated[datetime | None, Query()] = None,
    until: Annotated[datetime | None, Query()] = None,
) -> StreamingResponse:
    """The trail as JSON Lines or CSV, oldest first, streamed in constant memory."""
    f = _filter(work.ctx.tenant.id, actor, action, since, until)
    db, scope, slug = get_db(request), work.ctx.scope, work.ctx.tenant.slug

    async def body() -> AsyncIterator[str]:
        # The request's unit of work ends before streaming starts: read in one of our own.
        async with db.unit_of_work(scope) as session:
            async for chunk in audit.export_lines(session, f, format):
                yield chunk

    media = "text/csv" if format == "csv" else "application/x-ndjson"
    filename = f"{slug}-audit.{'csv' if format == 'csv' else 'jsonl'}"
    return StreamingResponse(
        body(),
        media_type=media,
        headers={"content-disposition": f'attachment; filename="{filename}"'},
    )
