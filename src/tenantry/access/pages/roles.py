"""Roles: the list, creating and cloning, comparing two, editing one."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from tenantry.access import schemas
from tenantry.access.auth import (
    Reader,
    RoleManager,
)
from tenantry.access.pages.common import (
    AREAS,
    FormList,
    FormStr,
    admin_of,
    base_of,
    form_errors,
    status_of,
)
from tenantry.errors import TenantryError
from tenantry.http.deps import Work
from tenantry.web.render import redirect_with_notice, render

router = APIRouter(include_in_schema=False)


async def _roles_page(
    request: Request,
    work: Work,
    *,
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    roles = await admin_of(work).roles()
    return render(
        request,
        "access/roles.html",
        {
            "base": base_of(work),
            "roles": roles,
            "areas": AREAS,
            "held": work.ctx.permissions | work.ctx.held_back,
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
        role = await admin_of(work).create_role(
            name=name, description=description, permissions=chosen, actor=work.actor
        )
    except TenantryError as exc:
        await work.session.rollback()
        form = {"name": name, "description": description, "permissions": chosen}
        return await _roles_page(
            request, work, form=form, errors=form_errors(exc), status=status_of(exc)
        )
    return redirect_with_notice(
        request, f"{base_of(work)}/roles/{role.id}", f"Role {role.name} created."
    )


@router.post("/t/{tenant}/roles/clone", response_model=None)
async def clone_role(
    request: Request, work: RoleManager, clone_from: FormStr = "", clone_name: FormStr = ""
) -> Response:
    try:
        role = await admin_of(work).create_role(
            name=clone_name, clone_from=clone_from, actor=work.actor
        )
    except TenantryError as exc:
        await work.session.rollback()
        return await _role_page(
            request,
            work,
            clone_from or "-",
            clone={"name": clone_name},
            errors=form_errors(exc, {"clone_from": "clone_name", "name": "clone_name"}),
            status=status_of(exc),
        )
    return redirect_with_notice(
        request,
        f"{base_of(work)}/roles/{role.id}",
        f"Role {role.name} created as a copy; change it below.",
    )


@router.get("/t/{tenant}/roles/compare", response_class=HTMLResponse)
async def compare_roles(
    request: Request,
    work: Reader,
    a: Annotated[str, Query(max_length=100)] = "",
    b: Annotated[str, Query(max_length=100)] = "",
) -> HTMLResponse:
    admin = admin_of(work)
    roles = await admin.roles()
    comparison: schemas.RoleComparison | None = None
    errors: dict[str, str] = {}
    if a and b:
        try:
            comparison = await admin.compare(a, b)
        except TenantryError as exc:
            errors = form_errors(exc)
    return render(
        request,
        "access/compare.html",
        {
            "base": base_of(work),
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
    admin = admin_of(work)
    role = await admin.role(ref)
    using = in_use if in_use is not None else await admin.grants_using_role(role.key)
    return render(
        request,
        "access/role.html",
        {
            "base": base_of(work),
            "role": role,
            "areas": AREAS,
            "held": work.ctx.permissions | work.ctx.held_back,
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
        changed = await admin_of(work).update_role(
            role, name=name, description=description, permissions=chosen, actor=work.actor
        )
    except TenantryError as exc:
        await work.session.rollback()
        form = {"name": name, "description": description, "permissions": chosen}
        return await _role_page(
            request, work, role, form=form, errors=form_errors(exc), status=status_of(exc)
        )
    return redirect_with_notice(
        request,
        f"{base_of(work)}/roles/{changed.id}",
        f"Role {changed.name} saved: everyone holding it has the change on their next request.",
    )


@router.post("/t/{tenant}/roles/{role}/delete", response_model=None)
async def delete_role(request: Request, role: str, work: RoleManager) -> Response:
    try:
        gone = await admin_of(work).delete_role(role, actor=work.actor)
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
            status=status_of(exc),
        )
    return redirect_with_notice(request, f"{base_of(work)}/roles", f"Role {gone.name} deleted.")
