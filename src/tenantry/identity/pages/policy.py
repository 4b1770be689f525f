"""The home security policy (second factor required, from when; session lifetime)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import Response

from tenantry.config import Settings
from tenantry.db.base import utcnow
from tenantry.errors import (
    Conflict,
    TenantryError,
    ValidationFailed,
)
from tenantry.http.deps import (
    Work,
    get_settings,
)
from tenantry.identity import auth
from tenantry.identity.pages.common import (
    FormStr,
)
from tenantry.identity.service import IdentityService, mfa_enforced
from tenantry.tenancy.models import Tenant
from tenantry.web.forms import field_errors
from tenantry.web.render import redirect_with_notice, render

router = APIRouter(include_in_schema=False)

# The grace period the form offers when a second factor is first required.
SUGGESTED_GRACE_DAYS = 14
ON = ("on", "true", "1")


# --- home security policy ----------------------------------------------------------------


def _zone(tenant: Tenant) -> ZoneInfo:
    return ZoneInfo(tenant.time_zone or "UTC")


def _day_of(tenant: Tenant, moment: datetime | None) -> str:
    return moment.astimezone(_zone(tenant)).date().isoformat() if moment else ""


def _start_of(tenant: Tenant, raw: str) -> datetime | None:
    """The form's date as the start of that day in the tenant's time zone; none: at once."""
    if not raw.strip():
        return None
    try:
        day = date.fromisoformat(raw.strip())
    except ValueError as exc:
        raise ValidationFailed("require_mfa_from", "must be a date (YYYY-MM-DD)") from exc
    return datetime.combine(day, time.min, tzinfo=_zone(tenant))


def _checkbox(field: str, raw: str) -> bool:
    """A checkbox: ticked ("on") or absent; anything else is not what the form sends."""
    if raw in ON:
        return True
    if raw == "":
        return False
    raise ValidationFailed(field, "must be ticked or not (on, or left out)")


async def _policy_context(work: Work, settings: Settings) -> dict[str, Any]:
    identity = IdentityService(work.session, settings)
    tenant = await identity.tenant(work.ctx.tenant.id)
    impact = await identity.mfa_impact(tenant, work.ctx.principal)
    if tenant.require_mfa:
        starts = _day_of(tenant, tenant.require_mfa_from)
    else:
        starts = _day_of(tenant, utcnow() + timedelta(days=SUGGESTED_GRACE_DAYS))
    return {
        "tenant": tenant,
        "default_minutes": settings.session_lifetime_minutes,
        "impact": impact,
        "impact_text": impact.describe(tenant.display_name) if impact.users else "",
        "in_force": mfa_enforced(tenant),
        "starts_on": _day_of(tenant, tenant.require_mfa_from),
        "values": {
            "require_mfa": tenant.require_mfa,
            "require_mfa_from": starts,
            "session_lifetime_minutes": tenant.session_lifetime_minutes or "",
            "require_mfa_for_clients": tenant.require_mfa_for_clients,
        },
        "confirm": False,
        "errors": {},
    }


@router.get("/settings/security")
async def policy_page(work: auth.HomeSettingsManage, request: Request) -> Response:
    context = await _policy_context(work, get_settings(request))
    return render(request, "identity/security_policy.html", context)


@router.post("/settings/security")
async def policy_submit(
    work: auth.HomeSettingsManage,
    request: Request,
    require_mfa: FormStr = "",
    require_mfa_from: FormStr = "",
    confirm_now: FormStr = "",
    session_lifetime_minutes: FormStr = "",
    require_mfa_for_clients: FormStr = "",
) -> Response:
    settings = get_settings(request)
    wants_mfa = require_mfa in ON
    identity = IdentityService(work.session, settings)
    try:
        for_clients = _checkbox("require_mfa_for_clients", require_mfa_for_clients)
        raw = session_lifetime_minutes.strip()
        try:
            minutes = int(raw) if raw else None
        except ValueError as exc:
            raise ValidationFailed("session_lifetime_minutes", "must be a whole number") from exc
        tenant = await identity.tenant(work.ctx.tenant.id)
        starts = _start_of(tenant, require_mfa_from) if wants_mfa else None
        await identity.set_security_policy(
            work.ctx,
            require_mfa=wants_mfa,
            session_lifetime_minutes=minutes,
            lifetime_given=True,
            actor=work.actor,
            require_mfa_from=starts,
            from_given=wants_mfa,
            # A requirement that stops people at once is confirmed on the page first.
            confirm_immediate=confirm_now in ON,
            # Only an MSP's form has the box; elsewhere leave the (false) value alone.
            require_mfa_for_clients=for_clients if work.ctx.tenant.is_msp else None,
        )
    except TenantryError as exc:
        context = await _policy_context(work, settings)
        context["values"] = {
            "require_mfa": wants_mfa,
            "require_mfa_from": require_mfa_from,
            "session_lifetime_minutes": session_lifetime_minutes,
            "require_mfa_for_clients": require_mfa_for_clients in ON,
        }
        context["confirm"] = isinstance(exc, Conflict)
        context["errors"] = field_errors(exc)
        return render(request, "identity/security_policy.html", context, status=exc.status)
    return redirect_with_notice(request, "/settings/security", "Security policy saved.")
