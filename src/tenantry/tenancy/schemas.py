"""Tenancy input/output shapes and the slug rules."""

from __future__ import annotations

import functools
import re
import unicodedata
import uuid
import zoneinfo
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from tenantry.errors import ValidationFailed

# Used as subdomains or paths by the instance itself, so no tenant may take them.
RESERVED_SLUGS = frozenset(
    {
        "admin",
        "api",
        "app",
        "assets",
        "auth",
        "billing",
        "cdn",
        "dashboard",
        "docs",
        "help",
        "login",
        "logout",
        "mail",
        "msp",
        "new",
        "operator",
        "portal",
        "root",
        "settings",
        "sign-in",
        "sign-out",
        "sign-up",
        "signin",
        "signup",
        "static",
        "status",
        "support",
        "system",
        "t",
        "tenant",
        "tenants",
        "tenantry",
        "www",
    }
)
_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")


def slugify(name: str) -> str:
    """``"Contoso Ltd."`` → ``"contoso-ltd"``: ASCII, lower case, dashes between words."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:63].strip("-")


def check_slug(slug: str, field: str = "slug") -> str:
    if not slug:
        raise ValidationFailed(field, "must contain at least one letter or digit")
    if not _LABEL.match(slug):
        raise ValidationFailed(
            field,
            "must be a DNS label: 1 to 63 lower-case letters, digits and dashes, "
            "not starting or ending with a dash",
        )
    if slug in RESERVED_SLUGS:
        raise ValidationFailed(field, f"'{slug}' is reserved; choose another name")
    return slug


def check_display_name(value: str, field: str = "display_name") -> str:
    value = " ".join(value.split())
    if not value:
        raise ValidationFailed(field, "must not be empty")
    if len(value) > 200:
        raise ValidationFailed(field, "must be at most 200 characters long")
    return value


class TenantOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    slug: str
    display_name: str
    status: str
    is_msp: bool
    created_at: datetime


class CustomerCreate(BaseModel):
    name: str = Field(description="The customer's name; its slug is made from it.", max_length=200)
    display_name: str | None = Field(default=None, max_length=200)
    slug: str | None = Field(default=None, description="Overrides the slug made from the name.")
    ceiling_template: str = Field(
        default="full",
        max_length=64,
        description="The link's ceiling: a ceiling template (helpdesk, "
        "service_desk_billing, full). Full is everything that means something inside a "
        "client.",
    )


class CustomerUpdate(BaseModel):
    display_name: str = Field(max_length=200)


class DeletionReport(BaseModel):
    tenant_id: uuid.UUID
    slug: str
    rows_deleted: dict[str, int]


@functools.cache
def time_zones() -> frozenset[str]:
    """IANA zone names this machine knows (what ``zoneinfo`` can load)."""
    return frozenset(zoneinfo.available_timezones())


def check_time_zone(value: str, field: str = "time_zone") -> str:
    value = value.strip()
    if value not in time_zones():
        shown = value[:64]
        raise ValidationFailed(field, f"'{shown}' is not a known time zone (e.g. Europe/Berlin)")
    return value
