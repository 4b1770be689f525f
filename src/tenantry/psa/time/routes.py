"""Time API: ``/api/v1/tenants/{tenant}/work-types`` and ``…/time-entries``. Thin: the
rules are in TimeService."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response, status

from tenantry.http.params import Limit, QueryDate
from tenantry.kit.pagination import Page
from tenantry.psa.time import auth
from tenantry.psa.time.models import EntryStatus
from tenantry.psa.time.schemas import (
    EntryChanges,
    EntryFilter,
    RejectBody,
    TimeEntryCreate,
    TimeEntryOut,
    TimeEntryUpdate,
    WorkTypeCreate,
    WorkTypeOut,
    WorkTypeUpdate,
)
from tenantry.psa.time.service import TimeService

router = APIRouter(prefix="/api/v1/tenants/{tenant}", tags=["time"])


@router.get("/work-types", response_model=list[WorkTypeOut])
async def list_work_types(work: auth.TimeRead, active: bool = False) -> list[WorkTypeOut]:
    rows = await TimeService(work.session).list_work_types(work.ctx, active_only=active)
    return [WorkTypeOut.model_validate(w) for w in rows]


@router.post("/work-types", response_model=WorkTypeOut, status_code=status.HTTP_201_CREATED)
async def create_work_type(body: WorkTypeCreate, work: auth.RatesWrite) -> WorkTypeOut:
    """Rates are the MSP's prices: creating or changing a work type needs ``rates:manage``."""
    created = await TimeService(work.session).create_work_type(
        work.ctx,
        name=body.name,
        rate_minor=body.rate_minor,
        currency=body.currency,
        actor=work.actor,
    )
    return WorkTypeOut.model_validate(created)


@router.patch("/work-types/{work_type_id}", response_model=WorkTypeOut)
async def update_work_type(
    work_type_id: uuid.UUID, body: WorkTypeUpdate, work: auth.RatesWrite
) -> WorkTypeOut:
    updated = await TimeService(work.session).update_work_type(
        work.ctx,
        work_type_id,
        name=body.name,
        rate_minor=body.rate_minor,
        active=body.active,
        actor=work.actor,
    )
    return WorkTypeOut.model_validate(updated)


@router.get("/time-entries", response_model=Page[TimeEntryOut])
async def list_time_entries(
    work: auth.TimeRead,
    status_: Annotated[EntryStatus | None, Query(alias="status")] = None,
    technician: Annotated[
        uuid.UUID | Literal["me"] | None, Query(description="A user id, or 'me'")
    ] = None,
    ticket_id: uuid.UUID | None = None,
    date_from: QueryDate | None = None,
    date_to: QueryDate | None = None,
    billable: bool | None = None,
    invoiced: bool | None = None,
    limit: Limit = 50,
    cursor: str | None = None,
) -> Page[TimeEntryOut]:
    who = work.ctx.principal.user_id if technician == "me" else technician
    where = EntryFilter(
        status=status_,
        technician_user_id=who if isinstance(who, uuid.UUID) else None,
        ticket_id=ticket_id,
        date_from=date_from,
        date_to=date_to,
        billable=billable,
        invoiced=invoiced,
    )
    rows, next_cursor = await TimeService(work.session).list_entries(
        work.ctx, where, cursor=cursor, limit=limit
    )
    return Page[TimeEntryOut](
        items=[TimeEntryOut.model_validate(e) for e in rows], next_cursor=next_cursor
    )


@router.post("/time-entries", response_model=TimeEntryOut, status_code=status.HTTP_201_CREATED)
async def create_time_entry(body: TimeEntryCreate, work: auth.TimeWrite) -> TimeEntryOut:
    entry = await TimeService(work.session).create_entry(
        work.ctx,
        work_type_id=body.work_type_id,
        minutes=body.minutes,
        work_date=body.work_date,
        ticket_id=body.ticket_id,
        billable=body.billable,
        notes=body.notes,
        actor=work.actor,
    )
    return TimeEntryOut.model_validate(entry)


@router.get("/time-entries/{entry_id}", response_model=TimeEntryOut)
async def get_time_entry(entry_id: uuid.UUID, work: auth.TimeRead) -> TimeEntryOut:
    return TimeEntryOut.model_validate(
        await TimeService(work.session).get_entry(work.ctx, entry_id)
    )


@router.patch("/time-entries/{entry_id}", response_model=TimeEntryOut)
async def update_time_entry(
    entry_id: uuid.UUID, body: TimeEntryUpdate, work: auth.TimeWrite
) -> TimeEntryOut:
    """Drafts only. ``"ticket_id": null`` detaches the entry from its ticket."""
    changes = EntryChanges(
        work_type_id=body.work_type_id,
        minutes=body.minutes,
        work_date=body.work_date,
        ticket_id=body.ticket_id,
        clear_ticket="ticket_id" in body.model_fields_set and body.ticket_id is None,
        billable=body.billable,
        notes=body.notes,
    )
    entry = await TimeService(work.session).update_entry(
        work.ctx, entry_id, changes, actor=work.actor
    )
    return TimeEntryOut.model_validate(entry)


@router.delete(
    "/time-entries/{entry_id}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response
)
async def delete_time_entry(entry_id: uuid.UUID, work: auth.TimeWrite) -> Response:
    await TimeService(work.session).delete_entry(work.ctx, entry_id, actor=work.actor)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/time-entries/{entry_id}/submit", response_model=TimeEntryOut)
async def submit_time_entry(entry_id: uuid.UUID, work: auth.TimeWrite) -> TimeEntryOut:
    entry = await TimeService(work.session).submit(work.ctx, entry_id, actor=work.actor)
    return TimeEntryOut.model_validate(entry)


@router.post("/time-entries/{entry_id}/approve", response_model=TimeEntryOut)
async def approve_time_entry(entry_id: uuid.UUID, work: auth.TimeApprove) -> TimeEntryOut:
    """Someone other than the technician who logged it."""
    entry = await TimeService(work.session).approve(work.ctx, entry_id, actor=work.actor)
    return TimeEntryOut.model_validate(entry)


@router.post("/time-entries/{entry_id}/reject", response_model=TimeEntryOut)
async def reject_time_entry(
    entry_id: uuid.UUID, body: RejectBody, work: auth.TimeApprove
) -> TimeEntryOut:
    """Back to draft with a reason (also un-approves an entry not yet invoiced)."""
    entry = await TimeService(work.session).reject(
        work.ctx, entry_id, reason=body.reason, actor=work.actor
    )
    return TimeEntryOut.model_validate(entry)
