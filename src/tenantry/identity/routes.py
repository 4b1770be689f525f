"""Identity API: sign-in, the caller's own account (sessions, tokens, password, second
factor), invitations and the home security policy."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status

from tenantry.access.context import Principal
from tenantry.access.permissions import BUILTIN_ROLES
from tenantry.db.base import utcnow
from tenantry.http.deps import (
    SESSION_COOKIE,
    get_db,
    get_settings,
    public,
    request_info,
)
from tenantry.http.params import Limit
from tenantry.identity import auth, pages, policy_routes
from tenantry.identity.cookies import (
    clear_session_cookie,
    set_device_cookie,
    set_session_cookie,
)
from tenantry.identity.flows import AuthFlows, SignInResult
from tenantry.identity.invitations import InvitationService, status_of
from tenantry.identity.models import ApiToken, AuthSession, Invitation, User
from tenantry.identity.schemas import (
    CodeIn,
    CountOut,
    HomeTenantOut,
    InvitationAcceptIn,
    InvitationCreatedOut,
    InvitationCreateIn,
    InvitationOut,
    InvitationPreviewOut,
    MeOut,
    MfaStateOut,
    PasswordChangedOut,
    PasswordChangeIn,
    RecoveryCodesOut,
    SessionOut,
    SignInIn,
    SignInOut,
    TokenCreatedOut,
    TokenCreateIn,
    TokenOut,
    TotpDisableIn,
    TotpEnrolIn,
    TotpEnrolmentOut,
    UserOut,
)
from tenantry.identity.service import IdentityService
from tenantry.kit.pagination import Page

router = APIRouter(prefix="/api/v1", tags=["identity"])

# Markers run with scope="function": the unit of work commits when the route returns,
# before the response leaves (FastAPI's default would commit after it was sent).


# --- shapes ----------------------------------------------------------------------------


async def me_out(identity: IdentityService, principal: Principal) -> MeOut:
    user, home = await identity.me(principal)
    return MeOut(
        user=UserOut.model_validate(user),
        home_tenant=HomeTenantOut.model_validate(home),
        mfa=MfaStateOut.model_validate(await identity.mfa_state(principal)),
        auth_method=principal.auth_method,
        session_id=principal.session_id,
        token_id=principal.token_id,
        csrf_token=principal.csrf_token,
    )


async def _signed_in(request: Request, response: Response, result: SignInResult) -> SignInOut:
    settings = get_settings(request)
    new = result.new
    set_session_cookie(response, request, settings, new.token, new.auth_session.expires_at)
    set_device_cookie(response, request, settings, new.principal.email)
    async with get_db(request).platform_reader() as session:
        me = await me_out(IdentityService(session, settings), new.principal)
    return SignInOut(status=result.status, me=me)


def session_out(auth_session: AuthSession, current: bool) -> SessionOut:
    return SessionOut(
        id=auth_session.id,
        created_at=auth_session.created_at,
        last_seen_at=auth_session.last_seen_at,
        expires_at=auth_session.expires_at,
        source_address=auth_session.source_address,
        user_agent=auth_session.user_agent,
        mfa_passed=auth_session.mfa_passed,
        current=current,
    )


def token_out(token: ApiToken) -> TokenOut:
    out = TokenOut.model_validate(token)
    out.expired = token.expires_at is not None and token.expires_at <= utcnow()
    return out


def invitation_out(invitation: Invitation, inviter: User | None) -> InvitationOut:
    return InvitationOut(
        id=invitation.id,
        email=invitation.email,
        role=invitation.role,
        created_at=invitation.created_at,
        expires_at=invitation.expires_at,
        status=status_of(invitation),
        invited_by=inviter.display_name if inviter else None,
    )


# --- sign-in -----------------------------------------------------------------------------


@router.post("/auth/sign-in", response_model=SignInOut, dependencies=[Depends(public)])
async def sign_in(body: SignInIn, request: Request, response: Response) -> SignInOut:
    """Email and password; sets the session cookie. With a second factor enrolled, either
    give `totp_code` here or finish with `POST /api/v1/auth/totp`."""
    result = await AuthFlows(get_db(request), get_settings(request)).sign_in(
        email=body.email,
        password=body.password,
        totp_code=body.totp_code,
        info=request_info(request),
        previous_token=request.cookies.get(SESSION_COOKIE),
    )
    return await _signed_in(request, response, result)


@router.post("/auth/totp", response_model=SignInOut)
async def second_step(
    body: CodeIn, work: auth.SelfPending, request: Request, response: Response
) -> SignInOut:
    """The second step of signing in: an authenticator code or a recovery code. The
    session is replaced by a new one (new cookie)."""
    result = await AuthFlows(get_db(request), get_settings(request)).second_step(
        work.principal, body.code, work.info
    )
    return await _signed_in(request, response, result)


@router.post("/auth/sign-out", status_code=status.HTTP_204_NO_CONTENT)
async def sign_out(work: auth.SelfPending, request: Request, response: Response) -> None:
    """Ends this browser session."""
    await IdentityService(work.session, get_settings(request)).sign_out(
        work.principal, actor=work.actor
    )
    clear_session_cookie(response, request, get_settings(request))


@router.post("/auth/sign-out-everywhere", response_model=CountOut)
async def sign_out_everywhere(
    work: auth.SelfOnly, request: Request, response: Response
) -> CountOut:
    """Ends every session of the caller, this one included. API tokens stay valid."""
    settings = get_settings(request)
    ended = await IdentityService(work.session, settings).sign_out_everywhere(
        work.principal, actor=work.actor
    )
    if work.principal.session_id is not None:
        clear_session_cookie(response, request, settings)
    return CountOut(sessions_ended=ended)


# --- me ----------------------------------------------------------------------------------


@router.get("/me", response_model=MeOut)
async def me(work: auth.SelfPending, request: Request) -> MeOut:
    """Who is calling: the user, the home tenant and the state of the second factor."""
    return await me_out(IdentityService(work.session, get_settings(request)), work.principal)


@router.get("/me/sessions", response_model=Page[SessionOut])
async def list_sessions(work: auth.SelfOnly, request: Request) -> Page[SessionOut]:
    """Live sessions, most recently used first; `current` marks the calling one."""
    rows = await IdentityService(work.session, get_settings(request)).list_sessions(work.principal)
    return Page[SessionOut](items=[session_out(s, current) for s, current in rows])


@router.delete("/me/sessions/{session_id}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_session(
    session_id: uuid.UUID, work: auth.SelfOnly, request: Request, response: Response
) -> None:
    settings = get_settings(request)
    await IdentityService(work.session, settings).revoke_session(
        work.principal, session_id, actor=work.actor
    )
    if session_id == work.principal.session_id:
        clear_session_cookie(response, request, settings)


@router.get("/me/tokens", response_model=Page[TokenOut])
async def list_tokens(work: auth.SelfOnly, request: Request) -> Page[TokenOut]:
    """Personal API tokens that were not revoked (expired ones marked)."""
    tokens = await IdentityService(work.session, get_settings(request)).list_tokens(work.principal)
    return Page[TokenOut](items=[token_out(t) for t in tokens])


@router.post("/me/tokens", response_model=TokenCreatedOut, status_code=status.HTTP_201_CREATED)
async def create_token(
    body: TokenCreateIn, work: auth.SelfOnly, request: Request
) -> TokenCreatedOut:
    """A personal API token acting as you; the secret is in this response only."""
    secret, token = await IdentityService(work.session, get_settings(request)).create_own_token(
        work.principal, name=body.name, expires_in_days=body.expires_in_days, actor=work.actor
    )
    return TokenCreatedOut(**token_out(token).model_dump(), secret=secret)


@router.delete("/me/tokens/{token_id}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_token(token_id: uuid.UUID, work: auth.SelfOnly, request: Request) -> None:
    await IdentityService(work.session, get_settings(request)).revoke_token(
        work.principal, token_id, actor=work.actor
    )


@router.post("/me/password", response_model=PasswordChangedOut)
async def change_password(
    body: PasswordChangeIn, work: auth.SelfOnly, request: Request
) -> PasswordChangedOut:
    """Needs the current password; every other session ends."""
    ended = await AuthFlows(get_db(request), get_settings(request)).change_password(
        work.principal, current=body.current_password, new=body.new_password, info=work.info
    )
    return PasswordChangedOut(other_sessions_ended=ended)


# --- second factor -----------------------------------------------------------------------


@router.get("/me/totp", response_model=MfaStateOut)
async def totp_state(work: auth.SelfPending, request: Request) -> MfaStateOut:
    state = await IdentityService(work.session, get_settings(request)).mfa_state(work.principal)
    return MfaStateOut.model_validate(state)


@router.post("/me/totp/enrol", response_model=TotpEnrolmentOut)
async def totp_enrol(
    work: auth.SelfPending, request: Request, body: TotpEnrolIn | None = None
) -> TotpEnrolmentOut:
    """A secret to add to an authenticator app (URI and QR code). Nothing changes until
    it is confirmed with a code."""
    enrolment = await IdentityService(work.session, get_settings(request)).totp_enrolment(
        work.principal, fresh=bool(body and body.fresh)
    )
    return TotpEnrolmentOut(
        secret=enrolment.secret, otpauth_uri=enrolment.otpauth_uri, qr_svg=enrolment.qr_svg
    )


@router.post("/me/totp/confirm", response_model=RecoveryCodesOut)
async def totp_confirm(
    body: CodeIn, work: auth.SelfPending, request: Request, response: Response
) -> RecoveryCodesOut:
    """Turns the second factor on; returns ten recovery codes, shown this once. A browser
    session is replaced by one that has passed the second factor (new cookie)."""
    settings = get_settings(request)
    codes, replaced = await IdentityService(work.session, settings).confirm_totp(
        work.principal, body.code, work.info
    )
    if replaced is not None:
        set_session_cookie(
            response, request, settings, replaced.token, replaced.auth_session.expires_at
        )
    return RecoveryCodesOut(recovery_codes=codes)


@router.post("/me/totp/disable", status_code=status.HTTP_204_NO_CONTENT)
async def totp_disable(body: TotpDisableIn, work: auth.SelfOnly, request: Request) -> None:
    """Needs the password or a current code; refused when the home tenant requires MFA."""
    await AuthFlows(get_db(request), get_settings(request)).disable_totp(
        work.principal, password=body.password, code=body.code, info=work.info
    )


@router.post("/me/totp/recovery-codes", response_model=RecoveryCodesOut)
async def regenerate_recovery_codes(work: auth.SelfOnly, request: Request) -> RecoveryCodesOut:
    """Ten new recovery codes; the earlier ones stop working."""
    codes = await IdentityService(work.session, get_settings(request)).regenerate_recovery_codes(
        work.principal, actor=work.actor
    )
    return RecoveryCodesOut(recovery_codes=codes)


# --- invitations -------------------------------------------------------------------------


@router.get("/tenants/{tenant}/invitations", response_model=Page[InvitationOut])
async def list_invitations(
    work: auth.UsersManage,
    request: Request,
    limit: Limit = 50,
    cursor: Annotated[str | None, Query()] = None,
) -> Page[InvitationOut]:
    """Pending invitations (not used, revoked or expired), newest first."""
    rows, next_cursor = await InvitationService(work.session, get_settings(request)).pending(
        work.ctx, cursor=cursor, limit=limit
    )
    return Page[InvitationOut](
        items=[invitation_out(inv, by) for inv, by in rows], next_cursor=next_cursor
    )


@router.post(
    "/tenants/{tenant}/invitations",
    response_model=InvitationCreatedOut,
    status_code=status.HTTP_201_CREATED,
)
async def invite(
    body: InvitationCreateIn,
    work: auth.UsersManage,
    request: Request,
) -> InvitationCreatedOut:
    """Invite someone by email with a built-in role. The single-use link is returned,
    and mailed when SMTP is configured."""
    new = await InvitationService(work.session, get_settings(request)).invite(
        work.ctx, email=body.email, role=body.role, actor=work.actor
    )
    out = invitation_out(new.invitation, None)
    out.invited_by = work.ctx.principal.display_name
    return InvitationCreatedOut(**out.model_dump(), link=new.link, delivery=new.delivery)


@router.delete(
    "/tenants/{tenant}/invitations/{invitation_id}", status_code=status.HTTP_204_NO_CONTENT
)
async def revoke_invitation(
    invitation_id: uuid.UUID,
    work: auth.UsersManage,
    request: Request,
) -> None:
    await InvitationService(work.session, get_settings(request)).revoke(
        work.ctx, invitation_id, actor=work.actor
    )


@router.get(
    "/invitations/{token}", response_model=InvitationPreviewOut, dependencies=[Depends(public)]
)
async def preview_invitation(token: str, request: Request) -> InvitationPreviewOut:
    """What an invitation link offers (410 when used, withdrawn or expired)."""
    async with get_db(request).platform_reader() as session:
        invitation, tenant = await InvitationService(session, get_settings(request)).preview(token)
    role = BUILTIN_ROLES.get(invitation.role)
    return InvitationPreviewOut(
        email=invitation.email,
        role=invitation.role,
        role_name=role.name if role else invitation.role,
        tenant_slug=tenant.slug,
        tenant_display_name=tenant.display_name,
        expires_at=invitation.expires_at,
    )


@router.post(
    "/invitations/{token}/accept",
    response_model=SignInOut,
    status_code=status.HTTP_201_CREATED,
    dependencies=[Depends(public)],
)
async def accept_invitation(
    token: str, body: InvitationAcceptIn, request: Request, response: Response
) -> SignInOut:
    """Creates the account (display name and password of the person's choosing) and signs
    them in. Each link works once."""
    result = await AuthFlows(get_db(request), get_settings(request)).accept_invitation(
        token,
        display_name=body.display_name,
        password=body.password,
        info=request_info(request),
        previous_token=request.cookies.get(SESSION_COOKIE),
    )
    return await _signed_in(request, response, result)


def routers() -> list[APIRouter]:
    """The identity API router, then its pages (mounted by tenantry.routers)."""
    return [router, policy_routes.router, pages.router]
