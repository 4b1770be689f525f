"""The chain: writing audit events (by the service call that makes the change, in its
transaction) and verifying that nothing was altered, removed or reordered since.

The audit domain's other jobs live beside it: ``trail`` (reading a tenant's trail),
``export`` (JSON Lines and CSV), ``retention`` (settings and pruning), ``msp_view`` (the
MSP's technicians across its customers) and ``present`` (changes as people read them).
Every other domain imports this module only."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.audit import repository
from tenantry.audit.changes import Changes, new_value, stored
from tenantry.audit.models import GENESIS, AuditEvent
from tenantry.audit.repository import ChainHead
from tenantry.audit.schemas import Actor, AuditAction
from tenantry.dashboard import keeping
from tenantry.db.base import new_id, utcnow

# session.info key: tenant id → the head this session last moved its chain to.
_KNOWN_HEADS = "tenantry_audit_heads"


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
    changes: Changes | None = None,
) -> AuditEvent:
    """Append one event to ``tenant_id``'s chain. The session's scope must cover it
    (else ScopeViolation). Returns the event as written; it is not in the session.

    Two round trips on PostgreSQL: lock the chain head, then one statement that inserts
    the event and moves the head. A later event of the same chain in this session needs
    only the second: the head it left is remembered, and the move is a compare-and-set
    on it (seq and hash), so a head that moved meanwhile (another transaction, a rolled
    back savepoint) is noticed, nothing is written, and the head is locked and read."""
    # The change being recorded goes first (its rows may be what the event refers to,
    # e.g. the tenant just created), as one flush did for both before.
    await session.flush()
    at = utcnow()
    if (
        actor.via_link_id is not None
        and actor.home_tenant_id is not None
        and actor.home_tenant_id != tenant_id
    ):
        # One of the MSP's people acted in its client: the MSP's dashboard shows when.
        # Before the chain head is locked (the dashboard row comes first in every path).
        await keeping.msp_acted(session, actor.home_tenant_id, tenant_id, at, actor.name)
    event = AuditEvent(
        tenant_id=tenant_id,
        id=new_id(),
        created_at=at,
        seq=0,
        occurred_at=at,
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
        changes=stored(changes or Changes()),
        request_id=actor.request_id,
        source_address=actor.source_address,
        user_agent=actor.user_agent,
        prev_hash=GENESIS,
        hash="",
    )
    known: dict[uuid.UUID, ChainHead] = session.info.setdefault(_KNOWN_HEADS, {})
    after = known.get(tenant_id)
    if after is None or not await _append(session, event, after):
        after = await repository.lock_head(session, tenant_id)
        if not await _append(session, event, after):
            raise RuntimeError(f"the audit chain head of tenant {tenant_id} moved while locked")
    known[tenant_id] = ChainHead(event.seq, event.hash)
    return event


async def _append(session: AsyncSession, event: AuditEvent, after: ChainHead) -> bool:
    event.seq, event.prev_hash = after.seq + 1, after.last_hash
    event.hash = event_digest(event)
    return await repository.append(session, event, after=after)


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
            and new_value(event.changes, "pruned_through_seq") == anchor.pruned_through_seq
            and new_value(event.changes, "anchor_hash") == anchor.anchor_hash
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


async def last_action_by_home(
    session: AsyncSession, tenant_id: uuid.UUID, home_id: uuid.UUID
) -> tuple[datetime, str] | None:
    """When one of ``home_id``'s people last acted in ``tenant_id``, and who (the MSP
    dashboard's rebuild)."""
    return await repository.last_action_by_home(session, tenant_id, home_id)
