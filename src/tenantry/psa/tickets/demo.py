"""Demo contacts and tickets for one client (``tenantry serve --demo``)."""

from __future__ import annotations

import uuid
import zlib
from datetime import timedelta
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.access.context import Principal
from tenantry.access.service import AccessService
from tenantry.audit.schemas import OPERATOR, Actor
from tenantry.db.base import utcnow
from tenantry.psa.contacts.service import ContactService
from tenantry.psa.tickets.models import Priority, TicketStatus, Visibility
from tenantry.psa.tickets.schemas import TicketChanges
from tenantry.psa.tickets.service import TicketService

PEOPLE = (
    ("Ann Becker", "ann", "Office manager", "+1 555 0101"),
    ("Ravi Patel", "ravi", "Finance lead", "+1 555 0102"),
    ("Mei Chen", "mei", "Sales", ""),
    ("Jonas Berg", "jonas", "CEO", "+1 555 0104"),
)
# (title, priority, status, category, tags, assigned to the principal, reply, note)
TICKETS = (
    (
        "Outlook keeps asking for the password",
        Priority.P3,
        TicketStatus.OPEN,
        "Email",
        ["outlook", "m365"],
        True,
        "Can you try signing out of Office and back in?",
        None,
    ),
    (
        "VPN drops every 10 minutes",
        Priority.P2,
        TicketStatus.NEW,
        "Network",
        ["vpn"],
        False,
        None,
        None,
    ),
    (
        "File server unreachable",
        Priority.P1,
        TicketStatus.OPEN,
        "Infrastructure",
        ["server", "outage"],
        True,
        None,
        "Disk alert on fs01 since 07:40.",
    ),
    (
        "New starter laptop for Monday",
        Priority.P4,
        TicketStatus.WAITING_ON_CUSTOMER,
        "Hardware",
        ["onboarding"],
        False,
        "Which model should we order?",
        None,
    ),
    (
        "Printer on 2nd floor jams",
        Priority.P3,
        TicketStatus.ON_HOLD,
        "Hardware",
        ["printer"],
        True,
        None,
        "Waiting for the vendor's technician.",
    ),
    (
        "Shared mailbox for sales",
        Priority.P4,
        TicketStatus.RESOLVED,
        "Email",
        ["m365"],
        False,
        "Done: sales@ is set up.",
        None,
    ),
)


class DemoClient(Protocol):
    """What seeding needs of a client the demo made (its row, as tenancy returned it)."""

    @property
    def id(self) -> uuid.UUID: ...

    @property
    def slug(self) -> str: ...


async def seed_tickets(
    session: AsyncSession, customer: DemoClient, principal: Principal, *, actor: Actor = OPERATOR
) -> None:
    """Contacts and a handful of tickets in ``customer``, some assigned to ``principal``
    (who must be able to work there, e.g. the MSP admin), one past its SLA."""
    ctx = await AccessService(session).context_for(principal, str(customer.id))
    domain = f"{customer.slug}.example"
    contacts = ContactService(session)
    people = [
        await contacts.create(
            ctx, name=name, email=f"{local}@{domain}", phone=phone, job_title=title, actor=actor
        )
        for name, local, title, phone in PEOPLE
    ]
    # A different mix per client, so the MSP-wide view is not the same list three times.
    offset = zlib.crc32(customer.slug.encode()) % len(TICKETS)
    picked = [TICKETS[(offset + i) % len(TICKETS)] for i in range(5)]
    tickets = TicketService(session)
    for i, (title, priority, status, category, tags, mine, reply, note) in enumerate(picked):
        ticket = await tickets.create(
            ctx,
            title=title,
            description=f"Reported by {people[i % len(people)].name}.",
            priority=priority,
            requester_contact_id=people[i % len(people)].id,
            assignee_user_id=principal.user_id if mine else None,
            category=category,
            tags=tags,
            actor=actor,
        )
        if note:
            await tickets.comment(
                ctx, ticket.number, body=note, visibility=Visibility.INTERNAL, actor=actor
            )
        if reply:
            await tickets.comment(ctx, ticket.number, body=reply, visibility="public", actor=actor)
        if status != TicketStatus.NEW:
            await tickets.update(ctx, ticket.number, TicketChanges(status=status), actor=actor)
        if priority == Priority.P1 and ticket.first_responded_at is None:
            # Show what a breach looks like: this one's first response is overdue.
            ticket.first_response_due_at = utcnow() - timedelta(minutes=25)
    await session.flush()
