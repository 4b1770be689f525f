"""Tickets: input/output shapes and field rules."""

from __future__ import annotations

import enum
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from tenantry.errors import ValidationFailed
from tenantry.kit.pagination import Page
from tenantry.psa.tickets.models import (
    DONE_STATUSES,
    OPEN_STATUSES,
    PAUSED_STATUSES,
    Priority,
    TicketStatus,
    Visibility,
)

MAX_TITLE = 300
MAX_DESCRIPTION = 20_000
MAX_CATEGORY = 100
MAX_TAGS = 20
MAX_TAG = 40
MAX_BULK = 500
# Ticket numbers are 32-bit in the database: the schema says so, and a larger one is a
# 422 naming it rather than an error from the driver.
MAX_NUMBER = 2**31 - 1
TicketNumber = Annotated[int, Field(ge=1, le=MAX_NUMBER)]

SORTS = ("-updated", "updated", "-number", "number", "priority", "-priority", "due", "-created")
SortKey = Literal[
    "-updated", "updated", "-number", "number", "priority", "-priority", "due", "-created"
]


class Unset(enum.Enum):
    """A field a change leaves alone (None may mean "clear": unassign, no requester)."""

    UNSET = "unset"


UNSET = Unset.UNSET


@dataclass(frozen=True, slots=True)
class TicketChanges:
    """What to change on a ticket, as typed (the service checks every value and names
    the field); fields left UNSET stay as they are."""

    # In the order the edit form gives them: the history lists a change in this order.
    title: str | Unset = UNSET
    description: str | Unset = UNSET
    status: TicketStatus | str | Unset = UNSET
    priority: Priority | str | Unset = UNSET
    category: str | Unset = UNSET
    tags: Sequence[str] | Unset | None = UNSET
    assignee_user_id: uuid.UUID | Unset | None = UNSET
    requester_contact_id: uuid.UUID | Unset | None = UNSET

    def given(self) -> dict[str, Any]:
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        return {k: v for k, v in values.items() if v is not UNSET}

    @classmethod
    def of(cls, body: TicketPatch | BulkUpdate) -> TicketChanges:
        """The fields the caller sent (an explicit null unassigns or clears)."""
        sent = body.model_fields_set - {"numbers"}
        return cls(**{name: getattr(body, name) for name in sent})


@dataclass(frozen=True, slots=True)
class TicketFilter:
    """What a list shows; every field optional. ``tenant_ids`` for MSP-wide lists."""

    tenant_ids: frozenset[uuid.UUID]
    statuses: frozenset[TicketStatus] = OPEN_STATUSES
    priorities: frozenset[Priority] = frozenset()
    assignee: uuid.UUID | None = None
    unassigned: bool = False
    requester: uuid.UUID | None = None
    category: str | None = None
    tag: str | None = None
    q: str | None = None
    breached: bool | None = None


class TicketIn(BaseModel):
    title: str = Field(max_length=MAX_TITLE)
    description: str = Field(default="", max_length=MAX_DESCRIPTION)
    priority: Priority = Priority.P3
    requester_contact_id: uuid.UUID | None = None
    assignee_user_id: uuid.UUID | None = None
    category: str = Field(default="", max_length=MAX_CATEGORY)
    tags: list[str] = Field(default_factory=list, max_length=MAX_TAGS)


class TicketPatch(BaseModel):
    title: str | None = Field(default=None, max_length=MAX_TITLE)
    description: str | None = Field(default=None, max_length=MAX_DESCRIPTION)
    status: TicketStatus | None = None
    priority: Priority | None = None
    requester_contact_id: uuid.UUID | None = None
    assignee_user_id: uuid.UUID | None = None
    category: str | None = Field(default=None, max_length=MAX_CATEGORY)
    tags: list[str] | None = Field(default=None, max_length=MAX_TAGS)


class CommentIn(BaseModel):
    body: str = Field(max_length=MAX_DESCRIPTION)
    visibility: Visibility = Visibility.PUBLIC


class BulkUpdate(BaseModel):
    """The same change to many tickets (one history event per ticket)."""

    numbers: list[TicketNumber] = Field(min_length=1, max_length=MAX_BULK)
    status: TicketStatus | None = None
    priority: Priority | None = None
    # Sent as null to unassign: distinguish "not given" with model_fields_set.
    assignee_user_id: uuid.UUID | None = None


class BulkResult(BaseModel):
    updated: list[int]


class SlaOut(BaseModel):
    first_response_due_at: datetime | None
    resolution_due_at: datetime | None
    first_responded_at: datetime | None
    resolved_at: datetime | None
    paused: bool
    first_response_breached: bool
    resolution_breached: bool


class TicketOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    tenant_id: uuid.UUID
    number: int
    title: str
    description: str
    status: TicketStatus
    priority: Priority
    requester_contact_id: uuid.UUID | None
    assignee_user_id: uuid.UUID | None
    assignee_name: str | None
    category: str
    tags: list[str]
    created_at: datetime
    updated_at: datetime
    sla: SlaOut


class MspTicketOut(TicketOut):
    tenant_slug: str
    tenant_name: str


class CommentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    visibility: Visibility
    body: str
    author_user_id: uuid.UUID | None
    author_name: str
    created_at: datetime


class EventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    kind: str
    changes: dict[str, Any]
    actor_user_id: uuid.UUID | None
    actor_name: str
    created_at: datetime


class TargetMinutes(BaseModel):
    first_response: int = Field(ge=1, le=365 * 24 * 60)
    resolution: int = Field(ge=1, le=365 * 24 * 60)


class SlaPolicyIn(BaseModel):
    targets: dict[Priority, TargetMinutes]
    business_hours: dict[str, list[tuple[str, str]]] = Field(
        description='Weekday (0 = Monday … 6 = Sunday) → [["08:00", "17:00"], …]'
    )
    holidays: list[str] = Field(default_factory=list, description="ISO dates, e.g. 2026-12-25")
    time_zone: str | None = Field(
        default=None,
        max_length=64,
        description="The tenant's IANA time zone (e.g. Europe/Berlin); omitted: unchanged",
    )


class SlaPolicyOut(SlaPolicyIn):
    time_zone: str


class CountOut(BaseModel):
    tenant_id: uuid.UUID
    tenant_slug: str
    tenant_name: str
    open: int
    breached: int


class CountPage(Page[CountOut]):
    """A page of clients, and the totals over every client the caller sees."""

    total_open: int
    total_breached: int
    clients_with_open: int


def clean_title(value: str) -> str:
    value = " ".join(value.split())
    if not value:
        raise ValidationFailed("title", "must not be empty")
    if len(value) > MAX_TITLE:
        raise ValidationFailed("title", f"must be at most {MAX_TITLE} characters long")
    return value


def clean_description(value: str) -> str:
    value = value.strip()
    if len(value) > MAX_DESCRIPTION:
        raise ValidationFailed("description", f"must be at most {MAX_DESCRIPTION} characters")
    return value


def clean_category(value: str) -> str:
    value = " ".join(value.split())
    if len(value) > MAX_CATEGORY:
        raise ValidationFailed("category", f"must be at most {MAX_CATEGORY} characters long")
    return value


def clean_tags(values: list[str]) -> list[str]:
    tags: list[str] = []
    for raw in values:
        tag = " ".join(raw.split()).lower()
        if not tag:
            continue
        if len(tag) > MAX_TAG:
            raise ValidationFailed("tags", f"'{tag[:20]}…' is longer than {MAX_TAG} characters")
        if '"' in tag or "," in tag:
            raise ValidationFailed("tags", "must not contain commas or double quotes")
        if tag not in tags:
            tags.append(tag)
    if len(tags) > MAX_TAGS:
        raise ValidationFailed("tags", f"at most {MAX_TAGS} tags")
    return tags


def parse_priority(value: str, field: str = "priority") -> Priority:
    try:
        return Priority(value.upper())
    except ValueError as exc:
        raise ValidationFailed(field, "must be one of P1, P2, P3, P4") from exc


def parse_status(value: str, field: str = "status") -> TicketStatus:
    try:
        return TicketStatus(value)
    except ValueError as exc:
        raise ValidationFailed(
            field, "must be one of " + ", ".join(s.value for s in TicketStatus)
        ) from exc


def parse_windows(text: str) -> list[tuple[str, str]]:
    """What the SLA page's weekday field says → windows: ``08:00-17:00`` or several,
    comma-separated (``08:00-12:00, 13:00-17:00``); empty: closed. Raises ValueError
    with words for the form; the times themselves are checked by the service."""
    windows: list[tuple[str, str]] = []
    for part in text.replace("\u2013", "-").split(","):
        part = part.strip()
        if not part:
            continue
        start, sep, end = part.partition("-")
        if not sep or not start.strip() or not end.strip():
            raise ValueError("write hours as 08:00-17:00, several separated by commas")
        windows.append((start.strip(), end.strip()))
    return windows


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


@dataclass(frozen=True, slots=True)
class PolicyChange:
    """A tenant's new SLA policy as given (the page's fields or the API's body); the
    service checks every value before writing and names the field of a bad one. A
    ``time_zone`` of None leaves the tenant's zone as it is."""

    targets: Mapping[str, Mapping[str, int | str]]
    business_hours: Mapping[str, Sequence[Sequence[str]]]
    holidays: Sequence[str]
    time_zone: str | None = None
