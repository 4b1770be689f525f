"""Retention: how long a tenant keeps its events, and pruning the older ones.

Pruning keeps an anchor (the last pruned event's seq and hash) so the chain that remains
still verifies, and records itself in the trail it cut. The retention period is a column
of the tenant, which tenancy owns: it is read and written through tenancy's service."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.audit import repository
from tenantry.audit import service as chain
from tenantry.audit.changes import changed, set_to
from tenantry.audit.models import AuditAnchor
from tenantry.audit.schemas import (
    MAX_RETENTION_DAYS,
    MIN_RETENTION_DAYS,
    OPERATOR,
    Actor,
    AuditAction,
    AuditSettingsOut,
)
from tenantry.db.base import new_id, utcnow
from tenantry.db.rls import allow_audit_deletion
from tenantry.errors import Conflict, ValidationFailed
from tenantry.tenancy import service as tenancy


@dataclass(frozen=True, slots=True)
class PruneResult:
    tenant_id: uuid.UUID
    events_pruned: int
    pruned_through_seq: int
    anchor_hash: str


async def prune(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    before: datetime,
    *,
    actor: Actor = OPERATOR,
    now: datetime | None = None,
) -> PruneResult | None:
    """Delete the tenant's oldest events that happened before ``before`` and keep an
    anchor (the last deleted event's seq and hash) so what remains still verifies.

    Only a contiguous run from the start of the chain goes: pruning stops at the first
    event at or after ``before`` even if older ones follow it (clock skew between app
    hosts), so the remaining chain has no holes. The chain is verified first: pruning
    a tampered chain would destroy the evidence, so it is refused. Returns None when
    nothing is old enough (and records nothing). The session's scope must cover the
    tenant; the caller commits.
    """
    # Lock the head first, as record() does: no event is appended while we cut.
    if await repository.head(session, tenant_id, for_update=True) is None:
        return None
    first_kept = await repository.first_seq_from(session, tenant_id, before)
    last = await repository.last_event_through(
        session, tenant_id, None if first_kept is None else first_kept - 1
    )
    anchor = await repository.latest_anchor(session, tenant_id)
    if last is None or (anchor is not None and last.seq <= anchor.pruned_through_seq):
        return None
    report = await chain.verify_chain(session, tenant_id)
    if not report.ok:
        raise Conflict(
            f"The audit trail of tenant {tenant_id} does not verify ({report.reason}); "
            "nothing was pruned. Investigate with `tenantry audit verify` first."
        )
    await allow_audit_deletion(session)
    deleted = await repository.delete_through(session, tenant_id, last.seq)
    at = now or utcnow()
    session.add(
        AuditAnchor(
            tenant_id=tenant_id,
            id=new_id(),
            pruned_through_seq=last.seq,
            anchor_hash=last.hash,
            events_pruned=deleted,
            pruned_before=before,
            pruned_at=at,
        )
    )
    await chain.record(
        session,
        tenant_id=tenant_id,
        actor=actor,
        action=AuditAction.AUDIT_PRUNED,
        target_type="audit_trail",
        target_id=tenant_id,
        # verify_chain reads the anchor's seq and hash back from here (changes.new_value).
        changes=set_to(
            pruned_through_seq=last.seq,
            anchor_hash=last.hash,
            events_pruned=deleted,
            pruned_before=before,
        ),
    )
    return PruneResult(tenant_id, deleted, last.seq, last.hash)


def retention_cutoff(days: int | None, now: datetime) -> datetime | None:
    """Events before this may go under a retention of ``days`` (None: keep everything)."""
    return None if days is None else now - timedelta(days=days)


def check_retention_days(days: int | None) -> int | None:
    if days is not None and not MIN_RETENTION_DAYS <= days <= MAX_RETENTION_DAYS:
        raise ValidationFailed(
            "retention_days",
            f"must be between {MIN_RETENTION_DAYS} and {MAX_RETENTION_DAYS} days, "
            "or null to keep every event",
        )
    return days


async def set_retention(
    session: AsyncSession, tenant_id: uuid.UUID, days: int | None, *, actor: Actor
) -> None:
    """Change how long the tenant's events are kept; recorded in its own trail. Takes
    effect at the next ``tenantry audit prune``."""
    check_retention_days(days)
    tenant, before = await tenancy.set_audit_retention(session, tenant_id, days)
    if before != days:
        await chain.record(
            session,
            tenant_id=tenant.id,
            actor=actor,
            action=AuditAction.AUDIT_SETTINGS_CHANGED,
            target_type="tenant",
            target_id=tenant.id,
            target_label=tenant.slug,
            changes=changed("audit_retention_days", before, days),
        )


async def settings_of(session: AsyncSession, tenant_id: uuid.UUID) -> AuditSettingsOut:
    tenant = await tenancy.tenant(session, tenant_id)
    anchor = await repository.latest_anchor(session, tenant_id)
    return AuditSettingsOut(
        retention_days=tenant.audit_retention_days,
        pruned_through_seq=anchor.pruned_through_seq if anchor else None,
        last_pruned_at=anchor.pruned_at if anchor else None,
    )
