"""Policies: input/output shapes and the field rules (shared by the API and the pages, so
each says the same thing about the same bad value)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, fields
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from tenantry.errors import ValidationFailed

MAX_TITLE = 200
MAX_SUMMARY = 2_000
MAX_OWNER = 254
MAX_NOTE = 500
MAX_CATEGORY = 100
# About 60 printed pages: a policy, not a manual.
MAX_BODY = 200_000


# ---------------------------------------------------------------- API shapes


class PolicyIn(BaseModel):
    title: str = Field(max_length=1000)
    summary: str = Field(default="", max_length=MAX_SUMMARY * 2)
    owner_name: str = Field(default="", max_length=1000)
    review_on: date | None = None
    body_markdown: str = Field(default="", max_length=MAX_BODY * 2)


class PolicyPatch(BaseModel):
    title: str | None = Field(default=None, max_length=1000)
    summary: str | None = Field(default=None, max_length=MAX_SUMMARY * 2)
    owner_name: str | None = Field(default=None, max_length=1000)
    review_on: date | None = None


class VersionIn(BaseModel):
    change_note: str = Field(default="", max_length=MAX_NOTE * 2)


class VersionPatch(BaseModel):
    body_markdown: str | None = Field(default=None, max_length=MAX_BODY * 2)
    change_note: str | None = Field(default=None, max_length=MAX_NOTE * 2)


class TemplateIn(BaseModel):
    title: str = Field(max_length=1000)
    summary: str = Field(default="", max_length=MAX_SUMMARY * 2)
    category: str = Field(default="", max_length=1000)
    body_markdown: str = Field(default="", max_length=MAX_BODY * 2)


class TemplatePatch(BaseModel):
    title: str | None = Field(default=None, max_length=1000)
    summary: str | None = Field(default=None, max_length=MAX_SUMMARY * 2)
    category: str | None = Field(default=None, max_length=1000)
    body_markdown: str | None = Field(default=None, max_length=MAX_BODY * 2)


class CopyIn(BaseModel):
    client: str = Field(min_length=1, max_length=100, description="The client's slug or id")


class VersionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    policy_id: uuid.UUID
    number: int
    state: str
    body_markdown: str
    change_note: str
    created_by_name: str
    approved_by_user_id: uuid.UUID | None
    approved_by_name: str | None
    approved_at: datetime | None
    published_at: datetime | None
    created_at: datetime
    updated_at: datetime


class PolicyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    tenant_id: uuid.UUID
    title: str
    summary: str
    owner_name: str
    review_on: date | None
    current_version_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


class PolicyDetailOut(PolicyOut):
    versions: list[VersionOut]


class Acknowledger(BaseModel):
    user_id: uuid.UUID
    name: str
    at: datetime | None


class AcknowledgementsOut(BaseModel):
    """Who among the tenant's own people has acknowledged the published version."""

    version_id: uuid.UUID | None
    version_number: int | None
    acknowledged: list[Acknowledger]
    pending: list[Acknowledger]


class TemplateOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    tenant_id: uuid.UUID
    title: str
    summary: str
    category: str
    body_markdown: str
    created_at: datetime
    updated_at: datetime


# ---------------------------------------------------------------- typed inputs


@dataclass(frozen=True, slots=True)
class PolicyChanges:
    """Fields to change on a policy (None: leave as is; ``clear_review`` empties the date)."""

    title: str | None = None
    summary: str | None = None
    owner_name: str | None = None
    review_on: date | None = None
    clear_review: bool = False

    @classmethod
    def of(cls, patch: PolicyPatch) -> PolicyChanges:
        given = patch.model_dump(exclude_unset=True)
        clear = "review_on" in given and given["review_on"] is None
        if clear:
            del given["review_on"]
        return cls(**given, clear_review=clear)


@dataclass(frozen=True, slots=True)
class TemplateChanges:
    title: str | None = None
    summary: str | None = None
    category: str | None = None
    body_markdown: str | None = None

    def given(self) -> dict[str, str]:
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        return {k: v for k, v in values.items() if v is not None}

    @classmethod
    def of(cls, patch: TemplatePatch) -> TemplateChanges:
        return cls(**patch.model_dump(exclude_unset=True))


# ---------------------------------------------------------------- field rules


def _printable(field: str, value: str, *, lines: bool = False) -> str:
    """Control characters (a NUL above all, which PostgreSQL cannot store) are refused,
    naming the field; a text of several lines may hold tabs and line breaks."""
    allowed = "\t\n\r" if lines else ""
    if any(ord(c) < 32 and c not in allowed for c in value):
        raise ValidationFailed(field, "contains a control character")
    return value


def clean_line(field: str, value: str, limit: int, *, required: bool = False) -> str:
    value = " ".join(_printable(field, value).split())
    if required and not value:
        raise ValidationFailed(field, "must not be empty")
    if len(value) > limit:
        raise ValidationFailed(field, f"must be at most {limit} characters long")
    return value


def clean_text(field: str, value: str, limit: int) -> str:
    value = _printable(field, value, lines=True).strip()
    if len(value) > limit:
        raise ValidationFailed(field, f"must be at most {limit} characters long")
    return value


def clean_title(value: str) -> str:
    return clean_line("title", value, MAX_TITLE, required=True)


def clean_summary(value: str) -> str:
    return clean_text("summary", value, MAX_SUMMARY)


def clean_owner(value: str) -> str:
    return clean_line("owner_name", value, MAX_OWNER)


def clean_category(value: str) -> str:
    return clean_line("category", value, MAX_CATEGORY)


def clean_note(value: str) -> str:
    return clean_line("change_note", value, MAX_NOTE)


def clean_body(value: str) -> str:
    return clean_text("body_markdown", value.replace("\r\n", "\n"), MAX_BODY)


def parse_review_on(value: str) -> date | None:
    """A date as a form sends it ("" for none)."""
    value = value.strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise ValidationFailed("review_on", "is not a date (YYYY-MM-DD)") from exc
