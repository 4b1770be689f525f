"""User groups of a tenant and the MSP's client groups."""

from __future__ import annotations

import uuid
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from tenantry.access import schemas
from tenantry.access.admin import GrantQuery
from tenantry.access.auth import (
    HomeCustomerManager,
    HomeCustomerReader,
    Reader,
    UserManager,
)
from tenantry.access.models import GrantScope
from tenantry.access.pages.common import (
    CLIENT_GROUPS,
    PAGE_SIZE,
    FormStr,
    admin_of,
    base_of,
    form_errors,
    require_msp,
    status_of,
)
from tenantry.errors import NotFound, TenantryError, ValidationFailed
from tenantry.http.deps import Work
from tenantry.web.render import redirect_with_notice, render

router = APIRouter(include_in_schema=False)


async def _groups_page(
    request: Request,
    work: Work,
    *,
    cursor: str | None = None,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    admin = admin_of(work)
    try:
        groups, next_cursor = await admin.user_groups(limit=PAGE_SIZE, cursor=cursor)
    except ValidationFailed:
        cursor = None
        groups, next_cursor = await admin.user_groups(limit=PAGE_SIZE)
    return render(
        request,
        "access/groups.html",
        {
            "base": base_of(work),
            "groups": groups,
            "cursor": cursor,
            "next_href": f"{base_of(work)}/access/groups?" + urlencode({"cursor": next_cursor})
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
        group = await admin_of(work).create_user_group(name=name, description=description)
    except TenantryError as exc:
        await work.session.rollback()
        return await _groups_page(
            request,
            work,
            form={"name": name, "description": description},
            errors=form_errors(exc),
            status=status_of(exc),
        )
    return redirect_with_notice(
        request,
        f"{base_of(work)}/access/groups/{group.id}",
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
    admin = admin_of(work)
    group = await admin.user_group(str(group_id))
    grants, _ = await admin.grants(GrantQuery(group=str(group.id)), limit=200)
    members = {m.id for m in group.members}
    candidates = [u for u in await admin_of(work).home_users() if u.id not in members]
    return render(
        request,
        "access/group.html",
        {
            "base": base_of(work),
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
        group = await admin_of(work).update_user_group(
            str(group_id), name=name, description=description
        )
    except TenantryError as exc:
        await work.session.rollback()
        return await _group_page(
            request,
            work,
            group_id,
            form={"name": name, "description": description, "user": ""},
            errors=form_errors(exc),
            status=status_of(exc),
        )
    return redirect_with_notice(
        request, f"{base_of(work)}/access/groups/{group.id}", f"Group {group.name} saved."
    )


@router.post("/t/{tenant}/access/groups/{group_id}/delete", response_model=None)
async def delete_group(request: Request, group_id: uuid.UUID, work: UserManager) -> Response:
    try:
        group = await admin_of(work).delete_user_group(str(group_id))
    except TenantryError as exc:
        await work.session.rollback()
        return await _group_page(
            request, work, group_id, errors={"delete": exc.detail}, status=status_of(exc)
        )
    return redirect_with_notice(
        request, f"{base_of(work)}/access/groups", f"Group {group.name} deleted."
    )


@router.post("/t/{tenant}/access/groups/{group_id}/members", response_model=None)
async def add_member(
    request: Request, group_id: uuid.UUID, work: UserManager, user: FormStr = ""
) -> Response:
    try:
        group = await admin_of(work).add_user_group_member(str(group_id), user)
    except TenantryError as exc:
        await work.session.rollback()
        current = await admin_of(work).user_group(str(group_id))
        return await _group_page(
            request,
            work,
            group_id,
            form={"name": current.name, "description": current.description, "user": user},
            errors=form_errors(exc, {"group": "user"}),
            status=status_of(exc),
        )
    added = next((m for m in group.members if user in (str(m.id), m.email)), None)
    return redirect_with_notice(
        request,
        f"{base_of(work)}/access/groups/{group.id}",
        f"{added.display_name if added else 'The user'} added to {group.name}: they hold its "
        "grants from their next request on.",
    )


@router.post("/t/{tenant}/access/groups/{group_id}/members/{user_id}/remove", response_model=None)
async def remove_member(
    request: Request, group_id: uuid.UUID, user_id: uuid.UUID, work: UserManager
) -> Response:
    try:
        group = await admin_of(work).remove_user_group_member(str(group_id), str(user_id))
    except NotFound:
        raise
    except TenantryError as exc:
        await work.session.rollback()
        errors = form_errors(exc)
        return await _group_page(
            request,
            work,
            group_id,
            errors={"members": next(iter(errors.values()), exc.detail)},
            status=status_of(exc),
        )
    return redirect_with_notice(
        request,
        f"{base_of(work)}/access/groups/{group.id}",
        f"Removed from {group.name}: the group's grants no longer reach them.",
    )


async def _client_groups_page(
    request: Request,
    work: Work,
    *,
    cursor: str | None = None,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    admin = admin_of(work)
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
    require_msp(work)
    return await _client_groups_page(request, work, cursor=cursor)


@router.post(CLIENT_GROUPS, response_model=None)
async def create_client_group(
    request: Request, work: HomeCustomerManager, name: FormStr = "", description: FormStr = ""
) -> Response:
    require_msp(work)
    try:
        group = await admin_of(work).create_tenant_group(name=name, description=description)
    except TenantryError as exc:
        await work.session.rollback()
        return await _client_groups_page(
            request,
            work,
            form={"name": name, "description": description},
            errors=form_errors(exc),
            status=status_of(exc),
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
    admin = admin_of(work)
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
    require_msp(work)
    return await _client_group_page(request, work, group_id)


@router.post(CLIENT_GROUPS + "/{group_id}/edit", response_model=None)
async def edit_client_group(
    request: Request,
    group_id: uuid.UUID,
    work: HomeCustomerManager,
    name: FormStr = "",
    description: FormStr = "",
) -> Response:
    require_msp(work)
    try:
        group = await admin_of(work).update_tenant_group(
            str(group_id), name=name, description=description
        )
    except TenantryError as exc:
        await work.session.rollback()
        return await _client_group_page(
            request,
            work,
            group_id,
            form={"name": name, "description": description, "customer": ""},
            errors=form_errors(exc),
            status=status_of(exc),
        )
    return redirect_with_notice(
        request, f"{CLIENT_GROUPS}/{group.id}", f"Client group {group.name} saved."
    )


@router.post(CLIENT_GROUPS + "/{group_id}/delete", response_model=None)
async def delete_client_group(
    request: Request, group_id: uuid.UUID, work: HomeCustomerManager
) -> Response:
    require_msp(work)
    try:
        group = await admin_of(work).delete_tenant_group(str(group_id))
    except TenantryError as exc:
        await work.session.rollback()
        return await _client_group_page(
            request, work, group_id, errors={"delete": exc.detail}, status=status_of(exc)
        )
    return redirect_with_notice(request, CLIENT_GROUPS, f"Client group {group.name} deleted.")


@router.post(CLIENT_GROUPS + "/{group_id}/members", response_model=None)
async def add_client(
    request: Request, group_id: uuid.UUID, work: HomeCustomerManager, customer: FormStr = ""
) -> Response:
    require_msp(work)
    try:
        group = await admin_of(work).add_tenant_group_member(str(group_id), customer)
    except TenantryError as exc:
        await work.session.rollback()
        current = await admin_of(work).tenant_group(str(group_id))
        return await _client_group_page(
            request,
            work,
            group_id,
            form={"name": current.name, "description": current.description, "customer": customer},
            errors=form_errors(exc),
            status=status_of(exc),
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
    require_msp(work)
    try:
        group = await admin_of(work).remove_tenant_group_member(str(group_id), customer)
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
