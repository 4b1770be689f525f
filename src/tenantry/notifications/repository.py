"""Every query of ``notifications``: a person's list and badge, marking read, and the
outbox (claiming a due email, recording how sending went)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.notifications.models import EmailStatus, Notification


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


def add(session: AsyncSession, rows: Iterable[Notification]) -> None:
    session.add_all(list(rows))


async def dedupe_keys_taken(
    session: AsyncSession, tenant_id: uuid.UUID, user_ids: Sequence[uuid.UUID], key: str
) -> set[uuid.UUID]:
    """The recipients among ``user_ids`` who already have a notification under ``key``."""
    if not user_ids:
        return set()
    found = await session.scalars(
        select(Notification.user_id).where(
            Notification.tenant_id == tenant_id,
            Notification.user_id.in_(list(user_ids)),
            Notification.dedupe_key == key,
        )
    )
    return set(found.all())


async def page_of_user(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    user_id: uuid.UUID,
    *,
    unread_only: bool,
    before_id: uuid.UUID | None,
    limit: int,
) -> Sequence[Notification]:
    """Newest first (ids are time-ordered), after the cursor's id."""
    query = select(Notification).where(
        Notification.tenant_id == tenant_id, Notification.user_id == user_id
    )
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    if before_id is not None:
        query = query.where(Notification.id < before_id)
    result = await session.scalars(query.order_by(Notification.id.desc()).limit(limit))
    return result.all()


async def unread_count(session: AsyncSession, tenant_id: uuid.UUID, user_id: uuid.UUID) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(Notification)
        .where(
            Notification.tenant_id == tenant_id,
            Notification.user_id == user_id,
            Notification.read_at.is_(None),
        )
    )
    return int(count or 0)


async def one_of_user(
    session: AsyncSession, tenant_id: uuid.UUID, user_id: uuid.UUID, notification_id: uuid.UUID
) -> Notification | None:
    return await session.scalar(
        select(Notification).where(
            Notification.tenant_id == tenant_id,
            Notification.user_id == user_id,
            Notification.id == notification_id,
        )
    )


async def mark_all_read(
    session: AsyncSession, tenant_id: uuid.UUID, user_id: uuid.UUID, now: datetime
) -> int:
    result = await session.execute(
        update(Notification)
        .where(
            Notification.tenant_id == tenant_id,
            Notification.user_id == user_id,
            Notification.read_at.is_(None),
        )
        .values(read_at=now)
        .execution_options(synchronize_session=False)
    )
    return _rowcount(result)


# ---------------------------------------------------------------- the outbox


async def due_emails(session: AsyncSession, now: datetime, limit: int) -> Sequence[Notification]:
    """Pending emails whose next try has come, in every tenant the scope covers."""
    result = await session.scalars(
        select(Notification)
        .where(
            Notification.email_status == EmailStatus.PENDING,
            Notification.email_next_at <= now,
        )
        .order_by(Notification.email_next_at)
        .limit(limit)
    )
    return result.all()


async def claim_email(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    notification_id: uuid.UUID,
    now: datetime,
    retry_after: timedelta,
) -> Notification | None:
    """Take one due email for sending: count the attempt and push its next try out
    (a sender that dies mid-send leaves it to be retried then). One statement, so two
    senders racing for a row take it once."""
    result = await session.execute(
        update(Notification)
        .where(
            Notification.tenant_id == tenant_id,
            Notification.id == notification_id,
            Notification.email_status == EmailStatus.PENDING,
            Notification.email_next_at <= now,
        )
        .values(
            email_attempts=Notification.email_attempts + 1,
            email_next_at=now + retry_after,
        )
        .execution_options(synchronize_session=False)
    )
    if _rowcount(result) != 1:
        return None
    return await session.scalar(
        select(Notification)
        .where(Notification.tenant_id == tenant_id, Notification.id == notification_id)
        .execution_options(populate_existing=True)
    )


async def record_email(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    notification_id: uuid.UUID,
    *,
    status: EmailStatus,
    emailed_at: datetime | None = None,
    error: str | None = None,
    next_at: datetime | None = None,
) -> None:
    """How a send went: sent, failed for good, or pending again from ``next_at``."""
    values: dict[str, Any] = {"email_status": status, "last_error": error}
    if emailed_at is not None:
        values["emailed_at"] = emailed_at
    values["email_next_at"] = next_at if status == EmailStatus.PENDING else None
    await session.execute(
        update(Notification)
        .where(Notification.tenant_id == tenant_id, Notification.id == notification_id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
