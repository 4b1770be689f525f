"""The rules of a risk's values and of the list's filters: each bad value is refused
naming its field (the API and the pages share them through the service)."""

from __future__ import annotations

from datetime import date
from typing import Any

from tenantry.compliance.risks.schemas import MAX_TEXT, RiskFilters, RiskQuery
from tenantry.compliance.risks.scoring import (
    LEVEL_NAMES,
    RATING_MAX,
    RATING_MIN,
    RATINGS,
    STATUSES,
    TREATMENTS,
    VIEWS,
    bounds,
)
from tenantry.errors import ValidationFailed


def printable(field: str, value: str) -> str:
    if any(ord(c) < 32 and c not in "\t\n\r" for c in value):
        raise ValidationFailed(field, "contains a control character")
    return value


def line(field: str, value: str, limit: int, *, required: bool = False) -> str:
    value = " ".join(printable(field, value).split())
    if required and not value:
        raise ValidationFailed(field, "must not be empty")
    if len(value) > limit:
        raise ValidationFailed(field, f"must be at most {limit} characters long")
    return value


def text(field: str, value: str) -> str:
    value = printable(field, value).strip()
    if len(value) > MAX_TEXT:
        raise ValidationFailed(field, f"must be at most {MAX_TEXT} characters long")
    return value


def rating(field: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value not in RATINGS:
        raise ValidationFailed(field, f"must be a whole number from {RATING_MIN} to {RATING_MAX}")
    return value


def one_of(field: str, value: Any, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ValidationFailed(field, f"must be one of {', '.join(allowed)}")
    return str(value)


def query_of(filters: RiskFilters, on: date) -> RiskQuery:
    """The filters checked (each bad one named) and made into the list's query."""
    view = one_of("view", filters.view, VIEWS)
    status = None if filters.status is None else one_of("status", filters.status, STATUSES)
    treatment = (
        None if filters.treatment is None else one_of("treatment", filters.treatment, TREATMENTS)
    )
    low = high = None
    if filters.level is not None:
        low, high = bounds(one_of("level", filters.level, LEVEL_NAMES))
    likelihood = None if filters.likelihood is None else rating("likelihood", filters.likelihood)
    impact = None if filters.impact is None else rating("impact", filters.impact)
    return RiskQuery(
        status=status,
        treatment=treatment,
        residual=view == "residual",
        score_min=low,
        score_max=high,
        likelihood=likelihood,
        impact=impact,
        review_before=on if filters.overdue else None,
    )
