"""What both sides' links pages share: the field errors, a ceiling in words, and a
link's history told as sentences."""

from __future__ import annotations

from typing import Any

from tenantry.access.permissions import CEILING_TEMPLATES
from tenantry.audit.models import AuditEvent
from tenantry.errors import Conflict, NotFound, TenantryError, ValidationFailed
from tenantry.http.deps import Work
from tenantry.links.schemas import LinkView, grouped
from tenantry.links.service import LinkService
from tenantry.web.forms import field_errors

LINKS = "/msp/links"
PAGE_SIZE = 50
HISTORY_SIZE = 100
TABS = (
    ("live", "Pending and active"),
    ("pending", "Pending"),
    ("active", "Active"),
    ("ended", "Ended"),
)


def msp_only(work: Work) -> None:
    if not work.ctx.tenant.is_msp:
        raise NotFound(f"{work.ctx.tenant.display_name} is not an MSP, so it has no client links.")


def field_errors_or_raise(exc: TenantryError) -> dict[str, str]:
    """Errors that belong next to a field; anything else (a link that is not there, a
    permission) is the whole page's answer and is raised again."""
    if isinstance(exc, ValidationFailed | Conflict) or (
        isinstance(exc, NotFound) and "errors" in exc.extra
    ):
        return field_errors(exc)
    raise exc


def confirmed(value: str, field: str, message: str) -> None:
    if value != "yes":
        raise ValidationFailed(field, message)


def ceiling_words(view: LinkView) -> dict[str, Any]:
    link = view.link
    given = set(link.ceiling)
    withheld = set(link.requested_ceiling) - given if link.activated_at else set()
    return {
        "ceiling": grouped(link.ceiling),
        "requested": grouped(link.requested_ceiling),
        "withheld": grouped(withheld),
        "withheld_count": len(withheld),
    }


ACTIONS = {
    "link.created": "Created with the client",
    "link.requested": "Asked to manage",
    "link.flagged": "Flagged by the operator",
    "link.approved": "Approved",
    "link.declined": "Declined",
    "link.narrowed": "Narrowed",
    "link.revoked": "Ended",
    "link.expired": "Expired",
    "link.extended": "Renewed",
    "link.blocked": "Blocked someone",
    "link.unblocked": "Unblocked someone",
}


def _when(value: object) -> str:
    # Changes hold plain JSON: timestamps come back as ISO strings.
    if not isinstance(value, str) or not value:
        return "no end date"
    return value[:16].replace("T", " ") + " UTC"


def _count(value: object) -> int:
    return len(value) if isinstance(value, list) else 0


def describe(event: AuditEvent) -> dict[str, Any]:
    """One history row in words: what happened, who did it, and what it changed."""
    c = event.changes
    action = event.action
    summary = ""
    if action in ("link.requested", "link.flagged"):
        asked, days = (
            c.get("requested_ceiling", [None, []])[1],
            c.get("duration_days", [None, None])[1],
        )
        summary = f"asked for {_count(asked)} permissions, " + (
            f"for {days} days" if days else "with no end date"
        )
        if c.get("msp_auto_extend", [None, False])[1]:
            summary += "; would renew automatically"
    elif action == "link.approved":
        given, withheld = c.get("ceiling", [[], []])[1], c.get("withheld", [None, []])[1]
        summary = f"gave {_count(given)} permissions"
        if withheld:
            summary += "; not given: " + ", ".join(map(str, withheld))
        summary += "; ends " + _when(c.get("expires_at", [None, None])[1])
        if c.get("customer_auto_extend", [None, False])[1]:
            summary += "; client agreed to renew automatically"
    elif action == "link.narrowed":
        summary = "took away: " + ", ".join(map(str, c.get("removed", [None, []])[1]))
    elif action in ("link.revoked", "link.declined"):
        summary = "by the MSP" if c.get("by", [None, None])[1] == "msp" else "by the client"
    elif action == "link.expired":
        summary = "at " + _when(c.get("expires_at", [None, None])[1])
    elif action == "link.extended":
        summary = "now ends " + _when(c.get("expires_at", [None, None])[1])
    elif action == "link.blocked":
        summary = f"{c.get('blocked', [None, '?'])[1]} can no longer act here"
    elif action == "link.unblocked":
        summary = f"{c.get('blocked', ['?', None])[0]}'s grants count here again"
    elif action == "link.created":
        # Before ceiling templates the event said "all permissions".
        template = c.get("template", [None, None])[1]
        made = CEILING_TEMPLATES.get(template) if isinstance(template, str) else None
        summary = "the MSP created this client: " + (
            f"{made.name} ({len(made.permissions)} permissions)" if made else "every permission"
        )
    who = event.actor_name
    if event.actor_home_tenant_name:
        who += f" ({event.actor_home_tenant_name})"
    return {
        "occurred_at": event.occurred_at,
        "label": ACTIONS.get(action, action),
        "who": who,
        "summary": summary,
    }


async def history_context(
    service: LinkService, work: Work, view: LinkView | None, cursor: str | None
) -> dict[str, Any]:
    if view is None or not work.ctx.can("audit:read"):
        return {"events": None, "history_next": None}
    try:
        events, next_cursor = await service.history(
            work.ctx, view.link.id, cursor=cursor, limit=HISTORY_SIZE
        )
    except ValidationFailed:
        events, next_cursor = await service.history(
            work.ctx, view.link.id, cursor=None, limit=HISTORY_SIZE
        )
    return {"events": [describe(e) for e in events], "history_next": next_cursor}


# ================================================================ the MSP's side
