"""Access decisions (DESIGN.md, "The access rules"): the only maker of TenantContext
and of the TenantScope a unit of work runs under."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.access import repository
from tenantry.access.context import Principal, TenantContext, TenantRef
from tenantry.access.decision import (
    RoleBook,
    by_permission,
    custom_role_ids,
    live,
)
from tenantry.access.decision import customer_sources as customer_sources
from tenantry.access.decision import home_sources as home_sources
from tenantry.access.decision import role_permissions as role_permissions
from tenantry.access.models import CUSTOM_ROLE_PREFIX, Grant, GrantScope
from tenantry.access.permissions import BUILTIN_ROLES
from tenantry.audit import service as audit
from tenantry.audit.schemas import Actor, AuditAction
from tenantry.db.base import utcnow
from tenantry.db.engine import widen_scope
from tenantry.db.scope import TenantScope, session_scope
from tenantry.errors import NotFound, TenantSuspended, ValidationFailed
from tenantry.tenancy.models import Tenant, TenantStatus

# Kept importable from here: the switcher and older callers use these names.
_live = live


def tenant_ref(tenant: Tenant) -> TenantRef:
    return TenantRef(
        tenant.id, tenant.slug, tenant.display_name, tenant.status.value, tenant.is_msp
    )


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

    async def context_in(
        self, principal: Principal, tenant: Tenant, *, allow_suspended: bool = False
    ) -> TenantContext:
        now = utcnow()
        grants = live(await repository.live_grants_of_user(self.session, principal.user_id), now)
        book = await self.role_book(grants)
        if tenant.id == principal.home_tenant_id:
            sources = by_permission(home_sources(grants, book), None, book)
            context = TenantContext(
                tenant=tenant_ref(tenant),
                principal=principal,
                relation="home",
                permissions=frozenset(sources),
                sources=sources,
                scope=TenantScope.of([tenant.id]),
            )
        else:
            link = await repository.active_link(self.session, principal.home_tenant_id, tenant.id)
            if link is None or (link.expires_at is not None and link.expires_at <= now):
                raise NotFound("No such tenant.")
            group_ids = {g.tenant_group_id for g in grants if g.tenant_group_id is not None}
            customer_groups = (
                await repository.groups_containing(self.session, tenant.id, group_ids)
                if group_ids
                else frozenset()
            )
            ceiling = frozenset(link.ceiling)
            sources = by_permission(
                customer_sources(grants, tenant.id, principal.home_is_msp, customer_groups, book),
                ceiling,
                book,
            )
            context = TenantContext(
                tenant=tenant_ref(tenant),
                principal=principal,
                relation="customer",
                permissions=frozenset(sources),
                sources=sources,
                link_id=link.id,
                link_ceiling=ceiling,
                scope=TenantScope.of([tenant.id]),
            )
        if not context.permissions:
            raise NotFound("No such tenant.")
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
    user_id: uuid.UUID,
    role: str,
    scope: GrantScope,
    actor: Actor,
    customer_tenant_id: uuid.UUID | None = None,
    expires_at: datetime | None = None,
) -> Grant:
    """Give a user a role: at home, in one customer, or in every customer of the MSP."""
    if role not in BUILTIN_ROLES and not role.startswith(CUSTOM_ROLE_PREFIX):
        raise ValidationFailed("role", f"unknown role '{role}'; one of {', '.join(BUILTIN_ROLES)}")
    if (scope == GrantScope.CUSTOMER) != (customer_tenant_id is not None):
        raise ValidationFailed("customer", "is required for a customer grant, and only there")
    if expires_at is not None and expires_at <= utcnow():
        raise ValidationFailed("expires_at", "must be in the future")
    grant = Grant(
        tenant_id=issuer_tenant_id,
        user_id=user_id,
        role=role,
        scope=scope,
        customer_tenant_id=customer_tenant_id,
        expires_at=expires_at,
        created_by_user_id=actor.user_id,
    )
    session.add(grant)
    await session.flush()
    targets = [issuer_tenant_id] + ([customer_tenant_id] if customer_tenant_id else [])
    await extend_scope(session, *targets)
    for tenant_id in targets:
        await audit.record(
            session,
            tenant_id=tenant_id,
            actor=actor,
            action=AuditAction.GRANT_CREATED,
            target_type="grant",
            target_id=grant.id,
            target_label=f"{role} ({scope.value})",
            changes={
                "user_id": [None, str(user_id)],
                "role": [None, role],
                "scope": [None, scope.value],
                "customer_tenant_id": [
                    None,
                    str(customer_tenant_id) if customer_tenant_id else None,
                ],
                "expires_at": [None, expires_at.isoformat() if expires_at else None],
            },
        )
    return grant
