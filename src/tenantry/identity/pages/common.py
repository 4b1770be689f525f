"""What the identity pages share: where to go after signing in, and the forms shown
before sign-in (with their double-submit token)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Form, Request
from fastapi.responses import RedirectResponse, Response

from tenantry.access.context import Principal
from tenantry.config import Settings
from tenantry.errors import (
    TenantryError,
)
from tenantry.http.deps import (
    SESSION_COOKIE,
    get_db,
    get_settings,
)
from tenantry.identity.cookies import (
    form_token,
    set_device_cookie,
    set_form_cookie,
    set_session_cookie,
)
from tenantry.identity.flows import SignInResult
from tenantry.identity.service import IdentityService, NewSession
from tenantry.web.render import render

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


def where_to(result: SignInResult, next_url: str) -> str:
    if result.status == "mfa_required":
        return f"/sign-in/totp?next={quote(next_url)}"
    if result.status == "mfa_enrolment_required":
        return ENROL_PAGE
    if result.enrol_by is not None:
        # The home will require a second factor: offered now, skippable until the date.
        return f"{ENROL_PAGE}?next={quote(next_url)}"
    return next_url


def signed_in_redirect(
    request: Request, settings: Settings, new: NewSession, url: str
) -> RedirectResponse:
    response = RedirectResponse(url, status_code=303)
    set_session_cookie(response, request, settings, new.token, new.auth_session.expires_at)
    set_device_cookie(response, request, settings, new.principal.email)
    return response


async def cookie_principal(request: Request) -> Principal | None:
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


def pre_sign_in_page(
    request: Request, template: str, context: dict[str, Any], status: int = 200
) -> Response:
    """A form shown before sign-in: it carries the double-submit token (cookies.py)."""
    settings = get_settings(request)
    token = form_token(request, settings)
    response = render(request, template, {**context, "csrf_token": token}, status=status)
    set_form_cookie(response, request, settings, token)
    return response
