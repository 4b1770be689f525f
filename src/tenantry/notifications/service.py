"""Notifications: telling the other side's admins about a link event, and each person's
own list (read, mark read). Rows are tenant-owned by the recipient's home tenant.

``notify_link_event`` is the one function other domains call, next to where they record
the event's audit entry, inside the same unit of work: the notification exists exactly
when the change does, and its email leaves only after the commit (``outbox.py``).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.access import service as access
from tenantry.access.context import Principal
from tenantry.access.widening import Why, widen
from tenantry.db.base import utcnow
from tenantry.errors import NotFound
from tenantry.identity import service as identity
from tenantry.kit.pagination import Keyset, check_limit, page_of
from tenantry.notifications import outbox, repository
from tenantry.notifications.events import LinkEvent, LinkFacts, Party, Side, told, url_for, words
from tenantry.notifications.models import EmailStatus, Notification
from tenantry.tenancy.models import Tenant

__all__ = ["LinkEvent", "NotificationService", "notify_admins", "notify_link_event"]

# Who hears of a tenant's link events: its people who may manage its links.
ADMIN_PERMISSION = "links:manage"
BY_ID = Keyset(uuid.UUID)


def _party(tenant: Tenant) -> Party:
    return Party(tenant.id, tenant.slug, tenant.display_name)


async def admins_of(session: AsyncSession, tenant_id: uuid.UUID) -> list[uuid.UUID]:
    """The tenant's own active people holding ``links:manage`` at home."""
    ids = await access.users_holding_at_home(session, tenant_id, ADMIN_PERMISSION)
    users = await identity.users_by_ids(session, ids)
    return [
        user_id
        for user_id in ids
        if (user := users.get(user_id)) is not None
        and user.disabled_at is None
        and user.home_tenant_id == tenant_id
    ]


async def notify_link_event(
    session: AsyncSession,
    *,
    event: LinkEvent,
    link_id: uuid.UUID,
    msp: Tenant,
    customer: Tenant,
    by: Side | None = None,
    actor_name: str = "",
    permissions: Sequence[str] = (),
    expires_at: datetime | None = None,
    who: str = "",
    dedupe_key: str | None = None,
    now: datetime | None = None,
) -> list[Notification]:
    """Tell the admins of the side(s) ``event`` concerns (the other side of ``by``; both
    for the sweep's events). ``permissions``: what was asked (requested), withheld
    (approved) or removed (narrowed); ``who``: the technician or group (un)blocked;
    ``dedupe_key``: sent at most once per recipient under that key.

    The caller decided the change was allowed; that is what lets the unit of work widen
    to the recipients' home tenants, whose rows these are.
    """
    facts = LinkFacts(
        event=event,
        link_id=link_id,
        msp=_party(msp),
        customer=_party(customer),
        actor_name=actor_name,
        permissions=tuple(permissions),
        expires_at=expires_at,
        who=who,
    )
    title, body = words(facts)
    sides = told(event, by)
    parties = {"msp": facts.msp, "customer": facts.customer}
    await widen(session, *(parties[side].id for side in sides), why=Why.NOTIFY)
    now = now or utcnow()
    mailed = outbox.email_enabled(session)
    rows: list[Notification] = []
    for side in sides:
        tenant_id = parties[side].id
        recipients = await admins_of(session, tenant_id)
        if dedupe_key is not None:
            taken = await repository.dedupe_keys_taken(session, tenant_id, recipients, dedupe_key)
            recipients = [r for r in recipients if r not in taken]
        rows.extend(
            Notification(
                tenant_id=tenant_id,
                user_id=user_id,
                kind=event.value,
                title=title,
                body=body,
                url=url_for(facts, side),
                link_id=link_id,
                dedupe_key=dedupe_key,
                email_status=EmailStatus.PENDING if mailed else EmailStatus.NONE,
                email_next_at=now if mailed else None,
                created_at=now,
            )
            for user_id in recipients
        )
    repository.add(session, rows)
    if mailed and rows:
        await session.flush()
        outbox.after_commit_send(session, rows)
    return rows


async def notify_admins(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    kind: str,
    title: str,
    body: str,
    url: str,
    dedupe_key: str | None = None,
) -> list[Notification]:
    """Tell a tenant's admins (its people who may manage its links) something about the
    tenant itself (its subscription, its limits): in-app and, with SMTP, by email after
    the commit. ``dedupe_key``: at most once per recipient under that key."""
    await widen(session, tenant_id, why=Why.NOTIFY)
    now = utcnow()
    mailed = outbox.email_enabled(session)
    recipients = await admins_of(session, tenant_id)
    if dedupe_key is not None:
        taken = await repository.dedupe_keys_taken(session, tenant_id, recipients, dedupe_key)
        recipients = [r for r in recipients if r not in taken]
    rows = [
        Notification(
            tenant_id=tenant_id,
            user_id=user_id,
            kind=kind,
            title=title[:300],
            body=body[:2000],
            url=url,
            dedupe_key=dedupe_key,
            email_status=EmailStatus.PENDING if mailed else EmailStatus.NONE,
            email_next_at=now if mailed else None,
            created_at=now,
        )
        for user_id in recipients
    ]
    repository.add(session, rows)
    if mailed and rows:
        await session.flush()
        outbox.after_commit_send(session, rows)
    return rows


class NotificationService:
    """A signed-in person's own notifications: in their home tenant, theirs only."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def list_mine(
        self, principal: Principal, *, unread_only: bool, cursor: str | None, limit: int
    ) -> tuple[list[Notification], str | None]:
        check_limit(limit)
        after = BY_ID.decode(cursor)
        rows = await repository.page_of_user(
            self.session,
            principal.home_tenant_id,
            principal.user_id,
            unread_only=unread_only,
            before_id=after[0] if after else None,
            limit=limit + 1,
        )
        return page_of(rows, limit, lambda n: [str(n.id)])

    async def unread_count(self, principal: Principal) -> int:
        return await repository.unread_count(
            self.session, principal.home_tenant_id, principal.user_id
        )

    async def mark_read(self, principal: Principal, notification_id: uuid.UUID) -> Notification:
        """Mark one of the caller's own notifications read (again: no change); anyone
        else's is 404, existence included."""
        row = await repository.one_of_user(
            self.session, principal.home_tenant_id, principal.user_id, notification_id
        )
        if row is None:
            raise NotFound("No such notification.")
        if row.read_at is None:
            row.read_at = utcnow()
            await self.session.flush()
        return row

    async def mark_all_read(self, principal: Principal) -> int:
        return await repository.mark_all_read(
            self.session, principal.home_tenant_id, principal.user_id, utcnow()
        )
