"""The rules of invoices.

* An invoice belongs to the client (tenant-owned by the customer tenant, so the client
  sees it) and is written by the MSP that manages the client: changing invoices needs
  ``invoices:write`` *and* acting in the client for its MSP (``ctx.relation ==
  "customer"``); the client's own users only read them.
* Generating a draft takes the period's approved, billable, not yet invoiced time in the
  invoice's currency (one line per entry, at the work type's current rate) plus the
  client's active recurring items in that currency; the entries are then locked.
* Draft → issued → paid, or issued/paid → void. A draft has no number and may be
  deleted (its time is released). Issuing assigns the next number of the MSP's counter
  for the year (``<prefix>-<year>-<0001>``), locking the counter row FOR UPDATE in the
  same transaction: a rolled-back issue gives its number back, so numbers are gap-free
  per MSP and year. A void invoice keeps its number; its time is released for a new
  invoice.
* Rounding: kit/money.py (per line half-up; tax on the subtotal half-up).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.access.context import TenantContext
from tenantry.access.widening import Why, widen
from tenantry.audit import service as audit
from tenantry.audit.changes import Changes, changed, set_to
from tenantry.audit.schemas import Actor, AuditAction
from tenantry.db.base import new_id, utcnow
from tenantry.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from tenantry.kit import money
from tenantry.kit.pagination import Keyset, check_limit, page_of
from tenantry.psa.invoices import repository, rules
from tenantry.psa.invoices.models import (
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    LineKind,
    RecurringItem,
)
from tenantry.psa.service_plans.service import ServicePlanService
from tenantry.psa.time.service import TimeService, tenant_today

WRITE = rules.WRITE
# Invoices are listed newest first, ties by id.
NEWEST = Keyset(datetime, uuid.UUID)


class InvoiceService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # Who writes this client's invoices (rules.msp_of), for the pages' buttons too.
    msp_of = staticmethod(rules.msp_of)

    # ---- reading

    async def list_invoices(
        self,
        ctx: TenantContext,
        *,
        status: InvoiceStatus | None = None,
        cursor: str | None = None,
        limit: int = 50,
    ) -> tuple[list[Invoice], str | None]:
        check_limit(limit)
        after = NEWEST.decode(cursor)
        rows = await repository.list_invoices(
            self.session,
            ctx.tenant.id,
            status=status,
            after=(after[0], after[1]) if after is not None else None,
            limit=limit + 1,
        )
        return page_of(rows, limit, lambda i: (i.created_at, i.id))

    async def get(
        self, ctx: TenantContext, invoice_id: uuid.UUID, *, for_update: bool = False
    ) -> Invoice:
        invoice = await repository.invoice(
            self.session, ctx.tenant.id, invoice_id, for_update=for_update
        )
        if invoice is None:
            raise NotFound("No such invoice here.")
        return invoice

    async def lines(self, ctx: TenantContext, invoice: Invoice) -> list[InvoiceLine]:
        return list(await repository.lines(self.session, ctx.tenant.id, invoice.id))

    # ---- recurring items

    async def list_recurring(self, ctx: TenantContext) -> list[RecurringItem]:
        return list(await repository.recurring_items(self.session, ctx.tenant.id))

    async def create_recurring(
        self,
        ctx: TenantContext,
        *,
        description: str,
        amount_minor: int,
        currency: str,
        actor: Actor,
    ) -> RecurringItem:
        self.msp_of(ctx)
        description = description.strip()
        if not description:
            raise ValidationFailed("description", "is required")
        if not money.CURRENCY.match(currency):
            raise ValidationFailed("currency", "must be a three-letter ISO code such as EUR")
        if not 0 <= amount_minor <= money.MAX_AMOUNT:
            raise ValidationFailed("amount_minor", "must be zero or more")
        item = RecurringItem(
            tenant_id=ctx.tenant.id,
            id=new_id(),
            description=description,
            amount_minor=amount_minor,
            currency=currency,
            active=True,
        )
        self.session.add(item)
        await self.session.flush()
        await audit.record(
            self.session,
            tenant_id=ctx.tenant.id,
            actor=actor,
            action=AuditAction.RECURRING_ITEM_CREATED,
            target_type="recurring_item",
            target_id=item.id,
            target_label=description,
            changes=set_to(amount_minor=amount_minor, currency=currency),
        )
        return item

    async def update_recurring(
        self,
        ctx: TenantContext,
        item_id: uuid.UUID,
        *,
        description: str | None = None,
        amount_minor: int | None = None,
        active: bool | None = None,
        actor: Actor,
    ) -> RecurringItem:
        self.msp_of(ctx)
        item = await repository.recurring_item(self.session, ctx.tenant.id, item_id)
        if item is None:
            raise NotFound("No such recurring item here.")
        changes = Changes()
        if description is not None and description.strip() != item.description:
            if not description.strip():
                raise ValidationFailed("description", "is required")
            changes |= changed("description", item.description, description.strip())
            item.description = description.strip()
        if amount_minor is not None and amount_minor != item.amount_minor:
            if not 0 <= amount_minor <= money.MAX_AMOUNT:
                raise ValidationFailed("amount_minor", "must be zero or more")
            changes |= changed("amount_minor", item.amount_minor, amount_minor)
            item.amount_minor = amount_minor
        if active is not None and active != item.active:
            changes |= changed("active", item.active, active)
            item.active = active
        if changes:
            await self.session.flush()
            await audit.record(
                self.session,
                tenant_id=ctx.tenant.id,
                actor=actor,
                action=AuditAction.RECURRING_ITEM_UPDATED,
                target_type="recurring_item",
                target_id=item.id,
                target_label=item.description,
                changes=changes,
            )
        return item

    # ---- the invoice's life

    async def generate(
        self,
        ctx: TenantContext,
        *,
        period_start: date,
        period_end: date,
        currency: str,
        tax_rate_bp: int = 0,
        notes: str = "",
        actor: Actor,
    ) -> Invoice:
        msp_id = self.msp_of(ctx)
        if period_end < period_start:
            raise ValidationFailed("period_end", "must be on or after the period start")
        if (period_end - period_start).days > 366:
            raise ValidationFailed("period_end", "the period may span at most a year")
        if not money.CURRENCY.match(currency):
            raise ValidationFailed("currency", "must be a three-letter ISO code such as EUR")
        if not 0 <= tax_rate_bp <= 10_000:
            raise ValidationFailed("tax_rate_bp", "must be between 0 and 10000 (100 %)")
        time = TimeService(self.session)
        entries = await time.billable_uninvoiced(ctx, period_start, period_end, currency)
        items = await repository.recurring_items(
            self.session, ctx.tenant.id, active_only=True, currency=currency
        )
        # The client's service plan (the MSP's row): one line, counted users x price.
        plan = await ServicePlanService(self.session).invoice_line(ctx.tenant.id, msp_id, currency)
        if not entries and not items and plan is None:
            raise ValidationFailed(
                "period_start",
                f"nothing to invoice in {currency} for this period: no approved billable "
                "time, no recurring items and no service plan",
            )
        invoice = Invoice(
            tenant_id=ctx.tenant.id,
            id=new_id(),
            msp_tenant_id=msp_id,
            status=InvoiceStatus.DRAFT,
            period_start=period_start,
            period_end=period_end,
            currency=currency,
            tax_rate_bp=tax_rate_bp,
            issuer_name=ctx.principal.home_tenant_name,
            client_name=ctx.tenant.display_name,
            notes=notes,
        )
        self.session.add(invoice)
        await self.session.flush()
        lines: list[InvoiceLine] = []
        # Fixed lines first: the service plan's (users x price), then recurring items.
        fixed = [(plan.description, plan.quantity, plan.unit_minor)] if plan is not None else []
        fixed += [(item.description, 1, item.amount_minor) for item in items]
        for description, quantity, unit_minor in fixed:
            lines.append(
                InvoiceLine(
                    tenant_id=ctx.tenant.id,
                    id=new_id(),
                    invoice_id=invoice.id,
                    position=len(lines) + 1,
                    kind=LineKind.FIXED,
                    description=description[:500],
                    quantity=quantity,
                    unit_minor=unit_minor,
                    amount_minor=quantity * unit_minor,
                )
            )
        for entry, work_type in entries:
            detail = entry.notes.strip().splitlines()[0][:300] if entry.notes.strip() else ""
            description = f"{work_type.name}, {entry.technician_name}" + (
                f": {detail}" if detail else ""
            )
            lines.append(
                InvoiceLine(
                    tenant_id=ctx.tenant.id,
                    id=new_id(),
                    invoice_id=invoice.id,
                    position=len(lines) + 1,
                    kind=LineKind.TIME,
                    description=description[:500],
                    minutes=entry.minutes,
                    quantity=1,
                    unit_minor=work_type.rate_minor,
                    amount_minor=money.time_amount(entry.minutes, work_type.rate_minor),
                    time_entry_id=entry.id,
                    work_date=entry.work_date,
                )
            )
        time.attach([entry for entry, _ in entries], invoice.id)
        self.session.add_all(lines)
        self._total(invoice, lines)
        await self.session.flush()
        await self._record(
            ctx,
            actor,
            AuditAction.INVOICE_CREATED,
            invoice,
            set_to(
                period=f"{period_start.isoformat()}..{period_end.isoformat()}",
                currency=currency,
                tax_rate_bp=tax_rate_bp,
                time_entries=len(entries),
                fixed_items=len(items),
                service_plan_users=plan.quantity if plan is not None else None,
                total_minor=invoice.total_minor,
            ),
        )
        return invoice

    @staticmethod
    def _total(invoice: Invoice, lines: list[InvoiceLine]) -> None:
        subtotal, tax, total = money.totals((li.amount_minor for li in lines), invoice.tax_rate_bp)
        invoice.subtotal_minor, invoice.tax_minor, invoice.total_minor = subtotal, tax, total

    async def _release_time(self, ctx: TenantContext, invoice: Invoice) -> int:
        return await TimeService(self.session).release(ctx, invoice.id)

    async def delete_draft(
        self, ctx: TenantContext, invoice_id: uuid.UUID, *, actor: Actor
    ) -> None:
        self.msp_of(ctx)
        invoice = await self.get(ctx, invoice_id, for_update=True)
        if invoice.status != InvoiceStatus.DRAFT:
            raise Conflict(
                "Only drafts can be deleted; an issued invoice is voided and keeps its number.",
                status_now=invoice.status.value,
            )
        released = await self._release_time(ctx, invoice)
        await self.session.flush()
        await self._record(
            ctx, actor, AuditAction.INVOICE_DELETED, invoice, set_to(time_entries_released=released)
        )
        await repository.delete_invoice(self.session, invoice)

    async def issue(self, ctx: TenantContext, invoice_id: uuid.UUID, *, actor: Actor) -> Invoice:
        """Give the draft the MSP's next number. The unit of work is widened to the MSP
        (whose counter it locks) only after deciding the caller writes for that MSP."""
        msp_id = self.msp_of(ctx)
        invoice = await self.get(ctx, invoice_id, for_update=True)
        if invoice.status != InvoiceStatus.DRAFT:
            raise Conflict(
                f"Only drafts can be issued; this invoice is {invoice.status.value}.",
                status_now=invoice.status.value,
            )
        if invoice.msp_tenant_id != msp_id:
            raise PermissionDenied(
                "This draft was made by another MSP.", permission=WRITE, reason="other-msp"
            )
        issue_date = tenant_today(ctx.tenant.time_zone)
        await widen(self.session, msp_id, why=Why.ISSUING_MSP)
        counter = await repository.lock_counter(
            self.session,
            msp_id,
            issue_date.year,
            rules.default_prefix(ctx.principal.home_tenant_slug),
        )
        sequence = counter.next_number
        counter.next_number = sequence + 1
        invoice.number = rules.format_number(counter.prefix, counter.year, sequence)
        invoice.status = InvoiceStatus.ISSUED
        invoice.issue_date = issue_date
        invoice.issued_at = utcnow()
        invoice.issuer_name = ctx.principal.home_tenant_name
        invoice.client_name = ctx.tenant.display_name
        invoice.updated_at = utcnow()
        await self.session.flush()
        await self._record(
            ctx,
            actor,
            AuditAction.INVOICE_ISSUED,
            invoice,
            changed("status", "draft", "issued")
            | set_to(
                number=invoice.number,
                total_minor=invoice.total_minor,
                currency=invoice.currency,
            ),
        )
        return invoice

    async def mark_paid(
        self, ctx: TenantContext, invoice_id: uuid.UUID, *, actor: Actor
    ) -> Invoice:
        self.msp_of(ctx)
        invoice = await self.get(ctx, invoice_id, for_update=True)
        if invoice.status != InvoiceStatus.ISSUED:
            raise Conflict(
                f"Only issued invoices can be marked paid; this one is {invoice.status.value}.",
                status_now=invoice.status.value,
            )
        invoice.status = InvoiceStatus.PAID
        invoice.paid_at = utcnow()
        invoice.updated_at = utcnow()
        await self.session.flush()
        await self._record(
            ctx,
            actor,
            AuditAction.INVOICE_PAID,
            invoice,
            changed("status", "issued", "paid"),
        )
        return invoice

    async def void(
        self, ctx: TenantContext, invoice_id: uuid.UUID, *, reason: str, actor: Actor
    ) -> Invoice:
        self.msp_of(ctx)
        reason = reason.strip()
        if not reason:
            raise ValidationFailed("reason", "is required: say why the invoice is void")
        if len(reason) > 500:
            raise ValidationFailed("reason", "must be at most 500 characters")
        invoice = await self.get(ctx, invoice_id, for_update=True)
        if invoice.status not in (InvoiceStatus.ISSUED, InvoiceStatus.PAID):
            raise Conflict(
                f"Only issued or paid invoices can be voided; this one is "
                f"{invoice.status.value}"
                + (
                    " (delete the draft instead)." if invoice.status == InvoiceStatus.DRAFT else "."
                ),
                status_now=invoice.status.value,
            )
        old = invoice.status.value
        invoice.status = InvoiceStatus.VOID
        invoice.voided_at = utcnow()
        invoice.void_reason = reason
        invoice.updated_at = utcnow()
        released = await self._release_time(ctx, invoice)
        await self.session.flush()
        await self._record(
            ctx,
            actor,
            AuditAction.INVOICE_VOIDED,
            invoice,
            changed("status", old, "void") | set_to(reason=reason, time_entries_released=released),
        )
        return invoice

    async def _record(
        self,
        ctx: TenantContext,
        actor: Actor,
        action: AuditAction,
        invoice: Invoice,
        changes: Changes,
    ) -> None:
        await audit.record(
            self.session,
            tenant_id=ctx.tenant.id,
            actor=actor,
            action=action,
            target_type="invoice",
            target_id=invoice.id,
            target_label=rules.label(invoice),
            changes=changes,
        )

    # ---- the demo's counter

    async def ensure_counter(self, msp_id: uuid.UUID, year: int, prefix: str) -> None:
        """Give the MSP a counter for ``year`` with ``prefix`` (the demo's ``NW``) unless it
        has one; the caller widened the unit of work to the MSP."""
        await repository.ensure_counter(self.session, msp_id, year, prefix)
