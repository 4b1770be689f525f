"""Identity pages: sign-in (and its second step), sign-out, the account security page,
authenticator enrolment, invitations (send, list, revoke, accept) and the home security
policy. Thin: the rules live in the services; here errors become messages next to the
field they name, with the input kept (passwords excepted)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from tenantry.access.context import Principal
from tenantry.access.permissions import BUILTIN_ROLES, role_by_key
from tenantry.config import Settings
from tenantry.errors import (
    Conflict,
    NotFound,
    PermissionDenied,
    TenantryError,
    TenantSuspended,
    ValidationFailed,
)
from tenantry.http.deps import (
    SESSION_COOKIE,
    SelfWork,
    Work,
    get_db,
    get_settings,
    in_home,
    in_tenant,
    public,
    request_info,
    signed_in,
    signed_in_pending_mfa,
)
from tenantry.identity.cookies import (
    clear_session_cookie,
    form_token,
    form_token_ok,
    set_form_cookie,
    set_session_cookie,
)
from tenantry.identity.flows import AuthFlows, SignInResult
from tenantry.identity.invitations import InvitationService, InvitationUnusable
from tenantry.identity.service import IdentityService, NewSession
from tenantry.web.forms import field_errors
from tenantry.web.render import redirect_with_notice, render

router = APIRouter(include_in_schema=False)

# Markers run with scope="function": the unit of work commits when the route returns,
# before the response (or the redirect a browser follows) leaves.
SelfOnly = Annotated[SelfWork, Depends(signed_in, scope="function")]
SelfPending = Annotated[SelfWork, Depends(signed_in_pending_mfa, scope="function")]
FormStr = Annotated[str, Form()]

ENROL_PAGE = "/account/security/totp"
SECURITY_PAGE = "/account/security"
EXPIRED_FORM = "The form expired or did not come from this site; please try again."


# --- helpers -----------------------------------------------------------------------------


def safe_next(value: str | None) -> str:
    """Only a path on this site: never another host (no open redirect), never back into
    the sign-in pages."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return "/"
    if value.startswith(("/sign-in", "/sign-out")):
        return "/"
    return value


def _where_to(result: SignInResult, next_url: str) -> str:
    if result.status == "mfa_required":
        return f"/sign-in/totp?next={quote(next_url)}"
    if result.status == "mfa_enrolment_required":
        return ENROL_PAGE
    return next_url


def _signed_in_redirect(
    request: Request, settings: Settings, new: NewSession, url: str
) -> RedirectResponse:
    response = RedirectResponse(url, status_code=303)
    set_session_cookie(response, request, settings, new.token, new.auth_session.expires_at)
    return response


async def _cookie_principal(request: Request) -> Principal | None:
    """The browser's session, if it has a live one (the sign-in form then moves on)."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    settings = get_settings(request)
    try:
        async with get_db(request).platform_reader() as session:
            principal, _ = await IdentityService(session, settings).principal_from_session_token(
                token
            )
    except TenantryError:
        return None
    return principal


def _pre_sign_in_page(
    request: Request, template: str, context: dict[str, Any], status: int = 200
) -> Response:
    """A form shown before sign-in: it carries the double-submit token (cookies.py)."""
    settings = get_settings(request)
    token = form_token(request, settings)
    response = render(request, template, {**context, "csrf_token": token}, status=status)
    set_form_cookie(response, request, settings, token)
    return response


# --- sign-in -----------------------------------------------------------------------------


@router.get("/sign-in", dependencies=[Depends(public)])
async def sign_in_page(request: Request, next: str = "/") -> Response:
    target = safe_next(next)
    principal = await _cookie_principal(request)
    if principal is not None:
        if principal.mfa_passed and not principal.needs_mfa_enrolment:
            return RedirectResponse(target, status_code=303)
        if principal.has_mfa and not principal.mfa_passed:
            return RedirectResponse(f"/sign-in/totp?next={quote(target)}", status_code=303)
        return RedirectResponse(ENROL_PAGE, status_code=303)
    return _pre_sign_in_page(
        request, "identity/sign_in.html", {"next": target, "email": "", "errors": {}}
    )


@router.post("/sign-in", dependencies=[Depends(public)])
async def sign_in_submit(
    request: Request,
    email: FormStr = "",
    password: FormStr = "",
    csrf_token: FormStr = "",
    next: FormStr = "/",
) -> Response:
    settings = get_settings(request)
    target = safe_next(next)
    context: dict[str, Any] = {"next": target, "email": email, "errors": {}}
    if not form_token_ok(request, settings, csrf_token):
        context["errors"] = {"_form": EXPIRED_FORM}
        return _pre_sign_in_page(request, "identity/sign_in.html", context, status=403)
    try:
        result = await AuthFlows(get_db(request), settings).sign_in(
            email=email,
            password=password,
            totp_code=None,
            info=request_info(request),
            previous_token=request.cookies.get(SESSION_COOKIE),
        )
    except ValidationFailed as exc:
        context["errors"] = {exc.field: exc.message}
        return _pre_sign_in_page(request, "identity/sign_in.html", context, status=exc.status)
    except TenantryError as exc:
        context["errors"] = {"_form": exc.detail}
        return _pre_sign_in_page(request, "identity/sign_in.html", context, status=exc.status)
    return _signed_in_redirect(request, settings, result.new, _where_to(result, target))


@router.get("/sign-in/totp")
async def totp_step_page(work: SelfPending, request: Request, next: str = "/") -> Response:
    target = safe_next(next)
    principal = work.principal
    if principal.mfa_passed:
        return RedirectResponse(target, status_code=303)
    if not principal.has_mfa:
        return RedirectResponse(ENROL_PAGE, status_code=303)
    return render(request, "identity/sign_in_totp.html", {"next": target, "errors": {}})


@router.post("/sign-in/totp")
async def totp_step_submit(
    work: SelfPending,
    request: Request,
    code: FormStr = "",
    next: FormStr = "/",
) -> Response:
    settings = get_settings(request)
    target = safe_next(next)
    try:
        result = await AuthFlows(get_db(request), settings).second_step(
            work.principal, code, work.info
        )
    except ValidationFailed as exc:
        return render(
            request,
            "identity/sign_in_totp.html",
            {"next": target, "errors": {exc.field: exc.message}},
            status=exc.status,
        )
    except Conflict:
        return RedirectResponse(target, status_code=303)
    except TenantryError as exc:
        return render(
            request,
            "identity/sign_in_totp.html",
            {"next": target, "errors": {"_form": exc.detail}},
            status=exc.status,
        )
    return _signed_in_redirect(request, settings, result.new, target)


@router.post("/sign-out")
async def sign_out(work: SelfPending, request: Request) -> Response:
    settings = get_settings(request)
    await IdentityService(work.session, settings).sign_out(work.principal, actor=work.actor)
    response = RedirectResponse("/sign-in", status_code=303)
    clear_session_cookie(response, request, settings)
    return response


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
async def enrol_page(work: SelfPending, request: Request, fresh: bool = False) -> Response:
    principal = work.principal
    if principal.has_mfa:
        target = "/sign-in/totp" if not principal.mfa_passed else SECURITY_PAGE
        return RedirectResponse(target, status_code=303)
    enrolment = await IdentityService(work.session, get_settings(request)).totp_enrolment(
        principal, fresh=fresh
    )
    return render(
        request,
        "identity/totp_enrol.html",
        {"enrolment": enrolment, "required": principal.home_requires_mfa, "errors": {}},
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


# --- invitations -------------------------------------------------------------------------

InviteWork = Annotated[Work, Depends(in_tenant("users:manage"), scope="function")]


async def _invitations_context(work: Work, settings: Settings) -> dict[str, Any]:
    rows, _next = await InvitationService(work.session, settings).pending(
        work.ctx, cursor=None, limit=200
    )
    roles = [r for r in BUILTIN_ROLES.values() if r.permissions <= work.ctx.permissions]
    return {
        "role_names": {key: role.name for key, role in BUILTIN_ROLES.items()},
        "tenant": work.ctx.tenant,
        "pending": rows,
        "roles": roles,
        "errors": {},
        "values": {"email": "", "role": "technician"},
        "created": None,
    }


@router.get("/t/{tenant}/invitations")
async def invitations_page(work: InviteWork, request: Request) -> Response:
    context = await _invitations_context(work, get_settings(request))
    return render(request, "identity/invitations.html", context)


@router.post("/t/{tenant}/invitations")
async def invite_submit(
    work: InviteWork, request: Request, email: FormStr = "", role: FormStr = ""
) -> Response:
    settings = get_settings(request)
    service = InvitationService(work.session, settings)
    try:
        new = await service.invite(work.ctx, email=email, role=role, actor=work.actor)
    except TenantryError as exc:
        context = await _invitations_context(work, settings)
        context["errors"] = field_errors(exc)
        context["values"] = {"email": email, "role": role}
        return render(request, "identity/invitations.html", context, status=exc.status)
    context = await _invitations_context(work, settings)
    found = role_by_key(new.invitation.role)
    context["created"] = {
        "email": new.invitation.email,
        "role": found.name if found else new.invitation.role,
        "link": new.link,
        "delivery": new.delivery,
        "expires_at": new.invitation.expires_at,
    }
    return render(request, "identity/invitations.html", context, status=201)


@router.post("/t/{tenant}/invitations/{invitation_id}/revoke")
async def revoke_invitation(
    invitation_id: uuid.UUID, work: InviteWork, request: Request
) -> Response:
    invitation = await InvitationService(work.session, get_settings(request)).revoke(
        work.ctx, invitation_id, actor=work.actor
    )
    return redirect_with_notice(
        request,
        f"/t/{work.ctx.tenant.slug}/invitations",
        f"Invitation to {invitation.email} withdrawn.",
    )


async def _invitation_or_reason(
    request: Request, token: str
) -> tuple[dict[str, Any] | None, TenantryError | None]:
    try:
        async with get_db(request).platform_reader() as session:
            invitation, tenant = await InvitationService(session, get_settings(request)).preview(
                token
            )
    except (InvitationUnusable, NotFound, TenantSuspended) as exc:
        return None, exc
    role = role_by_key(invitation.role)
    return {
        "email": invitation.email,
        "role_name": role.name if role else invitation.role,
        "tenant_name": tenant.display_name,
        "expires_at": invitation.expires_at,
    }, None


def _unusable(request: Request, exc: TenantryError) -> Response:
    return render(
        request, "identity/invite_unusable.html", {"message": exc.detail}, status=exc.status
    )


@router.get("/invite/{token}", dependencies=[Depends(public)])
async def invite_page(token: str, request: Request) -> Response:
    offer, problem = await _invitation_or_reason(request, token)
    if problem is not None or offer is None:
        return _unusable(request, problem or NotFound("This invitation link is not valid."))
    return _pre_sign_in_page(
        request,
        "identity/invite_accept.html",
        {"offer": offer, "token": token, "values": {"display_name": ""}, "errors": {}},
    )


@router.post("/invite/{token}", dependencies=[Depends(public)])
async def invite_accept(
    token: str,
    request: Request,
    display_name: FormStr = "",
    password: FormStr = "",
    confirm_password: FormStr = "",
    csrf_token: FormStr = "",
) -> Response:
    settings = get_settings(request)
    offer, problem = await _invitation_or_reason(request, token)
    if problem is not None or offer is None:
        return _unusable(request, problem or NotFound("This invitation link is not valid."))
    context: dict[str, Any] = {
        "offer": offer,
        "token": token,
        "values": {"display_name": display_name},
        "errors": {},
    }
    try:
        if not form_token_ok(request, settings, csrf_token):
            raise PermissionDenied(EXPIRED_FORM, problem="csrf")
        if password != confirm_password:
            raise ValidationFailed("confirm_password", "does not match the password")
        result = await AuthFlows(get_db(request), settings).accept_invitation(
            token,
            display_name=display_name,
            password=password,
            info=request_info(request),
            previous_token=request.cookies.get(SESSION_COOKIE),
        )
    except InvitationUnusable as exc:
        return _unusable(request, exc)
    except TenantryError as exc:
        context["errors"] = field_errors(exc)
        return _pre_sign_in_page(request, "identity/invite_accept.html", context, exc.status)
    return _signed_in_redirect(request, settings, result.new, _where_to(result, "/"))


# --- home security policy ----------------------------------------------------------------

PolicyWork = Annotated[Work, Depends(in_home("settings:manage"), scope="function")]


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
async def policy_page(work: PolicyWork, request: Request) -> Response:
    context = await _policy_context(work, get_settings(request))
    return render(request, "identity/security_policy.html", context)


@router.post("/settings/security")
async def policy_submit(
    work: PolicyWork,
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
