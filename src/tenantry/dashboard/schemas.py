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
    service_plan: uuid.UUID | None = None
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
    service_plan: str | None = None,
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
    plan = (service_plan or "").strip()
    try:
        plan_id = uuid.UUID(plan) if plan else None
    except ValueError as exc:
        raise ValidationFailed("service_plan", "is not one of your service plans") from exc
    return DashboardQuery(
        client_group=group_id,
        service_plan=plan_id,
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


class ServicePlanOut(BaseModel):
    plan_id: uuid.UUID
    plan_name: str
    included_users: int = Field(description="Users the plan's price includes")
    counted_users: int = Field(description="The client's counted users now")


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
    service_plan: ServicePlanOut | None = Field(
        default=None, description="The client's service plan (null: none assigned)"
    )


class ManagedClients(BaseModel):
    active: int = Field(description="Clients with an active link, not suspended")
    suspended: int = Field(description="Clients with an active link, suspended")
    pending_link: int = Field(description="Link requests awaiting the client's consent")


class LimitOut(BaseModel):
    used: int
    limit: int | None = Field(description="null: unlimited")
    percent: int | None = Field(description="Of the limit; null: unlimited")


class DashboardTotals(BaseModel):
    """Over the clients the caller can reach (and the client group asked for)."""

    clients: int = Field(description="Clients shown (reach and group)")
    managed: ManagedClients = Field(description="The MSP's clients, whatever the caller reaches")
    average_score: float | None = Field(description="Mean of the clients' scores (percent)")
    scored_clients: int
    open_tickets: int
    sla_breaches: int
    plan: str | None = Field(description="The MSP's subscription plan (null: none)")
    client_tenants: LimitOut = Field(description="Client tenants used against the plan's limit")
    technician_seats: LimitOut = Field(description="Technician seats used against the limit")


class DashboardPage(BaseModel):
    items: list[DashboardRow]
    next_cursor: str | None = None
    totals: DashboardTotals


def percent(bp: int | None) -> float | None:
    """Basis points as a percentage with one decimal, rounded half up."""
    if bp is None:
        return None
    return ((bp + 5) // 10) / 10
