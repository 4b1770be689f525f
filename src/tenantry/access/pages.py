"""Access pages: roles (list, compare, edit), users & access (grants with filters, user
groups, the access review, explain one user), the MSP's client groups and the
delegations on a customer. Thin: the rules are in AccessAdmin and WhyService; these
routes turn forms into calls and errors into fields, and redirect after a change."""

from __future__ import annotations

import uuid
import zoneinfo
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, Response

from tenantry.access import repository, schemas
from tenantry.access.admin import AccessAdmin, GrantQuery
from tenantry.access.models import GrantScope
from tenantry.access.permissions import ADMIN_ROLES, CATALOG
from tenantry.access.routes import csv_response
from tenantry.access.service import tenant_ref
from tenantry.access.why import WhyService, review_csv_rows
from tenantry.db.base import utcnow
from tenantry.errors import NotFound, TenantryError, ValidationFailed
from tenantry.http.deps import Work, in_home, in_tenant
from tenantry.tenancy import repository as tenancy_repository
from tenantry.web.forms import field_errors
from tenantry.web.render import redirect_with_notice, render

router = APIRouter(include_in_schema=False)
# Every marker is used with scope="function": the unit of work commits when the route
# returns, before the response leaves, so the page a POST redirects to sees the change.
Reader = Annotated[Work, Depends(in_tenant("users:read"), scope="function")]
UserManager = Annotated[Work, Depends(in_tenant("users:manage"), scope="function")]
RoleManager = Annotated[Work, Depends(in_tenant("roles:manage"), scope="function")]
HomeReader = Annotated[Work, Depends(in_home("users:read"), scope="function")]
HomeUserManager = Annotated[Work, Depends(in_home("users:manage"), scope="function")]
HomeCustomerReader = Annotated[Work, Depends(in_home("customers:read"), scope="function")]
HomeCustomerManager = Annotated[Work, Depends(in_home("customers:manage"), scope="function")]
FormStr = Annotated[str, Form(max_length=1000)]
FormList = Annotated[list[str], Form()]
PAGE_SIZE = 50
SCOPES = frozenset(s.value for s in GrantScope)
CLIENT_GROUPS = "/msp/client-groups"

# Catalog permissions grouped by area ("tickets" → read, write), for checkbox lists.
AREAS: list[tuple[str, list[tuple[str, str]]]] = []
for _permission, _description in CATALOG.items():
    _area = _permission.split(":", 1)[0]
    if not AREAS or AREAS[-1][0] != _area:
        AREAS.append((_area, []))
    AREAS[-1][1].append((_permission, _description))


def _admin(work: Work) -> AccessAdmin:
    return AccessAdmin.acting(work.ctx, work.session, work.actor)


def _base(work: Work) -> str:
    return f"/t/{work.ctx.tenant.slug}"


def _back(work: Work, value: str, default: str) -> str:
    """Only back to one of this tenant's access pages: no open redirect."""
    prefix = _base(work) + "/access"
    return value if value == prefix or value.startswith((prefix + "?", prefix + "/")) else default


def _errors(exc: TenantryError, rename: dict[str, str] | None = None) -> dict[str, str]:
    found = field_errors(exc)
    for old, new in (rename or {}).items():
        if old in found:
            found[new] = found.pop(old)
    return found


async def _zone(work: Work) -> zoneinfo.ZoneInfo:
    """Expiry typed in a form is read in the issuing tenant's time zone (named in the
    label), as the browser's date-time input carries no zone."""
    tenant = await tenancy_repository.by_id(work.session, work.ctx.tenant.id)
    try:
        return zoneinfo.ZoneInfo(tenant.time_zone if tenant else "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def _parse_expiry(value: str, zone: zoneinfo.ZoneInfo) -> datetime | None:
    value = value.strip()
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ValidationFailed("expires_at", "is not a date and time") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone)
    return parsed.astimezone(UTC)


def _who(grant: schemas.GrantOut) -> str:
    if grant.user is not None:
        return grant.user.display_name
    return f"the group {grant.group.name}" if grant.group else "the group"


def _status_of(exc: TenantryError) -> int:
    return exc.status if exc.status < 500 else 422


# ================================================================ roles


async def _roles_page(
    request: Request,
    work: Work,
    *,
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    roles = await _admin(work).roles()
    return render(
        request,
        "access/roles.html",
        {
            "base": _base(work),
            "roles": roles,
            "areas": AREAS,
            "held": work.ctx.permissions,
            "form": form or {"permissions": []},
            "errors": errors or {},
            "can_manage": work.ctx.can("roles:manage"),
        },
        status=status,
    )


@router.get("/t/{tenant}/roles", response_class=HTMLResponse)
async def roles_page(request: Request, work: Reader) -> HTMLResponse:
    return await _roles_page(request, work)


@router.post("/t/{tenant}/roles", response_model=None)
async def create_role(
    request: Request,
    work: RoleManager,
    name: FormStr = "",
    description: FormStr = "",
    permissions: FormList | None = None,
) -> Response:
    chosen = permissions or []
    try:
        role = await _admin(work).create_role(
            name=name, description=description, permissions=chosen
        )
    except TenantryError as exc:
        await work.session.rollback()
        form = {"name": name, "description": description, "permissions": chosen}
        return await _roles_page(
            request, work, form=form, errors=_errors(exc), status=_status_of(exc)
        )
    return redirect_with_notice(
        request, f"{_base(work)}/roles/{role.id}", f"Role {role.name} created."
    )


@router.post("/t/{tenant}/roles/clone", response_model=None)
async def clone_role(
    request: Request, work: RoleManager, clone_from: FormStr = "", clone_name: FormStr = ""
) -> Response:
    try:
        role = await _admin(work).create_role(name=clone_name, clone_from=clone_from)
    except TenantryError as exc:
        await work.session.rollback()
        return await _role_page(
            request,
            work,
            clone_from or "-",
            clone={"name": clone_name},
            errors=_errors(exc, {"clone_from": "clone_name", "name": "clone_name"}),
            status=_status_of(exc),
        )
    return redirect_with_notice(
        request,
        f"{_base(work)}/roles/{role.id}",
        f"Role {role.name} created as a copy; change it below.",
    )


@router.get("/t/{tenant}/roles/compare", response_class=HTMLResponse)
async def compare_roles(
    request: Request,
    work: Reader,
    a: Annotated[str, Query(max_length=100)] = "",
    b: Annotated[str, Query(max_length=100)] = "",
) -> HTMLResponse:
    admin = _admin(work)
    roles = await admin.roles()
    comparison: schemas.RoleComparison | None = None
    errors: dict[str, str] = {}
    if a and b:
        try:
            comparison = await admin.compare(a, b)
        except TenantryError as exc:
            errors = _errors(exc)
    return render(
        request,
        "access/compare.html",
        {
            "base": _base(work),
            "roles": roles,
            "a": a,
            "b": b,
            "comparison": comparison,
            "errors": errors,
        },
        status=422 if errors else 200,
    )


async def _role_page(
    request: Request,
    work: Work,
    ref: str,
    *,
    form: dict[str, Any] | None = None,
    clone: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    in_use: list[schemas.GrantOut] | None = None,
    status: int = 200,
) -> HTMLResponse:
    admin = _admin(work)
    role = await admin.role(ref)
    using = in_use if in_use is not None else await admin.grants_using_role(role.key)
    return render(
        request,
        "access/role.html",
        {
            "base": _base(work),
            "role": role,
            "areas": AREAS,
            "held": work.ctx.permissions,
            "form": form
            or {
                "name": role.name,
                "description": role.description,
                "permissions": role.permissions,
            },
            "clone": clone or {"name": f"{role.name} (copy)"[:100]},
            "errors": errors or {},
            "using": using,
            "can_manage": work.ctx.can("roles:manage"),
            "can_read_grants": work.ctx.can("users:read"),
        },
        status=status,
    )


@router.get("/t/{tenant}/roles/{role}", response_class=HTMLResponse)
async def role_page(request: Request, role: str, work: Reader) -> HTMLResponse:
    return await _role_page(request, work, role)


@router.post("/t/{tenant}/roles/{role}/edit", response_model=None)
async def edit_role(
    request: Request,
    role: str,
    work: RoleManager,
    name: FormStr = "",
    description: FormStr = "",
    permissions: FormList | None = None,
) -> Response:
    chosen = permissions or []
    try:
        changed = await _admin(work).update_role(
            role, name=name, description=description, permissions=chosen
        )
    except TenantryError as exc:
        await work.session.rollback()
        form = {"name": name, "description": description, "permissions": chosen}
        return await _role_page(
            request, work, role, form=form, errors=_errors(exc), status=_status_of(exc)
        )
    return redirect_with_notice(
        request,
        f"{_base(work)}/roles/{changed.id}",
        f"Role {changed.name} saved: everyone holding it has the change on their next request.",
    )


@router.post("/t/{tenant}/roles/{role}/delete", response_model=None)
async def delete_role(request: Request, role: str, work: RoleManager) -> Response:
    try:
        gone = await _admin(work).delete_role(role)
    except TenantryError as exc:
        await work.session.rollback()
        listed = exc.extra.get("grants")
        in_use = (
            [schemas.GrantOut.model_validate(g) for g in listed]
            if isinstance(listed, list)
            else None
        )
        return await _role_page(
            request,
            work,
            role,
            errors={"delete": exc.detail},
            in_use=in_use,
            status=_status_of(exc),
        )
    return redirect_with_notice(request, f"{_base(work)}/roles", f"Role {gone.name} deleted.")


# ================================================================ users & access: grants


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
    admin = _admin(work)
    users = await repository.users_of_tenant(work.session, work.ctx.tenant.id)
    groups, _ = await admin.user_groups(limit=200)
    tenant_groups: list[schemas.TenantGroupOut] = []
    is_msp_home = work.ctx.tenant.is_msp and work.ctx.relation == "home"
    if is_msp_home:
        tenant_groups, _ = await admin.tenant_groups(limit=200)
    zone = await _zone(work)
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
    admin = _admin(work)
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
    here = f"{_base(work)}/access" + (
        "?" + urlencode({**kept, **({"cursor": cursor} if cursor else {})})
        if kept or cursor
        else ""
    )
    return render(
        request,
        "access/grants.html",
        {
            "base": _base(work),
            "grants": grants,
            "filters": filters,
            "filtered": bool(kept),
            "filter_errors": filter_errors,
            "cursor": cursor,
            "next_href": f"{_base(work)}/access?" + urlencode({**kept, "cursor": next_cursor})
            if next_cursor
            else None,
            "first_href": f"{_base(work)}/access" + ("?" + urlencode(kept) if kept else ""),
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
            _parse_expiry(expires_at, await _zone(work)),
        )
        grant = await _admin(work).issue(request_body)
    except TenantryError as exc:
        await work.session.rollback()
        filters = _filters("", "", "", "", "", False, False)
        return await _grants_page(
            request,
            work,
            filters,
            None,
            form=form,
            errors=_errors(exc, _GRANTEE_FIELDS),
            status=_status_of(exc),
        )
    who = (
        grant.user.display_name
        if grant.user
        else f"the group {grant.group.name if grant.group else ''}"
    )
    return redirect_with_notice(
        request,
        f"{_base(work)}/access",
        f"{who} now holds {grant.role_name} {grant.scope_label}.",
    )


@router.post("/t/{tenant}/access/grants/{grant_id}/revoke", response_model=None)
async def revoke_grant(
    request: Request, grant_id: uuid.UUID, work: UserManager, back: FormStr = ""
) -> Response:
    grant = await _admin(work).revoke(grant_id)
    who = (
        grant.user.display_name
        if grant.user
        else f"the group {grant.group.name if grant.group else ''}"
    )
    return redirect_with_notice(
        request,
        _back(work, back, f"{_base(work)}/access"),
        f"Revoked: {who} no longer holds {grant.role_name} {grant.scope_label}.",
    )


# ================================================================ user groups


async def _groups_page(
    request: Request,
    work: Work,
    *,
    cursor: str | None = None,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    admin = _admin(work)
    try:
        groups, next_cursor = await admin.user_groups(limit=PAGE_SIZE, cursor=cursor)
    except ValidationFailed:
        cursor = None
        groups, next_cursor = await admin.user_groups(limit=PAGE_SIZE)
    return render(
        request,
        "access/groups.html",
        {
            "base": _base(work),
            "groups": groups,
            "cursor": cursor,
            "next_href": f"{_base(work)}/access/groups?" + urlencode({"cursor": next_cursor})
            if next_cursor
            else None,
            "form": form or {"name": "", "description": ""},
            "errors": errors or {},
            "can_manage": work.ctx.can("users:manage"),
        },
        status=status,
    )


@router.get("/t/{tenant}/access/groups", response_class=HTMLResponse)
async def groups_page(
    request: Request, work: Reader, cursor: Annotated[str | None, Query(max_length=500)] = None
) -> HTMLResponse:
    return await _groups_page(request, work, cursor=cursor)


@router.post("/t/{tenant}/access/groups", response_model=None)
async def create_group(
    request: Request, work: UserManager, name: FormStr = "", description: FormStr = ""
) -> Response:
    try:
        group = await _admin(work).create_user_group(name=name, description=description)
    except TenantryError as exc:
        await work.session.rollback()
        return await _groups_page(
            request,
            work,
            form={"name": name, "description": description},
            errors=_errors(exc),
            status=_status_of(exc),
        )
    return redirect_with_notice(
        request,
        f"{_base(work)}/access/groups/{group.id}",
        f"Group {group.name} created: add its members below, then grant it a role.",
    )


async def _group_page(
    request: Request,
    work: Work,
    group_id: uuid.UUID,
    *,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    in_use: list[schemas.GrantOut] | None = None,
    status: int = 200,
) -> HTMLResponse:
    admin = _admin(work)
    group = await admin.user_group(str(group_id))
    grants, _ = await admin.grants(GrantQuery(group=str(group.id)), limit=200)
    members = {m.id for m in group.members}
    candidates = [
        u
        for u in await repository.users_of_tenant(work.session, work.ctx.tenant.id)
        if u.id not in members
    ]
    return render(
        request,
        "access/group.html",
        {
            "base": _base(work),
            "group": group,
            "grants": in_use if in_use is not None else grants,
            "candidates": candidates,
            "form": form or {"name": group.name, "description": group.description, "user": ""},
            "errors": errors or {},
            "can_manage": work.ctx.can("users:manage"),
        },
        status=status,
    )


@router.get("/t/{tenant}/access/groups/{group_id}", response_class=HTMLResponse)
async def group_page(request: Request, group_id: uuid.UUID, work: Reader) -> HTMLResponse:
    return await _group_page(request, work, group_id)


@router.post("/t/{tenant}/access/groups/{group_id}/edit", response_model=None)
async def edit_group(
    request: Request,
    group_id: uuid.UUID,
    work: UserManager,
    name: FormStr = "",
    description: FormStr = "",
) -> Response:
    try:
        group = await _admin(work).update_user_group(
            str(group_id), name=name, description=description
        )
    except TenantryError as exc:
        await work.session.rollback()
        return await _group_page(
            request,
            work,
            group_id,
            form={"name": name, "description": description, "user": ""},
            errors=_errors(exc),
            status=_status_of(exc),
        )
    return redirect_with_notice(
        request, f"{_base(work)}/access/groups/{group.id}", f"Group {group.name} saved."
    )


@router.post("/t/{tenant}/access/groups/{group_id}/delete", response_model=None)
async def delete_group(request: Request, group_id: uuid.UUID, work: UserManager) -> Response:
    try:
        group = await _admin(work).delete_user_group(str(group_id))
    except TenantryError as exc:
        await work.session.rollback()
        return await _group_page(
            request, work, group_id, errors={"delete": exc.detail}, status=_status_of(exc)
        )
    return redirect_with_notice(
        request, f"{_base(work)}/access/groups", f"Group {group.name} deleted."
    )


@router.post("/t/{tenant}/access/groups/{group_id}/members", response_model=None)
async def add_member(
    request: Request, group_id: uuid.UUID, work: UserManager, user: FormStr = ""
) -> Response:
    try:
        group = await _admin(work).add_user_group_member(str(group_id), user)
    except TenantryError as exc:
        await work.session.rollback()
        current = await _admin(work).user_group(str(group_id))
        return await _group_page(
            request,
            work,
            group_id,
            form={"name": current.name, "description": current.description, "user": user},
            errors=_errors(exc, {"group": "user"}),
            status=_status_of(exc),
        )
    added = next((m for m in group.members if user in (str(m.id), m.email)), None)
    return redirect_with_notice(
        request,
        f"{_base(work)}/access/groups/{group.id}",
        f"{added.display_name if added else 'The user'} added to {group.name}: they hold its "
        "grants from their next request on.",
    )


@router.post("/t/{tenant}/access/groups/{group_id}/members/{user_id}/remove", response_model=None)
async def remove_member(
    request: Request, group_id: uuid.UUID, user_id: uuid.UUID, work: UserManager
) -> Response:
    try:
        group = await _admin(work).remove_user_group_member(str(group_id), str(user_id))
    except NotFound:
        raise
    except TenantryError as exc:
        await work.session.rollback()
        errors = _errors(exc)
        return await _group_page(
            request,
            work,
            group_id,
            errors={"members": next(iter(errors.values()), exc.detail)},
            status=_status_of(exc),
        )
    return redirect_with_notice(
        request,
        f"{_base(work)}/access/groups/{group.id}",
        f"Removed from {group.name}: the group's grants no longer reach them.",
    )


# ================================================================ why


@router.get("/t/{tenant}/access/review", response_class=HTMLResponse)
async def review_page(request: Request, work: Reader) -> HTMLResponse:
    review = await WhyService(work.session, work.ctx.tenant).review_all()
    return render(
        request,
        "access/review.html",
        {"base": _base(work), "review": review, "catalog_size": len(CATALOG)},
    )


@router.get("/t/{tenant}/access/review.csv", response_model=None)
async def review_csv(work: Reader) -> Response:
    review = await WhyService(work.session, work.ctx.tenant).review_all()
    return csv_response(review_csv_rows(review), work.ctx.tenant.slug)


@router.get("/t/{tenant}/access/explain", response_class=HTMLResponse)
async def explain_page(
    request: Request, work: Reader, user: Annotated[str, Query(max_length=254)] = ""
) -> HTMLResponse:
    explanation: schemas.Explanation | None = None
    errors: dict[str, str] = {}
    if user.strip():
        try:
            explanation = await WhyService(work.session, work.ctx.tenant).explain(user)
        except ValidationFailed as exc:
            errors = {exc.field: exc.message}
    users = await repository.users_of_tenant(work.session, work.ctx.tenant.id)
    return render(
        request,
        "access/explain.html",
        {
            "base": _base(work),
            "user": user,
            "users": users,
            "explanation": explanation,
            "errors": errors,
        },
        status=422 if errors else 200,
    )


# ================================================================ client groups (MSP)


def _require_msp(work: Work) -> None:
    if not work.ctx.tenant.is_msp:
        raise NotFound(f"{work.ctx.tenant.display_name} is not an MSP, so it has no client groups.")


async def _client_groups_page(
    request: Request,
    work: Work,
    *,
    cursor: str | None = None,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    admin = _admin(work)
    try:
        groups, next_cursor = await admin.tenant_groups(limit=PAGE_SIZE, cursor=cursor)
    except ValidationFailed:
        cursor = None
        groups, next_cursor = await admin.tenant_groups(limit=PAGE_SIZE)
    return render(
        request,
        "access/client_groups.html",
        {
            "groups": groups,
            "cursor": cursor,
            "next_href": CLIENT_GROUPS + "?" + urlencode({"cursor": next_cursor})
            if next_cursor
            else None,
            "form": form or {"name": "", "description": ""},
            "errors": errors or {},
            "can_manage": work.ctx.can("customers:manage"),
        },
        status=status,
    )


@router.get(CLIENT_GROUPS, response_class=HTMLResponse)
async def client_groups_page(
    request: Request,
    work: HomeCustomerReader,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> HTMLResponse:
    _require_msp(work)
    return await _client_groups_page(request, work, cursor=cursor)


@router.post(CLIENT_GROUPS, response_model=None)
async def create_client_group(
    request: Request, work: HomeCustomerManager, name: FormStr = "", description: FormStr = ""
) -> Response:
    _require_msp(work)
    try:
        group = await _admin(work).create_tenant_group(name=name, description=description)
    except TenantryError as exc:
        await work.session.rollback()
        return await _client_groups_page(
            request,
            work,
            form={"name": name, "description": description},
            errors=_errors(exc),
            status=_status_of(exc),
        )
    return redirect_with_notice(
        request,
        f"{CLIENT_GROUPS}/{group.id}",
        f"Client group {group.name} created: add customers to it below.",
    )


async def _client_group_page(
    request: Request,
    work: Work,
    group_id: uuid.UUID,
    *,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    admin = _admin(work)
    group = await admin.tenant_group(str(group_id))
    grants: list[schemas.GrantOut] = []
    if work.ctx.can("users:read"):
        grants, _ = await admin.grants(GrantQuery(scope=GrantScope.TENANT_GROUP), limit=200)
        grants = [g for g in grants if g.tenant_group and g.tenant_group.id == group.id]
    return render(
        request,
        "access/client_group.html",
        {
            "group": group,
            "grants": grants,
            "form": form or {"name": group.name, "description": group.description, "customer": ""},
            "errors": errors or {},
            "can_manage": work.ctx.can("customers:manage"),
        },
        status=status,
    )


@router.get(CLIENT_GROUPS + "/{group_id}", response_class=HTMLResponse)
async def client_group_page(
    request: Request, group_id: uuid.UUID, work: HomeCustomerReader
) -> HTMLResponse:
    _require_msp(work)
    return await _client_group_page(request, work, group_id)


@router.post(CLIENT_GROUPS + "/{group_id}/edit", response_model=None)
async def edit_client_group(
    request: Request,
    group_id: uuid.UUID,
    work: HomeCustomerManager,
    name: FormStr = "",
    description: FormStr = "",
) -> Response:
    _require_msp(work)
    try:
        group = await _admin(work).update_tenant_group(
            str(group_id), name=name, description=description
        )
    except TenantryError as exc:
        await work.session.rollback()
        return await _client_group_page(
            request,
            work,
            group_id,
            form={"name": name, "description": description, "customer": ""},
            errors=_errors(exc),
            status=_status_of(exc),
        )
    return redirect_with_notice(
        request, f"{CLIENT_GROUPS}/{group.id}", f"Client group {group.name} saved."
    )


@router.post(CLIENT_GROUPS + "/{group_id}/delete", response_model=None)
async def delete_client_group(
    request: Request, group_id: uuid.UUID, work: HomeCustomerManager
) -> Response:
    _require_msp(work)
    try:
        group = await _admin(work).delete_tenant_group(str(group_id))
    except TenantryError as exc:
        await work.session.rollback()
        return await _client_group_page(
            request, work, group_id, errors={"delete": exc.detail}, status=_status_of(exc)
        )
    return redirect_with_notice(request, CLIENT_GROUPS, f"Client group {group.name} deleted.")


@router.post(CLIENT_GROUPS + "/{group_id}/members", response_model=None)
async def add_client(
    request: Request, group_id: uuid.UUID, work: HomeCustomerManager, customer: FormStr = ""
) -> Response:
    _require_msp(work)
    try:
        group = await _admin(work).add_tenant_group_member(str(group_id), customer)
    except TenantryError as exc:
        await work.session.rollback()
        current = await _admin(work).tenant_group(str(group_id))
        return await _client_group_page(
            request,
            work,
            group_id,
            form={"name": current.name, "description": current.description, "customer": customer},
            errors=_errors(exc),
            status=_status_of(exc),
        )
    return redirect_with_notice(
        request,
        f"{CLIENT_GROUPS}/{group.id}",
        f"Added to {group.name}: grants for the group reach it from the next request on.",
    )


@router.post(CLIENT_GROUPS + "/{group_id}/members/{customer}/remove", response_model=None)
async def remove_client(
    request: Request, group_id: uuid.UUID, customer: str, work: HomeCustomerManager
) -> Response:
    _require_msp(work)
    try:
        group = await _admin(work).remove_tenant_group_member(str(group_id), customer)
    except ValidationFailed as exc:
        await work.session.rollback()
        return await _client_group_page(
            request, work, group_id, errors={"members": exc.message}, status=exc.status
        )
    return redirect_with_notice(
        request,
        f"{CLIENT_GROUPS}/{group.id}",
        f"Removed from {group.name}: grants for the group no longer reach it.",
    )


# ================================================================ delegations on a customer


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
    _require_msp(work)
    found = await tenancy_repository.customer_of(work.session, work.ctx.tenant.id, ref)
    if found is None:
        raise NotFound("No such customer.")
    customer, link = found
    admin = _admin(work)
    grants, _ = await admin.grants(GrantQuery(customer=customer.slug), limit=200)
    direct = [g for g in grants if g.scope == GrantScope.CUSTOMER]
    broad = [g for g in grants if g.scope != GrantScope.CUSTOMER]
    review = await WhyService(work.session, tenant_ref(customer)).review_all()
    technicians = [e for e in review.items if e.relation == "MSP technician"]
    home_grants = await repository.live_home_grants(work.session, work.ctx.tenant.id, utcnow())
    admins = {g.user_id for g in home_grants if g.user_id and g.role in ADMIN_ROLES}
    users = [
        u
        for u in await repository.users_of_tenant(work.session, work.ctx.tenant.id)
        if u.id not in admins
    ]
    groups, _ = await admin.user_groups(limit=200)
    zone = await _zone(work)
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
    _require_msp(work)
    form = {"grantee": grantee, "role": role, "expires_at": expires_at}
    try:
        body = _grant_request(
            grantee,
            role,
            GrantScope.CUSTOMER.value,
            customer,
            "",
            "",
            _parse_expiry(expires_at, await _zone(work)),
        )
        grant = await _admin(work).issue(body)
    except TenantryError as exc:
        await work.session.rollback()
        errors = _errors(exc, _GRANTEE_FIELDS)
        if "customer" in errors:
            errors["form"] = errors.pop("customer")
        return await _delegations_page(
            request, work, customer, form=form, errors=errors, status=_status_of(exc)
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
    _require_msp(work)
    grant = await _admin(work).revoke(grant_id)
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
