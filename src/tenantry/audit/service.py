"""Writing audit events: by the service call that makes the change, in its transaction."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.audit import repository
from tenantry.audit.changes import Changes
from tenantry.audit.models import AuditAnchor, AuditChainHead, AuditEvent
from tenantry.audit.schemas import (
    MAX_RETENTION_DAYS,
    MIN_RETENTION_DAYS,
    OPERATOR,
    Actor,
    AuditAction,
    AuditSettingsOut,
    TechnicianEventOut,
)
from tenantry.db.base import new_id, utcnow
from tenantry.db.rls import allow_audit_deletion
from tenantry.errors import Conflict, NotFound, ValidationFailed
from tenantry.pagination import encode_cursor
from tenantry.tenancy.models import Tenant

if TYPE_CHECKING:
    # Only for types: access.service records events through this module.
    from tenantry.access.context import TenantContext
    from tenantry.access.scopes import CustomerScope
    from tenantry.db.engine import Database

GENESIS = "0" * 64
# Keys whose values are never stored, whatever the caller passes.
SECRET_KEYS = frozenset({"password", "password_hash", "token", "token_hash", "totp_secret", "code"})


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def scrub(changes: dict[str, Any]) -> dict[str, Any]:
    """Secrets redacted, values made plain JSON (what is hashed is what is read back)."""
    redacted = {k: ("[redacted]" if k in SECRET_KEYS else v) for k, v in changes.items()}
    plain: dict[str, Any] = json.loads(json.dumps(redacted, default=_plain))
    return plain


def event_digest(event: AuditEvent) -> str:
    """Hash of the event's content and its predecessor's hash (canonical JSON)."""
    body = {
        "tenant_id": str(event.tenant_id),
        "id": str(event.id),
        "seq": event.seq,
        "occurred_at": event.occurred_at.isoformat(),
        "action": event.action,
        "actor_user_id": str(event.actor_user_id) if event.actor_user_id else None,
        "actor_name": event.actor_name,
        "actor_home_tenant_id": str(event.actor_home_tenant_id)
        if event.actor_home_tenant_id
        else None,
        "via_grant_id": str(event.via_grant_id) if event.via_grant_id else None,
        "via_link_id": str(event.via_link_id) if event.via_link_id else None,
        "explanation": event.explanation,
        "target_type": event.target_type,
        "target_id": event.target_id,
        "target_label": event.target_label,
        "changes": event.changes,
        "request_id": event.request_id,
        "source_address": event.source_address,
        "prev_hash": event.prev_hash,
    }
    raw = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(raw.encode()).hexdigest()


async def record(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    actor: Actor,
    action: AuditAction,
    target_type: str | None = None,
    target_id: uuid.UUID | str | None = None,
    target_label: str | None = None,
    changes: Changes | dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event to ``tenant_id``'s chain. The session's scope must cover it."""
    head = await session.scalar(
        select(AuditChainHead).where(AuditChainHead.tenant_id == tenant_id).with_for_update()
    )
    if head is None:
        head = AuditChainHead(tenant_id=tenant_id, seq=0, last_hash=GENESIS)
        session.add(head)
    event = AuditEvent(
        tenant_id=tenant_id,
        id=new_id(),
        seq=head.seq + 1,
        occurred_at=utcnow(),
        action=action.value,
        actor_user_id=actor.user_id,
        actor_name=actor.name,
        actor_home_tenant_id=actor.home_tenant_id,
        actor_home_tenant_name=actor.home_tenant_name,
        via_grant_id=actor.via_grant_id,
        via_link_id=actor.via_link_id,
        explanation=actor.explanation,
        target_type=target_type,
        target_id=str(target_id) if target_id is not None else None,
        target_label=target_label,
        changes=scrub(changes.as_json() if isinstance(changes, Changes) else changes or {}),
        request_id=actor.request_id,
        source_address=actor.source_address,
        user_agent=actor.user_agent,
        prev_hash=head.last_hash,
        hash="",
    )
    event.hash = event_digest(event)
    head.seq = event.seq
    head.last_hash = event.hash
    session.add(event)
    await session.flush()
    return event


@dataclass(frozen=True, slots=True)
class ChainReport:
    """Result of verifying one tenant's chain: ``broken_at`` names the first bad link."""

    tenant_id: uuid.UUID
    events: int
    broken_at: int | None = None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.broken_at is None


async def verify_chain(session: AsyncSession, tenant_id: uuid.UUID) -> ChainReport:
    """Walk the tenant's events in order and recompute every hash.

    Names the first event that was altered (its hash no longer matches), removed or
    reordered (its sequence number or predecessor hash does not follow), and events
    removed from the end (the chain head is further along than the last event).

    After retention pruned the oldest events the walk starts at the latest anchor: the
    first remaining event must be the anchor's seq + 1 and name the anchor's hash as its
    predecessor. The anchor row itself is not hashed, so it must be vouched for by the
    ``audit.pruned`` event that the pruning appended to the chain (which is); an anchor
    planted to hide deleted events has no such event.
    """
    anchor = await repository.latest_anchor(session, tenant_id)
    expected_prev, expected_seq = GENESIS, 1
    if anchor is not None:
        expected_prev, expected_seq = anchor.anchor_hash, anchor.pruned_through_seq + 1
    count, vouched = 0, anchor is None
    async for event in repository.chain(session, tenant_id, after_seq=expected_seq - 1):
        count += 1
        if event.seq != expected_seq:
            return ChainReport(
                tenant_id,
                count,
                expected_seq,
                f"event #{expected_seq} is missing (found #{event.seq} in its place)",
            )
        if event.prev_hash != expected_prev:
            return ChainReport(
                tenant_id,
                count,
                event.seq,
                f"event #{event.seq} does not follow event #{event.seq - 1} (removed or reordered)",
            )
        if event_digest(event) != event.hash:
            return ChainReport(
                tenant_id, count, event.seq, f"event #{event.seq} was altered after it was written"
            )
        if (
            anchor is not None
            and event.action == AuditAction.AUDIT_PRUNED.value
            and event.changes.get("pruned_through_seq") == anchor.pruned_through_seq
            and event.changes.get("anchor_hash") == anchor.anchor_hash
        ):
            vouched = True
        expected_prev, expected_seq = event.hash, event.seq + 1
    chain_head = await repository.head(session, tenant_id)
    if chain_head is not None and (chain_head.seq, chain_head.last_hash) != (
        expected_seq - 1,
        expected_prev,
    ):
        return ChainReport(
            tenant_id,
            count,
            expected_seq,
            f"events #{expected_seq}..#{chain_head.seq} were removed from the end",
        )
    if not vouched and anchor is not None:
        return ChainReport(
            tenant_id,
            count,
            anchor.pruned_through_seq,
            f"the anchor at event #{anchor.pruned_through_seq} is recorded by no audit.pruned "
            "event (events were removed and the anchor planted)",
        )
    return ChainReport(tenant_id, count)


# ---------------------------------------------------------------- retention


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
    report = await verify_chain(session, tenant_id)
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
    await record(
        session,
        tenant_id=tenant_id,
        actor=actor,
        action=AuditAction.AUDIT_PRUNED,
        target_type="audit_trail",
        target_id=tenant_id,
        changes={
            "pruned_through_seq": last.seq,
            "anchor_hash": last.hash,
            "events_pruned": deleted,
            "pruned_before": before,
        },
    )
    return PruneResult(tenant_id, deleted, last.seq, last.hash)


def retention_cutoff(tenant: Tenant, now: datetime) -> datetime | None:
    """Events before this may go under the tenant's retention (None: keep everything)."""
    days = tenant.audit_retention_days
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
    session: AsyncSession, tenant_id: uuid.UUID, days: int | None, actor: Actor
) -> Tenant:
    """Change how long the tenant's events are kept; recorded in its own trail. Takes
    effect at the next ``tenantry audit prune``."""
    check_retention_days(days)
    tenant = await session.get(Tenant, tenant_id)
    if tenant is None:
        raise NotFound("No such tenant.")
    if tenant.audit_retention_days != days:
        before = tenant.audit_retention_days
        tenant.audit_retention_days = days
        await record(
            session,
            tenant_id=tenant.id,
            actor=actor,
            action=AuditAction.AUDIT_SETTINGS_CHANGED,
            target_type="tenant",
            target_id=tenant.id,
            target_label=tenant.slug,
            changes={"audit_retention_days": [before, days]},
        )
    return tenant


async def settings_of(session: AsyncSession, tenant_id: uuid.UUID) -> AuditSettingsOut:
    tenant = await session.get(Tenant, tenant_id)
    if tenant is None:
        raise NotFound("No such tenant.")
    anchor = await repository.latest_anchor(session, tenant_id)
    return AuditSettingsOut(
        retention_days=tenant.audit_retention_days,
        pruned_through_seq=anchor.pruned_through_seq if anchor else None,
        last_pruned_at=anchor.pruned_at if anchor else None,
    )


# ---------------------------------------------------------------- reading


def event_filter(
    tenant_ids: tuple[uuid.UUID, ...],
    *,
    actor: uuid.UUID | None = None,
    actor_home_tenant_id: uuid.UUID | None = None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> repository.EventFilter:
    """A filter from request input; naive times are refused (which zone was meant?)."""
    for name, value in (("since", since), ("until", until)):
        if value is not None and value.tzinfo is None:
            raise ValidationFailed(name, "must carry a time zone (RFC 3339, e.g. ...Z)")
    if since is not None and until is not None and until <= since:
        raise ValidationFailed("until", "must be after since")
    return repository.EventFilter(
        tenant_ids=tenant_ids,
        actor_user_id=actor,
        actor_home_tenant_id=actor_home_tenant_id,
        action=action or None,
        since=since,
        until=until,
    )


@dataclass(frozen=True, slots=True)
class TechnicianView:
    items: list[TechnicianEventOut]
    next_cursor: str | None


async def technician_view(
    db: Database,
    ctx: TenantContext,
    found: CustomerScope,
    *,
    technician: uuid.UUID | None = None,
    customer: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    before: tuple[datetime, uuid.UUID] | None = None,
    limit: int = 50,
) -> TechnicianView:
    """The MSP's technicians' events in the customers of ``found`` (where the caller may
    read the trail), newest first. One query, in a unit of work of its own under the
    multi-tenant scope of those customers; events of the MSP's own tenant and of anyone
    not at home in the MSP (the customer's own staff) are not part of this view."""
    if ctx.relation != "home" or not ctx.tenant.is_msp:
        raise NotFound(f"{ctx.tenant.display_name} is not an MSP: it has no technicians' view.")
    if customer:
        picked = found.by_ref(customer)
        if picked is None:
            raise ValidationFailed("customer", "is not a customer whose audit trail you may read")
        from tenantry.access.scopes import narrowed

        found = narrowed(found, picked.id)
    # The scope alone limits the tenants (RLS on PostgreSQL, the ORM scope on both), so
    # the statement carries no list of thousands of ids of its own.
    f = event_filter(
        (),
        actor=technician,
        actor_home_tenant_id=ctx.tenant.id,
        action=action,
        since=since,
        until=until,
    )
    if not found.customers:
        return TechnicianView([], None)
    async with db.unit_of_work(found.scope) as session:
        events = await repository.page(session, f, before=before, limit=limit + 1)
    next_cursor = None
    if len(events) > limit:
        last = events[limit - 1]
        next_cursor = encode_cursor([last.occurred_at.isoformat(), str(last.id)])
    items = []
    for event in events[:limit]:
        item = TechnicianEventOut.model_validate(event)
        where = found.customers.get(event.tenant_id)
        if where is not None:
            item.tenant_slug, item.tenant_display_name = where.slug, where.display_name
        items.append(item)
    return TechnicianView(items, next_cursor)


EXPORT_FIELDS = (
    "id",
    "seq",
    "occurred_at",
    "tenant_id",
    "action",
    "actor_user_id",
    "actor_name",
    "actor_home_tenant_id",
    "actor_home_tenant_name",
    "via_grant_id",
    "via_link_id",
    "explanation",
    "target_type",
    "target_id",
    "target_label",
    "changes",
    "request_id",
    "source_address",
    "user_agent",
    "prev_hash",
    "hash",
)


def event_dict(event: AuditEvent | Row[Any]) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for name in EXPORT_FIELDS:
        value = getattr(event, name)
        if isinstance(value, uuid.UUID):
            value = str(value)
        elif isinstance(value, datetime):
            value = value.isoformat().replace("+00:00", "Z")
        row[name] = value
    return row


async def export_lines(
    session: AsyncSession, f: repository.EventFilter, fmt: str
) -> AsyncIterator[str]:
    """JSON Lines or CSV, one event at a time (constant memory)."""
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(EXPORT_FIELDS)
        yield _drain(buffer)
        async for event in repository.stream(session, f):
            row = event_dict(event)
            row["changes"] = json.dumps(row["changes"], sort_keys=True)
            writer.writerow([row[name] for name in EXPORT_FIELDS])
            yield _drain(buffer)
    else:
        async for event in repository.stream(session, f):
            yield json.dumps(event_dict(event), separators=(",", ":")) + "\n"


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text
