"""The overview's typed input (``OverviewQuery``, checked here: every refusal names its
field) and its output shapes."""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, Field

from tenantry.errors import ValidationFailed
from tenantry.kit.pagination import check_limit

SORTS: dict[str, str] = {
    "score": "Score, lowest first",
    "-score": "Score, highest first",
    "name": "Client name",
}
DEFAULT_SORT = "score"


def percent(bp: int | None) -> float | None:
    """Basis points as a percentage with one decimal, rounded half up (3333 → 33.3)."""
    if bp is None:
        return None
    return ((bp + 5) // 10) / 10


def parse_score_below(raw: str | float | None) -> int | None:
    """ "Score below X" (a percentage, 0 < X ≤ 100, one decimal at most) as basis points."""
    if raw is None or raw == "":
        return None
    try:
        value = float(raw)
    except (TypeError, ValueError) as exc:
        raise ValidationFailed("score_below", "must be a percentage such as 60") from exc
    if not math.isfinite(value) or not 0 < value <= 100:
        raise ValidationFailed("score_below", "must be above 0 and at most 100")
    bp = value * 100
    if abs(bp - round(bp / 10) * 10) > 1e-6:
        raise ValidationFailed("score_below", "takes at most one decimal")
    return round(bp)


def parse_group(raw: str | None) -> uuid.UUID | None:
    if not raw:
        return None
    try:
        return uuid.UUID(raw)
    except ValueError as exc:
        raise ValidationFailed("client_group", "is not one of your client groups") from exc


@dataclass(frozen=True, slots=True)
class OverviewQuery:
    """What the overview shows: filters, order and the page asked for."""

    framework: str | None = None
    client_group: uuid.UUID | None = None
    below_bp: int | None = None
    overdue_only: bool = False
    sort: str = DEFAULT_SORT
    cursor: str | None = None
    limit: int = 50
    list_not_started: bool = False

    def __post_init__(self) -> None:
        if self.sort not in SORTS:
            raise ValidationFailed("sort", f"must be one of {', '.join(SORTS)}")
        if self.framework is not None and not 0 < len(self.framework) <= 100:
            raise ValidationFailed("framework", "must be a framework key (at most 100 characters)")
        check_limit(self.limit)


def build_query(
    *,
    framework: str | None = None,
    client_group: str | None = None,
    score_below: str | float | None = None,
    overdue: bool = False,
    sort: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
    not_started: bool = False,
) -> OverviewQuery:
    """The query from what a request carries (the API's parameters, the page's query
    string); every refusal names its field."""
    return OverviewQuery(
        framework=(framework or "").strip() or None,
        client_group=parse_group((client_group or "").strip()),
        below_bp=parse_score_below(score_below),
        overdue_only=overdue,
        sort=sort or DEFAULT_SORT,
        cursor=cursor or None,
        limit=limit,
        list_not_started=not_started,
    )


class ClientRef(BaseModel):
    tenant_id: uuid.UUID
    tenant_slug: str
    tenant_name: str


class OverviewRow(ClientRef):
    """One client's standing in one adopted framework, from its kept score."""

    framework_id: uuid.UUID
    framework_key: str
    framework_title: str
    score: float | None = Field(
        description="Implemented over applicable requirements, partial counting half, in "
        "percent with one decimal; null while nothing is applicable"
    )
    score_bp: int | None = Field(description="The same in basis points (0 … 10000)")
    implemented: int
    partial: int
    applicable: int
    total: int
    not_assessed: int
    overdue: int = Field(
        description="Assessments due before today (in the MSP's time zone) and not "
        "implemented or not applicable"
    )
    trend: list[float | None] = Field(description="The last scores, oldest first, in percent")
    changed_at: datetime


class FrameworkTotal(BaseModel):
    framework_key: str
    framework_title: str
    clients: int = Field(description="Clients that adopted it")
    scored: int = Field(description="Of those, clients with a score")
    average: float | None = Field(description="Their average score in percent (one decimal)")


class OverviewTotals(BaseModel):
    clients: int = Field(description="Clients you may read the compliance of (in the group)")
    with_programme: int = Field(description="Of those, clients with an adopted framework")
    not_started: int = Field(description="Of those, clients without an adopted framework")
    with_overdue: int = Field(description="Clients with an overdue assessment")
    frameworks: list[FrameworkTotal]


class OverviewPage(BaseModel):
    items: list[OverviewRow]
    next_cursor: str | None = None
    totals: OverviewTotals
    not_started_clients: list[ClientRef] | None = Field(
        default=None,
        description="With not_started=true: clients without an adopted framework, by name "
        "(at most 500)",
    )
