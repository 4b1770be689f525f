"""``tenantry roles …`` and ``tenantry grants …``: the instance operator manages a
tenant's custom roles and grants from the shell (e.g. to give a new MSP its first
delegations, or to revoke access in an emergency). The operator acts outside any grant,
so the "nobody hands out more than they hold" limits do not apply; every other rule and
every audit event does, exactly as in the API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.access.admin import AccessAdmin, GrantQuery
from tenantry.access.models import CUSTOM_ROLE_PREFIX, GrantScope
from tenantry.access.permissions import BUILTIN_ROLES
from tenantry.access.schemas import GrantCreate, GrantOut, RoleOut
from tenantry.access.service import operator_scope, tenant_ref
from tenantry.audit.schemas import OPERATOR
from tenantry.cli.common import JsonOpt, emit, fail, run, tenant_named
from tenantry.config import Settings
from tenantry.db.engine import Database
from tenantry.errors import Conflict, ValidationFailed
from tenantry.tenancy.models import Tenant

app: typer.Typer = typer.Typer(no_args_is_help=True)
roles_app = typer.Typer(help="List, create and delete a tenant's roles.", no_args_is_help=True)
grants_app = typer.Typer(help="Create, list and revoke grants.", no_args_is_help=True)
app.add_typer(roles_app, name="roles")
app.add_typer(grants_app, name="grants")

TenantOpt = Annotated[str, typer.Option("--tenant", help="Slug of the tenant.")]


def _admin(session: AsyncSession, tenant: Tenant) -> AccessAdmin:
    return AccessAdmin(session, tenant_ref(tenant))


async def _role_key(admin: AccessAdmin, ref: str) -> str:
    """A built-in key, custom:<id>, an id, or a custom role's name (handy in a shell)."""
    ref = ref.strip()
    if ref in BUILTIN_ROLES or ref.startswith(CUSTOM_ROLE_PREFIX):
        return ref
    try:
        return f"{CUSTOM_ROLE_PREFIX}{uuid.UUID(ref)}"
    except ValueError:
        pass
    for role in await admin.roles():
        if role.name.lower() == ref.lower():
            return role.key
    raise ValidationFailed("--role", f"no role '{ref}' here (see `tenantry roles list`)")


def _role_line(role: RoleOut) -> str:
    kind = "built-in" if role.builtin else "custom  "
    return f"{role.key:<44} {kind} {len(role.permissions):>2} perms  {role.name}"


def _grant_line(grant: GrantOut) -> str:
    who = grant.user.email if grant.user else f"group {grant.group.name if grant.group else '?'}"
    until = f" until {grant.expires_at.isoformat()}" if grant.expires_at else ""
    return f"{grant.id}  {grant.status:<7}  {who}: {grant.role_name} {grant.scope_label}{until}"


# ---------------------------------------------------------------- roles


@roles_app.command("list")
def roles_list(tenant: TenantOpt, as_json: JsonOpt = False) -> None:
    """Built-in roles, then the tenant's custom roles."""

    async def work(db: Database, settings: Settings) -> list[RoleOut]:
        target = await tenant_named(db, tenant)
        async with db.unit_of_work(operator_scope([target.id])) as session:
            return await _admin(session, target).roles()

    roles = run(work)
    emit(
        [r.model_dump(mode="json") for r in roles],
        as_json,
        "\n".join(_role_line(r) for r in roles),
    )


@roles_app.command("create")
def roles_create(
    tenant: TenantOpt,
    name: Annotated[str, typer.Option("--name", help="The role's name.")],
    permission: Annotated[
        list[str] | None,
        typer.Option("--permission", "-p", help="A permission (area:verb); repeat for more."),
    ] = None,
    clone_from: Annotated[
        str | None, typer.Option("--clone-from", help="Copy this role's permissions (key).")
    ] = None,
    description: Annotated[str | None, typer.Option("--description")] = None,
    as_json: JsonOpt = False,
) -> None:
    """A custom role from permissions, or a copy of another role (--clone-from)."""
    if not permission and not clone_from:
        raise fail("give --permission (one or more) or --clone-from")

    async def work(db: Database, settings: Settings) -> RoleOut:
        target = await tenant_named(db, tenant)
        async with db.unit_of_work(operator_scope([target.id])) as session:
            admin = _admin(session, target)
            return await admin.create_role(
                name=name,
                description=description,
                permissions=permission or None,
                clone_from=await _role_key(admin, clone_from) if clone_from else None,
                actor=OPERATOR,
            )

    role = run(work)
    emit(
        role.model_dump(mode="json"),
        as_json,
        f"created {role.key} ({role.name}, {len(role.permissions)} permissions)",
    )


@roles_app.command("delete")
def roles_delete(
    tenant: TenantOpt,
    role: Annotated[str, typer.Argument(help="custom:<id>, the id, or the role's name.")],
    as_json: JsonOpt = False,
) -> None:
    """Delete a custom role nobody holds (refused, with the grants listed, otherwise)."""

    async def work(db: Database, settings: Settings) -> RoleOut:
        target = await tenant_named(db, tenant)
        async with db.unit_of_work(operator_scope([target.id])) as session:
            admin = _admin(session, target)
            try:
                return await admin.delete_role(await _role_key(admin, role), actor=OPERATOR)
            except Conflict as exc:
                # The refusal names the grants that still use the role, one a line.
                raise Conflict(_explain_conflict(exc)) from exc

    gone = run(work)
    emit(gone.model_dump(mode="json"), as_json, f"deleted {gone.key} ({gone.name})")


def _explain_conflict(exc: Conflict) -> str:
    lines = [exc.detail]
    for grant in exc.extra.get("grants", []):
        lines.append(f"  - {_grant_line(GrantOut.model_validate(grant))}")
    return "\n".join(lines)


# ---------------------------------------------------------------- grants


@grants_app.command("create")
def grants_create(
    tenant: TenantOpt,
    role: Annotated[str, typer.Option("--role", help="Built-in key, custom:<id> or name.")],
    user: Annotated[str | None, typer.Option("--user", help="The user's email or id.")] = None,
    group: Annotated[str | None, typer.Option("--group", help="A user group's name or id.")] = None,
    scope: Annotated[GrantScope, typer.Option("--scope", case_sensitive=False)] = GrantScope.HOME,
    customer: Annotated[
        str | None, typer.Option("--customer", help="Scope customer: its slug.")
    ] = None,
    tenant_group: Annotated[
        str | None, typer.Option("--tenant-group", help="Scope tenant_group: its name or id.")
    ] = None,
    exclude: Annotated[
        list[str] | None,
        typer.Option("--exclude", help="Scope all_customers: a customer left out; repeatable."),
    ] = None,
    expires: Annotated[
        str | None, typer.Option("--expires", help="RFC 3339 with a zone, e.g. 2030-01-31T18:00Z.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Give a user or user group of the tenant a role over a scope."""
    expires_at: datetime | None = None
    if expires:
        try:
            expires_at = datetime.fromisoformat(expires)
        except ValueError as exc:
            raise fail(f"--expires: '{expires}' is not an RFC 3339 date and time") from exc

    async def work(db: Database, settings: Settings) -> GrantOut:
        target = await tenant_named(db, tenant)
        async with db.unit_of_work(operator_scope([target.id])) as session:
            admin = _admin(session, target)
            return await admin.issue(
                GrantCreate(
                    user=user,
                    group=group,
                    role=await _role_key(admin, role),
                    scope=scope,
                    customer=customer,
                    tenant_group=tenant_group,
                    excluded_customers=exclude or [],
                    expires_at=expires_at,
                ),
                actor=OPERATOR,
            )

    grant = run(work)
    emit(grant.model_dump(mode="json"), as_json, f"granted {_grant_line(grant)}")


@grants_app.command("list")
def grants_list(
    tenant: TenantOpt,
    user: Annotated[str | None, typer.Option("--user", help="Email or id.")] = None,
    group: Annotated[str | None, typer.Option("--group", help="User group name or id.")] = None,
    role: Annotated[str | None, typer.Option("--role", help="Role key or name.")] = None,
    scope: Annotated[GrantScope | None, typer.Option("--scope", case_sensitive=False)] = None,
    customer: Annotated[
        str | None, typer.Option("--customer", help="Grants that reach this customer (slug).")
    ] = None,
    include_expired: Annotated[bool, typer.Option("--include-expired")] = False,
    include_revoked: Annotated[bool, typer.Option("--include-revoked")] = False,
    as_json: JsonOpt = False,
) -> None:
    """The grants the tenant issued, newest first (active ones unless asked otherwise)."""

    async def work(db: Database, settings: Settings) -> list[GrantOut]:
        target = await tenant_named(db, tenant)
        async with db.unit_of_work(operator_scope([target.id])) as session:
            admin = _admin(session, target)
            query = GrantQuery(
                user=user,
                group=group,
                role=await _role_key(admin, role) if role else None,
                scope=scope,
                customer=customer,
                include_expired=include_expired,
                include_revoked=include_revoked,
            )
            found: list[GrantOut] = []
            cursor: str | None = None
            while True:
                page, cursor = await admin.grants(query, limit=200, cursor=cursor)
                found += page
                if cursor is None:
                    return found

    grants = run(work)
    emit(
        [g.model_dump(mode="json") for g in grants],
        as_json,
        "\n".join(_grant_line(g) for g in grants) or "no grants",
    )


@grants_app.command("revoke")
def grants_revoke(
    tenant: TenantOpt,
    grant_id: Annotated[str, typer.Argument(help="The grant's id (see `tenantry grants list`).")],
    as_json: JsonOpt = False,
) -> None:
    """Revoke a grant: it stops working from the next request on."""
    try:
        parsed = uuid.UUID(grant_id)
    except ValueError as exc:
        raise fail(f"grant id: '{grant_id}' is not an id") from exc

    async def work(db: Database, settings: Settings) -> GrantOut:
        target = await tenant_named(db, tenant)
        async with db.unit_of_work(operator_scope([target.id])) as session:
            return await _admin(session, target).revoke(parsed, actor=OPERATOR)

    grant = run(work)
    emit(grant.model_dump(mode="json"), as_json, f"revoked {_grant_line(grant)}")
