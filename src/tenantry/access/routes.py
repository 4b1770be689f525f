"""Access API: the tenants the signed-in user can switch to (``/api/v1/me``), and
access management in a tenant (``/api/v1/tenants/{tenant}/…``). Thin: the rules are in
AccessAdmin and WhyService."""

import uuid
from collections.abc import Iterable
from typing import Annotated, Any, Literal, get_args

from fastapi import APIRouter, Path, Query, status
from fastapi.responses import Response
from pydantic import BaseModel

from tenantry.access import auth
from tenantry.access.admin import CLIENT_GROUPS, USER_GROUPS, AccessAdmin, GrantQuery, GroupKind
from tenantry.access.models import GrantScope
from tenantry.access.permissions import CATALOG, CEILING_TEMPLATES, PERMISSIONS
from tenantry.access.schemas import (
    AccessReview,
    CeilingTemplateOut,
    CustomerMemberAdd,
    Explanation,
    GrantCreate,
    GrantOut,
    GroupCreate,
    GroupUpdate,
    PermissionOut,
    RoleComparison,
    RoleCreate,
    RoleOut,
    RoleUpdate,
    TenantBrief,
    TenantGroupOut,
    UserGroupOut,
    UserMemberAdd,
    UserRef,
)
from tenantry.access.switcher import MAX_QUERY_LENGTH, TenantChoice, TenantSwitcher
from tenantry.access.why import WhyService, review_csv_rows
from tenantry.http.deps import Work
from tenantry.kit.csv import CsvWriter
from tenantry.kit.pagination import MAX_LIMIT, Page

router = APIRouter(prefix="/api/v1/me", tags=["me"])
# The markers (access/auth.py) all use scope="function": the unit of work commits
# before the response leaves.


@router.get("/tenants", response_model=Page[TenantChoice])
async def my_tenants(
    work: auth.SignedIn,
    q: Annotated[
        str | None,
        Query(description="Part of a slug or display name", max_length=MAX_QUERY_LENGTH),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
    cursor: Annotated[str | None, Query()] = None,
) -> Page[TenantChoice]:
    """The tenants where you hold at least one permission: your home tenant first, then
    the customers you switched into lately (most recent first), then the other customers
    you can act in, by display name (the tenant switcher's list). A search keeps that
    order among its matches."""
    items, next_cursor = await TenantSwitcher(work.session).page(
        work.principal, query=q, limit=limit, cursor=cursor
    )
    return Page[TenantChoice](items=items, next_cursor=next_cursor)


# ================================================================ access management
# /api/v1/tenants/{tenant}/…: roles, user groups, tenant groups (MSP), grants, and the
# why answers. Reading needs users:read (tenant groups: customers:read); changing roles
# needs roles:manage, groups and grants users:manage, tenant groups customers:manage.

tenant_router = APIRouter(prefix="/api/v1/tenants/{tenant}", tags=["access"])

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
Cursor = Annotated[str | None, Query(max_length=500)]


def csv_response(rows: Iterable[list[str]], slug: str) -> Response:
    """The access review as CSV (formula-safe: names are input)."""
    return Response(
        "".join(CsvWriter().rows(rows)),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="{slug}-access-review.csv"'},
    )


def _admin(work: Work) -> AccessAdmin:
    return AccessAdmin.acting(work.ctx, work.session)


# ---------------------------------------------------------------- roles


@tenant_router.get("/permissions", response_model=list[PermissionOut])
async def permission_catalog(work: auth.Reader) -> list[PermissionOut]:
    """The permission catalog: every permission a role can hold, with what it allows,
    its display group, who owns it inside a managed client, and whether it means
    anything inside a client (only those can be in a link's ceiling)."""
    return [
        PermissionOut(
            permission=p.key,
            description=p.words,
            group=p.group,
            owner=p.owner,
            in_client=p.in_client,
        )
        for p in PERMISSIONS
    ]


@tenant_router.get("/ceiling-templates", response_model=list[CeilingTemplateOut])
async def ceiling_templates(work: auth.Reader) -> list[CeilingTemplateOut]:
    """Named ceilings an MSP can ask for (``template`` in a link request) or create a
    customer with (``ceiling_template``): helpdesk, service_desk_billing, full."""
    return [
        CeilingTemplateOut(
            key=t.key,
            name=t.name,
            description=t.description,
            permissions=[p for p in CATALOG if p in t.permissions],
        )
        for t in CEILING_TEMPLATES.values()
    ]


@tenant_router.get("/roles", response_model=Page[RoleOut])
async def list_roles(work: auth.Reader, limit: Limit = 50, cursor: Cursor = None) -> Page[RoleOut]:
    """Built-in roles first (``builtin: true``), then the tenant's custom roles by name."""
    items, next_cursor = await _admin(work).roles_page(limit=limit, cursor=cursor)
    return Page[RoleOut](items=items, next_cursor=next_cursor)


@tenant_router.post("/roles", response_model=RoleOut, status_code=status.HTTP_201_CREATED)
async def create_role(body: RoleCreate, work: auth.RoleManager) -> RoleOut:
    """A custom role from a list of permissions, or a copy of another role
    (``clone_from``). Only permissions you hold yourself can go into it."""
    return await _admin(work).create_role(
        name=body.name,
        description=body.description,
        permissions=body.permissions,
        clone_from=body.clone_from,
        actor=work.actor,
    )


@tenant_router.get("/roles/compare", response_model=RoleComparison)
async def compare_roles(
    work: auth.Reader,
    a: Annotated[str, Query(max_length=100, description="A role key")],
    b: Annotated[str, Query(max_length=100, description="Another role key")],
) -> RoleComparison:
    """Two roles side by side: what only one of them gives, and what both do."""
    return await _admin(work).compare(a, b)


@tenant_router.get("/roles/{role}", response_model=RoleOut)
async def get_role(role: str, work: auth.Reader) -> RoleOut:
    """A role by built-in key, ``custom:<id>`` or id."""
    return await _admin(work).role(role)


@tenant_router.patch("/roles/{role}", response_model=RoleOut)
async def update_role(role: str, body: RoleUpdate, work: auth.RoleManager) -> RoleOut:
    """Changes reach everyone holding the role on their next request."""
    return await _admin(work).update_role(
        role,
        name=body.name,
        description=body.description,
        permissions=body.permissions,
        actor=work.actor,
    )


@tenant_router.delete("/roles/{role}", response_model=RoleOut)
async def delete_role(role: str, work: auth.RoleManager) -> RoleOut:
    """Refused (409, with the grants listed) while an active grant uses the role."""
    return await _admin(work).delete_role(role, actor=work.actor)


# ---------------------------------------------------------------- user and client groups
# One set of routes per kind of group (access/admin/kinds.py): the same operations, named
# and documented as each kind's own.


def _group_routes(
    kind: GroupKind[Any, Any],
    reader: Any,
    manager: Any,
    member_add: type[BaseModel],
    groups_page: type[Page[Any]],
    members_page: type[Page[Any]],
    docs: dict[str, str],
) -> None:
    read, manage = get_args(reader)[1], get_args(manager)[1]
    out, detail, one, name = kind.out, kind.detail, kind.api + "/{group_id}", kind.key
    field = kind.member_field

    @tenant_router.get(
        kind.api, response_model=groups_page, name=f"list_{name}s", description=docs.get("list")
    )
    async def list_groups(work: Work = read, limit: Limit = 50, cursor: Cursor = None) -> Any:
        items, next_cursor = await _admin(work).groups(kind, limit=limit, cursor=cursor)
        return groups_page(items=items, next_cursor=next_cursor)

    @tenant_router.post(
        kind.api, response_model=out, status_code=status.HTTP_201_CREATED, name=f"create_{name}"
    )
    async def create_group(body: GroupCreate, work: Work = manage) -> Any:
        return await _admin(work).create_group(
            kind, name=body.name, description=body.description, actor=work.actor
        )

    @tenant_router.get(one, response_model=detail, name=f"get_{name}")
    async def get_group(group_id: uuid.UUID, work: Work = read) -> Any:
        return await _admin(work).group(kind, str(group_id))

    @tenant_router.patch(one, response_model=out, name=f"update_{name}")
    async def update_group(group_id: uuid.UUID, body: GroupUpdate, work: Work = manage) -> Any:
        return await _admin(work).update_group(
            kind, str(group_id), name=body.name, description=body.description, actor=work.actor
        )

    @tenant_router.delete(
        one, response_model=out, name=f"delete_{name}", description=docs.get("delete")
    )
    async def delete_group(group_id: uuid.UUID, work: Work = manage) -> Any:
        return await _admin(work).delete_group(kind, str(group_id), actor=work.actor)

    @tenant_router.get(one + "/members", response_model=members_page, name=f"list_{name}_members")
    async def list_members(group_id: uuid.UUID, work: Work = read) -> Any:
        return members_page(items=(await _admin(work).group(kind, str(group_id))).members)

    @tenant_router.post(
        one + "/members",
        response_model=detail,
        status_code=status.HTTP_201_CREATED,
        name=f"add_{name}_member",
        description=docs.get("add"),
    )
    async def add_member(
        group_id: uuid.UUID,
        body: member_add,  # type: ignore[valid-type]
        work: Work = manage,
    ) -> Any:
        ref = getattr(body, field)
        return await _admin(work).add_member(kind, str(group_id), ref, actor=work.actor)

    @tenant_router.delete(
        one + "/members/{" + field + "}",
        response_model=detail,
        name=f"remove_{name}_member",
        description=docs.get("remove"),
    )
    async def remove_member(
        group_id: uuid.UUID, member: Annotated[str, Path(alias=field)], work: Work = manage
    ) -> Any:
        return await _admin(work).remove_member(kind, str(group_id), member, actor=work.actor)


_group_routes(
    USER_GROUPS,
    auth.Reader,
    auth.UserManager,
    UserMemberAdd,
    Page[UserGroupOut],
    Page[UserRef],
    {
        "delete": "Refused (409, with the grants listed) while the group holds an active grant.",
        "add": "The member gets the group's grants on their next request.",
        "remove": "The member loses the group's grants on their next request.",
    },
)
_group_routes(
    CLIENT_GROUPS,
    auth.CustomerReader,
    auth.CustomerManager,
    CustomerMemberAdd,
    Page[TenantGroupOut],
    Page[TenantBrief],
    {
        "list": "An MSP's named sets of customers (404 for a tenant that is not an MSP).",
        "delete": "Refused (409, with the grants listed) while an active grant is scoped to it.",
        "add": "Grants scoped to the group reach the customer from the next request on.",
    },
)


# ---------------------------------------------------------------- grants


@tenant_router.get("/grants", response_model=Page[GrantOut])
async def list_grants(
    work: auth.Reader,
    user: Annotated[
        str | None, Query(max_length=254, description="Id or email: theirs and their groups'")
    ] = None,
    group: Annotated[str | None, Query(max_length=200, description="User group id or name")] = None,
    role: Annotated[str | None, Query(max_length=100, description="Role key")] = None,
    scope: Annotated[GrantScope | None, Query()] = None,
    customer: Annotated[
        str | None, Query(max_length=100, description="Slug or id: grants that reach it")
    ] = None,
    include_expired: bool = False,
    include_revoked: bool = False,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[GrantOut]:
    """The grants this tenant issued, newest first; active ones unless asked otherwise."""
    query = GrantQuery(
        user=user,
        group=group,
        role=role,
        scope=scope,
        customer=customer,
        include_expired=include_expired,
        include_revoked=include_revoked,
    )
    items, next_cursor = await _admin(work).grants(query, limit=limit, cursor=cursor)
    return Page[GrantOut](items=items, next_cursor=next_cursor)


@tenant_router.post("/grants", response_model=GrantOut, status_code=status.HTTP_201_CREATED)
async def create_grant(body: GrantCreate, work: auth.UserManager) -> GrantOut:
    """Give a user or user group of this tenant a role: at home, in one customer, in a
    client group's customers or in every customer (minus exclusions), optionally until
    ``expires_at``. You can only give what you hold where it takes effect."""
    return await _admin(work).issue(body, actor=work.actor)


@tenant_router.get("/grants/{grant_id}", response_model=GrantOut)
async def get_grant(grant_id: uuid.UUID, work: auth.Reader) -> GrantOut:
    return await _admin(work).grant(grant_id)


@tenant_router.delete("/grants/{grant_id}", response_model=GrantOut)
async def revoke_grant(grant_id: uuid.UUID, work: auth.UserManager) -> GrantOut:
    """Revoke: the grant stops working from the next request on (the row stays, as
    history). Revoking a revoked grant changes nothing."""
    return await _admin(work).revoke(grant_id, actor=work.actor)


# ---------------------------------------------------------------- why


@tenant_router.get("/access/explain", response_model=Explanation)
async def explain_access(
    work: auth.Reader,
    user: Annotated[str, Query(max_length=254, description="The user's id or email")],
) -> Explanation:
    """Every permission a user holds in this tenant and what gave it (grant, role,
    link), or why not. For this tenant's own users and its managing MSP's technicians."""
    return await WhyService(work.session, work.ctx.tenant).explain(user)


@tenant_router.get(
    "/access/review",
    response_model=AccessReview,
    responses={
        200: {
            "description": "The review as JSON, or as CSV with `format=csv`",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        }
    },
)
async def access_review(
    work: auth.Reader,
    format: Annotated[Literal["json", "csv"], Query()] = "json",
    limit: Limit = MAX_LIMIT,
    cursor: Cursor = None,
) -> Response:
    """Who can act in this tenant and through what: its own users by their grants and,
    for a customer, the MSP's technicians (each capped by the link's ceiling).
    ``format=csv`` returns every row at once, one per user and source."""
    why = WhyService(work.session, work.ctx.tenant)
    if format == "csv":
        return csv_response(review_csv_rows(await why.review_all()), work.ctx.tenant.slug)
    review = await why.review(limit=limit, cursor=cursor)
    return Response(review.model_dump_json(), media_type="application/json")
