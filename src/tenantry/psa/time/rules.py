"""Who may do what to a time entry, and when it is locked: pure checks on the caller's
context and the entry (the service reads and writes; these only refuse).

States: draft → submitted → approved; rejecting sends a submitted or approved entry back
to draft. Only drafts are edited or deleted, by their technician or a holder of
``time:approve``; the approver is not the technician. An entry on an invoice is locked.
"""

from __future__ import annotations

from tenantry.access.context import TenantContext
from tenantry.errors import Conflict, PermissionDenied, ValidationFailed
from tenantry.psa.time.models import EntryStatus, TimeEntry

APPROVE = "time:approve"


def check_minutes(minutes: int) -> None:
    if not 1 <= minutes <= 24 * 60:
        raise ValidationFailed("minutes", "must be between 1 and 1440 (24 hours)")


def may_change(ctx: TenantContext, entry: TimeEntry) -> None:
    if entry.technician_user_id != ctx.principal.user_id and not ctx.can(APPROVE):
        raise PermissionDenied(
            f"Only {entry.technician_name} or someone with '{APPROVE}' may change this time entry.",
            permission=APPROVE,
        )


def not_locked(entry: TimeEntry) -> None:
    if entry.invoice_id is not None:
        raise Conflict(
            "This time entry is on an invoice and is locked; void or delete the invoice first.",
            reason="invoiced",
        )


def draft(entry: TimeEntry, doing: str) -> None:
    if entry.status != EntryStatus.DRAFT:
        raise Conflict(
            f"Only draft entries can be {doing}; this one is {entry.status.value}"
            + (" (reject it back to draft first)." if entry.invoice_id is None else "."),
            status_now=entry.status.value,
        )


def approver(ctx: TenantContext, entry: TimeEntry, doing: str) -> None:
    ctx.require(APPROVE)
    if entry.technician_user_id == ctx.principal.user_id:
        raise PermissionDenied(
            f"You cannot {doing} your own time: someone else with '{APPROVE}' must.",
            permission=APPROVE,
            reason="own-entry",
        )
