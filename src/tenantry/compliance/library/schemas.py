"""The framework library: input/output shapes and the field rules (shared by the API, the
pages and the imports, so each says the same thing about the same bad value)."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from tenantry.compliance.content import Origin
from tenantry.errors import ValidationFailed

MAX_KEY = 100
MAX_VERSION = 50
MAX_TITLE = 200
MAX_REQUIREMENT_TITLE = 500
MAX_REF = 100
MAX_DESCRIPTION = 20_000
MAX_REQUIREMENTS = 5_000

_KEY = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
# A requirement's stable id: ``MSP-01``, ``GV.OC-01``, ``ac-2.1``, ``A.5.1``: no spaces.
_REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:()/-]*$")


def clean_key(value: str, field: str = "key") -> str:
    value = value.strip().lower()
    if not value or len(value) > MAX_KEY or not _KEY.match(value):
        raise ValidationFailed(
            field, f"must be 1-{MAX_KEY} lowercase letters, digits and hyphens (e.g. acme-baseline)"
        )
    return value


def clean_version(value: str, field: str = "version") -> str:
    value = value.strip()
    if not value or len(value) > MAX_VERSION or not _VERSION.match(value):
        raise ValidationFailed(
            field, f"must be 1-{MAX_VERSION} letters, digits, dots, hyphens (e.g. 1 or 2024.1)"
        )
    return value


def clean_title(value: str, field: str = "title", limit: int = MAX_TITLE) -> str:
    value = " ".join(value.split())
    if not value:
        raise ValidationFailed(field, "must not be empty")
    if len(value) > limit:
        raise ValidationFailed(field, f"must be at most {limit} characters long")
    return value


def clean_description(value: str, field: str = "description") -> str:
    value = value.strip()
    if len(value) > MAX_DESCRIPTION:
        raise ValidationFailed(field, f"must be at most {MAX_DESCRIPTION} characters long")
    return value


def clean_ref(value: str, field: str = "ref") -> str:
    value = value.strip()
    if not value or len(value) > MAX_REF or not _REF.match(value):
        raise ValidationFailed(
            field,
            f"must be 1-{MAX_REF} characters: letters, digits and . _ : ( ) / - (no spaces)",
        )
    return value


# ---------------------------------------------------------------- inputs


class FrameworkIn(BaseModel):
    key: str = Field(max_length=MAX_KEY)
    version: str = Field(default="1", max_length=MAX_VERSION)
    title: str = Field(max_length=MAX_TITLE)
    description: str = Field(default="", max_length=MAX_DESCRIPTION)


class FrameworkPatch(BaseModel):
    version: str | None = Field(default=None, max_length=MAX_VERSION)
    title: str | None = Field(default=None, max_length=MAX_TITLE)
    description: str | None = Field(default=None, max_length=MAX_DESCRIPTION)


class RequirementIn(BaseModel):
    ref: str = Field(max_length=MAX_REF)
    title: str = Field(max_length=MAX_REQUIREMENT_TITLE)
    description: str = Field(default="", max_length=MAX_DESCRIPTION)
    # The ref of the group heading it sits in; none: at the top.
    group: str | None = Field(default=None, max_length=MAX_REF)
    # A group heading, not a requirement to assess.
    heading: bool = False
    # Where it goes (0 = first); none: at the end.
    position: int | None = Field(default=None, ge=0)


class RequirementPatch(BaseModel):
    title: str | None = Field(default=None, max_length=MAX_REQUIREMENT_TITLE)
    description: str | None = Field(default=None, max_length=MAX_DESCRIPTION)
    # "" moves it to the top level.
    group: str | None = Field(default=None, max_length=MAX_REF)
    # Move it to this place in reading order (0 = first).
    position: int | None = Field(default=None, ge=0)


class ShareIn(BaseModel):
    shared: bool


@dataclass(frozen=True, slots=True)
class FrameworkChanges:
    version: str | None = None
    title: str | None = None
    description: str | None = None

    @classmethod
    def of(cls, patch: FrameworkPatch) -> FrameworkChanges:
        return cls(**patch.model_dump(exclude_unset=True))


@dataclass(frozen=True, slots=True)
class RequirementChanges:
    title: str | None = None
    description: str | None = None
    group: str | None = None
    position: int | None = None

    @classmethod
    def of(cls, patch: RequirementPatch) -> RequirementChanges:
        return cls(**patch.model_dump(exclude_unset=True))


@dataclass(frozen=True, slots=True)
class ParsedRequirement:
    """One line of an import: a requirement or a group heading."""

    ref: str
    title: str
    description: str
    parent_ref: str | None
    assessable: bool


@dataclass(frozen=True, slots=True)
class ParsedFramework:
    """What an import read, before anything is written."""

    key: str
    version: str
    title: str
    description: str
    source: str
    requirements: tuple[ParsedRequirement, ...]


# ---------------------------------------------------------------- outputs


@dataclass(frozen=True, slots=True)
class Available:
    """One framework this tenant may adopt."""

    ref: str
    key: str
    version: str
    title: str
    description: str
    origin: Origin
    requirement_count: int
    latest: bool
    shared: bool = False
    source_id: uuid.UUID | None = None


class AvailableOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    ref: str
    key: str
    version: str
    title: str
    description: str
    origin: Origin
    requirement_count: int
    latest: bool
    shared: bool
    source_id: uuid.UUID | None


class RequirementOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    ref: str
    title: str
    description: str
    parent_ref: str | None
    assessable: bool


class ContentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    key: str
    version: str
    title: str
    description: str
    origin: Origin
    source_id: uuid.UUID | None
    requirements: list[RequirementOut]


class AuthoredRequirementOut(RequirementOut):
    id: uuid.UUID
    position: int


class AuthoredOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    key: str
    version: str
    title: str
    description: str
    shared: bool
    source: str
    created_at: datetime
    updated_at: datetime


class AuthoredDetailOut(AuthoredOut):
    requirements: list[AuthoredRequirementOut]
