"""The REST API of a person's own notifications (``/api/v1/me/notifications``)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from tenantry.http.params import Limit
from tenantry.kit.pagination import Page
from tenantry.notifications import auth
from tenantry.notifications.schemas import MarkedReadOut, NotificationOut, notification_out
from tenantry.notifications.service import NotificationService

router = APIRouter(prefix="/api/v1/me/notifications", tags=["notifications"])


@router.get("", response_model=Page[NotificationOut])
async def list_notifications(
    work: auth.OwnNotifications,
    unread: Annotated[bool, Query(description="Only those not read yet.")] = False,
    cursor: str | None = None,
    limit: Limit = 50,
) -> Page[NotificationOut]:
    """Your notifications, newest first."""
    rows, next_cursor = await NotificationService(work.session).list_mine(
        work.principal, unread_only=unread, cursor=cursor, limit=limit
    )
    return Page[NotificationOut](items=[notification_out(r) for r in rows], next_cursor=next_cursor)


@router.post("/read-all", response_model=MarkedReadOut)
async def mark_all_read(work: auth.OwnNotifications) -> MarkedReadOut:
    """Mark every one of your unread notifications read."""
    marked = await NotificationService(work.session).mark_all_read(work.principal)
    return MarkedReadOut(marked=marked)


@router.post("/{notification_id}/read", response_model=NotificationOut)
async def mark_read(notification_id: uuid.UUID, work: auth.OwnNotifications) -> NotificationOut:
    """Mark one of your notifications read (anyone else's: 404)."""
    row = await NotificationService(work.session).mark_read(work.principal, notification_id)
    return notification_out(row)
