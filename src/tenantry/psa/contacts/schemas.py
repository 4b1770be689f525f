"""Contacts: input/output shapes and the field rules (shared by the API, the pages and
the CSV import, so each says the same thing about the same bad value)."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, fields
from datetime import datetime

from email_validator import EmailNotValidError, validate_email
from pydantic import BaseModel, ConfigDict, Field

from tenantry.errors import ValidationFailed

MAX_NAME = 200
MAX_PHONE = 50
MAX_JOB_TITLE = 200
# Digits with the punctuation people write phone numbers with; extensions as "x123".
_PHONE = re.compile(r"^\+?[0-9 ()./-]{3,40}(?:\s*(?:x|ext\.?)\s*[0-9]{1,6})?$", re.IGNORECASE)


class ContactIn(BaseModel):
    name: str = Field(max_length=MAX_NAME)
    email: str = Field(max_length=254)
    phone: str = Field(default="", max_length=MAX_PHONE)
    job_title: str = Field(default="", max_length=MAX_JOB_TITLE)


class ContactPatch(BaseModel):
    name: str | None = Field(default=None, max_length=MAX_NAME)
    email: str | None = Field(default=None, max_length=254)
    phone: str | None = Field(default=None, max_length=MAX_PHONE)
    job_title: str | None = Field(default=None, max_length=MAX_JOB_TITLE)


@dataclass(frozen=True, slots=True)
class ContactChanges:
    """Fields to change on a contact (None: leave as is). The service cleans each value,
    so the API and the page report a bad one the same way."""

    name: str | None = None
    email: str | None = None
    phone: str | None = None
    job_title: str | None = None

    def given(self) -> dict[str, str]:
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        return {k: v for k, v in values.items() if v is not None}

    @classmethod
    def of(cls, patch: ContactPatch) -> ContactChanges:
        return cls(**patch.model_dump(exclude_unset=True))


class ContactOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    tenant_id: uuid.UUID
    name: str
    email: str
    phone: str
    job_title: str
    created_at: datetime
    updated_at: datetime


class RejectedRow(BaseModel):
    row: int = Field(description="Line number in the file (the header is line 1)")
    field: str
    reason: str


class ImportReport(BaseModel):
    created: int
    rejected: list[RejectedRow]


def _printable(field: str, value: str) -> str:
    """Control characters (a NUL above all, which PostgreSQL cannot store) are no part
    of a name or a title: refused naming the field, whatever path the value came by."""
    if any(ord(c) < 32 and c not in "\t\n\r" for c in value):
        raise ValidationFailed(field, "contains a control character")
    return value


def clean_name(value: str) -> str:
    value = " ".join(_printable("name", value).split())
    if not value:
        raise ValidationFailed("name", "must not be empty")
    if len(value) > MAX_NAME:
        raise ValidationFailed("name", f"must be at most {MAX_NAME} characters long")
    return value


def clean_email(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValidationFailed("email", "must not be empty")
    try:
        # No DNS lookup: imports of thousands of rows must not wait on the network.
        checked = validate_email(value, check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValidationFailed("email", f"is not an email address ({exc})") from exc
    return checked.normalized.lower()


def clean_phone(value: str) -> str:
    value = _printable("phone", value).strip()
    if value and not _PHONE.match(value):
        raise ValidationFailed("phone", "is not a phone number (digits, spaces, + ( ) - . /)")
    return value


def clean_job_title(value: str) -> str:
    value = " ".join(_printable("job_title", value).split())
    if len(value) > MAX_JOB_TITLE:
        raise ValidationFailed("job_title", f"must be at most {MAX_JOB_TITLE} characters long")
    return value
