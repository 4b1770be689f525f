"""Risk register: input/output shapes and the form reading shared by the API and the
pages. The rules (ratings 1..5, treatments, lengths, the owner) are the service's, so the
API and a page say the same thing about the same bad value."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from tenantry.compliance.risks.scoring import level_of, score
from tenantry.errors import ValidationFailed

if TYPE_CHECKING:
    from tenantry.compliance.risks.models import Risk, RiskChange

MAX_TITLE = 200
MAX_CATEGORY = 100
MAX_OWNER = 254
MAX_TEXT = 20_000
# What the request bodies accept before the service's own checks (a bound on the size
# of a request, not the rule: the service names the field with the real limit).
_LOOSE = MAX_TEXT + 1

# Fields a change may set; ``owner_user_id`` and ``next_review_on`` may be set to null.
FIELDS: tuple[str, ...] = (
    "title",
    "description",
    "category",
    "likelihood",
    "impact",
    "treatment",
    "treatment_plan",
    "owner_user_id",
    "owner_name",
    "residual_likelihood",
    "residual_impact",
    "status",
    "next_review_on",
)
RATING_FIELDS = ("likelihood", "impact", "residual_likelihood", "residual_impact")


class RiskIn(BaseModel):
    """A new risk. Residual likelihood and impact default to the inherent ones (nothing
    in place yet)."""

    title: str = Field(max_length=_LOOSE)
    description: str = Field(default="", max_length=_LOOSE)
    category: str = Field(default="", max_length=_LOOSE)
    likelihood: int
    impact: int
    treatment: str = Field(max_length=100)
    treatment_plan: str = Field(default="", max_length=_LOOSE)
    owner_user_id: uuid.UUID | None = None
    owner_name: str = Field(default="", max_length=_LOOSE)
    residual_likelihood: int | None = None
    residual_impact: int | None = None
    status: str = Field(default="open", max_length=100)
    next_review_on: date | None = None


class RiskPatch(BaseModel):
    """Fields to change; a field left out stays as it is."""

    title: str | None = Field(default=None, max_length=_LOOSE)
    description: str | None = Field(default=None, max_length=_LOOSE)
    category: str | None = Field(default=None, max_length=_LOOSE)
    likelihood: int | None = None
    impact: int | None = None
    treatment: str | None = Field(default=None, max_length=100)
    treatment_plan: str | None = Field(default=None, max_length=_LOOSE)
    owner_user_id: uuid.UUID | None = None
    owner_name: str | None = Field(default=None, max_length=_LOOSE)
    residual_likelihood: int | None = None
    residual_impact: int | None = None
    status: str | None = Field(default=None, max_length=100)
    next_review_on: date | None = None

    def given(self) -> dict[str, Any]:
        """The fields the caller sent (an explicit null included)."""
        return {name: getattr(self, name) for name in FIELDS if name in self.model_fields_set}


class RiskLinkIn(BaseModel):
    """Exactly one of the two: a requirement or an applied measure of this tenant."""

    requirement_id: uuid.UUID | None = None
    measure_id: uuid.UUID | None = None


@dataclass(frozen=True, slots=True)
class RiskQuery:
    """What the list reads (the service makes it from the filters): scores and ratings
    of the inherent values, or of the residual ones when ``residual``."""

    status: str | None = None
    treatment: str | None = None
    residual: bool = False
    score_min: int | None = None
    score_max: int | None = None
    likelihood: int | None = None
    impact: int | None = None
    # Open risks whose next review is before this day (the overdue list).
    review_before: date | None = None


@dataclass(frozen=True, slots=True)
class RiskFilters:
    """The list's filters as a caller gives them (strings checked by the service)."""

    status: str | None = None
    level: str | None = None
    treatment: str | None = None
    view: str = "inherent"
    likelihood: int | None = None
    impact: int | None = None
    overdue: bool = False


class RiskOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    tenant_id: uuid.UUID
    title: str
    description: str
    category: str
    likelihood: int
    impact: int
    score: int = Field(description="likelihood x impact, 1..25")
    level: str = Field(description="low (1-4), medium (5-9), high (10-16), critical (17-25)")
    treatment: str
    treatment_plan: str
    owner_user_id: uuid.UUID | None
    owner_name: str
    residual_likelihood: int
    residual_impact: int
    residual_score: int
    residual_level: str
    status: str
    next_review_on: date | None
    review_overdue: bool = Field(description="open, and the next review day has passed")
    created_at: datetime
    updated_at: datetime
    updated_by_name: str

    @classmethod
    def of(cls, risk: Risk, today: date) -> RiskOut:
        inherent = score(risk.likelihood, risk.impact)
        residual = score(risk.residual_likelihood, risk.residual_impact)
        return cls.model_validate(
            {
                **{k: getattr(risk, k) for k in (*FIELDS, "id", "tenant_id")},
                "created_at": risk.created_at,
                "updated_at": risk.updated_at,
                "updated_by_name": risk.updated_by_name,
                "score": inherent,
                "level": level_of(inherent),
                "residual_score": residual,
                "residual_level": level_of(residual),
                "review_overdue": is_overdue(risk, today),
            }
        )


def is_overdue(risk: Risk, today: date) -> bool:
    return risk.status == "open" and risk.next_review_on is not None and risk.next_review_on < today


class RiskLinkOut(BaseModel):
    id: uuid.UUID
    risk_id: uuid.UUID
    kind: Literal["requirement", "measure"]
    target_id: uuid.UUID
    # A requirement's ref and its framework's key; empty for a measure.
    ref: str
    framework_key: str
    title: str
    created_at: datetime


class RiskDetailOut(RiskOut):
    links: list[RiskLinkOut]


class RiskChangeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    action: str
    changes: dict[str, Any]
    actor_name: str
    created_at: datetime

    @classmethod
    def of(cls, change: RiskChange) -> RiskChangeOut:
        return cls.model_validate(change)


class HeatCell(BaseModel):
    likelihood: int
    impact: int
    score: int
    level: str
    count: int = Field(description="open risks rated here")


class HeatMapOut(BaseModel):
    view: Literal["inherent", "residual"]
    open_risks: int
    # 25 cells, likelihood 5 → 1, impact 1 → 5 within each (the order a table reads).
    cells: list[HeatCell]


@dataclass(frozen=True, slots=True)
class Linkable:
    """A requirement or measure a page offers to link."""

    kind: Literal["requirement", "measure"]
    id: uuid.UUID
    label: str
    group: str


# ---- reading a page's form (strings) into the API's shapes


def form_rating(name: str, value: str) -> int | None:
    """A rating as typed in a form ("" is none); not a whole number names the field."""
    value = value.strip()
    if not value:
        return None
    try:
        return int(value)
    except ValueError as exc:
        raise ValidationFailed(name, "must be a whole number from 1 to 5") from exc


def form_date(name: str, value: str) -> date | None:
    value = value.strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise ValidationFailed(name, "must be a date (YYYY-MM-DD)") from exc


def form_id(name: str, value: str, what: str = "an id") -> uuid.UUID | None:
    value = value.strip()
    if not value:
        return None
    try:
        return uuid.UUID(value)
    except ValueError as exc:
        raise ValidationFailed(name, f"is not {what}") from exc


def patch_of_form(form: dict[str, str]) -> RiskPatch:
    """The fields a risk form sent, as a change (a field the form lacks is left out)."""
    values: dict[str, Any] = {}
    for name, value in form.items():
        if name in RATING_FIELDS:
            values[name] = form_rating(name, value)
        elif name == "next_review_on":
            values[name] = form_date(name, value)
        elif name == "owner_user_id":
            values[name] = form_id(name, value, "a user id")
        elif name in FIELDS:
            values[name] = value
    return RiskPatch(**values)
