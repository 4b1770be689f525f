"""The dashboard's typed input (``DashboardQuery``: every refusal names its field) and its
output shapes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, Field

from tenantry.errors import ValidationFailed
from tenantry.kit.pagination import check_limit

# Every sort; a leading "-" reverses (ties always by name, then slug).
SORTS: dict[str, str] = {
    "attention": "Needs attention (breaches, then open tickets)",
    "name": "Client name",
    "-name": "Client name, Z to A",
    "score": "Compliance score, lowest first",
    "-score": "Compliance score, highest first",
    "open": "Open tickets, fewest first",
    "-open": "Open tickets, most first",
    "breached": "SLA breaches, fewest first",
    "-breached": "SLA breaches, most first",
    "activity": "Last MSP activity, longest ago first",
    "-activity": "Last MSP activity, most recent first",
    "expiry": "Link expiry, soonest first",
}
DEFAULT_SORT = "attention"
MAX_SEARCH = 100


@dataclass(frozen=True, slots=True)
class DashboardQuery:
    client_group: uuid.UUID | None = None
    search: str | None = None
    sort: str = DEFAULT_SORT
    cursor: str | None = None
    limit: int = 50

    def __post_init__(self) -> None:
        if self.sort not in SORTS:
            raise ValidationFailed("sort", f"must be one of {', '.join(SORTS)}")
        if self.search is not None and len(self.search) > MAX_SEARCH:
            raise ValidationFailed("q", f"must be at most {MAX_SEARCH} characters")
        check_limit(self.limit)


def build_query(
    *,
    client_group: str | None = None,
    q: str | None = None,
    sort: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> DashboardQuery:
    group = (client_group or "").strip()
    try:
        group_id = uuid.UUID(group) if group else None
    except ValueError as exc:
        raise ValidationFailed("client_group", "is not one of your client groups") from exc
    return DashboardQuery(
        client_group=group_id,
        search=(q or "").strip().lower() or None,
        sort=(sort or "").strip() or DEFAULT_SORT,
        cursor=cursor or None,
        limit=limit,
    )


class FrameworkScoreOut(BaseModel):
    framework_key: str
    framework_title: str
    score: float | None = Field(description="Percent with one decimal; null: nothing applicable")
    trend: list[float] = Field(description="The last scores, oldest first, in percent")


class DashboardRow(BaseModel):
    tenant_id: uuid.UUID
    tenant_slug: str
    tenant_name: str
    tenant_status: str = Field(description="active or suspended")
    link_state: str = Field(description="The MSP's link to the client (active)")
    link_expires_at: datetime | None
    open_tickets: int
    sla_breaches: int
    score: float | None = Field(description="Mean of the adopted frameworks' scores (percent)")
    frameworks: list[FrameworkScoreOut]
    last_msp_activity_at: datetime | None
    last_msp_activity_by: str | None


class ManagedClients(BaseModel):
    active: int = Field(description="Clients with an active link, not suspended")
    suspended: int = Field(description="Clients with an active link, suspended")
    pending_link: int = Field(description="Link requests awaiting the client's consent")


class DashboardTotals(BaseModel):
    """Over the clients the caller can reach (and the client group asked for)."""

    clients: int = Field(description="Clients shown (reach and group)")
    managed: ManagedClients = Field(description="The MSP's clients, whatever the caller reaches")
    average_score: float | None = Field(description="Mean of the clients' scores (percent)")
    scored_clients: int
    open_tickets: int
    sla_breaches: int
    # Client tenants and technician seats used against the plan's limits are the
    # subscription's figures (issue #17, "Subscription and limits"): added at merge.


class DashboardPage(BaseModel):
    items: list[DashboardRow]
    next_cursor: str | None = None
    totals: DashboardTotals


def percent(bp: int | None) -> float | None:
    """Basis points as a percentage with one decimal, rounded half up."""
    if bp is None:
        return None
    return ((bp + 5) // 10) / 10
