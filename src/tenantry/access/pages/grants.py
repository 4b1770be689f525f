"""Users & access: the grants list with its filters, issuing and revoking; and the
delegations on one customer (the MSP's side)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from tenantry.access import schemas
from tenantry.access.admin import CLIENT_GROUPS, USER_GROUPS, GrantQuery
from tenantry.access.auth import (
    HomeReader,
    HomeUserManager,
    Reader,
    UserManager,
)
from tenantry.access.models import GrantScope
from tenantry.access.pages.common import (
    PAGE_SIZE,
    SCOPES,
    FormStr,
    admin_of,
    back_to,
    base_of,
    form_errors,
    parse_expiry,
    require_msp,
    status_of,
    zone_of,
)
from tenantry.access.service import tenant_ref
from tenantry.access.why import WhyService
from tenantry.errors import TenantryError, ValidationFailed
from tenantry.http.deps import Work
from tenantry.web.render import redirect_with_notice, render

router = APIRouter(include_in_schema=False)


def _grant_form_defaults() -> dict[str, str]:
    return {
        "grantee": "",
        "role": "technician",
        "scope": "home",
        "customer": "",
        "tenant_group": "",
        "excluded_customers": "",
        "expires_at": "",
    }


async def _choices(work: Work) -> dict[str, Any]:
    """What the grant forms offer: this tenant's users and groups, its roles, and (for an
    MSP at home) its client groups."""
    admin = admin_of(work)
    users = await admin_of(work).home_users()
    groups, _ = await admin.groups(USER_GROUPS, limit=200)
    tenant_groups: list[Any] = []
    is_msp_home = work.ctx.tenant.is_msp and work.ctx.relation == "home"
    if is_msp_home:
        tenant_groups, _ = await admin.groups(CLIENT_GROUPS, limit=200)
    zone = zone_of(work)
    return {
        "users": users,
        "groups": groups,
        "roles": await admin.roles(),
        "tenant_groups": tenant_groups,
        "is_msp_home": is_msp_home,
        "zone": zone.key,
        "scopes": [s.value for s in GrantScope],
    }


def _grant_request(
    grantee: str,
    role: str,
    scope: str,
    customer: str,
    tenant_group: str,
    excluded: str,
    expires_at: datetime | None,
) -> schemas.GrantCreate:
    kind, _, ref = grantee.partition(":")
    try:
        chosen_scope = GrantScope(scope or "home")
    except ValueError as exc:
        raise ValidationFailed("scope", "choose one of the listed scopes") from exc
    return schemas.GrantCreate(
        user=ref if kind == "user" and ref else None,
        group=ref if kind == "group" and ref else None,
        role=role,
        scope=chosen_scope,
        customer=customer.strip() or None if chosen_scope == GrantScope.CUSTOMER else None,
        tenant_group=tenant_group.strip() or None
        if chosen_scope == GrantScope.TENANT_GROUP
        else None,
        excluded_customers=[c.strip() for c in excluded.split(",") if c.strip()]
        if chosen_scope == GrantScope.ALL_CUSTOMERS
        else [],
        expires_at=expires_at,
    )


_GRANTEE_FIELDS = {"user": "grantee", "group": "grantee"}


async def _grants_page(
    request: Request,
    work: Work,
    filters: dict[str, Any],
    cursor: str | None,
    *,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    admin = admin_of(work)
    query = GrantQuery(
        user=filters["user"] or None,
        group=filters["group"] or None,
        role=filters["role"] or None,
        scope=GrantScope(filters["scope"]) if filters["scope"] in SCOPES else None,
        customer=filters["customer"] or None,
        include_expired=filters["include_expired"],
        include_revoked=filters["include_revoked"],
    )
    filter_errors: dict[str, str] = {}
    grants: list[schemas.GrantOut] = []
    next_cursor: str | None = None
    try:
        grants, next_cursor = await admin.grants(query, limit=PAGE_SIZE, cursor=cursor)
    except ValidationFailed as exc:
        if exc.field == "cursor":
            grants, next_cursor = await admin.grants(query, limit=PAGE_SIZE)
            cursor = None
        else:
            filter_errors = {exc.field: exc.message}
    kept = {k: v for k, v in filters.items() if v not in ("", False, None)}
    here = f"{base_of(work)}/access" + (
        "?" + urlencode({**kept, **({"cursor": cursor} if cursor else {})})
        if kept or cursor
        else ""
    )
    return render(
        request,
        "access/grants.html",
        {
            "base": base_of(work),
            "grants": grants,
            "filters": filters,
            "filtered": bool(kept),
            "filter_errors": filter_errors,
            "cursor": cursor,
            "next_href": f"{base_of(work)}/access?" + urlencode({**kept, "cursor": next_cursor})
            if next_cursor
            else None,
            "first_href": f"{base_of(work)}/access" + ("?" + urlencode(kept) if kept else ""),
            "here": here,
            "form": form or _grant_form_defaults(),
            "errors": errors or {},
            "can_manage": work.ctx.can("users:manage"),
            **await _choices(work),
        },
        status=status,
    )


def _filters(
    user: str, group: str, role: str, scope: str, customer: str, expired: bool, revoked: bool
) -> dict[str, Any]:
    return {
        "user": user.strip(),
        "group": group.strip(),
        "role": role.strip(),
        "scope": scope.strip(),
        "customer": customer.strip(),
        "include_expired": expired,
        "include_revoked": revoked,
    }


@router.get("/t/{tenant}/access", response_class=HTMLResponse)
async def grants_page(
    request: Request,
    work: Reader,
    user: Annotated[str, Query(max_length=254)] = "",
    group: Annotated[str, Query(max_length=200)] = "",
    role: Annotated[str, Query(max_length=100)] = "",
    scope: Annotated[str, Query(max_length=20)] = "",
    customer: Annotated[str, Query(max_length=100)] = "",
    include_expired: bool = False,
    include_revoked: bool = False,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> HTMLResponse:
    filters = _filters(user, group, role, scope, customer, include_expired, include_revoked)
    return await _grants_page(request, work, filters, cursor)


@router.post("/t/{tenant}/access/grants", response_model=None)
async def create_grant(
    request: Request,
    work: UserManager,
    grantee: FormStr = "",
    role: FormStr = "",
    scope: FormStr = "home",
    customer: FormStr = "",
    tenant_group: FormStr = "",
    excluded_customers: FormStr = "",
    expires_at: FormStr = "",
) -> Response:
    form = {
        "grantee": grantee,
        "role": role,
        "scope": scope,
        "customer": customer,
        "tenant_group": tenant_group,
        "excluded_customers": excluded_customers,
        "expires_at": expires_at,
    }
    try:
        request_body = _grant_request(
            grantee,
            role,
            scope,
            customer,
            tenant_group,
            excluded_customers,
            parse_expiry(expires_at, zone_of(work)),
        )
        grant = await admin_of(work).issue(request_body, actor=work.actor)
    except TenantryError as exc:
        await work.session.rollback()
        filters = _filters("", "", "", "", "", False, False)
        return await _grants_page(
            request,
            work,
            filters,
            None,
            form=form,
            errors=form_errors(exc, _GRANTEE_FIELDS),
            status=status_of(exc),
        )
    who = (
        grant.user.display_name
        if grant.user
        else f"the group {grant.group.name if grant.group else ''}"
    )
    return redirect_with_notice(
        request,
        f"{base_of(work)}/access",
        f"{who} now holds {grant.role_name} {grant.scope_label}.",
    )


@router.post("/t/{tenant}/access/grants/{grant_id}/revoke", response_model=None)
async def revoke_grant(
    request: Request, grant_id: uuid.UUID, work: UserManager, back: FormStr = ""
) -> Response:
    grant = await admin_of(work).revoke(grant_id, actor=work.actor)
    who = (
        grant.user.display_name
        if grant.user
        else f"the group {grant.group.name if grant.group else ''}"
    )
    return redirect_with_notice(
        request,
        back_to(work, back, f"{base_of(work)}/access"),
        f"Revoked: {who} no longer holds {grant.role_name} {grant.scope_label}.",
    )


def _delegations_href(slug: str) -> str:
    return f"/msp/customers/{slug}/access"


async def _delegations_page(
    request: Request,
    work: Work,
    ref: str,
    *,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    require_msp(work)
    admin = admin_of(work)
    customer, link = await admin.customer_and_link(ref)
    grants, _ = await admin.grants(GrantQuery(customer=customer.slug), limit=200)
    direct = [g for g in grants if g.scope == GrantScope.CUSTOMER]
    broad = [g for g in grants if g.scope != GrantScope.CUSTOMER]
    review = await WhyService(work.session, tenant_ref(customer)).review_all()
    technicians = [e for e in review.items if e.relation == "MSP technician"]
    users = await admin.delegation_candidates()
    groups, _ = await admin.groups(USER_GROUPS, limit=200)
    zone = zone_of(work)
    return render(
        request,
        "access/delegations.html",
        {
            "customer": customer,
            "link": link,
            "direct": direct,
            "broad": broad,
            "technicians": technicians,
            "users": users,
            "groups": groups,
            "roles": await admin.roles(),
            "zone": zone.key,
            "form": form or {"grantee": "", "role": "technician", "expires_at": ""},
            "errors": errors or {},
            "can_manage": work.ctx.can("users:manage"),
            "here": _delegations_href(customer.slug),
        },
        status=status,
    )


@router.get("/msp/customers/{customer}/access", response_class=HTMLResponse)
async def delegations_page(request: Request, customer: str, work: HomeReader) -> HTMLResponse:
    return await _delegations_page(request, work, customer)


@router.post("/msp/customers/{customer}/access", response_model=None)
async def delegate(
    request: Request,
    customer: str,
    work: HomeUserManager,
    grantee: FormStr = "",
    role: FormStr = "",
    expires_at: FormStr = "",
) -> Response:
    require_msp(work)
    form = {"grantee": grantee, "role": role, "expires_at": expires_at}
    try:
        body = _grant_request(
            grantee,
            role,
            GrantScope.CUSTOMER.value,
            customer,
            "",
            "",
            parse_expiry(expires_at, zone_of(work)),
        )
        grant = await admin_of(work).issue(body, actor=work.actor)
    except TenantryError as exc:
        await work.session.rollback()
        errors = form_errors(exc, _GRANTEE_FIELDS)
        if "customer" in errors:
            errors["form"] = errors.pop("customer")
        return await _delegations_page(
            request, work, customer, form=form, errors=errors, status=status_of(exc)
        )
    who = (
        grant.user.display_name
        if grant.user
        else f"the group {grant.group.name if grant.group else ''}"
    )
    until = f" until {grant.expires_at:%Y-%m-%d %H:%M} UTC" if grant.expires_at else ""
    return redirect_with_notice(
        request,
        _delegations_href(grant.customer.slug if grant.customer else customer),
        f"{who} can now act in {grant.customer.display_name if grant.customer else customer} "
        f"as {grant.role_name}{until}.",
    )


@router.post("/msp/customers/{customer}/access/{grant_id}/revoke", response_model=None)
async def revoke_delegation(
    request: Request, customer: str, grant_id: uuid.UUID, work: HomeUserManager
) -> Response:
    require_msp(work)
    grant = await admin_of(work).revoke(grant_id, actor=work.actor)
    who = (
        grant.user.display_name
        if grant.user
        else f"the group {grant.group.name if grant.group else ''}"
    )
    return redirect_with_notice(
        request,
        _delegations_href(customer),
        f"Delegation revoked: {who} no longer holds {grant.role_name} there.",
    )
