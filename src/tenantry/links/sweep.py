"""The scheduled sweep: lapsed links become ``expired``, and those both sides let renew
are renewed, each in its own unit of work."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from tenantry.access.service import operator_scope
from tenantry.audit.schemas import Actor
from tenantry.db.base import utcnow
from tenantry.db.engine import Database
from tenantry.links.consent import EXPIRY_NOTICES, LinkConsent
from tenantry.logging import get_logger
from tenantry.tenancy.service import TenantLinkService

log = get_logger("tenantry.links")

# Who expires and renews links when nobody asked: the scheduled sweep.
SWEEP_ACTOR = Actor(user_id=None, name="Tenantry (link expiry sweep)")


# How often the running app looks for links to announce as expiring.
NOTICES_EVERY = timedelta(minutes=15)


@dataclass(slots=True)
class SweepReport:
    expired: list[uuid.UUID] = field(default_factory=list)
    extended: list[uuid.UUID] = field(default_factory=list)
    failed: list[uuid.UUID] = field(default_factory=list)
    # Links whose admins were told "expires in 14 / 3 days" by this run.
    warned: list[uuid.UUID] = field(default_factory=list)


async def sweep(
    db: Database,
    now: datetime | None = None,
    *,
    ahead: timedelta = timedelta(0),
    actor: Actor = SWEEP_ACTOR,
    notices: bool = True,
) -> SweepReport:
    """Mark lapsed links ``expired`` and renew those both sides let renew.

    ``ahead`` renews links that would lapse within it, so that a sweep running every
    minute with ``ahead`` of two minutes keeps a renewing link from ever lapsing. Each
    link is settled in its own unit of work, locked, so sweeps in several app processes
    do each change once, and one broken link does not stop the rest.
    """
    now = now or utcnow()
    async with db.platform_reader() as session:
        due = await TenantLinkService(session).due_ids(now + ahead)
    report = SweepReport()
    for link_id in due:
        try:
            # The sweep acts for the instance, like the operator: it decides for itself
            # that both ends' trails may be written (LinkReads._record widens).
            async with db.unit_of_work(operator_scope([])) as session:
                outcome = await LinkConsent(session).settle(link_id, now, ahead, actor=actor)
        except Exception as exc:  # one bad link must not stop the others
            log.warning("link sweep failed", link_id=str(link_id), error=repr(exc))
            report.failed.append(link_id)
            continue
        if outcome == "expired":
            report.expired.append(link_id)
        elif outcome == "extended":
            report.extended.append(link_id)
    if notices:
        await _warn_of_expiry(db, now, actor, report)
    return report


async def _warn_of_expiry(db: Database, now: datetime, actor: Actor, report: SweepReport) -> None:
    """The "expires in 14 days" and "in 3 days" notices, each once per link and period."""
    async with db.platform_reader() as session:
        soon = await TenantLinkService(session).due_ids(now + max(EXPIRY_NOTICES.values()))
    for link_id in soon:
        try:
            async with db.unit_of_work(operator_scope([])) as session:
                warned = await LinkConsent(session).warn_of_expiry(link_id, now, actor=actor)
        except Exception as exc:  # one bad link must not stop the others
            log.warning("link expiry notice failed", link_id=str(link_id), error=repr(exc))
            continue
        if warned is not None:
            report.warned.append(link_id)


async def sweep_forever(db: Database, interval: float = 60.0) -> None:
    """The app's background sweep: every ``interval`` seconds, renewing links due within
    two intervals (so a renewing link never lapses while the app runs). Cancel the task
    to stop it."""
    ahead = timedelta(seconds=2 * interval)
    next_notices = utcnow()
    while True:
        try:
            # Expiry notices are days ahead: looking once every NOTICES_EVERY is enough.
            notices = utcnow() >= next_notices
            report = await sweep(db, ahead=ahead, notices=notices)
            if notices:
                next_notices = utcnow() + NOTICES_EVERY
            if report.expired or report.extended or report.failed:
                log.info(
                    "links swept",
                    expired=len(report.expired),
                    extended=len(report.extended),
                    failed=len(report.failed),
                )
        except Exception as exc:  # the database may be restarting: try again next time
            log.warning("link sweep failed", error=repr(exc))
        await asyncio.sleep(interval)
