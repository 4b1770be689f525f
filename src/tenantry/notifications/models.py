"""A notification: one message to one person, in-app and (when SMTP is set) by email.

Tenant-owned by the RECIPIENT's home tenant: what happened to a tenant's links is that
tenant's own data, read in the home scope every ``/me`` request already runs in, under
row-level security like any other tenant work. ``user_id`` has no foreign key, as in
every tenant-owned table (users are platform rows, deleted with their home tenant).
The email columns make the table its own outbox: a row is written ``pending`` in the
unit of work that caused it and sent only after that unit of work committed.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import Enum, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from tenantry.db.base import Base, TenantOwned


class EmailStatus(enum.StrEnum):
    PENDING = "pending"  # to be sent (again, from email_next_at on)
    SENT = "sent"
    FAILED = "failed"  # gave up after the configured attempts
    NONE = "none"  # no email: SMTP was not configured when it was written


class Notification(TenantOwned, Base):
    __tablename__ = "notifications"

    user_id: Mapped[uuid.UUID]
    kind: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(String(2000))
    # Where to act, on the recipient's side (a path; emails make it absolute).
    url: Mapped[str] = mapped_column(String(500))
    link_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    # Sent once per key and recipient (e.g. "link:<id>:expiring-14:<expires_at>").
    dedupe_key: Mapped[str | None] = mapped_column(String(200), default=None)
    read_at: Mapped[datetime | None] = mapped_column(default=None)
    email_status: Mapped[EmailStatus] = mapped_column(
        Enum(
            EmailStatus,
            name="notification_email_status",
            native_enum=False,
            length=16,
            values_callable=lambda x: [m.value for m in x],
        ),
        default=EmailStatus.NONE,
    )
    email_attempts: Mapped[int] = mapped_column(default=0)
    # The next try (set on each claim, so a sender that died mid-send is retried later).
    email_next_at: Mapped[datetime | None] = mapped_column(default=None)
    emailed_at: Mapped[datetime | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(String(500), default=None)

    __table_args__ = (
        UniqueConstraint("tenant_id", "user_id", "dedupe_key"),
        # One person's list, newest first (ids are time-ordered).
        Index("ix_notifications_tenant_id_user_id_id", "tenant_id", "user_id", "id"),
        # The sidebar badge: one COUNT per page over the unread rows only.
        Index(
            "ix_notifications_tenant_id_user_id_unread",
            "tenant_id",
            "user_id",
            sqlite_where=text("read_at IS NULL"),
            postgresql_where=text("read_at IS NULL"),
        ),
        Index(
            "ix_notifications_email_next_at_pending",
            "email_next_at",
            sqlite_where=text("email_status = 'pending'"),
            postgresql_where=text("email_status = 'pending'"),
            info={"cross_tenant": "the outbox sweep finds emails due in every tenant"},
        ),
    )
