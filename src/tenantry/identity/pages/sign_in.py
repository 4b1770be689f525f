"""Sign-in (and its second step) and sign-out."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from tenantry.errors import (
    Conflict,
    TenantryError,
    ValidationFailed,
)
from tenantry.http.deps import (
    SESSION_COOKIE,
    get_db,
    get_settings,
    public,
    request_info,
)
from tenantry.identity.auth import SelfPending
from tenantry.identity.cookies import (
    clear_session_cookie,
    form_token_ok,
)
from tenantry.identity.flows import AuthFlows
from tenantry.identity.pages.common import (
    ENROL_PAGE,
    EXPIRED_FORM,
    FormStr,
    cookie_principal,
    pre_sign_in_page,
    safe_next,
    signed_in_redirect,
    where_to,
)
from tenantry.identity.service import IdentityService
from tenantry.web.render import render

router = APIRouter(include_in_schema=False)


# --- sign-in -----------------------------------------------------------------------------


@router.get("/sign-in", dependencies=[Depends(public)])
async def sign_in_page(request: Request, next: str = "/") -> Response:
    target = safe_next(next)
    principal = await cookie_principal(request)
    if principal is not None:
        if principal.mfa_passed and not principal.needs_mfa_enrolment:
            return RedirectResponse(target, status_code=303)
        if principal.has_mfa and not principal.mfa_passed:
            return RedirectResponse(f"/sign-in/totp?next={quote(target)}", status_code=303)
        return RedirectResponse(ENROL_PAGE, status_code=303)
    return pre_sign_in_page(
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
        return pre_sign_in_page(request, "identity/sign_in.html", context, status=403)
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
        return pre_sign_in_page(request, "identity/sign_in.html", context, status=exc.status)
    except TenantryError as exc:
        context["errors"] = {"_form": exc.detail}
        return pre_sign_in_page(request, "identity/sign_in.html", context, status=exc.status)
    return signed_in_redirect(request, settings, result.new, where_to(result, target))


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
    return signed_in_redirect(request, settings, result.new, target)


@router.post("/sign-out")
async def sign_out(work: SelfPending, request: Request) -> Response:
    settings = get_settings(request)
    await IdentityService(work.session, settings).sign_out(work.principal, actor=work.actor)
    response = RedirectResponse("/sign-in", status_code=303)
    clear_session_cookie(response, request, settings)
    return response
