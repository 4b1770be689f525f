"""The rules of time: who logs, edits, submits and approves, and when an entry locks.

States: draft → submitted → approved; rejecting (with a reason) sends a submitted or
approved entry back to draft. Only drafts are edited or deleted. The approver holds
``time:approve`` and is not the technician who logged the entry. An entry on an invoice
that is not void is locked: no edit, no rejection (un-approval), no deletion.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.access.context import TenantContext
from tenantry.audit import service as audit
from tenantry.audit.changes import Changes, changed, of_pairs, removed, set_to
from tenantry.audit.schemas import Actor, AuditAction
from tenantry.db.base import new_id, utcnow
from tenantry.errors import Conflict, NotFound, ValidationFailed
from tenantry.identity import service as identity
from tenantry.kit.pagination import Keyset, check_limit, page_of
from tenantry.psa.tickets.service import TicketService
from tenantry.psa.time import repository, rules
from tenantry.psa.time.models import EntryStatus, TimeEntry, WorkType
from tenantry.psa.time.schemas import EntryChanges, EntryFilter

# Work may be logged for today in the client's zone, or the past; one day of slack for
# zones the browser and the client disagree on.
FUTURE_SLACK = timedelta(days=1)

# Entries are listed newest day first, ties by id.
BY_DAY = Keyset(date, uuid.UUID)


def tenant_today(time_zone: str) -> date:
    """Today in a tenant's time zone (``ctx.tenant.time_zone``; UTC when it names none
    this machine knows)."""
    try:
        zone = ZoneInfo(time_zone)
    except (ValueError, KeyError):
        zone = ZoneInfo("UTC")
    return datetime.now(zone).date()


def _label(entry: TimeEntry) -> str:
    return f"{entry.minutes} min on {entry.work_date.isoformat()} by {entry.technician_name}"


class TimeService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # ---- work types (per client, with an hourly rate)

    async def list_work_types(
        self, ctx: TenantContext, *, active_only: bool = False
    ) -> list[WorkType]:
        return list(
            await repository.work_types(self.session, ctx.tenant.id, active_only=active_only)
        )

    async def create_work_type(
        self, ctx: TenantContext, *, name: str, rate_minor: int, currency: str, actor: Actor
    ) -> WorkType:
        name = name.strip()
        if not name:
            raise ValidationFailed("name", "is required")
        if await repository.work_type_named(self.session, ctx.tenant.id, name):
            raise ValidationFailed("name", f"'{name}' already exists here")
        if rate_minor < 0:
            raise ValidationFailed("rate_minor", "must be zero or more")
        work_type = WorkType(
            tenant_id=ctx.tenant.id,
            id=new_id(),
            name=name,
            rate_minor=rate_minor,
            currency=currency,
            active=True,
        )
        self.session.add(work_type)
        await self.session.flush()
        await audit.record(
            self.session,
            tenant_id=ctx.tenant.id,
            actor=actor,
            action=AuditAction.WORK_TYPE_CREATED,
            target_type="work_type",
            target_id=work_type.id,
            target_label=name,
            changes=set_to(name=name, rate_minor=rate_minor, currency=currency),
        )
        return work_type

    async def update_work_type(
        self,
        ctx: TenantContext,
        work_type_id: uuid.UUID,
        *,
        name: str | None = None,
        rate_minor: int | None = None,
        active: bool | None = None,
        actor: Actor,
    ) -> WorkType:
        """A new rate applies to entries invoiced from now on (lines keep their rate)."""
        work_type = await self.work_type(ctx, work_type_id)
        changes = Changes()
        if name is not None and name.strip() != work_type.name:
            name = name.strip()
            if not name:
                raise ValidationFailed("name", "is required")
            if await repository.work_type_named(self.session, ctx.tenant.id, name):
                raise ValidationFailed("name", f"'{name}' already exists here")
            changes |= changed("name", work_type.name, name)
            work_type.name = name
        if rate_minor is not None and rate_minor != work_type.rate_minor:
            if rate_minor < 0:
                raise ValidationFailed("rate_minor", "must be zero or more")
            changes |= changed("rate_minor", work_type.rate_minor, rate_minor)
            work_type.rate_minor = rate_minor
        if active is not None and active != work_type.active:
            changes |= changed("active", work_type.active, active)
            work_type.active = active
        if changes:
            await self.session.flush()
            await audit.record(
                self.session,
                tenant_id=ctx.tenant.id,
                actor=actor,
                action=AuditAction.WORK_TYPE_UPDATED,
                target_type="work_type",
                target_id=work_type.id,
                target_label=work_type.name,
                changes=changes,
            )
        return work_type

    async def work_type(self, ctx: TenantContext, work_type_id: uuid.UUID) -> WorkType:
        work_type = await repository.work_type(self.session, ctx.tenant.id, work_type_id)
        if work_type is None:
            raise NotFound("No such work type here.")
        return work_type

    # ---- time entries

    async def list_entries(
        self,
        ctx: TenantContext,
        where: EntryFilter,
        *,
        cursor: str | None = None,
        limit: int = 50,
    ) -> tuple[list[TimeEntry], str | None]:
        check_limit(limit)
        after = BY_DAY.decode(cursor)
        rows = await repository.list_entries(
            self.session,
            ctx.tenant.id,
            where,
            after=(after[0], after[1]) if after is not None else None,
            limit=limit + 1,
        )
        return page_of(rows, limit, lambda e: (e.work_date, e.id))

    async def get_entry(
        self, ctx: TenantContext, entry_id: uuid.UUID, *, for_update: bool = False
    ) -> TimeEntry:
        entry = await repository.entry(self.session, ctx.tenant.id, entry_id, for_update=for_update)
        if entry is None:
            raise NotFound("No such time entry here.")
        return entry

    async def _entry_for_change(self, ctx: TenantContext, entry_id: uuid.UUID) -> TimeEntry:
        """The entry, locked, once the caller's side may touch it: in a managed client,
        its own people never change time the MSP's staff wrote (rules.msp_side_only)."""
        entry = await self.get_entry(ctx, entry_id, for_update=True)
        if ctx.relation == "home" and ctx.managed_by is not None:
            if entry.technician_user_id == ctx.principal.user_id:
                return entry
            author = await identity.user_by_id(self.session, entry.technician_user_id)
            rules.msp_side_only(ctx, entry, author.home_tenant_id if author else None)
        return entry

    async def _check_ticket(self, ctx: TenantContext, ticket_id: uuid.UUID) -> None:
        if await TicketService(self.session).find_by_id(ctx, ticket_id) is None:
            raise ValidationFailed("ticket_id", "is not a ticket of this client")

    async def _check_work_type(self, ctx: TenantContext, work_type_id: uuid.UUID) -> WorkType:
        work_type = await repository.work_type(self.session, ctx.tenant.id, work_type_id)
        if work_type is None:
            raise ValidationFailed("work_type_id", "is not a work type of this client")
        if not work_type.active:
            raise ValidationFailed("work_type_id", f"'{work_type.name}' is no longer in use")
        return work_type

    async def _check_date(self, ctx: TenantContext, day: date) -> None:
        today = tenant_today(ctx.tenant.time_zone)
        if day > today + FUTURE_SLACK:
            raise ValidationFailed("work_date", "cannot be in the future")
        if day < today - timedelta(days=366 * 2):
            raise ValidationFailed("work_date", "is more than two years ago")

    async def create_entry(
        self,
        ctx: TenantContext,
        *,
        work_type_id: uuid.UUID,
        minutes: int,
        work_date: date | None = None,
        ticket_id: uuid.UUID | None = None,
        billable: bool = True,
        notes: str = "",
        actor: Actor,
    ) -> TimeEntry:
        """The technician is the caller: time is logged by the person who did the work."""
        rules.check_minutes(minutes)
        await self._check_work_type(ctx, work_type_id)
        if ticket_id is not None:
            await self._check_ticket(ctx, ticket_id)
        day = work_date or tenant_today(ctx.tenant.time_zone)
        await self._check_date(ctx, day)
        entry = TimeEntry(
            tenant_id=ctx.tenant.id,
            id=new_id(),
            ticket_id=ticket_id,
            technician_user_id=ctx.principal.user_id,
            technician_name=ctx.principal.display_name,
            work_date=day,
            minutes=minutes,
            work_type_id=work_type_id,
            billable=billable,
            notes=notes,
            status=EntryStatus.DRAFT,
        )
        self.session.add(entry)
        await self.session.flush()
        await self._record(
            ctx,
            actor,
            AuditAction.TIME_ENTRY_CREATED,
            entry,
            set_to(
                minutes=minutes,
                work_date=day.isoformat(),
                work_type_id=str(work_type_id),
                ticket_id=str(ticket_id) if ticket_id else None,
                billable=billable,
            ),
        )
        return entry

    async def update_entry(
        self, ctx: TenantContext, entry_id: uuid.UUID, changes: EntryChanges, *, actor: Actor
    ) -> TimeEntry:
        entry = await self._entry_for_change(ctx, entry_id)
        rules.may_change(ctx, entry)
        rules.not_locked(entry)
        rules.draft(entry, "edited")
        done: list[tuple[str, object, object]] = []

        def note(field: str, old: object, new: object) -> None:
            done.append((field, old, new))

        if changes.minutes is not None and changes.minutes != entry.minutes:
            rules.check_minutes(changes.minutes)
            note("minutes", entry.minutes, changes.minutes)
            entry.minutes = changes.minutes
        if changes.work_type_id is not None and changes.work_type_id != entry.work_type_id:
            await self._check_work_type(ctx, changes.work_type_id)
            note("work_type_id", str(entry.work_type_id), str(changes.work_type_id))
            entry.work_type_id = changes.work_type_id
        if changes.work_date is not None and changes.work_date != entry.work_date:
            await self._check_date(ctx, changes.work_date)
            note("work_date", entry.work_date.isoformat(), changes.work_date.isoformat())
            entry.work_date = changes.work_date
        if changes.clear_ticket and entry.ticket_id is not None:
            note("ticket_id", str(entry.ticket_id), None)
            entry.ticket_id = None
        elif changes.ticket_id is not None and changes.ticket_id != entry.ticket_id:
            await self._check_ticket(ctx, changes.ticket_id)
            note(
                "ticket_id",
                str(entry.ticket_id) if entry.ticket_id else None,
                str(changes.ticket_id),
            )
            entry.ticket_id = changes.ticket_id
        if changes.billable is not None and changes.billable != entry.billable:
            note("billable", entry.billable, changes.billable)
            entry.billable = changes.billable
        if changes.notes is not None and changes.notes != entry.notes:
            note("notes", entry.notes, changes.notes)
            entry.notes = changes.notes
        if done:
            entry.updated_at = utcnow()
            await self.session.flush()
            await self._record(ctx, actor, AuditAction.TIME_ENTRY_UPDATED, entry, of_pairs(done))
        return entry

    async def delete_entry(self, ctx: TenantContext, entry_id: uuid.UUID, *, actor: Actor) -> None:
        entry = await self._entry_for_change(ctx, entry_id)
        rules.may_change(ctx, entry)
        rules.not_locked(entry)
        rules.draft(entry, "deleted")
        await self._record(
            ctx,
            actor,
            AuditAction.TIME_ENTRY_DELETED,
            entry,
            removed(minutes=entry.minutes, work_date=entry.work_date.isoformat()),
        )
        await repository.delete_entry(self.session, entry)

    async def submit(self, ctx: TenantContext, entry_id: uuid.UUID, *, actor: Actor) -> TimeEntry:
        entry = await self._entry_for_change(ctx, entry_id)
        rules.may_change(ctx, entry)
        rules.draft(entry, "submitted")
        entry.status = EntryStatus.SUBMITTED
        entry.submitted_at = utcnow()
        entry.rejection_reason = None
        entry.updated_at = utcnow()
        await self.session.flush()
        await self._record(
            ctx,
            actor,
            AuditAction.TIME_ENTRY_SUBMITTED,
            entry,
            changed("status", "draft", "submitted"),
        )
        return entry

    async def approve(self, ctx: TenantContext, entry_id: uuid.UUID, *, actor: Actor) -> TimeEntry:
        entry = await self._entry_for_change(ctx, entry_id)
        rules.approver(ctx, entry, "approve")
        if entry.status != EntryStatus.SUBMITTED:
            raise Conflict(
                f"Only submitted entries can be approved; this one is {entry.status.value}.",
                status_now=entry.status.value,
            )
        entry.status = EntryStatus.APPROVED
        entry.approved_at = utcnow()
        entry.approved_by_user_id = ctx.principal.user_id
        entry.approved_by_name = ctx.principal.display_name
        entry.updated_at = utcnow()
        await self.session.flush()
        await self._record(
            ctx,
            actor,
            AuditAction.TIME_ENTRY_APPROVED,
            entry,
            changed("status", "submitted", "approved"),
        )
        return entry

    async def reject(
        self, ctx: TenantContext, entry_id: uuid.UUID, *, reason: str, actor: Actor
    ) -> TimeEntry:
        """Back to draft with a reason: a submitted entry, or an approved one not yet
        invoiced (un-approval)."""
        reason = reason.strip()
        if not reason:
            raise ValidationFailed("reason", "is required: say what to fix")
        if len(reason) > 500:
            raise ValidationFailed("reason", "must be at most 500 characters")
        entry = await self._entry_for_change(ctx, entry_id)
        rules.approver(ctx, entry, "reject")
        rules.not_locked(entry)
        if entry.status == EntryStatus.DRAFT:
            raise Conflict("This entry is already a draft.", status_now="draft")
        old = entry.status.value
        entry.status = EntryStatus.DRAFT
        entry.rejection_reason = reason
        entry.approved_at = None
        entry.approved_by_user_id = None
        entry.approved_by_name = None
        entry.updated_at = utcnow()
        await self.session.flush()
        await self._record(
            ctx,
            actor,
            AuditAction.TIME_ENTRY_REJECTED,
            entry,
            changed("status", old, "draft") | set_to(reason=reason),
        )
        return entry

    async def _record(
        self,
        ctx: TenantContext,
        actor: Actor,
        action: AuditAction,
        entry: TimeEntry,
        changes: Changes,
    ) -> None:
        await audit.record(
            self.session,
            tenant_id=ctx.tenant.id,
            actor=actor,
            action=action,
            target_type="time_entry",
            target_id=entry.id,
            target_label=_label(entry),
            changes=changes,
        )

    # ---- used by invoices: the time an invoice bills

    async def billable_uninvoiced(
        self, ctx: TenantContext, start: date, end: date, currency: str
    ) -> list[tuple[TimeEntry, WorkType]]:
        """Approved, billable, not yet invoiced time of the period in ``currency``, each
        with its work type, locked so two drafts cannot take one entry."""
        return await repository.billable_uninvoiced(
            self.session, ctx.tenant.id, start, end, currency
        )

    @staticmethod
    def attach(entries: Sequence[TimeEntry], invoice_id: uuid.UUID) -> None:
        """The entries are on this invoice now: locked until it is deleted or voided."""
        for entry in entries:
            entry.invoice_id = invoice_id

    async def release(self, ctx: TenantContext, invoice_id: uuid.UUID) -> int:
        """The invoice's time becomes invoiceable again; returns how many entries."""
        entries = await repository.entries_of_invoice(self.session, ctx.tenant.id, invoice_id)
        for entry in entries:
            entry.invoice_id = None
        return len(entries)
