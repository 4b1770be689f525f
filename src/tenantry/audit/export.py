"""The trail as JSON Lines or CSV, oldest first, one event at a time (constant memory).

JSON Lines carries every stored field as written (``changes`` included), so the export
can be checked against the chain's hashes. CSV writes the same fields through the
product's formula-safe writer, plus ``changes_text``: the changes read as
``field: old → new``, whichever shape the event was written in."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.audit import repository
from tenantry.audit.models import AuditEvent
from tenantry.audit.present import change_text
from tenantry.audit.schemas import EventFilter, ExportFormat
from tenantry.kit.csv import CsvWriter

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
CSV_FIELDS = (*EXPORT_FIELDS, "changes_text")


def event_dict(event: AuditEvent | Row[Any]) -> dict[str, Any]:
    """One event as plain JSON values (ids as text, times in RFC 3339 with Z)."""
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
    session: AsyncSession, f: EventFilter, fmt: ExportFormat
) -> AsyncIterator[str]:
    """JSON Lines or CSV under the session's scope, oldest first."""
    if fmt == "csv":
        writer = CsvWriter()
        yield writer.row(CSV_FIELDS)
        async for event in repository.stream(session, f):
            row = event_dict(event)
            row["changes_text"] = change_text(row["changes"] or {})
            row["changes"] = json.dumps(row["changes"], sort_keys=True)
            yield writer.row(row[name] for name in CSV_FIELDS)
    else:
        async for event in repository.stream(session, f):
            yield json.dumps(event_dict(event), separators=(",", ":")) + "\n"
