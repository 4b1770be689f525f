"""What the ticket pages share: the list's state in the query string, a row as shown
(SLA countdown, breach), the field names a form uses and the CSV of a list."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import Response

from tenantry.db.base import utcnow
from tenantry.errors import TenantryError
from tenantry.kit.csv import to_csv
from tenantry.psa.tickets.clock import sla_of
from tenantry.psa.tickets.models import Ticket
from tenantry.psa.tickets.schemas import SORTS, TicketFilter, build_filter
from tenantry.web.forms import field_errors

PAGE_SIZE = 50
FILTER_KEYS = ("status", "priority", "assignee", "category", "tag", "q", "breached", "requester")
STATUS_LABELS = {
    "new": "New",
    "open": "Open",
    "waiting_on_customer": "Waiting on customer",
    "on_hold": "On hold",
    "resolved": "Resolved",
    "closed": "Closed",
}
CSV_HEADER = ("client", "number", "title", "status", "priority", "assignee", "category",
              "tags", "created_at", "updated_at", "first_response_due_at", "resolution_due_at",
              "breached")  # fmt: skip


def countdown(due: datetime | None, now: datetime) -> str:
    """ "in 2h 05m" / "3d 4h overdue": what the SLA cell says before script refreshes it."""
    if due is None:
        return ""
    seconds = int((due - now).total_seconds())
    late = seconds < 0
    seconds = abs(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    text = f"{days}d {hours}h" if days else f"{hours}h {minutes:02d}m" if hours else f"{minutes}m"
    return f"{text} overdue" if late else f"in {text}"


def row(ticket: Ticket, now: datetime, **extra: Any) -> dict[str, Any]:
    view = sla_of(ticket, now)
    due = ticket.first_response_due_at or ticket.resolution_due_at
    return {
        "t": ticket,
        "sla": view,
        "due": due,
        "due_kind": "response" if ticket.first_response_due_at else "resolution",
        "due_text": countdown(due, now),
        "breached": view.first_response_breached or view.resolution_breached,
        **extra,
    }


class ListQuery:
    """The list's state, all in the query string (so back, reload and bookmarks work)."""

    def __init__(self, request: Request) -> None:
        params = request.query_params
        self.status = params.getlist("status") or ["open"]
        self.priority = [p for p in params.getlist("priority") if p]
        self.values = {
            k: params.get(k, "").strip()[:200]
            for k in FILTER_KEYS
            if k not in ("status", "priority")
        }
        self.sort = params.get("sort", "-updated")
        self.cursor = params.get("cursor") or None
        self.client = params.get("client", "").strip()[:100]

    def filter(self, tenant_ids: Iterable[uuid.UUID], me: uuid.UUID) -> TicketFilter:
        return build_filter(
            tenant_ids, me, status=self.status, priority=self.priority, **self.values
        )

    def pairs(self, **override: Any) -> list[tuple[str, str]]:
        state: dict[str, Any] = {
            "client": self.client,
            "status": self.status,
            "priority": self.priority,
            **self.values,
            "sort": self.sort,
        }
        state.update(override)
        out: list[tuple[str, str]] = []
        for key, value in state.items():
            for v in value if isinstance(value, list) else [value]:
                if (
                    v
                    and not (key == "status" and v == "open" and state["status"] == ["open"])
                    and not (key == "sort" and v == "-updated")
                ):
                    out.append((key, str(v)))
        return out

    def href(self, base: str, **override: Any) -> str:
        pairs = self.pairs(**override)
        return base + ("?" + urlencode(pairs) if pairs else "")


def sort_links(q: ListQuery, base: str) -> dict[str, str]:
    return {s: q.href(base, sort=s) for s in SORTS}


def form_errors(exc: TenantryError) -> dict[str, str]:
    """Service field names → the form's field names."""
    names = {"requester_contact_id": "requester", "assignee_user_id": "assignee"}
    return {names.get(k, k): v for k, v in field_errors(exc).items()}


def csv_response(rows: Sequence[tuple[Ticket, str]], filename: str) -> Response:
    """Tickets with their client's slug, as a formula-safe CSV download."""
    now = utcnow()

    def cells(t: Ticket, client: str) -> list[object]:
        view = sla_of(t, now)
        return [
            client,
            t.number,
            t.title,
            t.status.value,
            t.priority.value,
            t.assignee_name or "",
            t.category,
            " ".join(t.tags),
            t.created_at.isoformat(),
            t.updated_at.isoformat(),
            t.first_response_due_at.isoformat() if t.first_response_due_at else "",
            t.resolution_due_at.isoformat() if t.resolution_due_at else "",
            "yes" if view.first_response_breached or view.resolution_breached else "no",
        ]

    return Response(
        to_csv(CSV_HEADER, (cells(t, client) for t, client in rows)),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="{filename}"'},
    )
