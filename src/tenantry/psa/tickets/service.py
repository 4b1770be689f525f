"""Tickets: the rules. Services never commit; the request's unit of work does.

Every change writes two records in the same transaction: a ``TicketEvent`` (the ticket's
own history, shown on its page) and an audit event (with the access explanation). The
SLA clock is kept on the ticket row (consumed business seconds, running since) and due
times are stored, so lists filter and sort on them in SQL (psa/tickets/sla.py holds
the arithmetic)."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.access.context import Principal, TenantContext
from tenantry.access.service import AccessService
from tenantry.audit.schemas import Actor, AuditAction
from tenantry.audit.service import record
from tenantry.db.base import new_id, utcnow
from tenantry.errors import NotFound, TenantryError, ValidationFailed
from tenantry.identity import repository as identity_repository
from tenantry.pagination import check_limit, decode_cursor, encode_cursor
from tenantry.psa.contacts import repository as contacts_repository
from tenantry.psa.tickets import repository, sla
from tenantry.psa.tickets.models import (
    DONE_STATUSES,
    OPEN_STATUSES,
    PAUSED_STATUSES,
    Priority,
    SlaPolicy,
    Ticket,
    TicketComment,
    TicketEvent,
    TicketStatus,
    Visibility,
)
from tenantry.psa.tickets.repository import TicketFilter
from tenantry.psa.tickets.schemas import (
    MAX_BULK,
    SORTS,
    SlaOut,
    clean_category,
    clean_description,
    clean_tags,
    clean_title,
    parse_priority,
    parse_status,
)
from tenantry.tenancy import service as tenancy_service
from tenantry.tenancy.schemas import check_time_zone

TICKETS_WRITE = "tickets:write"


@dataclass(frozen=True, slots=True)
class Policy:
    """A tenant's SLA policy, ready to compute with (None calendar: no usable hours)."""

    calendar: sla.BusinessCalendar | None
    targets: dict[str, dict[str, int]]
    business_hours: dict[str, Any]
    holidays: list[str]
    time_zone: str

    def target(self, priority: Priority, kind: str) -> timedelta | None:
        minutes = self.targets.get(priority.value, {}).get(kind)
        return timedelta(minutes=int(minutes)) if minutes else None


def sla_of(ticket: Ticket, now: datetime) -> SlaOut:
    """The ticket's SLA as shown: breaches include targets overdue right now."""
    fr_breached = ticket.first_response_breached or (
        ticket.first_responded_at is None
        and ticket.first_response_due_at is not None
        and ticket.first_response_due_at < now
    )
    res_breached = ticket.resolution_breached or (
        ticket.resolved_at is None
        and ticket.resolution_due_at is not None
        and ticket.resolution_due_at < now
    )
    return SlaOut(
        first_response_due_at=ticket.first_response_due_at,
        resolution_due_at=ticket.resolution_due_at,
        first_responded_at=ticket.first_responded_at,
        resolved_at=ticket.resolved_at,
        paused=ticket.status in PAUSED_STATUSES,
        first_response_breached=fr_breached,
        resolution_breached=res_breached,
    )


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
    if not 0 < number < 2**31:
        raise NotFound("No such ticket.")
    return number


MAX_TARGET_MINUTES = 365 * 24 * 60
TARGET_KINDS = ("first_response", "resolution")


def check_targets(targets: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    """Minutes per priority and kind: every priority, whole minutes, 1 … a year."""
    cleaned: dict[str, dict[str, int]] = {}
    for priority in Priority:
        given = targets.get(priority.value)
        if not isinstance(given, dict):
            raise ValidationFailed(f"targets.{priority.value}", "is required")
        cleaned[priority.value] = {}
        for kind in TARGET_KINDS:
            value = given.get(kind)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValidationFailed(
                    f"targets.{priority.value}.{kind}", "must be a whole number of minutes"
                )
            if not 1 <= value <= MAX_TARGET_MINUTES:
                raise ValidationFailed(
                    f"targets.{priority.value}.{kind}",
                    f"must be between 1 and {MAX_TARGET_MINUTES} minutes",
                )
            cleaned[priority.value][kind] = value
    unknown = set(targets) - {p.value for p in Priority}
    if unknown:
        raise ValidationFailed("targets", f"unknown priority {sorted(unknown)[0]!r}")
    return cleaned


def check_business_hours(
    business_hours: dict[str, list[tuple[str, str]]] | dict[str, Any],
) -> dict[str, list[list[str]]]:
    """Weekday ("0" = Monday … "6") → sorted, non-overlapping HH:MM windows."""
    hours: dict[str, list[list[str]]] = {}
    for key, windows in business_hours.items():
        if key not in {str(d) for d in range(7)}:
            raise ValidationFailed("business_hours", f"weekday '{key}' is not 0 … 6")
        field = f"business_hours.{key}"
        parsed: list[tuple[Any, Any, str, str]] = []
        for start, end in windows:
            try:
                a, b = sla.parse_hhmm(start), sla.parse_hhmm(end)
            except ValueError as exc:
                raise ValidationFailed(field, "times are HH:MM, e.g. 08:00") from exc
            midnight_end = b == a.replace(hour=0, minute=0)
            if not midnight_end and b <= a:
                raise ValidationFailed(field, f"{start}-{end} ends before it starts")
            parsed.append((a, b if not midnight_end else None, start, end))
        parsed.sort(key=lambda w: w[0])
        for earlier, later in itertools.pairwise(parsed):
            if earlier[1] is None or later[0] < earlier[1]:
                raise ValidationFailed(
                    field, f"{earlier[2]}-{earlier[3]} and {later[2]}-{later[3]} overlap"
                )
        hours[key] = [[start, end] for _, _, start, end in parsed]
    return hours


def check_holidays(holidays: list[str]) -> list[str]:
    for day in holidays:
        try:
            date.fromisoformat(day)
        except (TypeError, ValueError) as exc:
            message = f"'{str(day)[:20]}' is not a date (YYYY-MM-DD)"
            raise ValidationFailed("holidays", message) from exc
        if len(day) != 10:
            raise ValidationFailed("holidays", f"'{day[:20]}' is not a date (YYYY-MM-DD)")
    return sorted(set(holidays))


class TicketService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._policies: dict[uuid.UUID, Policy] = {}

    # ---- SLA policy

    async def policy(self, tenant_id: uuid.UUID) -> Policy:
        if tenant_id in self._policies:
            return self._policies[tenant_id]
        tenant = await identity_repository.tenant_by_id(self.session, tenant_id)
        zone = tenant.time_zone if tenant is not None else "UTC"
        row = await repository.sla_policy(self.session, tenant_id)
        targets = row.targets if row is not None and row.targets else sla.DEFAULT_TARGETS
        hours = row.business_hours if row is not None else sla.DEFAULT_HOURS
        holidays = row.holidays if row is not None else []
        try:
            calendar: sla.BusinessCalendar | None = sla.calendar_from(zone, hours, holidays)
        except ValueError:
            calendar = None  # a tenant zone this machine lacks: no due times, not an error
        if calendar is not None and not calendar.has_hours:
            calendar = None
        policy = Policy(calendar, dict(targets), dict(hours), list(holidays), zone)
        self._policies[tenant_id] = policy
        return policy

    async def set_policy(
        self,
        ctx: TenantContext,
        *,
        targets: dict[str, dict[str, int]],
        business_hours: dict[str, list[tuple[str, str]]],
        holidays: list[str],
        actor: Actor,
        time_zone: str | None = None,
    ) -> Policy:
        """Replace the tenant's SLA policy (and, if given, its time zone: the calendar's
        zone). Applies to due times computed from now on. Every value is checked before
        anything is written; an error names the field (``targets.P1.resolution``,
        ``business_hours.0``, ``holidays``, ``time_zone``)."""
        cleaned_targets = check_targets(targets)
        hours = check_business_hours(business_hours)
        days = check_holidays(holidays)
        zone = check_time_zone(time_zone) if time_zone is not None else None
        row = await repository.sla_policy(self.session, ctx.tenant.id)
        before: dict[str, Any] | None = (
            {"targets": row.targets, "business_hours": row.business_hours, "holidays": row.holidays}
            if row is not None
            else None
        )
        after: dict[str, Any] = {
            "targets": cleaned_targets,
            "business_hours": hours,
            "holidays": days,
        }
        if zone is not None:
            old_zone = await tenancy_service.set_time_zone(self.session, ctx.tenant.id, zone)
            if old_zone != zone:
                before = {**(before or {}), "time_zone": old_zone}
                after["time_zone"] = zone
        if row is None:
            row = SlaPolicy(tenant_id=ctx.tenant.id, id=new_id())
            self.session.add(row)
        row.targets = cleaned_targets
        row.business_hours = hours
        row.holidays = days
        await self.session.flush()
        self._policies.pop(ctx.tenant.id, None)
        await record(
            self.session,
            tenant_id=ctx.tenant.id,
            actor=actor,
            action=AuditAction.SLA_POLICY_UPDATED,
            target_type="sla_policy",
            target_id=row.id,
            target_label="SLA policy",
            changes={"from": before, "to": after},
        )
        return await self.policy(ctx.tenant.id)

    async def add_holiday(self, ctx: TenantContext, day: str, actor: Actor) -> Policy:
        """One more whole-day holiday in the tenant's calendar (adding one twice is a
        no-op for the calendar, still one recorded save)."""
        current = await self.policy(ctx.tenant.id)
        return await self.set_policy(
            ctx,
            targets=current.targets,
            business_hours=current.business_hours,
            holidays=[*current.holidays, day],
            actor=actor,
        )

    async def remove_holiday(self, ctx: TenantContext, day: str, actor: Actor) -> Policy:
        current = await self.policy(ctx.tenant.id)
        if day not in current.holidays:
            raise ValidationFailed("holiday", f"'{day[:20]}' is not one of the holidays")
        return await self.set_policy(
            ctx,
            targets=current.targets,
            business_hours=current.business_hours,
            holidays=[h for h in current.holidays if h != day],
            actor=actor,
        )

    def _recompute_due(self, ticket: Ticket, policy: Policy) -> None:
        clock = sla.Clock(timedelta(seconds=ticket.sla_consumed_seconds), ticket.sla_running_since)
        cal = policy.calendar
        if cal is None or not clock.running:
            ticket.first_response_due_at = None
            ticket.resolution_due_at = None
            return
        fr = policy.target(ticket.priority, "first_response")
        res = policy.target(ticket.priority, "resolution")
        ticket.first_response_due_at = (
            sla.due(cal, clock, fr)
            if fr is not None and ticket.first_responded_at is None
            else None
        )
        ticket.resolution_due_at = sla.due(cal, clock, res) if res is not None else None

    @staticmethod
    def _flag_breaches(ticket: Ticket, now: datetime) -> None:
        """Keep a missed target on record before the due time is cleared or moved."""
        view = sla_of(ticket, now)
        ticket.first_response_breached = view.first_response_breached
        ticket.resolution_breached = view.resolution_breached

    def _move_clock(self, ticket: Ticket, policy: Policy, old: TicketStatus, now: datetime) -> None:
        """Pause, resume, stop or restart the SLA clock for a status change."""
        new = ticket.status
        self._flag_breaches(ticket, now)
        clock = sla.Clock(timedelta(seconds=ticket.sla_consumed_seconds), ticket.sla_running_since)
        if new in DONE_STATUSES or new in PAUSED_STATUSES:
            if policy.calendar is not None:
                clock = sla.pause(policy.calendar, clock, now)
            else:
                clock = sla.Clock(clock.consumed, None)
            if new in DONE_STATUSES and ticket.resolved_at is None:
                ticket.resolved_at = now
        else:
            if old in DONE_STATUSES:
                ticket.resolved_at = None  # reopened: the resolution target counts again
            clock = sla.resume(clock, now)
        ticket.sla_consumed_seconds = int(clock.consumed.total_seconds())
        ticket.sla_running_since = clock.running_since
        self._recompute_due(ticket, policy)

    # ---- reading

    async def get(self, ctx: TenantContext, number: str | int) -> Ticket:
        ticket = await repository.by_number(self.session, ctx.tenant.id, parse_number(number))
        if ticket is None:
            raise NotFound("No such ticket.")
        return ticket

    async def timeline(
        self, ticket: Ticket, *, include_internal: bool = True
    ) -> tuple[Sequence[TicketComment], Sequence[TicketEvent]]:
        comments = await repository.comments_of(self.session, ticket)
        if not include_internal:
            comments = [c for c in comments if c.visibility == Visibility.PUBLIC]
        return comments, await repository.events_of(self.session, ticket)

    async def find(
        self, f: TicketFilter, *, sort: str, cursor: str | None, limit: int
    ) -> tuple[list[Ticket], str | None]:
        """A page of tickets. The cursor is an opaque position: lists sort on any column
        (due times are nullable), and ticket lists are read a page or two deep, so an
        offset behind the opaque cursor is simpler than a keyset per sort order."""
        check_limit(limit)
        if sort not in SORTS:
            raise ValidationFailed("sort", "must be one of " + ", ".join(SORTS))
        if f.q is not None and len(f.q) > 200:
            raise ValidationFailed("q", "must be at most 200 characters long")
        position = decode_cursor(cursor)
        offset = 0
        if position is not None:
            if len(position) != 1 or not isinstance(position[0], int) or position[0] < 0:
                raise ValidationFailed("cursor", "is not a cursor this API returned")
            offset = position[0]
        rows = list(
            await repository.page(
                self.session, f, sort=sort, offset=offset, limit=limit, now=utcnow()
            )
        )
        more = len(rows) > limit
        return rows[:limit], encode_cursor([offset + limit]) if more else None

    async def counts(self, f: TicketFilter) -> dict[uuid.UUID, tuple[int, int]]:
        return await repository.counts_by_tenant(self.session, f, utcnow())

    # ---- people

    async def _requester(
        self, ctx: TenantContext, contact_id: uuid.UUID | None
    ) -> uuid.UUID | None:
        if contact_id is None:
            return None
        contact = await contacts_repository.by_id(self.session, ctx.tenant.id, contact_id)
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
        user = await identity_repository.user_by_id(self.session, user_id)
        if user is None or user.disabled_at is not None:
            raise ValidationFailed(field, "is not an active user")
        home = await identity_repository.tenant_by_id(self.session, user.home_tenant_id)
        tenant = await identity_repository.tenant_by_id(self.session, ctx.tenant.id)
        if home is None or tenant is None:
            raise ValidationFailed(field, "is not an active user")
        as_them = Principal(
            user_id=user.id,
            email=user.email,
            display_name=user.display_name,
            home_tenant_id=home.id,
            home_tenant_slug=home.slug,
            home_tenant_name=home.display_name,
            home_is_msp=home.is_msp,
            home_requires_mfa=home.require_mfa,
            has_mfa=True,
            auth_method="cli",
        )
        try:
            theirs = await AccessService(self.session).context_in(as_them, tenant)
        except TenantryError:
            theirs = None
        if theirs is None or not theirs.can(TICKETS_WRITE):
            raise ValidationFailed(
                field, f"{user.display_name} cannot work on tickets in {ctx.tenant.display_name}"
            )
        return user.id, user.display_name

    async def resolve_assignee_ref(self, ctx: TenantContext, ref: str) -> uuid.UUID | None:
        """An email address, a user id, "me" or "" (unassigned), as typed in a form."""
        ref = ref.strip()
        if not ref:
            return None
        if ref == "me":
            return ctx.principal.user_id
        try:
            return uuid.UUID(ref)
        except ValueError:
            pass
        user = await identity_repository.user_by_email(self.session, ref.lower())
        if user is None:
            raise ValidationFailed("assignee", "no user has this email address")
        return user.id

    # ---- changing

    async def _history(
        self, ticket: Ticket, kind: str, changes: dict[str, Any], actor: Actor, action: AuditAction
    ) -> None:
        self.session.add(
            TicketEvent(
                tenant_id=ticket.tenant_id,
                id=new_id(),
                ticket_id=ticket.id,
                kind=kind,
                changes=changes,
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
            changes=changes,
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
        policy = await self.policy(ctx.tenant.id)
        counter = await repository.lock_counter(self.session, ctx.tenant.id)
        number = counter.next_number
        counter.next_number = number + 1
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
        self._recompute_due(ticket, policy)
        self.session.add(ticket)
        await self.session.flush()
        shown = {k: _plain(v) for k, v in values.items() if v not in (None, "", [])}
        await self._history(
            ticket,
            "created",
            shown | {"number": number},
            actor,
            AuditAction.TICKET_CREATED,
        )
        await self.session.flush()
        return ticket

    async def _apply(
        self, ctx: TenantContext, ticket: Ticket, changes: dict[str, Any], now: datetime
    ) -> dict[str, Any]:
        """Apply already-checked values; returns {field: {"from", "to"}} of real changes."""
        diff: dict[str, Any] = {}
        old_status = ticket.status
        for key, value in changes.items():
            current = getattr(ticket, key)
            if current != value:
                diff[key] = {"from": _plain(current), "to": _plain(value)}
                setattr(ticket, key, value)
        if "assignee_user_id" in diff:
            diff.pop("assignee_name", None)
        if not diff:
            return diff
        policy = await self.policy(ctx.tenant.id)
        if "status" in diff:
            self._move_clock(ticket, policy, old_status, now)
        elif "priority" in diff:
            # The targets of the new priority apply to the time already consumed.
            self._flag_breaches(ticket, now)
            self._recompute_due(ticket, policy)
        ticket.updated_at = now
        return diff

    async def _checked(self, ctx: TenantContext, raw: dict[str, Any]) -> dict[str, Any]:
        checked: dict[str, Any] = {}
        for key, value in raw.items():
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
            else:
                raise ValidationFailed(key, "is not a ticket field")
        return checked

    async def update(
        self, ctx: TenantContext, number: str | int, raw: dict[str, Any], actor: Actor
    ) -> Ticket:
        ticket = await self.get(ctx, number)
        changes = await self._checked(ctx, raw)
        diff = await self._apply(ctx, ticket, changes, utcnow())
        if diff:
            await self._history(ticket, "updated", diff, actor, AuditAction.TICKET_UPDATED)
            await self.session.flush()
        return ticket

    async def bulk_update(
        self, ctx: TenantContext, numbers: Sequence[int], raw: dict[str, Any], actor: Actor
    ) -> list[int]:
        """The same status/priority/assignee change to many tickets: all or none (every
        number must exist here), one history and audit event per ticket changed."""
        if not numbers:
            raise ValidationFailed("numbers", "choose at least one ticket")
        if len(numbers) > MAX_BULK:
            raise ValidationFailed("numbers", f"at most {MAX_BULK} tickets at once")
        allowed = {"status", "priority", "assignee_user_id"}
        if not raw:
            raise ValidationFailed("status", "choose a status, priority or assignee to set")
        for key in raw:
            if key not in allowed:
                raise ValidationFailed(key, "cannot be changed in bulk")
        changes = await self._checked(ctx, raw)
        found = await repository.by_numbers(self.session, ctx.tenant.id, numbers)
        missing = sorted(set(numbers) - set(found))
        if missing:
            shown = ", ".join(f"#{n}" for n in missing[:10])
            raise ValidationFailed("numbers", f"no such tickets here: {shown}")
        now = utcnow()
        updated: list[int] = []
        for number in sorted(found):
            ticket = found[number]
            diff = await self._apply(ctx, ticket, changes, now)
            if diff:
                await self._history(
                    ticket,
                    "updated",
                    diff | {"bulk": True},
                    actor,
                    AuditAction.TICKETS_BULK_UPDATED,
                )
                updated.append(number)
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
        ticket = await self.get(ctx, number)
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
        changes: dict[str, Any] = {"visibility": kind.value, "comment_id": str(comment.id)}
        if kind == Visibility.PUBLIC and ticket.first_responded_at is None:
            # The first public reply is the first response the SLA measures.
            self._flag_breaches(ticket, now)
            ticket.first_responded_at = now
            ticket.first_response_due_at = None
            changes["first_response"] = True
        ticket.updated_at = now
        await self.session.flush()
        await self._history(ticket, "commented", changes, actor, AuditAction.TICKET_COMMENTED)
        await self.session.flush()
        return comment


def _priority(value: str) -> Priority:
    return parse_priority(str(value))


def _status(value: str) -> TicketStatus:
    return parse_status(str(value))


STATUS_GROUPS: dict[str, frozenset[TicketStatus]] = {
    "open": OPEN_STATUSES,
    "all": frozenset(),
    "done": DONE_STATUSES,
    "paused": PAUSED_STATUSES,
}


def build_filter(
    tenant_ids: Iterable[uuid.UUID],
    me: uuid.UUID,
    *,
    status: Sequence[str] = (),
    priority: Sequence[str] = (),
    assignee: str = "",
    requester: str = "",
    category: str = "",
    tag: str = "",
    q: str = "",
    breached: str = "",
) -> TicketFilter:
    """A filter from query-string values (API and pages alike); bad values name the field.

    ``status``: statuses or one of the groups open (default), done, paused, all.
    ``assignee``: a user id, ``me`` or ``none``. ``breached``: ``yes`` / ``no``.
    """
    statuses: set[TicketStatus] = set()
    for value in [v for raw in status for v in raw.split(",") if v] or ["open"]:
        statuses |= STATUS_GROUPS[value] if value in STATUS_GROUPS else {parse_status(value)}
    if "all" in status:
        statuses = set()
    priorities = {parse_priority(v) for raw in priority for v in raw.split(",") if v}
    assignee_id: uuid.UUID | None = None
    unassigned = assignee == "none"
    if assignee == "me":
        assignee_id = me
    elif assignee and not unassigned:
        try:
            assignee_id = uuid.UUID(assignee)
        except ValueError as exc:
            raise ValidationFailed("assignee", "must be a user id, me or none") from exc
    requester_id: uuid.UUID | None = None
    if requester:
        try:
            requester_id = uuid.UUID(requester)
        except ValueError as exc:
            raise ValidationFailed("requester", "must be a contact id") from exc
    if breached not in ("", "yes", "no"):
        raise ValidationFailed("breached", "must be yes or no")
    if len(category) > 100 or len(tag) > 40:
        raise ValidationFailed("category" if len(category) > 100 else "tag", "is too long")
    return TicketFilter(
        tenant_ids=frozenset(tenant_ids),
        statuses=frozenset(statuses),
        priorities=frozenset(priorities),
        assignee=assignee_id,
        unassigned=unassigned,
        requester=requester_id,
        category=category.strip() or None,
        tag=tag.strip().lower() or None,
        q=q.strip() or None,
        breached=None if not breached else breached == "yes",
    )
