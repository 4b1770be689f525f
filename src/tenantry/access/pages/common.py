"""What the access pages share: the admin of the acting tenant, where to go back,
errors as form fields, expiry typed in the tenant's time zone."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Form

from tenantry.access import schemas
from tenantry.access.admin import AccessAdmin
from tenantry.access.models import GrantScope
from tenantry.access.permissions import ALL, grouped
from tenantry.errors import NotFound, TenantryError, ValidationFailed
from tenantry.http.deps import Work
from tenantry.web.forms import field_errors

FormStr = Annotated[str, Form(max_length=1000)]
FormList = Annotated[list[str], Form()]
PAGE_SIZE = 50
SCOPES = frozenset(s.value for s in GrantScope)
CLIENT_GROUPS = "/msp/client-groups"

# Catalog permissions in their display groups ("Time" → time:read, …), for checkbox lists.
AREAS: list[tuple[str, list[tuple[str, str]]]] = [
    (group, [(p.key, p.words) for p in members]) for group, members in grouped(ALL)
]


def admin_of(work: Work) -> AccessAdmin:
    return AccessAdmin.acting(work.ctx, work.session)


def base_of(work: Work) -> str:
    return f"/t/{work.ctx.tenant.slug}"


def back_to(work: Work, value: str, default: str) -> str:
    """Only back to one of this tenant's access pages: no open redirect."""
    prefix = base_of(work) + "/access"
    return value if value == prefix or value.startswith((prefix + "?", prefix + "/")) else default


def form_errors(exc: TenantryError, rename: dict[str, str] | None = None) -> dict[str, str]:
    found = field_errors(exc)
    for old, new in (rename or {}).items():
        if old in found:
            found[new] = found.pop(old)
    return found


def zone_of(work: Work) -> zoneinfo.ZoneInfo:
    """Expiry typed in a form is read in the issuing tenant's time zone (named in the
    label), as the browser's date-time input carries no zone."""
    try:
        return zoneinfo.ZoneInfo(work.ctx.tenant.time_zone or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def parse_expiry(value: str, zone: zoneinfo.ZoneInfo) -> datetime | None:
    value = value.strip()
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ValidationFailed("expires_at", "is not a date and time") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone)
    return parsed.astimezone(UTC)


def grantee_name(grant: schemas.GrantOut) -> str:
    if grant.user is not None:
        return grant.user.display_name
    return f"the group {grant.group.name}" if grant.group else "the group"


def status_of(exc: TenantryError) -> int:
    return exc.status if exc.status < 500 else 422


def require_msp(work: Work) -> None:
    if not work.ctx.tenant.is_msp:
        raise NotFound(f"{work.ctx.tenant.display_name} is not an MSP, so it has no client groups.")
