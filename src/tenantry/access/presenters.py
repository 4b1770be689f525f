"""How access things are shown: roles, grants and their sources in words with names,
read in a few batched queries, and keyset paging over small lists built in memory."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.access import repository, schemas
from tenantry.access.context import PermissionSource, TenantRef
from tenantry.access.decision import RoleBook
from tenantry.access.models import CustomRole, Grant, GrantScope, TenantGroup, UserGroup
from tenantry.access.permissions import CATALOG, Role
from tenantry.access.rolebook import role_book
from tenantry.identity import service as identity
from tenantry.identity.models import User
from tenantry.kit.pagination import Keyset, check_limit
from tenantry.tenancy import service as tenancy
from tenantry.tenancy.models import Tenant

T = TypeVar("T")


def uuid_or_none(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value.strip())
    except ValueError:
        return None


def page_after(
    items: Sequence[T],
    key: Callable[[T], tuple[Any, ...]],
    keyset: Keyset,
    limit: int,
    cursor: str | None,
) -> tuple[list[T], str | None]:
    """Keyset paging over a list already in ``key`` order (small lists built in memory);
    ``keyset`` is the typed shape of ``key``."""
    check_limit(limit)
    after = keyset.decode(cursor)
    if after is not None:
        items = [i for i in items if key(i) > after]
    page = list(items[:limit])
    more = len(items) > limit
    return page, keyset.encode(*key(page[-1])) if more and page else None


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
    # The customer an answer is shown in, when it is not the grants' issuer: there a
    # grant names nothing outside that customer (no other customer, none of the MSP's
    # client or user groups), whoever reads it (DESIGN.md, access rule 6).
    shown_in: TenantRef | Tenant | None = None

    @property
    def confined(self) -> bool:
        return self.shown_in is not None and self.shown_in.id != self.home.id

    def tenant_name(self, tenant_id: uuid.UUID | str | None) -> str:
        if tenant_id is None:
            return "?"
        key = tenant_id if isinstance(tenant_id, uuid.UUID) else uuid_or_none(tenant_id)
        found = self.tenants.get(key) if key else None
        return found.display_name if found else "a customer no longer linked"

    def scope_label(self, grant: Grant) -> str:
        if grant.scope == GrantScope.HOME:
            return f"at home in {self.home.display_name}"
        if grant.scope == GrantScope.CUSTOMER:
            return f"in the customer {self.tenant_name(grant.customer_tenant_id)}"
        if self.confined:
            if grant.scope == GrantScope.TENANT_GROUP:
                return f"in a group of {self.home.display_name}'s clients"
            excluded_any = bool(grant.excluded_customer_ids)
            return "in every customer" + (", with exclusions" if excluded_any else "")
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
            for i in (uuid_or_none(c) for c in grant.excluded_customer_ids or ())
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
            if group is not None and self.confined:
                via, group = f"a group of {self.home.display_name}'s technicians", None
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
        tenant_ids |= {i for i in map(uuid_or_none, g.excluded_customer_ids or ()) if i}
    return Names(
        home=home,
        users=await identity.users_by_ids(session, (g.user_id for g in grants if g.user_id)),
        user_groups=await repository.groups_by_id(
            session,
            repository.USER_GROUP_TABLES,
            (g.user_group_id for g in grants if g.user_group_id),
        ),
        tenant_groups=await repository.groups_by_id(
            session,
            repository.TENANT_GROUP_TABLES,
            (g.tenant_group_id for g in grants if g.tenant_group_id),
        ),
        tenants=await tenancy.tenants_by_ids(session, tenant_ids),
        book=book or await role_book(session, grants),
    )
