"""Who may do what to a time entry, and when it is locked: pure checks on the caller's
context and the entry (the service reads and writes; these only refuse).

States: draft → submitted → approved; rejecting sends a submitted or approved entry back
to draft. Only drafts are edited or deleted, by their technician or a holder of
``time:approve``; the approver is not the technician. An entry on an invoice is locked.
"""

from __future__ import annotations

import uuid

from tenantry.access.context import TenantContext
from tenantry.errors import Conflict, PermissionDenied, ValidationFailed
from tenantry.psa.time.models import EntryStatus, TimeEntry

APPROVE = "time:approve"
WRITE = "time:write"


def check_minutes(minutes: int) -> None:
    if not 1 <= minutes <= 24 * 60:
        raise ValidationFailed("minutes", "must be between 1 and 1440 (24 hours)")


def may_change(ctx: TenantContext, entry: TimeEntry) -> None:
    if entry.technician_user_id != ctx.principal.user_id and not ctx.can(APPROVE):
        raise PermissionDenied(
            f"Only {entry.technician_name} or someone with '{APPROVE}' may change this time entry.",
            permission=APPROVE,
        )


def msp_side_only(ctx: TenantContext, entry: TimeEntry, author_home: uuid.UUID | None) -> None:
    """Access rule 10 on the record: in a client its MSP manages, time written by the
    MSP's staff (an author at home elsewhere, or no longer known) is the MSP's record.
    The client's own people read it; only the MSP's side changes, submits, deletes,
    approves or rejects it. Called only for the client's own people (``relation ==
    "home"``) in a managed client: the caller looks the author up for those alone."""
    if author_home == ctx.tenant.id:
        return
    raise PermissionDenied(
        f"{entry.technician_name} logged this time for {ctx.managed_by}, the MSP that "
        f"manages {ctx.tenant.display_name}: only {ctx.managed_by}'s side can change, "
        "submit, delete or approve it.",
        permission=WRITE,
        reason="msp-owned",
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
