"""Grants of one tenant: listing, issuing (after the actor's limits) and revoking."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import timedelta

from tenantry.access import repository, schemas
from tenantry.access.admin.base import AdminBase
from tenantry.access.admin.groups import GroupsAdmin
from tenantry.access.admin.kinds import CLIENT_GROUPS, USER_GROUPS
from tenantry.access.admin.roles import RolesAdmin
from tenantry.access.decision import RoleBook
from tenantry.access.grants import create_grant, revoke_grant
from tenantry.access.models import (
    Grant,
    GrantScope,
    TenantGroup,
    UserGroup,
)
from tenantry.access.permissions import ADMIN_ROLES
from tenantry.access.presenters import (
    Names,
    load_names,
)
from tenantry.audit.schemas import Actor
from tenantry.db.base import utcnow
from tenantry.errors import Conflict, NotFound, ValidationFailed
from tenantry.identity import service as identity
from tenantry.identity.models import User
from tenantry.kit.pagination import Keyset, check_limit
from tenantry.tenancy import service as tenancy
from tenantry.tenancy.models import Tenant

_SECOND = timedelta(seconds=1)
# Newest first: ids are time-ordered.
GRANT_ORDER = Keyset(uuid.UUID)


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


class GrantsAdmin(RolesAdmin, GroupsAdmin, AdminBase):
    # ------------------------------------------------------------ grants

    async def grants(
        self, query: GrantQuery, *, limit: int = 50, cursor: str | None = None
    ) -> tuple[list[schemas.GrantOut], str | None]:
        """The tenant's grants, newest first. ``user``: theirs and their groups';
        ``customer``: every grant whose scope reaches it."""
        check_limit(limit)
        position = GRANT_ORDER.decode(cursor)
        before: uuid.UUID | None = position[0] if position else None
        f = repository.GrantFilter(
            scope=query.scope,
            include_expired=query.include_expired,
            include_revoked=query.include_revoked,
        )
        if query.user:
            user = await identity.user_at_home(self.session, self.tenant.id, query.user)
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
            f = replace(f, group_id=(await self._group(USER_GROUPS, query.group, "group")).id)
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
        next_cursor = GRANT_ORDER.encode(rows[limit - 1].id) if len(rows) > limit else None
        return [names.grant_out(g, now) for g in page], next_cursor

    async def grant(self, grant_id: uuid.UUID) -> schemas.GrantOut:
        grant = await repository.grant_in(self.session, self.tenant.id, grant_id)
        if grant is None:
            raise NotFound("No such grant.")
        now = utcnow()
        return (await load_names(self.session, self.tenant, [grant])).grant_out(grant, now)

    async def issue(self, request: schemas.GrantCreate, *, actor: Actor) -> schemas.GrantOut:
        """Validate every field against this tenant, then check the actor may give it."""
        if request.user and request.group:
            raise ValidationFailed("user", "give a user or a group, not both")
        user: User | None = None
        group: UserGroup | None = None
        if request.user:
            user = await identity.user_at_home(self.session, self.tenant.id, request.user)
            if user is None:
                raise ValidationFailed(
                    "user", f"no user with that id or email at home in {self.tenant.display_name}"
                )
        elif request.group:
            group = await self._group(USER_GROUPS, request.group, "group")
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
            found = await tenancy.customer_of(
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
            tenant_group = await self._group(CLIENT_GROUPS, request.tenant_group, "tenant_group")
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
            actor=actor,
            customer_link_id=link_id,
            label=names.label(draft),
        )
        return names.grant_out(grant, utcnow())

    async def revoke(self, grant_id: uuid.UUID, *, actor: Actor) -> schemas.GrantOut:
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
                await tenancy.active_link(self.session, self.tenant.id, grant.customer_tenant_id)
                if grant.customer_tenant_id
                else None
            )
            await revoke_grant(
                self.session,
                grant,
                actor=actor,
                customer_link_id=link.id if link else None,
                label=names.label(grant),
            )
        return names.grant_out(grant, utcnow())
