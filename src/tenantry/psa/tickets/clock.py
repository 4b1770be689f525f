"""A ticket's SLA clock under its tenant's policy: what the row keeps (business seconds
consumed, running since, due times, breach flags) and how a change moves it. Pure: the
arithmetic is in sla.py, the policy is read by policy.py, nothing here queries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row

from tenantry.psa.tickets import sla
from tenantry.psa.tickets.models import (
    DONE_STATUSES,
    PAUSED_STATUSES,
    Priority,
    Ticket,
    TicketStatus,
)
from tenantry.psa.tickets.schemas import SlaOut

BusinessHours = dict[str, list[list[str]]]


@dataclass(frozen=True, slots=True)
class Policy:
    """A tenant's SLA policy, ready to compute with (None calendar: no usable hours)."""

    calendar: sla.BusinessCalendar | None
    targets: dict[str, dict[str, int]]
    business_hours: BusinessHours
    holidays: list[str]
    time_zone: str

    def target(self, priority: Priority, kind: str) -> timedelta | None:
        minutes = self.targets.get(priority.value, {}).get(kind)
        return timedelta(minutes=int(minutes)) if minutes else None


def sla_of(ticket: Ticket | Row[Any], now: datetime) -> SlaOut:
    """The ticket's SLA as shown: breaches include targets overdue right now."""
    return SlaOut(**sla_fields(ticket, now))


def sla_fields(ticket: Ticket | Row[Any], now: datetime) -> dict[str, Any]:
    """``sla_of`` as plain values (a hot list writes them without building models)."""
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
    return {
        "first_response_due_at": ticket.first_response_due_at,
        "resolution_due_at": ticket.resolution_due_at,
        "first_responded_at": ticket.first_responded_at,
        "resolved_at": ticket.resolved_at,
        "paused": ticket.status in PAUSED_STATUSES,
        "first_response_breached": fr_breached,
        "resolution_breached": res_breached,
    }


def recompute_due(ticket: Ticket, policy: Policy) -> None:
    clock = sla.Clock(timedelta(seconds=ticket.sla_consumed_seconds), ticket.sla_running_since)
    cal = policy.calendar
    if cal is None or not clock.running:
        ticket.first_response_due_at = None
        ticket.resolution_due_at = None
        return
    fr = policy.target(ticket.priority, "first_response")
    res = policy.target(ticket.priority, "resolution")
    ticket.first_response_due_at = (
        sla.due(cal, clock, fr) if fr is not None and ticket.first_responded_at is None else None
    )
    ticket.resolution_due_at = sla.due(cal, clock, res) if res is not None else None


def flag_breaches(ticket: Ticket, now: datetime) -> None:
    """Keep a missed target on record before the due time is cleared or moved."""
    view = sla_of(ticket, now)
    ticket.first_response_breached = view.first_response_breached
    ticket.resolution_breached = view.resolution_breached


def move_clock(ticket: Ticket, policy: Policy, old: TicketStatus, now: datetime) -> None:
    """Pause, resume, stop or restart the SLA clock for a status change."""
    new = ticket.status
    flag_breaches(ticket, now)
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
    recompute_due(ticket, policy)


def first_response(ticket: Ticket, now: datetime) -> bool:
    """The first public reply is the first response the SLA measures; True if this was it."""
    if ticket.first_responded_at is not None:
        return False
    flag_breaches(ticket, now)
    ticket.first_responded_at = now
    ticket.first_response_due_at = None
    return True
