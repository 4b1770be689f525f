"""Writing audit events: by the service call that makes the change, in its transaction."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

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
