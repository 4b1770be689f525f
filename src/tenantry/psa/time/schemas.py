"""Time API shapes: work types and time entries (money in minor units + currency)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from tenantry.psa.time.models import EntryStatus

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
Minutes = Annotated[int, Field(ge=1, le=24 * 60, description="Duration in minutes")]
Rate = Annotated[int, Field(ge=0, le=10**9, description="Hourly rate in minor units")]
Notes = Annotated[str, StringConstraints(max_length=5000)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


@dataclass(frozen=True, slots=True)
class EntryFilter:
    """Which time entries a list shows; every field optional."""

    status: EntryStatus | None = None
    technician_user_id: uuid.UUID | None = None
    ticket_id: uuid.UUID | None = None
    date_from: date | None = None
    date_to: date | None = None
    billable: bool | None = None
    invoiced: bool | None = None


@dataclass(frozen=True, slots=True)
class EntryChanges:
    """What to change on a draft entry (None: unchanged; ``clear_ticket`` detaches it)."""

    work_type_id: uuid.UUID | None = None
    minutes: int | None = None
    work_date: date | None = None
    ticket_id: uuid.UUID | None = None
    clear_ticket: bool = False
    billable: bool | None = None
    notes: str | None = None


class WorkTypeCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    rate_minor: Rate
    currency: Currency


class WorkTypeUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    rate_minor: Rate | None = None
    active: bool | None = None


class WorkTypeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    tenant_id: uuid.UUID
    name: str
    rate_minor: int
    currency: str
    active: bool


class TimeEntryCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    work_type_id: uuid.UUID
    minutes: Minutes
    work_date: date | None = Field(
        default=None, description="Day of the work in the client's time zone (default: today)"
    )
    ticket_id: uuid.UUID | None = None
    billable: bool = True
    notes: Notes = ""


class TimeEntryUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    work_type_id: uuid.UUID | None = None
    minutes: Minutes | None = None
    work_date: date | None = None
    ticket_id: uuid.UUID | None = None
    billable: bool | None = None
    notes: Notes | None = None


class RejectBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Reason


class TimeEntryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    tenant_id: uuid.UUID
    ticket_id: uuid.UUID | None
    technician_user_id: uuid.UUID
    technician_name: str
    work_date: date
    minutes: int
    work_type_id: uuid.UUID
    billable: bool
    notes: str
    status: EntryStatus
    rejection_reason: str | None
    submitted_at: datetime | None
    approved_at: datetime | None
    approved_by_user_id: uuid.UUID | None
    approved_by_name: str | None
    invoice_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


def parse_duration(text: str) -> int:
    """What people type for a duration → minutes: ``90``, ``1:30``, ``1h30``, ``1.5h``,
    ``45m``. Raises ValueError with words for the form."""
    raw = text.strip().lower().replace(" ", "")
    if not raw:
        raise ValueError("is required (e.g. 1:30 or 90)")
    try:
        if ":" in raw:
            hours, _, mins = raw.partition(":")
            if not mins.isdigit() or len(mins) != 2 or int(mins) >= 60:
                raise ValueError
            total = int(hours or "0") * 60 + int(mins)
        elif raw.endswith("m") and raw[:-1].isdigit():
            total = int(raw[:-1])
        elif "h" in raw:
            hours, _, mins = raw.partition("h")
            mins = mins.removesuffix("m")
            if mins and (not mins.isdigit() or int(mins) >= 60):
                raise ValueError
            # Tenths of an hour at most ("1.5h"), so minutes stay whole.
            tenths = round(float(hours or "0") * 10)
            if abs(float(hours or "0") * 10 - tenths) > 1e-9:
                raise ValueError
            total = tenths * 6 + int(mins or "0")
        elif raw.isdigit():
            total = int(raw)
        else:
            raise ValueError
    except ValueError:
        raise ValueError("is not a duration (e.g. 1:30, 90 or 1.5h)") from None
    if not 1 <= total <= 24 * 60:
        raise ValueError("must be between 1 minute and 24 hours")
    return total


def format_duration(minutes: int) -> str:
    return f"{minutes // 60}:{minutes % 60:02d}"
