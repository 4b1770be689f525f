"""Tickets: the rules. Services never commit; the request's unit of work does.

Every change writes two records in the same transaction: a ``TicketEvent`` (the ticket's
own history, shown on its page) and an audit event (with the access explanation). The
SLA clock is kept on the ticket row (clock.py moves it, policy.py reads the tenant's
policy), so lists filter and sort on due times in SQL (lists.py)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.access.context import TenantContext
from tenantry.access.service import AccessService
from tenantry.audit.changes import Changes, of_pairs, set_to
from tenantry.audit.schemas import Actor, AuditAction
from tenantry.audit.service import record
from tenantry.db.base import new_id, utcnow
from tenantry.errors import NotFound, TenantryError, ValidationFailed
from tenantry.identity import service as identity
from tenantry.psa.contacts.service import ContactService
from tenantry.psa.tickets import clock, repository
from tenantry.psa.tickets.clock import Policy, sla_of
from tenantry.psa.tickets.models import (
    Priority,
    Ticket,
    TicketComment,
    TicketEvent,
    TicketStatus,
    Visibility,
)
from tenantry.psa.tickets.open_counts.service import counted_as, counting, record_moves
from tenantry.psa.tickets.policy import SlaPolicyService
from tenantry.psa.tickets.schemas import (
    MAX_BULK,
    MAX_NUMBER,
    TicketChanges,
    TicketFilter,
    build_filter,
    clean_category,
    clean_description,
    clean_tags,
    clean_title,
    parse_priority,
    parse_status,
)

# Kept importable from here for the pages, routes and tests that used them.
__all__ = ["Policy", "TicketFilter", "TicketService", "build_filter", "parse_number", "sla_of"]

TICKETS_WRITE = "tickets:write"
BULK_FIELDS = frozenset({"status", "priority", "assignee_user_id"})


def _plain(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if hasattr(value, "value"):
        return value.value
    return value


def parse_number(value: str | int) -> int:
    try:
        number = int(str(value).lstrip("#"))
    except ValueError as exc:
        raise NotFound("No such ticket.") from exc
    if not 0 < number <= MAX_NUMBER:
        raise NotFound("No such ticket.")
    return number


class TicketService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.policies = SlaPolicyService(session)

    async def policy(self, ctx: TenantContext) -> Policy:
        return await self.policies.policy(ctx.tenant)

    # ---- reading

    async def get(self, ctx: TenantContext, number: str | int) -> Ticket:
        ticket = await repository.by_number(self.session, ctx.tenant.id, parse_number(number))
        if ticket is None:
            raise NotFound("No such ticket.")
        return ticket

    async def _for_change(self, ctx: TenantContext, number: str | int) -> Ticket:
        """The ticket read afresh and locked until the unit of work ends, so the open
        counts move by the difference between what is read here and what is written."""
        found = await repository.by_number_for_change(
            self.session, ctx.tenant.id, parse_number(number)
        )
        if found is None:
            raise NotFound("No such ticket.")
        return found

    async def timeline(
        self, ticket: Ticket, *, include_internal: bool = True
    ) -> tuple[Sequence[TicketComment], Sequence[TicketEvent]]:
        comments = await repository.comments_of(self.session, ticket)
        if not include_internal:
            comments = [c for c in comments if c.visibility == Visibility.PUBLIC]
        return comments, await repository.events_of(self.session, ticket)

    # ---- read by other PSA areas (time names a ticket)

    async def find_by_id(self, ctx: TenantContext, ticket_id: uuid.UUID) -> Ticket | None:
        return await repository.by_id(self.session, ctx.tenant.id, ticket_id)

    async def find_by_number(self, ctx: TenantContext, number: int) -> Ticket | None:
        return await repository.by_number(self.session, ctx.tenant.id, number)

    async def by_ids(self, ctx: TenantContext, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Ticket]:
        return await repository.by_ids(self.session, ctx.tenant.id, ids)

    # ---- people

    async def _requester(
        self, ctx: TenantContext, contact_id: uuid.UUID | None
    ) -> uuid.UUID | None:
        if contact_id is None:
            return None
        contact = await ContactService(self.session).find(ctx, contact_id)
        if contact is None:
            raise ValidationFailed("requester_contact_id", "is not a contact of this client")
        return contact.id

    async def _assignee(
        self, ctx: TenantContext, user_id: uuid.UUID | None, field: str = "assignee_user_id"
    ) -> tuple[uuid.UUID | None, str | None]:
        """The assignee must be able to work tickets here: decided by the access rules as
        if they opened this tenant themselves (home grants, delegations, link ceiling)."""
        if user_id is None:
            return None, None
        as_them = await identity.principal_for(self.session, user_id)
        if as_them is None:
            raise ValidationFailed(field, "is not an active user")
        try:
            theirs = await AccessService(self.session).context_for(as_them, str(ctx.tenant.id))
        except TenantryError:
            theirs = None
        if theirs is None or not theirs.can(TICKETS_WRITE):
            raise ValidationFailed(
                field,
                f"{as_them.display_name} cannot work on tickets in {ctx.tenant.display_name}",
            )
        return as_them.user_id, as_them.display_name

    async def resolve_assignee_ref(self, ctx: TenantContext, ref: str) -> uuid.UUID | None:
        """An email address, a user id, "me" or "" (unassigned), as typed in a form."""
        ref = ref.strip()
        if not ref:
            return None
        if ref == "me":
            return ctx.principal.user_id
        with contextlib.suppress(ValueError):  # not an id: an email then
            return uuid.UUID(ref)
        user_id = await identity.user_id_by_email(self.session, ref.lower())
        if user_id is None:
            raise ValidationFailed("assignee", "no user has this email address")
        return user_id

    async def resolve_requester_ref(self, ctx: TenantContext, ref: str) -> uuid.UUID | None:
        """A contact by email (as typed) or id; "" for none."""
        ref = ref.strip()
        if not ref:
            return None
        with contextlib.suppress(ValueError):  # not an id: an email then
            return uuid.UUID(ref)
        contact = await ContactService(self.session).by_email(ctx, ref)
        if contact is None:
            raise ValidationFailed("requester", "no contact of this client has this email")
        return contact.id

    # ---- changing

    async def _history(
        self,
        ticket: Ticket,
        kind: str,
        shown: dict[str, Any],
        audited: Changes,
        actor: Actor,
        action: AuditAction,
    ) -> None:
        """``shown``: the ticket's own timeline entry; ``audited``: the audit event's."""
        self.session.add(
            TicketEvent(
                tenant_id=ticket.tenant_id,
                id=new_id(),
                ticket_id=ticket.id,
                kind=kind,
                changes=shown,
                actor_user_id=actor.user_id,
                actor_name=actor.name,
            )
        )
        await record(
            self.session,
            tenant_id=ticket.tenant_id,
            actor=actor,
            action=action,
            target_type="ticket",
            target_id=ticket.id,
            target_label=f"#{ticket.number} {ticket.title}"[:300],
            changes=audited,
        )

    async def create(
        self,
        ctx: TenantContext,
        *,
        title: str,
        description: str = "",
        priority: Priority | str = Priority.P3,
        requester_contact_id: uuid.UUID | None = None,
        assignee_user_id: uuid.UUID | None = None,
        category: str = "",
        tags: Iterable[str] = (),
        actor: Actor,
    ) -> Ticket:
        # Every field is checked before the counter is locked: a rejected ticket uses
        # no number, so numbering stays gap-free.
        values: dict[str, Any] = {
            "title": clean_title(title),
            "description": clean_description(description),
            "priority": priority if isinstance(priority, Priority) else _priority(priority),
            "category": clean_category(category),
            "tags": clean_tags(list(tags)),
            "requester_contact_id": await self._requester(ctx, requester_contact_id),
        }
        values["assignee_user_id"], values["assignee_name"] = await self._assignee(
            ctx, assignee_user_id
        )
        policy = await self.policy(ctx)
        number = await repository.take_number(self.session, ctx.tenant.id)
        now = utcnow()
        ticket = Ticket(
            tenant_id=ctx.tenant.id,
            id=new_id(),
            number=number,
            status=TicketStatus.NEW,
            created_at=now,
            updated_at=now,
            sla_consumed_seconds=0,
            sla_running_since=now,
            first_response_breached=False,
            resolution_breached=False,
            **values,
        )
        clock.recompute_due(ticket, policy)
        self.session.add(ticket)
        await self.session.flush()
        await record_moves(self.session, [(None, counted_as(ticket))])
        shown = {k: _plain(v) for k, v in values.items() if v not in (None, "", [])}
        shown |= {"number": number}
        await self._history(
            ticket, "created", shown, set_to(**shown), actor, AuditAction.TICKET_CREATED
        )
        await self.session.flush()
        return ticket

    async def _apply(
        self, ctx: TenantContext, ticket: Ticket, changes: dict[str, Any], now: datetime
    ) -> list[tuple[str, Any, Any]]:
        """Apply already-checked values; returns (field, old, new) of the real changes."""
        diff: list[tuple[str, Any, Any]] = []
        old_status = ticket.status
        for key, value in changes.items():
            current = getattr(ticket, key)
            if current != value:
                diff.append((key, _plain(current), _plain(value)))
                setattr(ticket, key, value)
        if any(key == "assignee_user_id" for key, _, _ in diff):
            diff = [d for d in diff if d[0] != "assignee_name"]
        if not diff:
            return diff
        policy = await self.policy(ctx)
        changed = {key for key, _, _ in diff}
        if "status" in changed:
            clock.move_clock(ticket, policy, old_status, now)
        elif "priority" in changed:
            # The targets of the new priority apply to the time already consumed.
            clock.flag_breaches(ticket, now)
            clock.recompute_due(ticket, policy)
        ticket.updated_at = now
        return diff

    async def _checked(self, ctx: TenantContext, given: dict[str, Any]) -> dict[str, Any]:
        checked: dict[str, Any] = {}
        for key, value in given.items():
            if key == "title":
                checked[key] = clean_title(value)
            elif key == "description":
                checked[key] = clean_description(value)
            elif key == "category":
                checked[key] = clean_category(value)
            elif key == "tags":
                checked[key] = clean_tags(list(value or []))
            elif key == "status":
                checked[key] = value if isinstance(value, TicketStatus) else _status(value)
            elif key == "priority":
                checked[key] = value if isinstance(value, Priority) else _priority(value)
            elif key == "requester_contact_id":
                checked[key] = await self._requester(ctx, value)
            elif key == "assignee_user_id":
                checked[key], checked["assignee_name"] = await self._assignee(ctx, value)
        return checked

    async def update(
        self, ctx: TenantContext, number: str | int, changes: TicketChanges, *, actor: Actor
    ) -> Ticket:
        ticket = await self._for_change(ctx, number)
        checked = await self._checked(ctx, changes.given())
        async with counting(self.session, [ticket]):
            diff = await self._apply(ctx, ticket, checked, utcnow())
        if diff:
            shown = {key: {"from": old, "to": new} for key, old, new in diff}
            await self._history(
                ticket, "updated", shown, of_pairs(diff), actor, AuditAction.TICKET_UPDATED
            )
            await self.session.flush()
        return ticket

    async def bulk_update(
        self,
        ctx: TenantContext,
        numbers: Sequence[int],
        changes: TicketChanges,
        *,
        actor: Actor,
    ) -> list[int]:
        """The same status/priority/assignee change to many tickets: all or none (every
        number must exist here), one history and audit event per ticket changed."""
        if not numbers:
            raise ValidationFailed("numbers", "choose at least one ticket")
        if len(numbers) > MAX_BULK:
            raise ValidationFailed("numbers", f"at most {MAX_BULK} tickets at once")
        outside = [n for n in numbers if not 0 < n <= MAX_NUMBER]
        if outside:
            raise ValidationFailed("numbers", f"no such tickets here: #{outside[0]}")
        given = changes.given()
        if not given:
            raise ValidationFailed("status", "choose a status, priority or assignee to set")
        for key in given:
            if key not in BULK_FIELDS:
                raise ValidationFailed(key, "cannot be changed in bulk")
        checked = await self._checked(ctx, given)
        found = await repository.by_numbers(self.session, ctx.tenant.id, numbers)
        missing = sorted(set(numbers) - set(found))
        if missing:
            shown = ", ".join(f"#{n}" for n in missing[:10])
            raise ValidationFailed("numbers", f"no such tickets here: {shown}")
        now = utcnow()
        tickets = [found[n] for n in sorted(found)]
        # Every change first, then the counts, then the records: each unit of work takes
        # the tickets, the counts and the audit chain in that order (no deadlock).
        async with counting(self.session, tickets):
            diffs = [(ticket, await self._apply(ctx, ticket, checked, now)) for ticket in tickets]
        updated: list[int] = []
        for ticket, diff in diffs:
            if diff:
                history = {key: {"from": old, "to": new} for key, old, new in diff}
                await self._history(
                    ticket,
                    "updated",
                    history | {"bulk": True},
                    of_pairs(diff) | set_to(bulk=True),
                    actor,
                    AuditAction.TICKETS_BULK_UPDATED,
                )
                updated.append(ticket.number)
        await self.session.flush()
        return updated

    async def comment(
        self,
        ctx: TenantContext,
        number: str | int,
        *,
        body: str,
        visibility: Visibility | str,
        actor: Actor,
    ) -> TicketComment:
        ticket = await self._for_change(ctx, number)
        text = body.strip()
        if not text:
            raise ValidationFailed("body", "must not be empty")
        if len(text) > 20_000:
            raise ValidationFailed("body", "must be at most 20000 characters")
        try:
            kind = Visibility(visibility)
        except ValueError as exc:
            raise ValidationFailed("visibility", "must be public or internal") from exc
        now = utcnow()
        comment = TicketComment(
            tenant_id=ticket.tenant_id,
            id=new_id(),
            ticket_id=ticket.id,
            visibility=kind,
            body=text,
            author_user_id=actor.user_id,
            author_name=actor.name,
            created_at=now,
        )
        self.session.add(comment)
        shown: dict[str, Any] = {"visibility": kind.value, "comment_id": str(comment.id)}
        async with counting(self.session, [ticket]):  # answering late flags the breach
            if kind == Visibility.PUBLIC and clock.first_response(ticket, now):
                shown["first_response"] = True
        ticket.updated_at = now
        await self.session.flush()
        await self._history(
            ticket, "commented", shown, set_to(**shown), actor, AuditAction.TICKET_COMMENTED
        )
        await self.session.flush()
        return comment


def _priority(value: str) -> Priority:
    return parse_priority(str(value))


def _status(value: str) -> TicketStatus:
    return parse_status(str(value))
