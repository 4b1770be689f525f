"""Writing audit events: by the service call that makes the change, in its transaction."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.audit import repository
from tenantry.audit.models import AuditChainHead, AuditEvent
from tenantry.audit.schemas import Actor, AuditAction
from tenantry.db.base import new_id, utcnow

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
    changes: dict[str, Any] | None = None,
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
        changes=scrub(changes or {}),
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
    """
    expected_prev, expected_seq, count = GENESIS, 1, 0
    async for event in repository.chain(session, tenant_id):
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
    return ChainReport(tenant_id, count)


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


def event_dict(event: AuditEvent) -> dict[str, Any]:
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
