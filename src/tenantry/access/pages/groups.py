"""The pages of user groups (``/t/<tenant>/access/groups``) and of an MSP's client groups
(``/msp/client-groups``): one set of pages per kind of group, on one template pair."""

import uuid
from dataclasses import dataclass
from typing import Annotated, Any, get_args
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, Response

from tenantry.access import auth, schemas
from tenantry.access.admin import CLIENT_GROUPS, USER_GROUPS, GrantQuery, GroupKind
from tenantry.access.models import GrantScope
from tenantry.access.pages.common import (
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


@dataclass(frozen=True, slots=True)
class Notices:
    """What a change says once done ({name}: the group; {who}: a member added)."""

    created: str
    saved: str
    deleted: str
    added: str
    removed: str


def _prefix(work: Work, kind: GroupKind[Any, Any]) -> str:
    return kind.pages.format(tenant=work.ctx.tenant.slug)


async def _list_page(
    request: Request,
    work: Work,
    kind: GroupKind[Any, Any],
    *,
    cursor: str | None = None,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    admin, prefix = admin_of(work), _prefix(work, kind)
    try:
        groups, next_cursor = await admin.groups(kind, limit=PAGE_SIZE, cursor=cursor)
    except ValidationFailed:
        cursor = None
        groups, next_cursor = await admin.groups(kind, limit=PAGE_SIZE)
    return render(
        request,
        "access/groups.html",
        {
            "kind": kind,
            "prefix": prefix,
            "base": base_of(work),
            "groups": groups,
            "cursor": cursor,
            "next_href": f"{prefix}?" + urlencode({"cursor": next_cursor}) if next_cursor else None,
            "form": form or {"name": "", "description": ""},
            "errors": errors or {},
            "can_manage": work.ctx.can(kind.manage),
        },
        status=status,
    )


async def _group_page(
    request: Request,
    work: Work,
    kind: GroupKind[Any, Any],
    group_id: uuid.UUID,
    *,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    admin = admin_of(work)
    group = await admin.group(kind, str(group_id))
    grants: list[schemas.GrantOut] = []
    candidates: list[Any] = []
    if kind is USER_GROUPS:
        # What the group holds, and who could join it.
        grants, _ = await admin.grants(GrantQuery(group=str(group.id)), limit=200)
        members = {m.id for m in group.members}
        candidates = [u for u in await admin.home_users() if u.id not in members]
    elif work.ctx.can("users:read"):
        # The grants scoped to the client group, for someone who may read grants.
        grants, _ = await admin.grants(GrantQuery(scope=GrantScope.TENANT_GROUP), limit=200)
        grants = [g for g in grants if g.tenant_group and g.tenant_group.id == group.id]
    blank = {"name": group.name, "description": group.description, kind.member_field: ""}
    return render(
        request,
        "access/group.html",
        {
            "kind": kind,
            "prefix": _prefix(work, kind),
            "base": base_of(work),
            "group": group,
            "grants": grants,
            "candidates": candidates,
            "form": form or blank,
            "errors": errors or {},
            "can_manage": work.ctx.can(kind.manage),
        },
        status=status,
    )


def _group_pages(
    kind: GroupKind[Any, Any],
    reader: Any,
    manager: Any,
    member_type: type,
    member_path: str,
    notices: Notices,
) -> None:
    read, manage = get_args(reader)[1], get_args(manager)[1]
    path, one = kind.pages, kind.pages + "/{group_id}"

    def _checked(work: Work) -> Work:
        if kind.msp_home_only:
            require_msp(work)
        return work

    @router.get(path, response_class=HTMLResponse)
    async def list_page(
        request: Request,
        work: Work = read,
        cursor: Annotated[str | None, Query(max_length=500)] = None,
    ) -> HTMLResponse:
        return await _list_page(request, _checked(work), kind, cursor=cursor)

    @router.post(path, response_model=None)
    async def create(
        request: Request, work: Work = manage, name: FormStr = "", description: FormStr = ""
    ) -> Response:
        _checked(work)
        try:
            group = await admin_of(work).create_group(
                kind, name=name, description=description, actor=work.actor
            )
        except TenantryError as exc:
            await work.session.rollback()
            return await _list_page(
                request,
                work,
                kind,
                form={"name": name, "description": description},
                errors=form_errors(exc),
                status=status_of(exc),
            )
        return redirect_with_notice(
            request, f"{_prefix(work, kind)}/{group.id}", notices.created.format(name=group.name)
        )

    @router.get(one, response_class=HTMLResponse)
    async def group_page(request: Request, group_id: uuid.UUID, work: Work = read) -> HTMLResponse:
        return await _group_page(request, _checked(work), kind, group_id)

    @router.post(one + "/edit", response_model=None)
    async def edit(
        request: Request,
        group_id: uuid.UUID,
        work: Work = manage,
        name: FormStr = "",
        description: FormStr = "",
    ) -> Response:
        _checked(work)
        try:
            group = await admin_of(work).update_group(
                kind, str(group_id), name=name, description=description, actor=work.actor
            )
        except TenantryError as exc:
            await work.session.rollback()
            return await _group_page(
                request,
                work,
                kind,
                group_id,
                form={"name": name, "description": description, kind.member_field: ""},
                errors=form_errors(exc),
                status=status_of(exc),
            )
        return redirect_with_notice(
            request, f"{_prefix(work, kind)}/{group.id}", notices.saved.format(name=group.name)
        )

    @router.post(one + "/delete", response_model=None)
    async def delete(request: Request, group_id: uuid.UUID, work: Work = manage) -> Response:
        _checked(work)
        try:
            group = await admin_of(work).delete_group(kind, str(group_id), actor=work.actor)
        except TenantryError as exc:
            await work.session.rollback()
            return await _group_page(
                request, work, kind, group_id, errors={"delete": exc.detail}, status=status_of(exc)
            )
        return redirect_with_notice(
            request, _prefix(work, kind), notices.deleted.format(name=group.name)
        )

    @router.post(one + "/members", response_model=None)
    async def add(
        request: Request,
        group_id: uuid.UUID,
        work: Work = manage,
        member: Annotated[str, Form(max_length=1000, alias=kind.member_field)] = "",
    ) -> Response:
        _checked(work)
        try:
            group = await admin_of(work).add_member(kind, str(group_id), member, actor=work.actor)
        except TenantryError as exc:
            await work.session.rollback()
            current = await admin_of(work).group(kind, str(group_id))
            return await _group_page(
                request,
                work,
                kind,
                group_id,
                form={
                    "name": current.name,
                    "description": current.description,
                    kind.member_field: member,
                },
                errors=form_errors(exc, {"group": kind.member_field}),
                status=status_of(exc),
            )
        added = next(
            (m for m in group.members if member in (str(m.id), getattr(m, "email", None))), None
        )
        who = getattr(added, "display_name", None) or "The user"
        return redirect_with_notice(
            request,
            f"{_prefix(work, kind)}/{group.id}",
            notices.added.format(name=group.name, who=who),
        )

    @router.post(one + "/members/{" + member_path + "}/remove", response_model=None)
    async def remove(
        request: Request,
        group_id: uuid.UUID,
        member: Annotated[member_type, Path(alias=member_path)],  # type: ignore[valid-type]
        work: Work = manage,
    ) -> Response:
        _checked(work)
        try:
            group = await admin_of(work).remove_member(
                kind, str(group_id), str(member), actor=work.actor
            )
        except NotFound:
            raise
        except TenantryError as exc:
            await work.session.rollback()
            errors = form_errors(exc)
            return await _group_page(
                request,
                work,
                kind,
                group_id,
                errors={"members": next(iter(errors.values()), exc.detail)},
                status=status_of(exc),
            )
        return redirect_with_notice(
            request, f"{_prefix(work, kind)}/{group.id}", notices.removed.format(name=group.name)
        )


_group_pages(
    USER_GROUPS,
    auth.Reader,
    auth.UserManager,
    uuid.UUID,
    "user_id",
    Notices(
        created="Group {name} created: add its members below, then grant it a role.",
        saved="Group {name} saved.",
        deleted="Group {name} deleted.",
        added="{who} added to {name}: they hold its grants from their next request on.",
        removed="Removed from {name}: the group's grants no longer reach them.",
    ),
)
_group_pages(
    CLIENT_GROUPS,
    auth.HomeCustomerReader,
    auth.HomeCustomerManager,
    str,
    "customer",
    Notices(
        created="Client group {name} created: add customers to it below.",
        saved="Client group {name} saved.",
        deleted="Client group {name} deleted.",
        added="Added to {name}: grants for the group reach it from the next request on.",
        removed="Removed from {name}: grants for the group no longer reach it.",
    ),
)
