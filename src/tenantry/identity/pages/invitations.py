"""Invitations: send, list and revoke them in a tenant; accept one by its link."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from tenantry.access.permissions import BUILTIN_ROLES, role_by_key
from tenantry.config import Settings
from tenantry.errors import (
    NotFound,
    PermissionDenied,
    TenantryError,
    TenantSuspended,
    ValidationFailed,
)
from tenantry.http.deps import (
    SESSION_COOKIE,
    Work,
    get_db,
    get_settings,
    public,
    request_info,
)
from tenantry.identity import auth
from tenantry.identity.cookies import (
    form_token_ok,
)
from tenantry.identity.flows import AuthFlows
from tenantry.identity.invitations import InvitationService, InvitationUnusable
from tenantry.identity.pages.common import (
    EXPIRED_FORM,
    FormStr,
    pre_sign_in_page,
    signed_in_redirect,
    where_to,
)
from tenantry.web.forms import field_errors
from tenantry.web.render import redirect_with_notice, render

router = APIRouter(include_in_schema=False)


# --- invitations -------------------------------------------------------------------------


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
async def invitations_page(work: auth.UsersManage, request: Request) -> Response:
    context = await _invitations_context(work, get_settings(request))
    return render(request, "identity/invitations.html", context)


@router.post("/t/{tenant}/invitations")
async def invite_submit(
    work: auth.UsersManage, request: Request, email: FormStr = "", role: FormStr = ""
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
    invitation_id: uuid.UUID, work: auth.UsersManage, request: Request
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
    return pre_sign_in_page(
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
        return pre_sign_in_page(request, "identity/invite_accept.html", context, exc.status)
    return signed_in_redirect(request, settings, result.new, where_to(result, "/"))
