"""Tickets and everything that hangs off them; every table is tenant-owned and every
child refers to its ticket by ``(tenant_id, ticket_id)`` so a row can never point into
another tenant."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Enum,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from tenantry.db.base import Base, TenantOwned, utcnow


class TicketStatus(enum.StrEnum):
    NEW = "new"
    OPEN = "open"
    WAITING_ON_CUSTOMER = "waiting_on_customer"
    ON_HOLD = "on_hold"
    RESOLVED = "resolved"
    CLOSED = "closed"


# The SLA clock stands still in these (the customer or a third party has the ball).
PAUSED_STATUSES = frozenset({TicketStatus.WAITING_ON_CUSTOMER, TicketStatus.ON_HOLD})
DONE_STATUSES = frozenset({TicketStatus.RESOLVED, TicketStatus.CLOSED})
OPEN_STATUSES = frozenset(set(TicketStatus) - DONE_STATUSES)


class Priority(enum.StrEnum):
    P1 = "P1"
    P2 = "P2"
    P3 = "P3"
    P4 = "P4"


class Visibility(enum.StrEnum):
    PUBLIC = "public"
    INTERNAL = "internal"


def _enum(e: type[enum.StrEnum], name: str) -> Enum:
    return Enum(
        e, name=name, native_enum=False, length=24, values_callable=lambda x: [m.value for m in x]
    )


class TicketCounter(TenantOwned, Base):
    """The tenant's next ticket number. Creating a ticket locks this row (FOR UPDATE),
    so concurrent creations queue here and numbers stay gap-free and unique."""

    __tablename__ = "ticket_counters"

    next_number: Mapped[int] = mapped_column(Integer, default=1001)

    __table_args__ = (UniqueConstraint("tenant_id"),)


class SlaPolicy(TenantOwned, Base):
    """One per tenant. ``targets``: {"P1": {"first_response": minutes, "resolution":
    minutes}, …}; ``business_hours``: {"0": [["08:00", "17:00"]], …} keyed by ISO weekday
    - 1 (Monday = 0); ``holidays``: ["2026-12-25", …]; all in the tenant's time zone."""

    __tablename__ = "sla_policies"

    targets: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    business_hours: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    holidays: Mapped[list[str]] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (UniqueConstraint("tenant_id"),)


class Ticket(TenantOwned, Base):
    __tablename__ = "tickets"

    number: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    requester_contact_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    status: Mapped[TicketStatus] = mapped_column(
        _enum(TicketStatus, "ticket_status"), default=TicketStatus.NEW
    )
    priority: Mapped[Priority] = mapped_column(_enum(Priority, "ticket_priority"))
    # A user id (platform table, possibly another tenant's: an MSP technician). No FK:
    # a technician leaving the MSP must not make the client's history undeletable.
    assignee_user_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    assignee_name: Mapped[str | None] = mapped_column(String(254), default=None)
    category: Mapped[str] = mapped_column(String(100), default="")
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # SLA clock (psa/tickets/sla.py): business seconds consumed up to ``sla_running_since``;
    # ``sla_running_since`` is None while paused or done.
    sla_consumed_seconds: Mapped[int] = mapped_column(Integer, default=0)
    sla_running_since: Mapped[datetime | None] = mapped_column(default=None)
    first_response_due_at: Mapped[datetime | None] = mapped_column(default=None)
    resolution_due_at: Mapped[datetime | None] = mapped_column(default=None)
    first_responded_at: Mapped[datetime | None] = mapped_column(default=None)
    resolved_at: Mapped[datetime | None] = mapped_column(default=None)
    # Set once a target was missed and kept after the ticket moves on (counted in views).
    first_response_breached: Mapped[bool] = mapped_column(Boolean, default=False)
    resolution_breached: Mapped[bool] = mapped_column(Boolean, default=False)

    __table_args__ = (
        UniqueConstraint("tenant_id", "number"),
        ForeignKeyConstraint(
            ["tenant_id", "requester_contact_id"], ["contacts.tenant_id", "contacts.id"]
        ),
        Index("ix_tickets_tenant_id_status_priority", "tenant_id", "status", "priority"),
        Index("ix_tickets_tenant_id_assignee_user_id", "tenant_id", "assignee_user_id"),
        Index("ix_tickets_tenant_id_updated_at", "tenant_id", "updated_at"),
        # The MSP-wide view: newest open tickets of every client, read in this order under
        # the multi-tenant scope (migration 0008). The one index that does not lead with
        # tenant_id; the isolation guard accepts it because it names its reason.
        Index(
            "ix_tickets_updated_at",
            "updated_at",
            info={"cross_tenant": "MSP-wide ticket view, newest first across clients"},
        ),
        # Targets pending and not yet flagged, by due time (migration 0015): the breach
        # sweep finds the overdue ones across tenants, and the per-client counts add the
        # few it has not reached yet. Partial: once flagged (or met, or without a due
        # time) a ticket leaves. Each database gets the predicate as SQLAlchemy renders
        # the repository's terms there: SQLite uses a partial index only when the query
        # repeats them.
        Index(
            "ix_tickets_first_response_due_at_unflagged",
            "first_response_due_at",
            sqlite_where=text(
                "first_response_breached = 0 AND resolution_breached = 0 "
                "AND first_responded_at IS NULL AND first_response_due_at IS NOT NULL"
            ),
            postgresql_where=text(
                "NOT first_response_breached AND NOT resolution_breached "
                "AND first_responded_at IS NULL AND first_response_due_at IS NOT NULL"
            ),
            info={"cross_tenant": "the breach sweep finds overdue tickets in every tenant"},
        ),
        Index(
            "ix_tickets_resolution_due_at_unflagged",
            "resolution_due_at",
            sqlite_where=text(
                "first_response_breached = 0 AND resolution_breached = 0 "
                "AND resolved_at IS NULL AND resolution_due_at IS NOT NULL"
            ),
            postgresql_where=text(
                "NOT first_response_breached AND NOT resolution_breached "
                "AND resolved_at IS NULL AND resolution_due_at IS NOT NULL"
            ),
            info={"cross_tenant": "the breach sweep finds overdue tickets in every tenant"},
        ),
    )


class TicketComment(TenantOwned, Base):
    """A public reply (the requester sees it) or an internal note (technicians only)."""

    __tablename__ = "ticket_comments"

    ticket_id: Mapped[uuid.UUID]
    visibility: Mapped[Visibility] = mapped_column(_enum(Visibility, "ticket_comment_visibility"))
    body: Mapped[str] = mapped_column(Text)
    author_user_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    author_name: Mapped[str] = mapped_column(String(254))

    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "ticket_id"], ["tickets.tenant_id", "tickets.id"]),
        Index("ix_ticket_comments_tenant_id_ticket_id", "tenant_id", "ticket_id", "created_at"),
    )


class TicketEvent(TenantOwned, Base):
    """The ticket's history as the ticket page shows it (the audit trail holds the same
    changes with the access explanation; this one is the ticket's own timeline)."""

    __tablename__ = "ticket_events"

    ticket_id: Mapped[uuid.UUID]
    kind: Mapped[str] = mapped_column(String(32))
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    actor_user_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    actor_name: Mapped[str] = mapped_column(String(254))

    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "ticket_id"], ["tickets.tenant_id", "tickets.id"]),
        Index("ix_ticket_events_tenant_id_ticket_id", "tenant_id", "ticket_id", "created_at"),
    )


class TicketOpenCount(TenantOwned, Base):
    """Open tickets of one tenant and one assignee (None: unassigned), and how many of
    them carry a breach flag. Kept in step with ``tickets`` in the unit of work of every
    change (open_counts.py), so the per-client counts read these rows, not the tickets.

    "Breached" here is the flags only; an open ticket overdue but not yet flagged is
    added at read time from the partial indexes above, and the breach sweep flags it
    (breach_sweep.py). Rows are kept at zero rather than deleted: a tenant has a few."""

    __tablename__ = "ticket_open_counts"

    assignee_user_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    open: Mapped[int] = mapped_column(Integer, default=0)
    breached: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (
        # One row per (tenant, assignee); NULL is not equal to NULL in a unique index on
        # either database, so the unassigned row has an index of its own.
        Index(
            "ix_ticket_open_counts_tenant_id_assignee_user_id",
            "tenant_id",
            "assignee_user_id",
            unique=True,
            sqlite_where=text("assignee_user_id IS NOT NULL"),
            postgresql_where=text("assignee_user_id IS NOT NULL"),
        ),
        Index(
            "ix_ticket_open_counts_tenant_id_unassigned",
            "tenant_id",
            unique=True,
            sqlite_where=text("assignee_user_id IS NULL"),
            postgresql_where=text("assignee_user_id IS NULL"),
        ),
    )
