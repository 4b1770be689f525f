"""Invoice API shapes (money in integer minor units with the currency code)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from tenantry.psa.invoices.models import InvoiceStatus, LineKind

Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
Text500 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class InvoiceGenerate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    period_start: date
    period_end: date
    currency: Currency
    tax_rate_bp: Annotated[
        int, Field(ge=0, le=10_000, description="Tax rate in basis points (1900 = 19 %)")
    ] = 0
    notes: Annotated[str, StringConstraints(max_length=2000)] = ""


class VoidBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Text500


class RecurringItemCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: Text500
    amount_minor: Annotated[int, Field(ge=0, le=10**12)]
    currency: Currency


class RecurringItemUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: Text500 | None = None
    amount_minor: Annotated[int, Field(ge=0, le=10**12)] | None = None
    active: bool | None = None


class RecurringItemOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    tenant_id: uuid.UUID
    description: str
    amount_minor: int
    currency: str
    active: bool


class InvoiceLineOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    position: int
    kind: LineKind
    description: str
    minutes: int | None
    quantity: int
    unit_minor: int
    amount_minor: int
    time_entry_id: uuid.UUID | None
    work_date: date | None


class InvoiceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    tenant_id: uuid.UUID
    msp_tenant_id: uuid.UUID
    status: InvoiceStatus
    number: str | None
    period_start: date
    period_end: date
    currency: str
    tax_rate_bp: int
    subtotal_minor: int
    tax_minor: int
    total_minor: int
    issuer_name: str
    client_name: str
    issue_date: date | None
    issued_at: datetime | None
    paid_at: datetime | None
    voided_at: datetime | None
    void_reason: str | None
    notes: str
    created_at: datetime


class InvoiceDetail(InvoiceOut):
    lines: list[InvoiceLineOut]
