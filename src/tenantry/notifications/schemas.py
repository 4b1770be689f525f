"""Notification output shapes."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from tenantry.notifications.models import Notification


class NotificationOut(BaseModel):
    id: uuid.UUID
    kind: str = Field(description="What happened, e.g. link.narrowed, link.expiring_14.")
    title: str
    body: str
    url: str = Field(description="Where to act, a path on this instance.")
    link_id: uuid.UUID | None
    created_at: datetime
    read: bool
    read_at: datetime | None


class MarkedReadOut(BaseModel):
    marked: int = Field(description="How many unread notifications were marked read.")


def notification_out(row: Notification) -> NotificationOut:
    return NotificationOut(
        id=row.id,
        kind=row.kind,
        title=row.title,
        body=row.body,
        url=row.url,
        link_id=row.link_id,
        created_at=row.created_at,
        read=row.read_at is not None,
        read_at=row.read_at,
    )
