"""The notifications page (``/notifications``): a person's own list, newest first, with
"mark as read" per item and for all. Reachable from any context, like ``/msp`` pages."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from tenantry.notifications import auth
from tenantry.notifications.service import NotificationService
from tenantry.web.render import redirect_with_notice, render

router = APIRouter(include_in_schema=False)

PAGE = "/notifications"
PAGE_SIZE = 50


def _back(unread: bool) -> str:
    return f"{PAGE}?unread=1" if unread else PAGE


@router.get(PAGE, response_class=HTMLResponse)
async def notifications_page(
    request: Request,
    work: auth.OwnNotifications,
    unread: bool = False,
    cursor: str | None = None,
) -> Response:
    service = NotificationService(work.session)
    rows, next_cursor = await service.list_mine(
        work.principal, unread_only=unread, cursor=cursor, limit=PAGE_SIZE
    )
    return render(
        request,
        "notifications/list.html",
        {
            "rows": rows,
            "unread": unread,
            "next_cursor": next_cursor,
            "first_page": cursor is None,
            "unread_total": await service.unread_count(work.principal),
        },
    )


@router.post(PAGE + "/read-all", response_model=None)
async def mark_all_read(request: Request, work: auth.OwnNotifications) -> Response:
    marked = await NotificationService(work.session).mark_all_read(work.principal)
    notice = f"{marked} notification{'' if marked == 1 else 's'} marked as read."
    return redirect_with_notice(request, PAGE, notice)


@router.post(PAGE + "/{notification_id}/read", response_model=None)
async def mark_read(
    notification_id: uuid.UUID, request: Request, work: auth.OwnNotifications, unread: bool = False
) -> Response:
    await NotificationService(work.session).mark_read(work.principal, notification_id)
    return redirect_with_notice(request, _back(unread), "Marked as read.")
