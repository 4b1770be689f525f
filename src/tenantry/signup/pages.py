"""Sign-up pages: the form, "check your email", and the link's page where the password
is set. Public, and 404 while the operator has sign-up turned off."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from tenantry.errors import NotFound, PermissionDenied, TenantryError, ValidationFailed
from tenantry.http.deps import SESSION_COOKIE, get_db, get_settings, public, request_info
from tenantry.identity.cookies import form_token_ok
from tenantry.identity.pages.common import (
    EXPIRED_FORM,
    FormStr,
    pre_sign_in_page,
    signed_in_redirect,
)
from tenantry.signup.schemas import SignupIn, check_signup, suggested_slug
from tenantry.signup.service import SignupFlows, SignupUnusable, ensure_open
from tenantry.web.forms import field_errors
from tenantry.web.render import render

router = APIRouter(include_in_schema=False)

EMPTY = {"organisation": "", "slug": "", "admin_name": "", "email": ""}


def _flows(request: Request) -> SignupFlows:
    return SignupFlows(get_db(request), get_settings(request))


@router.get("/signup", dependencies=[Depends(public)])
async def signup_page(request: Request) -> Response:
    ensure_open(get_settings(request))
    return pre_sign_in_page(request, "signup/signup.html", {"values": EMPTY, "errors": {}})


@router.post("/signup", dependencies=[Depends(public)])
async def signup_submit(
    request: Request,
    organisation: FormStr = "",
    slug: FormStr = "",
    admin_name: FormStr = "",
    email: FormStr = "",
    csrf_token: FormStr = "",
) -> Response:
    settings = get_settings(request)
    ensure_open(settings)
    values = {"organisation": organisation, "slug": slug, "admin_name": admin_name, "email": email}
    try:
        if not form_token_ok(request, settings, csrf_token):
            raise PermissionDenied(EXPIRED_FORM, problem="csrf")
        body = SignupIn(
            organisation=organisation[:200],
            slug=slug[:100] or None,
            admin_name=admin_name[:200],
            email=email[:320],
        )
        done = await _flows(request).request(check_signup(body), request_info(request))
    except TenantryError as exc:
        context: dict[str, Any] = {
            "values": values,
            "errors": field_errors(exc),
            "suggested": suggested_slug(organisation) if not slug else "",
        }
        response = pre_sign_in_page(request, "signup/signup.html", context, exc.status)
        if "retry_after" in exc.extra:
            response.headers["retry-after"] = str(exc.extra["retry_after"])
        return response
    return render(request, "signup/check_email.html", {"email": email, "detail": done.detail})


def _unusable(request: Request, exc: TenantryError) -> Response:
    return render(request, "signup/unusable.html", {"message": exc.detail}, status=exc.status)


@router.get("/signup/verify/{token}", dependencies=[Depends(public)])
async def verify_page(token: str, request: Request) -> Response:
    try:
        signup = await _flows(request).preview(token)
    except SignupUnusable as exc:
        return _unusable(request, exc)
    except NotFound as exc:
        if not get_settings(request).signup_enabled:
            raise
        return _unusable(request, exc)
    context = {"signup": signup, "token": token, "errors": {}}
    return pre_sign_in_page(request, "signup/verify.html", context)


@router.post("/signup/verify/{token}", dependencies=[Depends(public)])
async def verify_submit(
    token: str,
    request: Request,
    password: FormStr = "",
    confirm_password: FormStr = "",
    csrf_token: FormStr = "",
) -> Response:
    settings = get_settings(request)
    flows = _flows(request)
    try:
        signup = await flows.preview(token)
    except SignupUnusable as exc:
        return _unusable(request, exc)
    except NotFound as exc:
        if not settings.signup_enabled:
            raise
        return _unusable(request, exc)
    context: dict[str, Any] = {"signup": signup, "token": token, "errors": {}}
    try:
        if not form_token_ok(request, settings, csrf_token):
            raise PermissionDenied(EXPIRED_FORM, problem="csrf")
        if password != confirm_password:
            raise ValidationFailed("confirm_password", "does not match the password")
        done = await flows.verify(
            token,
            password=password,
            info=request_info(request),
            previous_token=request.cookies.get(SESSION_COOKIE),
        )
    except SignupUnusable as exc:
        return _unusable(request, exc)
    except TenantryError as exc:
        context["errors"] = field_errors(exc)
        return pre_sign_in_page(request, "signup/verify.html", context, exc.status)
    return signed_in_redirect(request, settings, done.new, "/")
