"""Issuing and revoking a grant, as rows and audit events. Checks only the grant's
shape: who may issue or revoke it is ``AccessAdmin``'s to decide (access/admin/)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.access.models import CUSTOM_ROLE_PREFIX, Grant, GrantScope
from tenantry.access.permissions import BUILTIN_ROLES
from tenantry.access.widening import Why, widen
from tenantry.audit import service as audit
from tenantry.audit.changes import Changes, set_to
from tenantry.audit.schemas import Actor, AuditAction
from tenantry.db.base import utcnow
from tenantry.errors import ValidationFailed


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
    changes = set_to(
        user_id=str(user_id) if user_id else None,
        role=role,
        scope=scope.value,
        customer_tenant_id=str(customer_tenant_id) if customer_tenant_id else None,
        expires_at=expires_at.isoformat() if expires_at else None,
    )
    if user_group_id is not None:
        changes |= set_to(user_group_id=str(user_group_id))
    if tenant_group_id is not None:
        changes |= set_to(tenant_group_id=str(tenant_group_id))
    if excluded:
        changes |= set_to(excluded_customer_ids=excluded)
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
        set_to(revoked_at=grant.revoked_at.isoformat()),
        customer_link_id,
    )
    return grant


async def _record_grant_event(
    session: AsyncSession,
    grant: Grant,
    actor: Actor,
    action: AuditAction,
    label: str,
    changes: Changes,
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
    await widen(session, *(t for t, _ in targets), why=Why.DELEGATION)
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
