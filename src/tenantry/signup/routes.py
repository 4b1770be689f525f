"""Sign-up API: request a sign-up (the link is mailed), look at a link, follow it. Every
route is explicitly public and answers 404 while the operator has sign-up turned off."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response, status

from tenantry.http.deps import SESSION_COOKIE, get_db, get_settings, public, request_info
from tenantry.identity.cookies import set_device_cookie, set_session_cookie
from tenantry.identity.routes import me_out
from tenantry.identity.service import IdentityService
from tenantry.signup.schemas import (
    SignupAcceptedOut,
    SignupDoneOut,
    SignupIn,
    SignupPreviewOut,
    SignupVerifyIn,
    check_signup,
)
from tenantry.signup.service import SignupFlows, ensure_open

router = APIRouter(prefix="/api/v1", tags=["signup"])


def _flows(request: Request) -> SignupFlows:
    return SignupFlows(get_db(request), get_settings(request))


@router.post(
    "/signup",
    response_model=SignupAcceptedOut,
    status_code=status.HTTP_202_ACCEPTED,
    dependencies=[Depends(public)],
)
async def request_signup(body: SignupIn, request: Request) -> SignupAcceptedOut:
    """Sign an MSP up: a link to finish is mailed to `email`. The answer is the same
    whether or not the address already has an account. 422 names the field (a taken or
    reserved `slug` too); 429 with Retry-After past the limits per address and network."""
    ensure_open(get_settings(request))
    done = await _flows(request).request(check_signup(body), request_info(request))
    return SignupAcceptedOut(detail=done.detail)


@router.get("/signup/{token}", response_model=SignupPreviewOut, dependencies=[Depends(public)])
async def preview_signup(token: str, request: Request) -> SignupPreviewOut:
    """What a sign-up link creates (410 when used or expired)."""
    signup = await _flows(request).preview(token)
    return SignupPreviewOut.model_validate(signup, from_attributes=True)


@router.post(
    "/signup/{token}/verify",
    response_model=SignupDoneOut,
    status_code=status.HTTP_201_CREATED,
    dependencies=[Depends(public)],
)
async def verify_signup(
    token: str, body: SignupVerifyIn, request: Request, response: Response
) -> SignupDoneOut:
    """Set the admin's password: the MSP tenant is created with them as its Owner, and
    they are signed in (session cookie). Each link works once."""
    settings = get_settings(request)
    done = await _flows(request).verify(
        token,
        password=body.password,
        info=request_info(request),
        previous_token=request.cookies.get(SESSION_COOKIE),
    )
    new = done.new
    set_session_cookie(response, request, settings, new.token, new.auth_session.expires_at)
    set_device_cookie(response, request, settings, new.principal.email)
    async with get_db(request).platform_reader() as session:
        me = await me_out(IdentityService(session, settings), new.principal)
    return SignupDoneOut(id=done.signup.id, slug=done.tenant.slug, status="signed_in", me=me)
