"""Email for notifications: an outbox in the ``notifications`` table itself.

Rows are written ``pending`` in the unit of work that caused them. Nothing is sent
before that unit of work commits: a SQLAlchemy ``after_commit`` hook hands the new rows
to the app's ``Courier``, which sends them in a task of its own, so the response never
waits for SMTP and a rolled-back change mails nobody. A send claims its row first (one
UPDATE counting the attempt and pushing the next try out), so two senders never mail
one row twice and a sender that died mid-send is retried later. ``send_due`` (run by
the app every minute, and by ``tenantry notifications send``) retries what failed, with
backoff, until ``TENANTRY_NOTIFY_EMAIL_ATTEMPTS``, then marks it failed; every failure
is logged, none reaches a request.
"""

from __future__ import annotations

import asyncio
import uuid
import weakref
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from tenantry.access.service import operator_scope
from tenantry.config import Settings, get_settings
from tenantry.db.base import utcnow
from tenantry.db.engine import Database
from tenantry.identity import service as identity
from tenantry.kit import mail
from tenantry.logging import get_logger
from tenantry.notifications import repository
from tenantry.notifications.models import EmailStatus, Notification
from tenantry.tenancy import service as tenancy

log = get_logger("tenantry.notifications")

# session.info key: the (tenant id, notification id) of rows to mail after commit.
OUTBOX_KEY = "tenantry_outbox"
# Waits before the 2nd, 3rd, … try; the last one repeats.
BACKOFF = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=15),
    timedelta(hours=1),
    timedelta(hours=4),
)
SWEEP_BATCH = 200
# A claimed row's next try if its sender never reports back (longer than any SMTP timeout).
LEASE = timedelta(minutes=10)

Key = tuple[uuid.UUID, uuid.UUID]


def backoff(attempt: int) -> timedelta:
    """How long after try number ``attempt`` (1-based) the next may start."""
    return BACKOFF[min(attempt, len(BACKOFF)) - 1]


@dataclass(eq=False)
class Courier:
    """The app's mail sender for one database, with the app's settings."""

    db: Database
    settings: Settings
    tasks: set[asyncio.Task[None]] = field(default_factory=set)

    @property
    def enabled(self) -> bool:
        return bool(self.settings.smtp_host)

    def schedule(self, keys: list[Key]) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop (a synchronous caller): the sweep sends them
            return
        task = loop.create_task(self._deliver_logged(keys))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _deliver_logged(self, keys: list[Key]) -> None:
        try:
            await deliver(self.db, self.settings, keys)
        except Exception as exc:  # the sweep retries whatever is still pending
            log.warning("notification emails not sent", error=repr(exc))

    async def drain(self) -> None:
        """Wait for the sends in flight (tests; shutting down)."""
        while self.tasks:
            await asyncio.gather(*list(self.tasks), return_exceptions=True)


_couriers: weakref.WeakKeyDictionary[Engine, Courier] = weakref.WeakKeyDictionary()


def install(db: Database, settings: Settings) -> Courier:
    """Send the notification emails committed through ``db`` with ``settings`` (the app
    calls it for its database; the last app made for a database wins)."""
    courier = Courier(db, settings)
    _couriers[db.engine.sync_engine] = courier
    return courier


def courier_of(db: Database) -> Courier | None:
    return _couriers.get(db.engine.sync_engine)


def _courier_for(session: Session) -> Courier | None:
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else getattr(bind, "engine", None)
    return _couriers.get(engine) if isinstance(engine, Engine) else None


def email_enabled(session: AsyncSession) -> bool:
    """Whether new notifications should be mailed: the app's SMTP setting, or the
    process's own (the CLI) where no app installed a courier."""
    courier = _courier_for(session.sync_session)
    settings = courier.settings if courier is not None else get_settings()
    return bool(settings.smtp_host)


def after_commit_send(session: AsyncSession, rows: Iterable[Notification]) -> None:
    """Mail these new rows once the unit of work commits (never before)."""
    keys: list[Key] = session.sync_session.info.setdefault(OUTBOX_KEY, [])
    keys.extend((row.tenant_id, row.id) for row in rows)


@event.listens_for(Session, "after_commit")
def _send_committed(session: Session) -> None:
    keys = session.info.pop(OUTBOX_KEY, None)
    if not keys:
        return
    courier = _courier_for(session)
    if courier is not None and courier.enabled:
        courier.schedule(keys)


@event.listens_for(Session, "after_rollback")
def _forget_rolled_back(session: Session) -> None:
    session.info.pop(OUTBOX_KEY, None)


# ---------------------------------------------------------------- sending


def compose(settings: Settings, row: Notification, to: str) -> Any:
    link = settings.base_url.rstrip("/") + row.url
    text = (
        f"{row.body}\n\n"
        f"When: {row.created_at:%Y-%m-%d %H:%M} UTC\n"
        f"Open it in Tenantry: {link}\n\n"
        "You receive this because you manage MSP links in your organisation.\n"
    )
    return mail.message(settings, to=to, subject=f"Tenantry: {row.title}", text=text)


async def deliver(
    db: Database, settings: Settings, keys: Iterable[Key], now: datetime | None = None
) -> dict[str, int]:
    """Send these notifications' emails, each claimed first; counts by outcome."""
    counts = {"sent": 0, "failed": 0, "retry": 0, "skipped": 0}
    for tenant_id, notification_id in keys:
        outcome = await _deliver_one(db, settings, tenant_id, notification_id, now or utcnow())
        counts[outcome] += 1
    return counts


async def _deliver_one(
    db: Database,
    settings: Settings,
    tenant_id: uuid.UUID,
    notification_id: uuid.UUID,
    now: datetime,
) -> str:
    scope = operator_scope([tenant_id])
    async with db.unit_of_work(scope) as session:
        row = await repository.claim_email(session, tenant_id, notification_id, now, LEASE)
        if row is None:
            return "skipped"
        users = await identity.users_by_ids(session, [row.user_id])
        user = users.get(row.user_id)
    # The claim is committed before talking to the server: no transaction waits on SMTP.
    if user is None or user.disabled_at is not None:
        async with db.unit_of_work(scope) as session:
            await repository.record_email(
                session, tenant_id, notification_id, status=EmailStatus.NONE, error="no recipient"
            )
        return "skipped"
    try:
        await mail.send(settings, compose(settings, row, user.email))
    except mail.MailError as exc:
        attempts_left = row.email_attempts < settings.notify_email_attempts
        status = EmailStatus.PENDING if attempts_left else EmailStatus.FAILED
        log.warning(
            "notification email failed",
            notification_id=str(notification_id),
            attempt=row.email_attempts,
            gave_up=not attempts_left,
            error=str(exc),
        )
        async with db.unit_of_work(scope) as session:
            await repository.record_email(
                session,
                tenant_id,
                notification_id,
                status=status,
                error=str(exc)[:500],
                next_at=now + backoff(row.email_attempts),
            )
        return "retry" if attempts_left else "failed"
    async with db.unit_of_work(scope) as session:
        await repository.record_email(
            session, tenant_id, notification_id, status=EmailStatus.SENT, emailed_at=utcnow()
        )
    return "sent"


async def send_due(db: Database, settings: Settings, now: datetime | None = None) -> dict[str, int]:
    """Send every pending email whose next try has come (the retry sweep). Without SMTP
    nothing is attempted. Reads across tenants, like the link sweep, for the instance."""
    if not settings.smtp_host:
        return {"sent": 0, "failed": 0, "retry": 0, "skipped": 0}
    now = now or utcnow()
    async with db.platform_reader() as session:
        tenant_ids = await tenancy.every_tenant_id(session)
    async with db.unit_of_work(operator_scope(tenant_ids)) as session:
        due = [(r.tenant_id, r.id) for r in await repository.due_emails(session, now, SWEEP_BATCH)]
    return await deliver(db, settings, due, now)


async def send_forever(db: Database, settings: Settings, interval: float = 60.0) -> None:
    """The app's background retry of notification emails. Cancel the task to stop it."""
    while True:
        try:
            counts = await send_due(db, settings)
            if any(counts.values()):
                log.info("notification emails swept", **counts)
        except Exception as exc:  # the database may be restarting: try again next time
            log.warning("notification email sweep failed", error=repr(exc))
        await asyncio.sleep(interval)
