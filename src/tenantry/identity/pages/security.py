"""The account security page (password, API tokens, sessions, recovery codes) and
authenticator enrolment."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from tenantry.config import Settings
from tenantry.errors import (
    Conflict,
    TenantryError,
    ValidationFailed,
)
from tenantry.http.deps import (
    SelfWork,
    get_db,
    get_settings,
)
from tenantry.identity.auth import SelfOnly, SelfPending
from tenantry.identity.cookies import (
    clear_session_cookie,
    set_session_cookie,
)
from tenantry.identity.flows import AuthFlows
from tenantry.identity.pages.common import (
    ENROL_PAGE,
    SECURITY_PAGE,
    FormStr,
    safe_next,
)
from tenantry.identity.service import IdentityService
from tenantry.web.forms import field_errors
from tenantry.web.render import redirect_with_notice, render

router = APIRouter(include_in_schema=False)


# --- account security --------------------------------------------------------------------

_BROWSERS = (
    ("Edg/", "Edge"),
    ("OPR/", "Opera"),
    ("Firefox/", "Firefox"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
)
_SYSTEMS = (
    ("Windows", "Windows"),
    ("iPhone", "iOS"),
    ("iPad", "iPadOS"),
    ("Android", "Android"),
    ("Mac OS X", "macOS"),
    ("CrOS", "ChromeOS"),
    ("Linux", "Linux"),
)


def describe_device(user_agent: str | None) -> str:
    """ "Firefox on Windows" from a user-agent string: enough to tell sessions apart."""
    if not user_agent:
        return "Unknown device"
    browser = next((name for mark, name in _BROWSERS if mark in user_agent), None)
    system = next((name for mark, name in _SYSTEMS if mark in user_agent), None)
    if browser and system:
        return f"{browser} on {system}"
    return browser or system or user_agent.split(" ", 1)[0][:60]


async def _security_context(work: SelfWork, settings: Settings) -> dict[str, Any]:
    identity = IdentityService(work.session, settings)
    user, home = await identity.me(work.principal)
    return {
        "user": user,
        "home": home,
        "mfa": await identity.mfa_state(work.principal),
        "sessions": [
            (s, current, describe_device(s.user_agent))
            for s, current in await identity.list_sessions(work.principal)
        ],
        "tokens": await identity.list_tokens(work.principal),
        "default_token_days": settings.api_token_default_days,
        "errors": {},
        "values": {},
        "new_token": None,
    }


def _security_page(request: Request, context: dict[str, Any], status: int = 200) -> Response:
    return render(request, "identity/security.html", context, status=status)


@router.get("/account/security")
async def security_page(work: SelfOnly, request: Request) -> Response:
    return _security_page(request, await _security_context(work, get_settings(request)))


@router.post("/account/security/password")
async def change_password(
    work: SelfOnly,
    request: Request,
    current_password: FormStr = "",
    new_password: FormStr = "",
    confirm_password: FormStr = "",
) -> Response:
    settings = get_settings(request)
    try:
        if new_password != confirm_password:
            raise ValidationFailed("confirm_password", "does not match the new password")
        ended = await AuthFlows(get_db(request), settings).change_password(
            work.principal, current=current_password, new=new_password, info=work.info
        )
    except TenantryError as exc:
        context = await _security_context(work, settings)
        context["errors"] = field_errors(exc)
        context["errors"].setdefault("_password", context["errors"].pop("_form", ""))
        return _security_page(request, context, status=exc.status)
    others = f" {ended} other session{'s' if ended != 1 else ''} ended." if ended else ""
    return redirect_with_notice(request, SECURITY_PAGE, f"Password changed.{others}")


@router.post("/account/security/tokens")
async def create_token(
    work: SelfOnly,
    request: Request,
    name: FormStr = "",
    expires_in_days: FormStr = "",
) -> Response:
    settings = get_settings(request)
    identity = IdentityService(work.session, settings)
    try:
        days = int(expires_in_days) if expires_in_days.strip() else None
    except ValueError:
        days = -1  # reported by the service as out of range, naming the field
    try:
        secret, token = await identity.create_own_token(
            work.principal, name=name, expires_in_days=days, actor=work.actor
        )
    except TenantryError as exc:
        context = await _security_context(work, settings)
        context["errors"] = field_errors(exc)
        context["values"] = {"name": name, "expires_in_days": expires_in_days}
        return _security_page(request, context, status=exc.status)
    context = await _security_context(work, settings)
    context["new_token"] = {"name": token.name, "secret": secret, "expires_at": token.expires_at}
    return _security_page(request, context, status=201)


@router.post("/account/security/tokens/{token_id}/revoke")
async def revoke_token(token_id: uuid.UUID, work: SelfOnly, request: Request) -> Response:
    await IdentityService(work.session, get_settings(request)).revoke_token(
        work.principal, token_id, actor=work.actor
    )
    return redirect_with_notice(request, SECURITY_PAGE, "API token revoked.")


@router.post("/account/security/sessions/{session_id}/revoke")
async def revoke_session(session_id: uuid.UUID, work: SelfOnly, request: Request) -> Response:
    settings = get_settings(request)
    await IdentityService(work.session, settings).revoke_session(
        work.principal, session_id, actor=work.actor
    )
    if session_id == work.principal.session_id:
        response = RedirectResponse("/sign-in", status_code=303)
        clear_session_cookie(response, request, settings)
        return response
    return redirect_with_notice(request, SECURITY_PAGE, "Session ended.")


@router.post("/account/security/sign-out-everywhere")
async def sign_out_everywhere(work: SelfOnly, request: Request) -> Response:
    settings = get_settings(request)
    await IdentityService(work.session, settings).sign_out_everywhere(
        work.principal, actor=work.actor
    )
    response = RedirectResponse("/sign-in", status_code=303)
    clear_session_cookie(response, request, settings)
    return response


@router.post("/account/security/recovery-codes")
async def regenerate_recovery_codes(work: SelfOnly, request: Request) -> Response:
    codes = await IdentityService(work.session, get_settings(request)).regenerate_recovery_codes(
        work.principal, actor=work.actor
    )
    return render(request, "identity/recovery_codes.html", {"codes": codes, "regenerated": True})


@router.post("/account/security/totp/disable")
async def disable_totp(
    work: SelfOnly,
    request: Request,
    password: FormStr = "",
    code: FormStr = "",
) -> Response:
    settings = get_settings(request)
    try:
        await AuthFlows(get_db(request), settings).disable_totp(
            work.principal, password=password or None, code=code or None, info=work.info
        )
    except TenantryError as exc:
        context = await _security_context(work, settings)
        errors = field_errors(exc)
        form_error = errors.pop("_form", None)
        if form_error:
            errors["_totp"] = form_error
        context["errors"] = {
            f"disable_{k}" if not k.startswith("_") else k: v for k, v in errors.items()
        }
        return _security_page(request, context, status=exc.status)
    return redirect_with_notice(request, SECURITY_PAGE, "Authenticator app turned off.")


# --- authenticator enrolment -------------------------------------------------------------


@router.get(ENROL_PAGE)
async def enrol_page(
    work: SelfPending, request: Request, fresh: bool = False, next: str = "/"
) -> Response:
    principal = work.principal
    if principal.has_mfa:
        target = "/sign-in/totp" if not principal.mfa_passed else SECURITY_PAGE
        return RedirectResponse(target, status_code=303)
    identity = IdentityService(work.session, get_settings(request))
    enrolment = await identity.totp_enrolment(principal, fresh=fresh)
    state = await identity.mfa_state(principal)
    return render(
        request,
        "identity/totp_enrol.html",
        {
            "enrolment": enrolment,
            "required": principal.home_requires_mfa,
            "required_from": state["required_from"],
            "later": safe_next(next),
            "errors": {},
        },
    )


@router.post(ENROL_PAGE)
async def enrol_submit(work: SelfPending, request: Request, code: FormStr = "") -> Response:
    settings = get_settings(request)
    identity = IdentityService(work.session, settings)
    try:
        codes, replaced = await identity.confirm_totp(work.principal, code, work.info)
    except ValidationFailed as exc:
        enrolment = await identity.totp_enrolment(work.principal)
        return render(
            request,
            "identity/totp_enrol.html",
            {
                "enrolment": enrolment,
                "required": work.principal.home_requires_mfa,
                "errors": {exc.field: exc.message},
            },
            status=exc.status,
        )
    except Conflict:
        return RedirectResponse(SECURITY_PAGE, status_code=303)
    if replaced is not None:
        # The page below already belongs to the new session (its frame and CSRF token).
        request.state.principal = replaced.principal
    response = render(
        request, "identity/recovery_codes.html", {"codes": codes, "regenerated": False}
    )
    if replaced is not None:
        set_session_cookie(
            response, request, settings, replaced.token, replaced.auth_session.expires_at
        )
    return response
