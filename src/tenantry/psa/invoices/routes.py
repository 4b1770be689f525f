"""Invoice API: ``/api/v1/tenants/{tenant}/invoices`` and ``…/recurring-items``. Thin:
the rules are in InvoiceService."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from tenantry.http.deps import Work
from tenantry.http.params import Limit
from tenantry.kit.pagination import Page
from tenantry.psa.invoices import auth
from tenantry.psa.invoices.export import invoice_csv
from tenantry.psa.invoices.models import Invoice, InvoiceStatus
from tenantry.psa.invoices.schemas import (
    InvoiceDetail,
    InvoiceGenerate,
    InvoiceLineOut,
    InvoiceOut,
    RecurringItemCreate,
    RecurringItemOut,
    RecurringItemUpdate,
    VoidBody,
)
from tenantry.psa.invoices.service import InvoiceService

router = APIRouter(prefix="/api/v1/tenants/{tenant}", tags=["invoices"])


async def _detail(service: InvoiceService, work: Work, invoice: Invoice) -> InvoiceDetail:
    lines = await service.lines(work.ctx, invoice)
    return InvoiceDetail(
        **InvoiceOut.model_validate(invoice).model_dump(),
        lines=[InvoiceLineOut.model_validate(li) for li in lines],
    )


@router.get("/invoices", response_model=Page[InvoiceOut])
async def list_invoices(
    work: auth.InvoicesRead,
    status_: Annotated[InvoiceStatus | None, Query(alias="status")] = None,
    limit: Limit = 50,
    cursor: str | None = None,
) -> Page[InvoiceOut]:
    rows, next_cursor = await InvoiceService(work.session).list_invoices(
        work.ctx, status=status_, cursor=cursor, limit=limit
    )
    return Page[InvoiceOut](
        items=[InvoiceOut.model_validate(i) for i in rows], next_cursor=next_cursor
    )


@router.post("/invoices", response_model=InvoiceDetail, status_code=status.HTTP_201_CREATED)
async def generate_invoice(body: InvoiceGenerate, work: auth.InvoicesWrite) -> InvoiceDetail:
    """A draft from the period's approved billable time and the recurring items."""
    service = InvoiceService(work.session)
    invoice = await service.generate(
        work.ctx,
        period_start=body.period_start,
        period_end=body.period_end,
        currency=body.currency,
        tax_rate_bp=body.tax_rate_bp,
        notes=body.notes,
        actor=work.actor,
    )
    return await _detail(service, work, invoice)


@router.get("/invoices/{invoice_id}", response_model=InvoiceDetail)
async def get_invoice(invoice_id: uuid.UUID, work: auth.InvoicesRead) -> InvoiceDetail:
    service = InvoiceService(work.session)
    return await _detail(service, work, await service.get(work.ctx, invoice_id))


@router.get(
    "/invoices/{invoice_id}/export.csv",
    response_class=Response,
    responses={
        200: {
            "description": "The invoice as CSV",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        }
    },
)
async def export_invoice(invoice_id: uuid.UUID, work: auth.InvoicesRead) -> Response:
    service = InvoiceService(work.session)
    invoice = await service.get(work.ctx, invoice_id)
    body = invoice_csv(invoice, await service.lines(work.ctx, invoice))
    name = invoice.number or f"draft-{invoice.id}"
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="{name}.csv"'},
    )


@router.delete(
    "/invoices/{invoice_id}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response
)
async def delete_invoice(invoice_id: uuid.UUID, work: auth.InvoicesWrite) -> Response:
    """Drafts only; their time becomes invoiceable again."""
    await InvoiceService(work.session).delete_draft(work.ctx, invoice_id, actor=work.actor)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/invoices/{invoice_id}/issue", response_model=InvoiceDetail)
async def issue_invoice(invoice_id: uuid.UUID, work: auth.InvoicesWrite) -> InvoiceDetail:
    """Assigns the MSP's next number (gap-free per MSP and year)."""
    service = InvoiceService(work.session)
    return await _detail(service, work, await service.issue(work.ctx, invoice_id, actor=work.actor))


@router.post("/invoices/{invoice_id}/paid", response_model=InvoiceDetail)
async def mark_invoice_paid(invoice_id: uuid.UUID, work: auth.InvoicesWrite) -> InvoiceDetail:
    service = InvoiceService(work.session)
    invoice = await service.mark_paid(work.ctx, invoice_id, actor=work.actor)
    return await _detail(service, work, invoice)


@router.post("/invoices/{invoice_id}/void", response_model=InvoiceDetail)
async def void_invoice(
    invoice_id: uuid.UUID, body: VoidBody, work: auth.InvoicesWrite
) -> InvoiceDetail:
    """Keeps the number; the invoice's time becomes invoiceable again."""
    service = InvoiceService(work.session)
    invoice = await service.void(work.ctx, invoice_id, reason=body.reason, actor=work.actor)
    return await _detail(service, work, invoice)


@router.get("/recurring-items", response_model=list[RecurringItemOut])
async def list_recurring_items(work: auth.InvoicesRead) -> list[RecurringItemOut]:
    rows = await InvoiceService(work.session).list_recurring(work.ctx)
    return [RecurringItemOut.model_validate(r) for r in rows]


@router.post(
    "/recurring-items", response_model=RecurringItemOut, status_code=status.HTTP_201_CREATED
)
async def create_recurring_item(
    body: RecurringItemCreate, work: auth.InvoicesWrite
) -> RecurringItemOut:
    item = await InvoiceService(work.session).create_recurring(
        work.ctx,
        description=body.description,
        amount_minor=body.amount_minor,
        currency=body.currency,
        actor=work.actor,
    )
    return RecurringItemOut.model_validate(item)


@router.patch("/recurring-items/{item_id}", response_model=RecurringItemOut)
async def update_recurring_item(
    item_id: uuid.UUID, body: RecurringItemUpdate, work: auth.InvoicesWrite
) -> RecurringItemOut:
    item = await InvoiceService(work.session).update_recurring(
        work.ctx,
        item_id,
        description=body.description,
        amount_minor=body.amount_minor,
        active=body.active,
        actor=work.actor,
    )
    return RecurringItemOut.model_validate(item)
