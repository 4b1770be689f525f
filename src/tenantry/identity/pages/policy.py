"""The home security policy (second factor required, session lifetime)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from tenantry.config import Settings
from tenantry.errors import (
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
from tenantry.identity.service import IdentityService
from tenantry.web.forms import field_errors
from tenantry.web.render import redirect_with_notice, render

router = APIRouter(include_in_schema=False)


# --- home security policy ----------------------------------------------------------------


async def _policy_context(work: Work, settings: Settings) -> dict[str, Any]:
    tenant = await IdentityService(work.session, settings).tenant(work.ctx.tenant.id)
    return {
        "tenant": tenant,
        "default_minutes": settings.session_lifetime_minutes,
        "values": {
            "require_mfa": tenant.require_mfa,
            "session_lifetime_minutes": tenant.session_lifetime_minutes or "",
        },
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
    session_lifetime_minutes: FormStr = "",
) -> Response:
    settings = get_settings(request)
    wants_mfa = require_mfa in ("on", "true", "1")
    try:
        raw = session_lifetime_minutes.strip()
        try:
            minutes = int(raw) if raw else None
        except ValueError as exc:
            raise ValidationFailed("session_lifetime_minutes", "must be a whole number") from exc
        await IdentityService(work.session, settings).set_security_policy(
            work.ctx,
            require_mfa=wants_mfa,
            session_lifetime_minutes=minutes,
            lifetime_given=True,
            actor=work.actor,
        )
    except TenantryError as exc:
        context = await _policy_context(work, settings)
        context["values"] = {
            "require_mfa": wants_mfa,
            "session_lifetime_minutes": session_lifetime_minutes,
        }
        context["errors"] = field_errors(exc)
        return render(request, "identity/security_policy.html", context, status=exc.status)
    return redirect_with_notice(request, "/settings/security", "Security policy saved.")
