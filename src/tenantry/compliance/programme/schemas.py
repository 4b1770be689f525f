"""A client's programme: input/output shapes and the field rules shared by the API and
the pages (each says the same thing about the same bad value)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, fields
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from tenantry.compliance.programme.models import ASSESSMENT_STATUSES, MEASURE_STATUSES
from tenantry.errors import ValidationFailed

MAX_NOTES = 10_000
MAX_NAME = 254
MAX_TITLE = 200
MAX_DESCRIPTION = 10_000
IMPLEMENTERS: tuple[str, ...] = ("client", "msp")
_UNSET: Any = object()


def clean_choice(field: str, value: str, choices: tuple[str, ...]) -> str:
    value = value.strip()
    if value not in choices:
        raise ValidationFailed(field, f"must be one of {', '.join(choices)}")
    return value


def clean_text(field: str, value: str, limit: int, *, required: bool = False) -> str:
    value = value.strip()
    if required and not value:
        raise ValidationFailed(field, "must not be empty")
    if len(value) > limit:
        raise ValidationFailed(field, f"must be at most {limit} characters long")
    return value


def clean_date(field: str, value: str | date | None) -> date | None:
    if value is None or isinstance(value, date):
        return value
    value = value.strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise ValidationFailed(field, "must be a date as YYYY-MM-DD") from exc


# ---------------------------------------------------------------- adopted frameworks


class AdoptIn(BaseModel):
    # ``KEY@VERSION`` of the shipped library, or the UUID of a written framework.
    framework: str = Field(min_length=1, max_length=200)


class AdoptedOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    key: str
    version: str
    title: str
    description: str
    origin: str
    source_id: uuid.UUID | None
    adopted_by_name: str
    created_at: datetime
    score_bp: int | None = None
    recent: list[int] = []


class AssessmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    framework_id: uuid.UUID
    requirement_id: uuid.UUID
    status: str
    na_reason: str
    owner_user_id: uuid.UUID | None
    owner_name: str
    due_on: date | None
    notes: str
    updated_at: datetime
    updated_by_name: str


class RequirementOut(BaseModel):
    id: uuid.UUID
    ref: str
    parent_ref: str | None
    title: str
    description: str
    assessable: bool
    assessment: AssessmentOut | None
    # The assessment's status, or better where a mapped measure is (see scoring.py).
    effective_status: str | None
    measure_ids: list[uuid.UUID] = []


# ---------------------------------------------------------------- assessments


class AssessmentPatch(BaseModel):
    status: str | None = Field(default=None, max_length=50)
    na_reason: str | None = Field(default=None, max_length=MAX_NOTES)
    # A user id of someone who may act in the tenant, or a free name; "" clears it.
    owner: str | None = Field(default=None, max_length=MAX_NAME)
    due_on: date | None = None
    notes: str | None = Field(default=None, max_length=MAX_NOTES)


@dataclass(frozen=True, slots=True)
class AssessmentChanges:
    """Fields to change (``_UNSET``: leave as is; ``due_on=None`` clears the date)."""

    status: str | None = None
    na_reason: str | None = None
    owner: str | None = None
    due_on: date | str | None = _UNSET
    notes: str | None = None

    def given(self) -> dict[str, Any]:
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        return {
            k: v for k, v in values.items() if (v is not _UNSET if k == "due_on" else v is not None)
        }

    @classmethod
    def of(cls, patch: AssessmentPatch) -> AssessmentChanges:
        return cls(**patch.model_dump(exclude_unset=True))


class HistoryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    created_at: datetime
    actor_user_id: uuid.UUID | None
    actor_name: str
    # field → [old, new]
    changes: dict[str, Any]


def check_assessment_status(value: str) -> str:
    return clean_choice("status", value, ASSESSMENT_STATUSES)


# ---------------------------------------------------------------- measures


class MeasureIn(BaseModel):
    title: str = Field(max_length=1000)
    description: str = Field(default="", max_length=MAX_DESCRIPTION)
    status: str = Field(default="planned", max_length=50)
    implemented_by: str = Field(default="client", max_length=50)
    owner_name: str = Field(default="", max_length=1000)


class MeasurePatch(BaseModel):
    title: str | None = Field(default=None, max_length=1000)
    description: str | None = Field(default=None, max_length=MAX_DESCRIPTION)
    status: str | None = Field(default=None, max_length=50)
    implemented_by: str | None = Field(default=None, max_length=50)
    owner_name: str | None = Field(default=None, max_length=1000)


@dataclass(frozen=True, slots=True)
class MeasureValues:
    """A measure's fields (None: leave as is, on a change)."""

    title: str | None = None
    description: str | None = None
    status: str | None = None
    implemented_by: str | None = None
    owner_name: str | None = None

    def given(self) -> dict[str, str]:
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        return {k: v for k, v in values.items() if v is not None}

    @classmethod
    def of(cls, body: MeasureIn | MeasurePatch) -> MeasureValues:
        return cls(**body.model_dump(exclude_unset=True))


def clean_measure(values: dict[str, str]) -> dict[str, str]:
    cleaners = {
        "title": lambda v: clean_text("title", v, MAX_TITLE, required=True),
        "description": lambda v: clean_text("description", v, MAX_DESCRIPTION),
        "status": lambda v: clean_choice("status", v, MEASURE_STATUSES),
        "implemented_by": lambda v: clean_choice("implemented_by", v, IMPLEMENTERS),
        "owner_name": lambda v: clean_text("owner_name", v, MAX_NAME),
    }
    return {k: cleaners[k](v) for k, v in values.items()}


class MeasureOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    title: str
    description: str
    status: str
    implemented_by: str
    owner_name: str
    created_at: datetime
    updated_at: datetime
    requirement_ids: list[uuid.UUID] = []


class MapIn(BaseModel):
    requirement_id: uuid.UUID


# ---------------------------------------------------------------- scores


class ScorePoint(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    created_at: datetime
    score_bp: int | None
    implemented: int
    partial: int
    applicable: int


class ScoreOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    framework_id: uuid.UUID
    framework_key: str
    framework_title: str
    score_bp: int | None
    implemented: int
    partial: int
    applicable: int
    total: int
    not_assessed: int
    recent: list[int]
    changed_at: datetime
    history: list[ScorePoint] = []


# ---------------------------------------------------------------- applying to many clients


class ApplyIn(BaseModel):
    framework: str = Field(min_length=1, max_length=200)
    client_id: str | None = Field(default=None, max_length=200)
    client_group_id: str | None = Field(default=None, max_length=200)
    all: bool = False


@dataclass(frozen=True, slots=True)
class ApplyTarget:
    """Exactly one of: a client (id or slug), a client group (id), every client."""

    client: str | None = None
    client_group: str | None = None
    everyone: bool = False

    @classmethod
    def of(cls, body: ApplyIn) -> ApplyTarget:
        return cls(
            client=(body.client_id or "").strip() or None,
            client_group=(body.client_group_id or "").strip() or None,
            everyone=body.all,
        )


ApplyOutcome = Literal["adopted", "already_adopted", "not_permitted", "failed"]


class ApplyResult(BaseModel):
    client_id: uuid.UUID
    client_slug: str
    client_name: str
    result: ApplyOutcome
    reason: str = ""
    framework_id: uuid.UUID | None = None


class ApplyReport(BaseModel):
    framework: str
    framework_title: str
    adopted: int
    already_adopted: int
    not_permitted: int
    failed: int
    results: list[ApplyResult]
