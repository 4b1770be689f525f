"""Access decisions (DESIGN.md, "The access rules"): the only maker of TenantContext
and of the TenantScope a unit of work runs under."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Literal, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.access import repository, schemas
from tenantry.access.context import PermissionSource, Principal, TenantContext, TenantRef
from tenantry.access.decision import (
    RoleBook,
    by_permission,
    custom_role_ids,
    live,
)
from tenantry.access.decision import customer_sources as customer_sources
from tenantry.access.decision import home_sources as home_sources
from tenantry.access.decision import role_permissions as role_permissions
from tenantry.access.models import (
    CUSTOM_ROLE_PREFIX,
    CustomRole,
    Grant,
    GrantScope,
    TenantGroup,
    TenantGroupMember,
    UserGroup,
    UserGroupMember,
)
from tenantry.access.permissions import ADMIN_ROLES, ALL, BUILTIN_ROLES, CATALOG, Role
from tenantry.audit import service as audit
from tenantry.audit.schemas import Actor, AuditAction
from tenantry.db.base import utcnow
from tenantry.db.engine import widen_scope
from tenantry.db.scope import TenantScope, session_scope
from tenantry.errors import (
    Conflict,
    NotFound,
    PermissionDenied,
    TenantSuspended,
    ValidationFailed,
)
from tenantry.identity.models import User
from tenantry.pagination import check_limit, decode_cursor, encode_cursor
from tenantry.tenancy import repository as tenancy_repository
from tenantry.tenancy.models import Tenant, TenantLink, TenantStatus

T = TypeVar("T")

# Kept importable from here: the switcher and older callers use these names.
_live = live


def tenant_ref(tenant: Tenant) -> TenantRef:
    return TenantRef(
        tenant.id,
        tenant.slug,
        tenant.display_name,
        tenant.status.value,
        tenant.is_msp,
        tenant.time_zone,
    )


@dataclass(frozen=True, slots=True)
class Decision:
    """What the access rules give one user in one tenant: per permission its sources,
    capped by the link's ceiling, and the same before the cap (what the link withheld)."""

    relation: Literal["home", "customer", "none"]
    sources: dict[str, tuple[PermissionSource, ...]]
    uncapped: dict[str, tuple[PermissionSource, ...]]
    link: TenantLink | None = None

    @property
    def ceiling(self) -> frozenset[str] | None:
        return frozenset(self.link.ceiling) if self.link is not None else None


class AccessService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def context_for(
        self, principal: Principal, tenant_ref_or_slug: str, *, allow_suspended: bool = False
    ) -> TenantContext:
        """Decide what ``principal`` may do in a tenant; 404 if they may do nothing."""
        tenant = await repository.tenant_by_ref(self.session, tenant_ref_or_slug)
        if tenant is None:
            raise NotFound("No such tenant.")
        return await self.context_in(principal, tenant, allow_suspended=allow_suspended)

    async def role_book(self, grants: Sequence[Grant]) -> RoleBook:
        """Built-in roles plus the custom roles these grants name (one query, if any)."""
        ids = custom_role_ids(grants)
        if not ids:
            return RoleBook()
        roles = await repository.custom_roles_by_id(self.session, ids)
        return RoleBook(
            custom={r.key: frozenset(r.permissions) for r in roles},
            names={r.key: r.name for r in roles},
        )

    async def decide(
        self, principal: Principal, tenant: Tenant, now: datetime | None = None
    ) -> Decision:
        """The access rules for ``principal`` in ``tenant``, kept whole (also when they
        give nothing) so that a refusal can be explained as well as an allowance."""
        now = now or utcnow()
        grants = live(
            await repository.live_grants_of_user(
                self.session, principal.user_id, deciding_for=tenant.id
            ),
            now,
        )
        book = await self.role_book(grants)
        if tenant.id == principal.home_tenant_id:
            sources = by_permission(home_sources(grants, book), None, book)
            return Decision("home", sources, sources)
        link = await repository.active_link(self.session, principal.home_tenant_id, tenant.id)
        if link is None or (link.expires_at is not None and link.expires_at <= now):
            return Decision("none", {}, {})
        group_ids = {g.tenant_group_id for g in grants if g.tenant_group_id is not None}
        customer_groups = (
            await repository.groups_containing(self.session, tenant.id, group_ids)
            if group_ids
            else frozenset()
        )
        found = customer_sources(grants, tenant.id, principal.home_is_msp, customer_groups, book)
        return Decision(
            "customer",
            by_permission(found, frozenset(link.ceiling), book),
            by_permission(found, None, book),
            link,
        )

    async def context_in(
        self, principal: Principal, tenant: Tenant, *, allow_suspended: bool = False
    ) -> TenantContext:
        decision = await self.decide(principal, tenant)
        relation = decision.relation
        if relation == "none" or not decision.sources:
            raise NotFound("No such tenant.")
        context = TenantContext(
            tenant=tenant_ref(tenant),
            principal=principal,
            relation=relation,
            permissions=frozenset(decision.sources),
            sources=decision.sources,
            link_id=decision.link.id if decision.link is not None else None,
            link_ceiling=decision.ceiling,
            scope=TenantScope.of([tenant.id]),
        )
        if tenant.status != TenantStatus.ACTIVE and not allow_suspended:
            raise TenantSuspended(
                f"{tenant.display_name} is suspended: its data is kept, but nothing can be "
                "done in it until it is resumed."
            )
        return context

    async def home_context(self, principal: Principal) -> TenantContext:
        return await self.context_for(principal, str(principal.home_tenant_id))


def self_scope(principal: Principal) -> TenantScope:
    """A user acting on their own account: their events go to their home tenant."""
    return TenantScope.of([principal.home_tenant_id])


async def extend_scope(session: AsyncSession, *tenant_ids: uuid.UUID) -> None:
    """Let a running unit of work also touch ``tenant_ids``. Callers decided first that
    the actor may (the MSP created this customer, or may delete it)."""
    current = session_scope(session.sync_session)
    await widen_scope(session, TenantScope.of(current.tenant_ids | set(tenant_ids)))


def operator_scope(tenant_ids: Iterable[uuid.UUID]) -> TenantScope:
    """Scope for the instance operator's CLI commands, which act outside any grant."""
    return TenantScope.of(tenant_ids)


async def create_grant(
    session: AsyncSession,
    *,
    issuer_tenant_id: uuid.UUID,
    role: str,
    scope: GrantScope,
    actor: Actor,
    user_id: uuid.UUID | None = None,
    user_group_id: uuid.UUID | None = None,
    customer_tenant_id: uuid.UUID | None = None,
    tenant_group_id: uuid.UUID | None = None,
    excluded_customer_ids: Sequence[uuid.UUID] = (),
    expires_at: datetime | None = None,
    customer_link_id: uuid.UUID | None = None,
    label: str | None = None,
) -> Grant:
    """Give a user or a user group a role: at home, in one customer, in a tenant group's
    customers or in every customer of the MSP. Checks only the grant's shape; who may
    issue it is ``AccessAdmin.issue``'s to decide.

    The event goes to the issuer's trail and, for a one-customer grant, to the
    customer's too (naming the link the MSP acts under)."""
    if role not in BUILTIN_ROLES and not role.startswith(CUSTOM_ROLE_PREFIX):
        raise ValidationFailed("role", f"unknown role '{role}'; one of {', '.join(BUILTIN_ROLES)}")
    if (user_id is None) == (user_group_id is None):
        raise ValidationFailed("user", "give either a user or a user group")
    if (scope == GrantScope.CUSTOMER) != (customer_tenant_id is not None):
        raise ValidationFailed("customer", "is required for a customer grant, and only there")
    if (scope == GrantScope.TENANT_GROUP) != (tenant_group_id is not None):
        raise ValidationFailed(
            "tenant_group", "is required for a tenant_group grant, and only there"
        )
    if excluded_customer_ids and scope != GrantScope.ALL_CUSTOMERS:
        raise ValidationFailed("excluded_customers", "only an all_customers grant has exclusions")
    if expires_at is not None and expires_at <= utcnow():
        raise ValidationFailed("expires_at", "must be in the future")
    excluded = sorted({str(c) for c in excluded_customer_ids})
    grant = Grant(
        tenant_id=issuer_tenant_id,
        user_id=user_id,
        user_group_id=user_group_id,
        role=role,
        scope=scope,
        customer_tenant_id=customer_tenant_id,
        tenant_group_id=tenant_group_id,
        excluded_customer_ids=excluded,
        expires_at=expires_at,
        created_by_user_id=actor.user_id,
    )
    session.add(grant)
    await session.flush()
    changes: dict[str, Any] = {
        "user_id": [None, str(user_id) if user_id else None],
        "role": [None, role],
        "scope": [None, scope.value],
        "customer_tenant_id": [None, str(customer_tenant_id) if customer_tenant_id else None],
        "expires_at": [None, expires_at.isoformat() if expires_at else None],
    }
    if user_group_id is not None:
        changes["user_group_id"] = [None, str(user_group_id)]
    if tenant_group_id is not None:
        changes["tenant_group_id"] = [None, str(tenant_group_id)]
    if excluded:
        changes["excluded_customer_ids"] = [None, excluded]
    await _record_grant_event(
        session,
        grant,
        actor,
        AuditAction.GRANT_CREATED,
        label or f"{role} ({scope.value})",
        changes,
        customer_link_id,
    )
    return grant


async def revoke_grant(
    session: AsyncSession,
    grant: Grant,
    *,
    actor: Actor,
    customer_link_id: uuid.UUID | None = None,
    label: str | None = None,
) -> Grant:
    """Stop a grant from the next request on. The row stays (who had what, until when);
    revoking twice changes nothing and records nothing."""
    if grant.revoked_at is not None:
        return grant
    grant.revoked_at = utcnow()
    grant.revoked_by_user_id = actor.user_id
    await session.flush()
    await _record_grant_event(
        session,
        grant,
        actor,
        AuditAction.GRANT_REVOKED,
        label or f"{grant.role} ({grant.scope.value})",
        {"revoked_at": [None, grant.revoked_at.isoformat()]},
        customer_link_id,
    )
    return grant


async def _record_grant_event(
    session: AsyncSession,
    grant: Grant,
    actor: Actor,
    action: AuditAction,
    label: str,
    changes: dict[str, Any],
    customer_link_id: uuid.UUID | None,
) -> None:
    targets: list[tuple[uuid.UUID, Actor]] = [(grant.tenant_id, actor)]
    if grant.customer_tenant_id is not None:
        # The customer sees who was given access to it, under which link.
        targets.append(
            (
                grant.customer_tenant_id,
                replace(actor, via_link_id=customer_link_id or actor.via_link_id),
            )
        )
    await extend_scope(session, *(t for t, _ in targets))
    for tenant_id, by in targets:
        await audit.record(
            session,
            tenant_id=tenant_id,
            actor=by,
            action=action,
            target_type="grant",
            target_id=grant.id,
            target_label=label,
            changes=changes,
        )


# ================================================================ managing access
#
# Roles, user groups, tenant groups and grants of one tenant, changed by someone acting
# there (their TenantContext) or by the instance operator (the CLI: no context, no
# limits). Rules a user would notice, all enforced here:
#
# * nobody hands out more than they hold: a home grant's role, a custom role's added or
#   removed permissions, and joining a group that holds grants are all limited to the
#   permissions the actor holds in the tenant; a one-customer delegation to what the
#   actor holds in that customer; tenant-group and all-customers grants reach customers
#   added later, so only an MSP admin (who owns every customer) may issue them;
# * a home grant is revoked only by someone who could have issued it (an Admin cannot
#   strip the Owner), and never the last Admin/Owner grant of the tenant;
# * a role or group still used by a live grant cannot be deleted: the refusal lists them.

NAME_MAX = 100
DESCRIPTION_MAX = 500
_SECOND = timedelta(seconds=1)


def _clean_name(value: str, field: str = "name") -> str:
    value = " ".join(value.split())
    if not value:
        raise ValidationFailed(field, "must not be empty")
    if len(value) > NAME_MAX:
        raise ValidationFailed(field, f"must be at most {NAME_MAX} characters long")
    return value


def _clean_description(value: str | None) -> str:
    value = (value or "").strip()
    if len(value) > DESCRIPTION_MAX:
        raise ValidationFailed("description", f"must be at most {DESCRIPTION_MAX} characters long")
    return value


def _clean_permissions(values: Sequence[str], field: str = "permissions") -> frozenset[str]:
    found = {v.strip() for v in values if v.strip()}
    unknown = sorted(found - set(CATALOG))
    if unknown:
        raise ValidationFailed(
            field, f"unknown permission {', '.join(repr(u) for u in unknown)} (see the catalog)"
        )
    if not found:
        raise ValidationFailed(field, "choose at least one permission")
    return frozenset(found)


def _listed(values: Iterable[str]) -> str:
    return ", ".join(sorted(values))


def _uuid_or_none(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value.strip())
    except ValueError:
        return None


def page_after(
    items: Sequence[T], key: Callable[[T], list[Any]], limit: int, cursor: str | None
) -> tuple[list[T], str | None]:
    """Keyset paging over a list already in ``key`` order (small lists built in memory)."""
    check_limit(limit)
    after = decode_cursor(cursor)
    if after is not None:
        items = [i for i in items if key(i) > after]
    page = list(items[:limit])
    more = len(items) > limit
    return page, encode_cursor(key(page[-1])) if more and page else None


def user_ref(user: User) -> schemas.UserRef:
    return schemas.UserRef(id=user.id, email=user.email, display_name=user.display_name)


def tenant_brief(tenant: Tenant | TenantRef) -> schemas.TenantBrief:
    return schemas.TenantBrief(id=tenant.id, slug=tenant.slug, display_name=tenant.display_name)


def builtin_role_out(role: Role) -> schemas.RoleOut:
    return schemas.RoleOut(
        key=role.key,
        id=None,
        name=role.name,
        description=role.description,
        permissions=[p for p in CATALOG if p in role.permissions],
        builtin=True,
    )


def custom_role_out(role: CustomRole) -> schemas.RoleOut:
    held = set(role.permissions)
    return schemas.RoleOut(
        key=role.key,
        id=role.id,
        name=role.name,
        description=role.description,
        permissions=[p for p in CATALOG if p in held],
        builtin=False,
        created_at=role.created_at,
        updated_at=role.updated_at,
    )


def grant_status(grant: Grant, now: datetime) -> schemas.GrantStatus:
    if grant.revoked_at is not None:
        return "revoked"
    if grant.expires_at is not None and grant.expires_at <= now:
        return "expired"
    return "active"


@dataclass(slots=True)
class Names:
    """Names of what grants refer to, read in a few batched queries."""

    home: TenantRef | Tenant
    users: dict[uuid.UUID, User] = field(default_factory=dict)
    user_groups: dict[uuid.UUID, UserGroup] = field(default_factory=dict)
    tenant_groups: dict[uuid.UUID, TenantGroup] = field(default_factory=dict)
    tenants: dict[uuid.UUID, Tenant] = field(default_factory=dict)
    book: RoleBook = field(default_factory=RoleBook)

    def tenant_name(self, tenant_id: uuid.UUID | str | None) -> str:
        if tenant_id is None:
            return "?"
        key = tenant_id if isinstance(tenant_id, uuid.UUID) else _uuid_or_none(tenant_id)
        found = self.tenants.get(key) if key else None
        return found.display_name if found else "a customer no longer linked"

    def scope_label(self, grant: Grant) -> str:
        if grant.scope == GrantScope.HOME:
            return f"at home in {self.home.display_name}"
        if grant.scope == GrantScope.CUSTOMER:
            return f"in the customer {self.tenant_name(grant.customer_tenant_id)}"
        if grant.scope == GrantScope.TENANT_GROUP:
            group = self.tenant_groups.get(grant.tenant_group_id or uuid.UUID(int=0))
            return f"in the client group {group.name if group else '(deleted)'}"
        excluded = [self.tenant_name(c) for c in grant.excluded_customer_ids or ()]
        return "in every customer" + (f" except {', '.join(sorted(excluded))}" if excluded else "")

    def grantee(self, grant: Grant) -> str:
        if grant.user_id is not None:
            user = self.users.get(grant.user_id)
            return user.display_name if user else "a deleted user"
        group = self.user_groups.get(grant.user_group_id or uuid.UUID(int=0))
        return f"the group {group.name}" if group else "a deleted group"

    def label(self, grant: Grant) -> str:
        """``Technician for Tina Tech in the customer Contoso Ltd`` (audit target label)."""
        return f"{self.book.name(grant.role)} for {self.grantee(grant)} {self.scope_label(grant)}"

    def grant_out(self, grant: Grant, now: datetime) -> schemas.GrantOut:
        user = self.users.get(grant.user_id) if grant.user_id else None
        group = self.user_groups.get(grant.user_group_id) if grant.user_group_id else None
        customer = self.tenants.get(grant.customer_tenant_id) if grant.customer_tenant_id else None
        tgroup = self.tenant_groups.get(grant.tenant_group_id) if grant.tenant_group_id else None
        excluded = [
            self.tenants[i]
            for i in (_uuid_or_none(c) for c in grant.excluded_customer_ids or ())
            if i is not None and i in self.tenants
        ]
        return schemas.GrantOut(
            id=grant.id,
            tenant_id=grant.tenant_id,
            user=user_ref(user) if user else None,
            group=schemas.GroupBrief(id=group.id, name=group.name) if group else None,
            role=grant.role,
            role_name=self.book.name(grant.role),
            scope=grant.scope,
            scope_label=self.scope_label(grant),
            customer=tenant_brief(customer) if customer else None,
            tenant_group=schemas.GroupBrief(id=tgroup.id, name=tgroup.name) if tgroup else None,
            excluded_customers=[tenant_brief(t) for t in excluded],
            expires_at=grant.expires_at,
            created_at=grant.created_at,
            created_by_user_id=grant.created_by_user_id,
            revoked_at=grant.revoked_at,
            revoked_by_user_id=grant.revoked_by_user_id,
            status=grant_status(grant, now),
        )

    def source_out(
        self, source: PermissionSource, grants: Mapping[uuid.UUID, Grant]
    ) -> schemas.SourceOut:
        group = self.user_groups.get(source.user_group_id) if source.user_group_id else None
        grant = grants.get(source.grant_id) if source.grant_id else None
        if source.implicit:
            scope_label = "in every customer"
            via = "MSP admin"
        else:
            scope_label = self.scope_label(grant) if grant is not None else source.scope
            via = f"user group {group.name}" if group else "direct grant"
        return schemas.SourceOut(
            grant_id=source.grant_id,
            role=source.role,
            role_name=source.role_name or self.book.name(source.role),
            scope_label=scope_label,
            via=via,
            user_group=schemas.GroupBrief(id=group.id, name=group.name) if group else None,
            expires_at=source.expires_at,
            implicit=source.implicit,
        )


async def load_names(
    session: AsyncSession,
    home: TenantRef | Tenant,
    grants: Iterable[Grant],
    *,
    book: RoleBook | None = None,
) -> Names:
    grants = list(grants)
    tenant_ids: set[uuid.UUID] = {g.customer_tenant_id for g in grants if g.customer_tenant_id}
    for g in grants:
        tenant_ids |= {i for i in map(_uuid_or_none, g.excluded_customer_ids or ()) if i}
    return Names(
        home=home,
        users=await repository.users_by_id(session, (g.user_id for g in grants if g.user_id)),
        user_groups=await repository.user_groups_by_id(
            session, (g.user_group_id for g in grants if g.user_group_id)
        ),
        tenant_groups=await repository.tenant_groups_by_id(
            session, (g.tenant_group_id for g in grants if g.tenant_group_id)
        ),
        tenants=await repository.tenants_by_id(session, tenant_ids),
        book=book or await AccessService(session).role_book(grants),
    )


@dataclass(frozen=True, slots=True)
class GrantQuery:
    """The grants list's filters, as the API and the page take them (refs unresolved)."""

    user: str | None = None
    group: str | None = None
    role: str | None = None
    scope: GrantScope | None = None
    customer: str | None = None
    include_expired: bool = False
    include_revoked: bool = False


class AccessAdmin:
    """Access management in one tenant (roles, user groups, tenant groups, grants, and
    the why answers). ``ctx`` is the actor's decision there; None for the instance
    operator, who acts outside any grant."""

    def __init__(
        self,
        session: AsyncSession,
        tenant: TenantRef,
        actor: Actor,
        ctx: TenantContext | None = None,
    ) -> None:
        self.session = session
        self.tenant = tenant
        self.actor = actor
        self.ctx = ctx

    @classmethod
    def acting(cls, ctx: TenantContext, session: AsyncSession, actor: Actor) -> AccessAdmin:
        return cls(session, ctx.tenant, actor, ctx)

    # ------------------------------------------------------------ limits on the actor

    def _beyond(self, permissions: Iterable[str]) -> frozenset[str]:
        """The permissions the actor does not hold in this tenant (none for the operator)."""
        if self.ctx is None:
            return frozenset()
        return frozenset(permissions) - self.ctx.permissions

    def _is_msp_admin(self) -> bool:
        if self.ctx is None:
            return True
        return (
            self.ctx.relation == "home"
            and self.ctx.tenant.is_msp
            and any(
                s.scope == "home" and s.role in ADMIN_ROLES
                for sources in self.ctx.sources.values()
                for s in sources
            )
        )

    async def _check_may_give(
        self, role: str, permissions: frozenset[str], scope: GrantScope, customer: Tenant | None
    ) -> None:
        """May the actor give ``role`` over ``scope``? Nobody hands out more than they hold."""
        if self.ctx is None:
            return
        if scope == GrantScope.HOME:
            beyond = self._beyond(permissions)
            if beyond:
                raise ValidationFailed(
                    "role",
                    f"gives permissions you do not have in {self.tenant.display_name} "
                    f"({_listed(beyond)})",
                )
            return
        if scope == GrantScope.CUSTOMER and customer is not None:
            try:
                there = await AccessService(self.session).context_in(
                    self.ctx.principal, customer, allow_suspended=True
                )
            except NotFound as exc:
                raise ValidationFailed(
                    "customer",
                    f"you hold no access in {customer.display_name} yourself, "
                    "so you cannot delegate there",
                ) from exc
            ceiling = there.link_ceiling if there.link_ceiling is not None else ALL
            beyond = (permissions & ceiling) - there.permissions
            if beyond:
                raise ValidationFailed(
                    "role",
                    f"gives permissions you do not have in {customer.display_name} "
                    f"({_listed(beyond)})",
                )
            return
        if not self._is_msp_admin():
            raise ValidationFailed(
                "scope",
                "only an MSP admin (Admin or Owner at home) can grant access to a client "
                "group or to every customer: those reach customers added later",
            )

    def _check_may_take(self, role: str, permissions: frozenset[str], scope: GrantScope) -> None:
        """Taking a home grant away needs what giving it needed (an Admin cannot strip the
        Owner); a delegation into customers only reduces access and may always go."""
        if scope != GrantScope.HOME:
            return
        beyond = self._beyond(permissions)
        if beyond:
            raise PermissionDenied(
                f"Only someone who holds every permission of {role} here can take it away "
                f"(you lack {_listed(beyond)}).",
                permission=sorted(beyond)[0],
            )

    async def _check_admins_left(
        self,
        *,
        without_grant: uuid.UUID | None = None,
        without_member: tuple[uuid.UUID, uuid.UUID] | None = None,
    ) -> None:
        """Refuse a change that would leave the tenant with nobody holding Admin or Owner
        at home: nobody could manage its users any more."""
        now = utcnow()
        admin_grants = [
            g
            for g in await repository.live_home_grants(self.session, self.tenant.id, now)
            if g.role in ADMIN_ROLES
        ]
        if not any(g.id == without_grant for g in admin_grants) and without_member is None:
            return
        holders: set[uuid.UUID] = set()
        before: set[uuid.UUID] = set()
        members = await repository.memberships_of_groups(
            self.session, (g.user_group_id for g in admin_grants if g.user_group_id)
        )
        for g in admin_grants:
            users = (
                {g.user_id} if g.user_id else {u for gid, u in members if gid == g.user_group_id}
            )
            before |= users
            if g.id == without_grant:
                continue
            if without_member is not None and g.user_group_id == without_member[0]:
                users = users - {without_member[1]}
            holders |= users
        if before and not holders:
            raise Conflict(
                f"That would leave {self.tenant.display_name} without anyone holding Admin or "
                "Owner: give someone else one of those roles first.",
                errors=[{"field": "grant", "message": "is the last Admin or Owner grant"}],
            )

    # ------------------------------------------------------------ roles

    async def roles(self) -> list[schemas.RoleOut]:
        """Built-in roles (in their defined order), then the tenant's own by name."""
        customs = await repository.custom_roles_of(self.session, self.tenant.id)
        return [
            *(builtin_role_out(r) for r in BUILTIN_ROLES.values()),
            *(custom_role_out(r) for r in customs),
        ]

    async def roles_page(
        self, *, limit: int, cursor: str | None
    ) -> tuple[list[schemas.RoleOut], str | None]:
        everything = await self.roles()
        order = {r.key: i for i, r in enumerate(everything)}
        return page_after(everything, lambda r: [order[r.key]], limit, cursor)

    async def _custom_role(self, ref: str, field: str | None = None) -> CustomRole:
        role_id = _uuid_or_none(ref.removeprefix(CUSTOM_ROLE_PREFIX))
        found = (
            await repository.custom_role_in(self.session, self.tenant.id, role_id)
            if role_id
            else None
        )
        if found is None:
            if field:
                raise ValidationFailed(field, f"no role '{ref}' in {self.tenant.display_name}")
            raise NotFound("No such role.")
        return found

    async def role(self, ref: str, field: str | None = None) -> schemas.RoleOut:
        """A role by built-in key, ``custom:<id>`` or the custom role's bare id."""
        builtin = BUILTIN_ROLES.get(ref)
        if builtin is not None:
            return builtin_role_out(builtin)
        return custom_role_out(await self._custom_role(ref, field))

    async def _check_role_name(self, name: str, keep: uuid.UUID | None = None) -> None:
        lowered = name.lower()
        if any(lowered in (r.key, r.name.lower()) for r in BUILTIN_ROLES.values()):
            raise ValidationFailed("name", f"'{name}' is a built-in role; choose another name")
        same = await repository.custom_role_named(self.session, self.tenant.id, name)
        if same is not None and same.id != keep:
            raise Conflict(
                f"{self.tenant.display_name} already has a role named {same.name}.",
                errors=[{"field": "name", "message": "is already taken by another role"}],
            )

    async def create_role(
        self,
        *,
        name: str,
        description: str | None = None,
        permissions: Sequence[str] | None = None,
        clone_from: str | None = None,
    ) -> schemas.RoleOut:
        """From scratch, or a copy of a built-in or custom role (renamed, then editable)."""
        name = _clean_name(name)
        if clone_from and permissions is not None:
            raise ValidationFailed(
                "clone_from", "give either permissions or a role to clone, not both"
            )
        if clone_from:
            source = await self.role(clone_from.strip(), "clone_from")
            chosen = frozenset(source.permissions)
            if description is None:
                description = f"Copy of {source.name}. {source.description}".strip()
        else:
            chosen = _clean_permissions(permissions or ())
        description = _clean_description(description)
        beyond = self._beyond(chosen)
        if beyond:
            raise ValidationFailed(
                "clone_from" if clone_from else "permissions",
                f"includes permissions you do not have here ({_listed(beyond)})",
            )
        await self._check_role_name(name)
        role = CustomRole(
            tenant_id=self.tenant.id,
            name=name,
            description=description,
            permissions=[p for p in CATALOG if p in chosen],
            created_by_user_id=self.actor.user_id,
        )
        self.session.add(role)
        await self.session.flush()
        await self._record(
            AuditAction.ROLE_CREATED,
            "role",
            role.id,
            role.name,
            {
                "name": [None, role.name],
                "description": [None, role.description],
                "permissions": [None, list(role.permissions)],
                **({"cloned_from": [None, clone_from]} if clone_from else {}),
            },
        )
        return custom_role_out(role)

    async def update_role(
        self,
        ref: str,
        *,
        name: str | None = None,
        description: str | None = None,
        permissions: Sequence[str] | None = None,
    ) -> schemas.RoleOut:
        """Changes reach everyone holding the role on their next request."""
        if ref in BUILTIN_ROLES:
            raise ValidationFailed(
                "role", "built-in roles cannot be changed; clone it and change the copy"
            )
        role = await self._custom_role(ref)
        changes: dict[str, Any] = {}
        if name is not None:
            cleaned = _clean_name(name)
            if cleaned != role.name:
                await self._check_role_name(cleaned, keep=role.id)
                changes["name"] = [role.name, cleaned]
                role.name = cleaned
        if description is not None:
            cleaned = _clean_description(description)
            if cleaned != role.description:
                changes["description"] = [role.description, cleaned]
                role.description = cleaned
        if permissions is not None:
            chosen = _clean_permissions(permissions)
            before = frozenset(role.permissions)
            beyond = self._beyond(chosen ^ before)
            if beyond:
                raise ValidationFailed(
                    "permissions",
                    f"you can only add or remove permissions you hold yourself ({_listed(beyond)})",
                )
            if chosen != before:
                changes["permissions"] = {
                    "added": sorted(chosen - before),
                    "removed": sorted(before - chosen),
                }
                role.permissions = [p for p in CATALOG if p in chosen]
        if changes:
            role.updated_at = utcnow()
            await self.session.flush()
            await self._record(AuditAction.ROLE_UPDATED, "role", role.id, role.name, changes)
        return custom_role_out(role)

    async def grants_using_role(self, key: str) -> list[schemas.GrantOut]:
        now = utcnow()
        grants = await repository.live_grants_with_role(self.session, key, now)
        names = await load_names(self.session, self.tenant, grants)
        return [names.grant_out(g, now) for g in grants]

    async def delete_role(self, ref: str) -> schemas.RoleOut:
        """Only when no live grant uses it; otherwise the refusal lists those grants."""
        if ref in BUILTIN_ROLES:
            raise ValidationFailed("role", "built-in roles cannot be deleted")
        role = await self._custom_role(ref)
        using = await self.grants_using_role(role.key)
        if using:
            raise Conflict(
                f"{role.name} is used by {len(using)} active grant(s); revoke them (or let "
                "them expire) before deleting the role.",
                errors=[{"field": "role", "message": "is still in use"}],
                grants=[g.model_dump(mode="json") for g in using],
            )
        out = custom_role_out(role)
        await self.session.delete(role)
        await self.session.flush()
        await self._record(
            AuditAction.ROLE_DELETED,
            "role",
            out.id,
            out.name,
            {"name": [out.name, None], "permissions": [out.permissions, None]},
        )
        return out

    async def compare(self, a: str, b: str) -> schemas.RoleComparison:
        left = await self.role(a.strip(), "a")
        right = await self.role(b.strip(), "b")
        in_a, in_b = set(left.permissions), set(right.permissions)
        return schemas.RoleComparison(
            a=left,
            b=right,
            only_a=[p for p in CATALOG if p in in_a - in_b],
            only_b=[p for p in CATALOG if p in in_b - in_a],
            both=[p for p in CATALOG if p in in_a & in_b],
            rows=[
                schemas.ComparisonRow(permission=p, description=d, in_a=p in in_a, in_b=p in in_b)
                for p, d in CATALOG.items()
            ],
        )

    async def _role_key(self, ref: str, field: str = "role") -> tuple[str, frozenset[str], str]:
        """(key, permissions, name) of a role usable in this tenant's grants."""
        ref = ref.strip()
        builtin = BUILTIN_ROLES.get(ref)
        if builtin is not None:
            return builtin.key, builtin.permissions, builtin.name
        role_id = _uuid_or_none(ref.removeprefix(CUSTOM_ROLE_PREFIX))
        found = (
            await repository.custom_role_in(self.session, self.tenant.id, role_id)
            if role_id
            else None
        )
        if found is None:
            raise ValidationFailed(
                field,
                f"no role '{ref}' in {self.tenant.display_name}: use a built-in key "
                f"({', '.join(BUILTIN_ROLES)}) or custom:<id> of one of its own roles",
            )
        return found.key, frozenset(found.permissions) & ALL, found.name

    # ------------------------------------------------------------ user groups

    async def user_groups(
        self, *, limit: int = 50, cursor: str | None = None
    ) -> tuple[list[schemas.UserGroupOut], str | None]:
        check_limit(limit)
        after = _name_cursor(cursor)
        rows = await repository.user_groups_of(
            self.session, self.tenant.id, after=after, limit=limit + 1
        )
        counts = await repository.user_group_member_counts(self.session, (g.id for g in rows))
        items = [_user_group_out(g, counts.get(g.id, 0)) for g in rows[:limit]]
        last = rows[limit - 1] if len(rows) > limit else None
        return items, encode_cursor([last.name.lower(), str(last.id)]) if last else None

    async def _user_group(self, ref: str, field: str | None = None) -> UserGroup:
        group_id = _uuid_or_none(ref)
        found = (
            await repository.user_group_in(self.session, self.tenant.id, group_id)
            if group_id
            else await repository.user_group_named(self.session, self.tenant.id, ref.strip())
            if field
            else None
        )
        if found is None:
            if field:
                raise ValidationFailed(
                    field, f"no user group '{ref}' in {self.tenant.display_name}"
                )
            raise NotFound("No such user group.")
        return found

    async def user_group(self, ref: str) -> schemas.UserGroupDetail:
        group = await self._user_group(ref)
        members = await repository.user_group_members(self.session, group.id)
        return schemas.UserGroupDetail(
            **_user_group_out(group, len(members)).model_dump(),
            members=[user_ref(u) for u in members],
        )

    async def _check_group_name(self, name: str, keep: uuid.UUID | None = None) -> None:
        same = await repository.user_group_named(self.session, self.tenant.id, name)
        if same is not None and same.id != keep:
            raise Conflict(
                f"{self.tenant.display_name} already has a user group named {same.name}.",
                errors=[{"field": "name", "message": "is already taken by another group"}],
            )

    async def create_user_group(
        self, *, name: str, description: str | None = None
    ) -> schemas.UserGroupOut:
        name = _clean_name(name)
        description = _clean_description(description)
        await self._check_group_name(name)
        group = UserGroup(tenant_id=self.tenant.id, name=name, description=description)
        self.session.add(group)
        await self.session.flush()
        await self._record(
            AuditAction.USER_GROUP_CREATED,
            "user_group",
            group.id,
            group.name,
            {"name": [None, name], "description": [None, description]},
        )
        return _user_group_out(group, 0)

    async def update_user_group(
        self, ref: str, *, name: str | None = None, description: str | None = None
    ) -> schemas.UserGroupOut:
        group = await self._user_group(ref)
        changes: dict[str, Any] = {}
        if name is not None:
            cleaned = _clean_name(name)
            if cleaned != group.name:
                await self._check_group_name(cleaned, keep=group.id)
                changes["name"] = [group.name, cleaned]
                group.name = cleaned
        if description is not None:
            cleaned = _clean_description(description)
            if cleaned != group.description:
                changes["description"] = [group.description, cleaned]
                group.description = cleaned
        if changes:
            await self.session.flush()
            await self._record(
                AuditAction.USER_GROUP_UPDATED, "user_group", group.id, group.name, changes
            )
        counts = await repository.user_group_member_counts(self.session, [group.id])
        return _user_group_out(group, counts.get(group.id, 0))

    async def delete_user_group(self, ref: str) -> schemas.UserGroupOut:
        group = await self._user_group(ref)
        now = utcnow()
        live_grants = await repository.live_grants_to_user_group(self.session, group.id, now)
        if live_grants:
            names = await load_names(self.session, self.tenant, live_grants)
            listed = [names.grant_out(g, now) for g in live_grants]
            raise Conflict(
                f"The group {group.name} still holds {len(listed)} active grant(s); revoke "
                "them before deleting the group.",
                errors=[{"field": "group", "message": "still holds active grants"}],
                grants=[g.model_dump(mode="json") for g in listed],
            )
        members = await repository.user_group_members(self.session, group.id)
        out = _user_group_out(group, len(members))
        removed = await repository.delete_user_group(self.session, group)
        await self.session.flush()
        await self._record(
            AuditAction.USER_GROUP_DELETED,
            "user_group",
            out.id,
            out.name,
            {
                "name": [out.name, None],
                "members": [[u.email for u in members], None],
                "dead_grants_removed": removed,
            },
        )
        return out

    async def _check_group_grants(
        self, group: UserGroup, *, joining: bool, user_id: uuid.UUID
    ) -> None:
        """Joining a group gives its grants; leaving takes them away. Both are limited as
        issuing and revoking those grants would be."""
        now = utcnow()
        grants = await repository.live_grants_to_user_group(self.session, group.id, now)
        book = await AccessService(self.session).role_book(grants)
        customers = await repository.tenants_by_id(
            self.session, (g.customer_tenant_id for g in grants if g.customer_tenant_id)
        )
        for grant in grants:
            permissions = book.permissions(grant.role)
            try:
                if joining:
                    customer = customers.get(grant.customer_tenant_id or uuid.UUID(int=0))
                    await self._check_may_give(grant.role, permissions, grant.scope, customer)
                else:
                    self._check_may_take(book.name(grant.role), permissions, grant.scope)
            except ValidationFailed as exc:
                raise ValidationFailed(
                    "user",
                    f"cannot {'join' if joining else 'leave'} {group.name} through you: the "
                    f"group holds {book.name(grant.role)}, which {exc.message}",
                ) from exc
        if not joining:
            await self._check_admins_left(without_member=(group.id, user_id))

    async def add_user_group_member(self, ref: str, user: str) -> schemas.UserGroupDetail:
        group = await self._user_group(ref)
        member = await repository.user_in_tenant(self.session, self.tenant.id, user)
        if member is None:
            raise ValidationFailed(
                "user", f"no user with that id or email at home in {self.tenant.display_name}"
            )
        if await repository.user_group_membership(self.session, group.id, member.id) is None:
            await self._check_group_grants(group, joining=True, user_id=member.id)
            self.session.add(UserGroupMember(group_id=group.id, user_id=member.id))
            await self.session.flush()
            await self._record(
                AuditAction.USER_GROUP_MEMBER_ADDED,
                "user_group",
                group.id,
                group.name,
                {"member": [None, member.email]},
            )
        return await self.user_group(str(group.id))

    async def remove_user_group_member(self, ref: str, user: str) -> schemas.UserGroupDetail:
        group = await self._user_group(ref)
        member = await repository.user_in_tenant(self.session, self.tenant.id, user)
        membership = (
            await repository.user_group_membership(self.session, group.id, member.id)
            if member
            else None
        )
        if member is None or membership is None:
            raise NotFound("That user is not a member of this group.")
        await self._check_group_grants(group, joining=False, user_id=member.id)
        await self.session.delete(membership)
        await self.session.flush()
        await self._record(
            AuditAction.USER_GROUP_MEMBER_REMOVED,
            "user_group",
            group.id,
            group.name,
            {"member": [member.email, None]},
        )
        return await self.user_group(str(group.id))

    # ------------------------------------------------------------ tenant groups (MSP)

    def _require_msp(self) -> None:
        if not self.tenant.is_msp or (self.ctx is not None and self.ctx.relation != "home"):
            raise NotFound(
                f"{self.tenant.display_name} is not an MSP here, so it has no client groups."
            )

    async def tenant_groups(
        self, *, limit: int = 50, cursor: str | None = None
    ) -> tuple[list[schemas.TenantGroupOut], str | None]:
        self._require_msp()
        check_limit(limit)
        rows = await repository.tenant_groups_of(
            self.session, self.tenant.id, after=_name_cursor(cursor), limit=limit + 1
        )
        counts = await repository.tenant_group_member_counts(self.session, (g.id for g in rows))
        items = [_tenant_group_out(g, counts.get(g.id, 0)) for g in rows[:limit]]
        last = rows[limit - 1] if len(rows) > limit else None
        return items, encode_cursor([last.name.lower(), str(last.id)]) if last else None

    async def _tenant_group(self, ref: str, field: str | None = None) -> TenantGroup:
        self._require_msp()
        group_id = _uuid_or_none(ref)
        found = (
            await repository.tenant_group_in(self.session, self.tenant.id, group_id)
            if group_id
            else await repository.tenant_group_named(self.session, self.tenant.id, ref.strip())
            if field
            else None
        )
        if found is None:
            if field:
                raise ValidationFailed(
                    field, f"no client group '{ref}' in {self.tenant.display_name}"
                )
            raise NotFound("No such client group.")
        return found

    async def tenant_group(self, ref: str) -> schemas.TenantGroupDetail:
        group = await self._tenant_group(ref)
        members = await repository.tenant_group_members(self.session, group.id)
        return schemas.TenantGroupDetail(
            **_tenant_group_out(group, len(members)).model_dump(),
            members=[tenant_brief(t) for t in members],
        )

    async def _check_tenant_group_name(self, name: str, keep: uuid.UUID | None = None) -> None:
        same = await repository.tenant_group_named(self.session, self.tenant.id, name)
        if same is not None and same.id != keep:
            raise Conflict(
                f"{self.tenant.display_name} already has a client group named {same.name}.",
                errors=[{"field": "name", "message": "is already taken by another group"}],
            )

    async def create_tenant_group(
        self, *, name: str, description: str | None = None
    ) -> schemas.TenantGroupOut:
        self._require_msp()
        name = _clean_name(name)
        description = _clean_description(description)
        await self._check_tenant_group_name(name)
        group = TenantGroup(msp_tenant_id=self.tenant.id, name=name, description=description)
        self.session.add(group)
        await self.session.flush()
        await self._record(
            AuditAction.TENANT_GROUP_CREATED,
            "tenant_group",
            group.id,
            group.name,
            {"name": [None, name], "description": [None, description]},
        )
        return _tenant_group_out(group, 0)

    async def update_tenant_group(
        self, ref: str, *, name: str | None = None, description: str | None = None
    ) -> schemas.TenantGroupOut:
        group = await self._tenant_group(ref)
        changes: dict[str, Any] = {}
        if name is not None:
            cleaned = _clean_name(name)
            if cleaned != group.name:
                await self._check_tenant_group_name(cleaned, keep=group.id)
                changes["name"] = [group.name, cleaned]
                group.name = cleaned
        if description is not None:
            cleaned = _clean_description(description)
            if cleaned != group.description:
                changes["description"] = [group.description, cleaned]
                group.description = cleaned
        if changes:
            await self.session.flush()
            await self._record(
                AuditAction.TENANT_GROUP_UPDATED, "tenant_group", group.id, group.name, changes
            )
        counts = await repository.tenant_group_member_counts(self.session, [group.id])
        return _tenant_group_out(group, counts.get(group.id, 0))

    async def delete_tenant_group(self, ref: str) -> schemas.TenantGroupOut:
        group = await self._tenant_group(ref)
        now = utcnow()
        live_grants = await repository.live_grants_for_tenant_group(self.session, group.id, now)
        if live_grants:
            names = await load_names(self.session, self.tenant, live_grants)
            listed = [names.grant_out(g, now) for g in live_grants]
            raise Conflict(
                f"The client group {group.name} is the scope of {len(listed)} active "
                "grant(s); revoke them before deleting the group.",
                errors=[{"field": "group", "message": "is the scope of active grants"}],
                grants=[g.model_dump(mode="json") for g in listed],
            )
        members = await repository.tenant_group_members(self.session, group.id)
        out = _tenant_group_out(group, len(members))
        removed = await repository.delete_tenant_group(self.session, group)
        await self.session.flush()
        await self._record(
            AuditAction.TENANT_GROUP_DELETED,
            "tenant_group",
            out.id,
            out.name,
            {
                "name": [out.name, None],
                "members": [[t.slug for t in members], None],
                "dead_grants_removed": removed,
            },
        )
        return out

    async def _check_tenant_group_grants(self, group: TenantGroup) -> None:
        """Adding a customer to a group extends the group's grants to it: only someone
        who could issue those grants (an MSP admin) may, when there are any."""
        grants = await repository.live_grants_for_tenant_group(self.session, group.id, utcnow())
        if grants and not self._is_msp_admin():
            raise ValidationFailed(
                "customer",
                f"the group {group.name} is the scope of {len(grants)} active grant(s), so "
                "changing its customers changes who can act in them: only an MSP admin may",
            )

    async def _customer(self, ref: str, field: str = "customer") -> Tenant:
        found = await tenancy_repository.customer_of(self.session, self.tenant.id, ref.strip())
        if found is None:
            raise ValidationFailed(
                field, f"'{ref}' is not a customer of {self.tenant.display_name}"
            )
        return found[0]

    async def add_tenant_group_member(self, ref: str, customer: str) -> schemas.TenantGroupDetail:
        group = await self._tenant_group(ref)
        member = await self._customer(customer)
        if await repository.tenant_group_membership(self.session, group.id, member.id) is None:
            await self._check_tenant_group_grants(group)
            self.session.add(TenantGroupMember(group_id=group.id, customer_tenant_id=member.id))
            await self.session.flush()
            await self._record(
                AuditAction.TENANT_GROUP_MEMBER_ADDED,
                "tenant_group",
                group.id,
                group.name,
                {"customer": [None, member.slug]},
            )
        return await self.tenant_group(str(group.id))

    async def remove_tenant_group_member(
        self, ref: str, customer: str
    ) -> schemas.TenantGroupDetail:
        group = await self._tenant_group(ref)
        target = await repository.tenant_by_ref(self.session, customer.strip())
        membership = (
            await repository.tenant_group_membership(self.session, group.id, target.id)
            if target
            else None
        )
        if target is None or membership is None:
            raise NotFound("That customer is not in this client group.")
        await self._check_tenant_group_grants(group)
        await self.session.delete(membership)
        await self.session.flush()
        await self._record(
            AuditAction.TENANT_GROUP_MEMBER_REMOVED,
            "tenant_group",
            group.id,
            group.name,
            {"customer": [target.slug, None]},
        )
        return await self.tenant_group(str(group.id))

    # ------------------------------------------------------------ grants

    async def grants(
        self, query: GrantQuery, *, limit: int = 50, cursor: str | None = None
    ) -> tuple[list[schemas.GrantOut], str | None]:
        """The tenant's grants, newest first. ``user``: theirs and their groups';
        ``customer``: every grant whose scope reaches it."""
        check_limit(limit)
        position = decode_cursor(cursor)
        before = _uuid_or_none(str(position[0])) if position else None
        if position and before is None:
            raise ValidationFailed("cursor", "is not a cursor this API returned")
        f = repository.GrantFilter(
            scope=query.scope,
            include_expired=query.include_expired,
            include_revoked=query.include_revoked,
        )
        if query.user:
            user = await repository.user_in_tenant(self.session, self.tenant.id, query.user)
            if user is None:
                raise ValidationFailed(
                    "user", f"no user with that id or email at home in {self.tenant.display_name}"
                )
            f = replace(
                f,
                user_id=user.id,
                user_group_ids=frozenset(await repository.user_group_ids_of(self.session, user.id)),
            )
        if query.group:
            f = replace(f, group_id=(await self._user_group(query.group, "group")).id)
        if query.role:
            f = replace(f, role=(await self._role_key(query.role))[0])
        customer: Tenant | None = None
        if query.customer:
            self._require_msp_field("customer")
            customer = await self._customer(query.customer)
            groups = await repository.tenant_groups_holding(
                self.session, self.tenant.id, customer.id
            )
            f = replace(f, customer_id=customer.id, customer_groups=frozenset(g.id for g in groups))
        now = utcnow()
        rows = await repository.list_grants(
            self.session, self.tenant.id, f, now=now, before_id=before, limit=limit + 1
        )
        page = list(rows[:limit])
        if customer is not None:
            page = [g for g in page if str(customer.id) not in set(g.excluded_customer_ids or ())]
        names = await load_names(self.session, self.tenant, page)
        next_cursor = encode_cursor([str(rows[limit - 1].id)]) if len(rows) > limit else None
        return [names.grant_out(g, now) for g in page], next_cursor

    def _require_msp_field(self, field: str) -> None:
        if not self.tenant.is_msp:
            raise ValidationFailed(
                field,
                f"{self.tenant.display_name} is not an MSP: it has no customers, so its "
                "grants are for home only",
            )

    async def grant(self, grant_id: uuid.UUID) -> schemas.GrantOut:
        grant = await repository.grant_in(self.session, self.tenant.id, grant_id)
        if grant is None:
            raise NotFound("No such grant.")
        now = utcnow()
        return (await load_names(self.session, self.tenant, [grant])).grant_out(grant, now)

    async def issue(self, request: schemas.GrantCreate) -> schemas.GrantOut:
        """Validate every field against this tenant, then check the actor may give it."""
        if request.user and request.group:
            raise ValidationFailed("user", "give a user or a group, not both")
        user: User | None = None
        group: UserGroup | None = None
        if request.user:
            user = await repository.user_in_tenant(self.session, self.tenant.id, request.user)
            if user is None:
                raise ValidationFailed(
                    "user", f"no user with that id or email at home in {self.tenant.display_name}"
                )
        elif request.group:
            group = await self._user_group(request.group, "group")
        else:
            raise ValidationFailed("user", "give the user (id or email) or the group to grant to")
        role_key, permissions, role_name = await self._role_key(request.role)
        scope = request.scope
        if scope != GrantScope.HOME:
            self._require_msp_field("scope")
            if self.ctx is not None and self.ctx.relation != "home":
                raise ValidationFailed(
                    "scope", "grants into customers are issued from the MSP's own tenant"
                )
        customer: Tenant | None = None
        link_id: uuid.UUID | None = None
        tenant_group: TenantGroup | None = None
        excluded: list[Tenant] = []
        if scope == GrantScope.CUSTOMER:
            if not request.customer:
                raise ValidationFailed("customer", "is required for a customer grant")
            found = await tenancy_repository.customer_of(
                self.session, self.tenant.id, request.customer.strip()
            )
            if found is None:
                raise ValidationFailed(
                    "customer",
                    f"'{request.customer}' is not a customer of {self.tenant.display_name}",
                )
            customer, link_id = found[0], found[1].id
        elif request.customer:
            raise ValidationFailed("customer", "only a customer grant names a customer")
        if scope == GrantScope.TENANT_GROUP:
            if not request.tenant_group:
                raise ValidationFailed("tenant_group", "is required for a tenant_group grant")
            tenant_group = await self._tenant_group(request.tenant_group, "tenant_group")
        elif request.tenant_group:
            raise ValidationFailed("tenant_group", "only a tenant_group grant names a group")
        if request.excluded_customers:
            if scope != GrantScope.ALL_CUSTOMERS:
                raise ValidationFailed(
                    "excluded_customers", "only an all_customers grant has exclusions"
                )
            excluded = [
                await self._customer(ref, "excluded_customers")
                for ref in request.excluded_customers
                if ref.strip()
            ]
        expires_at = request.expires_at
        if expires_at is not None:
            if expires_at.tzinfo is None:
                raise ValidationFailed(
                    "expires_at", "must name its time zone (e.g. 2030-01-31T18:00:00Z)"
                )
            if expires_at <= utcnow() + _SECOND:
                raise ValidationFailed("expires_at", "must be in the future")
        await self._check_may_give(role_key, permissions, scope, customer)
        draft = Grant(
            tenant_id=self.tenant.id,
            user_id=user.id if user else None,
            user_group_id=group.id if group else None,
            role=role_key,
            scope=scope,
            customer_tenant_id=customer.id if customer else None,
            tenant_group_id=tenant_group.id if tenant_group else None,
        )
        same = await repository.live_duplicate(self.session, draft, utcnow())
        if same is not None:
            who = user.display_name if user else f"the group {group.name if group else ''}"
            raise Conflict(
                f"{who} already holds {role_name} there (grant {same.id}); revoke it first to "
                "change its expiry or exclusions.",
                errors=[{"field": "role", "message": "is already granted there"}],
                grant_id=str(same.id),
            )
        names = Names(
            home=self.tenant,
            users={user.id: user} if user else {},
            user_groups={group.id: group} if group else {},
            tenant_groups={tenant_group.id: tenant_group} if tenant_group else {},
            tenants={t.id: t for t in ([customer] if customer else []) + excluded},
            book=RoleBook(names={role_key: role_name}),
        )
        grant = await create_grant(
            self.session,
            issuer_tenant_id=self.tenant.id,
            user_id=draft.user_id,
            user_group_id=draft.user_group_id,
            role=role_key,
            scope=scope,
            customer_tenant_id=draft.customer_tenant_id,
            tenant_group_id=draft.tenant_group_id,
            excluded_customer_ids=[t.id for t in excluded],
            expires_at=expires_at,
            actor=self.actor,
            customer_link_id=link_id,
            label=names.label(draft),
        )
        return names.grant_out(grant, utcnow())

    async def revoke(self, grant_id: uuid.UUID) -> schemas.GrantOut:
        """Effective from the next request on."""
        grant = await repository.grant_in(self.session, self.tenant.id, grant_id)
        if grant is None:
            raise NotFound("No such grant.")
        names = await load_names(self.session, self.tenant, [grant])
        if grant.revoked_at is None:
            self._check_may_take(
                names.book.name(grant.role), names.book.permissions(grant.role), grant.scope
            )
            if grant.scope == GrantScope.HOME and grant.role in ADMIN_ROLES:
                await self._check_admins_left(without_grant=grant.id)
            link = (
                await repository.active_link(self.session, self.tenant.id, grant.customer_tenant_id)
                if grant.customer_tenant_id
                else None
            )
            await revoke_grant(
                self.session,
                grant,
                actor=self.actor,
                customer_link_id=link.id if link else None,
                label=names.label(grant),
            )
        return names.grant_out(grant, utcnow())

    # ------------------------------------------------------------ audit

    async def _record(
        self,
        action: AuditAction,
        target_type: str,
        target_id: uuid.UUID | None,
        label: str,
        changes: dict[str, Any],
    ) -> None:
        await audit.record(
            self.session,
            tenant_id=self.tenant.id,
            actor=self.actor,
            action=action,
            target_type=target_type,
            target_id=target_id,
            target_label=label,
            changes=changes,
        )


def _name_cursor(cursor: str | None) -> tuple[str, uuid.UUID] | None:
    position = decode_cursor(cursor)
    if position is None:
        return None
    try:
        name, raw_id = position
        return str(name), uuid.UUID(str(raw_id))
    except ValueError as exc:
        raise ValidationFailed("cursor", "is not a cursor this API returned") from exc


def _user_group_out(group: UserGroup, members: int) -> schemas.UserGroupOut:
    return schemas.UserGroupOut(
        id=group.id,
        name=group.name,
        description=group.description,
        created_at=group.created_at,
        member_count=members,
    )


def _tenant_group_out(group: TenantGroup, members: int) -> schemas.TenantGroupOut:
    return schemas.TenantGroupOut(
        id=group.id,
        name=group.name,
        description=group.description,
        created_at=group.created_at,
        member_count=members,
    )


# --- used by tenancy ---


async def delete_grants_touching(
    session: AsyncSession, tenant_id: uuid.UUID, user_ids: Sequence[uuid.UUID]
) -> int:
    """Deleting a tenant: every grant its users hold, it issued, or that reaches into it."""
    return await repository.delete_grants_touching(session, tenant_id, user_ids)
