"""Tenancy rules: creating tenants and customers, renaming, suspending, deleting."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import ColumnElement, Row, delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.access.context import TenantContext
from tenantry.access.models import Grant
from tenantry.access.permissions import ALL
from tenantry.access.service import extend_scope
from tenantry.audit import service as audit
from tenantry.audit.schemas import Actor, AuditAction
from tenantry.db.base import Base, TenantOwned, utcnow
from tenantry.db.rls import allow_audit_deletion
from tenantry.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from tenantry.identity.models import ApiToken, AuthSession, Invitation, RecoveryCode, User
from tenantry.pagination import check_limit, decode_cursor, encode_cursor
from tenantry.tenancy import repository
from tenantry.tenancy.models import LinkState, Tenant, TenantLink, TenantStatus
from tenantry.tenancy.schemas import check_display_name, check_slug, check_time_zone, slugify


async def set_time_zone(session: AsyncSession, tenant_id: uuid.UUID, time_zone: str) -> str:
    """Set the tenant's time zone (its SLA calendar and time entry dates use it); returns
    the previous one. The caller records the change in the action's own audit event
    (the SLA policy page and API are where it is edited)."""
    zone = check_time_zone(time_zone)
    tenant = await repository.by_id(session, tenant_id)
    if tenant is None:
        raise NotFound("No such tenant.")
    before = tenant.time_zone
    tenant.time_zone = zone
    return before


def tenant_owned_models() -> list[type[TenantOwned]]:
    """Tenant-owned mapped classes, children before parents (safe delete order)."""
    by_table: dict[object, type[TenantOwned]] = {
        m.local_table: m.class_ for m in Base.registry.mappers if issubclass(m.class_, TenantOwned)
    }
    ordered = [t for t in reversed(Base.metadata.sorted_tables) if t in by_table]
    return [by_table[t] for t in ordered]


class TenancyService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _new_slug(self, name: str, slug: str | None, field: str) -> str:
        candidate = check_slug(
            slug.strip().lower() if slug else slugify(name), field if slug is None else "slug"
        )
        if await repository.slug_taken(self.session, candidate):
            raise Conflict(
                f"The slug '{candidate}' is already taken; choose another name or slug.",
                errors=[
                    {"field": field if slug is None else "slug", "message": "is already taken"}
                ],
            )
        return candidate

    async def create_tenant(
        self,
        *,
        name: str,
        display_name: str | None,
        is_msp: bool,
        actor: Actor,
        slug: str | None = None,
    ) -> Tenant:
        """A top-level tenant (the instance operator's job)."""
        display = check_display_name(
            display_name or name, "display_name" if display_name else "name"
        )
        tenant = Tenant(
            slug=await self._new_slug(name, slug, "name"),
            display_name=display,
            is_msp=is_msp,
        )
        self.session.add(tenant)
        await self.session.flush()
        await extend_scope(self.session, tenant.id)
        await audit.record(
            self.session,
            tenant_id=tenant.id,
            actor=actor,
            action=AuditAction.TENANT_CREATED,
            target_type="tenant",
            target_id=tenant.id,
            target_label=tenant.slug,
            changes={
                "slug": [None, tenant.slug],
                "display_name": [None, display],
                "is_msp": [None, is_msp],
            },
        )
        return tenant

    async def set_msp_license(self, tenant: Tenant, licensed: bool, actor: Actor) -> Tenant:
        if tenant.is_msp == licensed:
            return tenant
        await extend_scope(self.session, tenant.id)
        before = tenant.is_msp
        tenant.is_msp = licensed
        await audit.record(
            self.session,
            tenant_id=tenant.id,
            actor=actor,
            action=AuditAction.TENANT_LICENSE_CHANGED,
            target_type="tenant",
            target_id=tenant.id,
            target_label=tenant.slug,
            changes={"is_msp": [before, licensed]},
        )
        return tenant

    async def create_customer(
        self,
        ctx: TenantContext,
        *,
        name: str,
        display_name: str | None,
        actor: Actor,
        slug: str | None = None,
    ) -> Tenant:
        """A new customer of the MSP in ``ctx``, with an active link and the full ceiling."""
        if not ctx.tenant.is_msp:
            raise PermissionDenied(
                f"{ctx.tenant.display_name} is not licensed as an MSP, so it cannot create "
                "customers. The instance operator grants MSP licensing "
                "(`tenantry tenants license SLUG --msp on`).",
                permission="customers:create",
                reason="not-msp",
            )
        display = check_display_name(
            display_name or name, "display_name" if display_name else "name"
        )
        customer = Tenant(slug=await self._new_slug(name, slug, "name"), display_name=display)
        self.session.add(customer)
        await self.session.flush()
        now = utcnow()
        link = TenantLink(
            msp_tenant_id=ctx.tenant.id,
            customer_tenant_id=customer.id,
            state=LinkState.ACTIVE,
            ceiling=sorted(ALL),
            created_at=now,
            activated_at=now,
            created_by_user_id=ctx.principal.user_id,
        )
        self.session.add(link)
        await self.session.flush()
        await extend_scope(self.session, customer.id)
        # In the new customer's trail the MSP acts under the link it has just made.
        in_customer = replace(actor, via_link_id=link.id)
        await audit.record(
            self.session,
            tenant_id=ctx.tenant.id,
            actor=actor,
            action=AuditAction.CUSTOMER_CREATED,
            changes={"slug": [None, customer.slug], "display_name": [None, display]},
            target_type="tenant",
            target_id=customer.id,
            target_label=customer.slug,
        )
        await audit.record(
            self.session,
            tenant_id=customer.id,
            actor=in_customer,
            action=AuditAction.TENANT_CREATED,
            changes={
                "slug": [None, customer.slug],
                "display_name": [None, display],
                "msp": [None, ctx.tenant.slug],
            },
            target_type="tenant",
            target_id=customer.id,
            target_label=customer.slug,
        )
        await audit.record(
            self.session,
            tenant_id=customer.id,
            actor=in_customer,
            action=AuditAction.LINK_CREATED,
            target_type="link",
            target_id=link.id,
            target_label=f"{ctx.tenant.slug} → {customer.slug}",
            changes={"state": [None, link.state.value], "ceiling": [None, "all permissions"]},
        )
        return customer

    async def list_customers(
        self, ctx: TenantContext, *, query: str | None, cursor: str | None, limit: int
    ) -> tuple[list[Tenant], str | None]:
        check_limit(limit)
        if query is not None and len(query) > 100:
            raise ValidationFailed("q", "must be at most 100 characters long")
        after = decode_cursor(cursor)
        rows = await repository.customers_of(
            self.session,
            ctx.tenant.id,
            query=query,
            after_slug=str(after[0]) if after else None,
            limit=limit + 1,
        )
        tenants = [t for t, _link in rows]
        next_cursor = encode_cursor([tenants[limit - 1].slug]) if len(tenants) > limit else None
        return tenants[:limit], next_cursor

    async def customer(self, ctx: TenantContext, ref: str) -> Tenant:
        return (await self._customer_and_link(ctx, ref))[0]

    async def _customer_and_link(self, ctx: TenantContext, ref: str) -> tuple[Tenant, TenantLink]:
        found = await repository.customer_of(self.session, ctx.tenant.id, ref)
        if found is None:
            raise NotFound("No such customer.")
        return found

    async def rename(self, ctx: TenantContext, ref: str, display_name: str, actor: Actor) -> Tenant:
        customer, link = await self._customer_and_link(ctx, ref)
        display = check_display_name(display_name)
        if display == customer.display_name:
            return customer
        before = customer.display_name
        customer.display_name = display
        await self._record_on_both(
            ctx,
            customer,
            link,
            actor,
            AuditAction.TENANT_RENAMED,
            {"display_name": [before, display]},
        )
        return customer

    async def set_suspended(
        self, ctx: TenantContext, ref: str, suspended: bool, actor: Actor
    ) -> Tenant:
        """Suspending refuses sign-ins and requests in the customer; nothing is lost."""
        customer, link = await self._customer_and_link(ctx, ref)
        target = TenantStatus.SUSPENDED if suspended else TenantStatus.ACTIVE
        if customer.status == target:
            return customer
        before = customer.status
        customer.status = target
        customer.suspended_at = utcnow() if suspended else None
        action = AuditAction.TENANT_SUSPENDED if suspended else AuditAction.TENANT_RESUMED
        await self._record_on_both(
            ctx, customer, link, actor, action, {"status": [before.value, target.value]}
        )
        return customer

    async def _record_on_both(
        self,
        ctx: TenantContext,
        customer: Tenant,
        link: TenantLink,
        actor: Actor,
        action: AuditAction,
        changes: dict[str, list[object]],
    ) -> None:
        """Changes to a customer show in the MSP's trail and in the customer's own."""
        await extend_scope(self.session, customer.id)
        # The customer's copy names the link under which the MSP acted.
        for tenant_id, by in (
            (ctx.tenant.id, actor),
            (customer.id, replace(actor, via_link_id=link.id)),
        ):
            await audit.record(
                self.session,
                tenant_id=tenant_id,
                actor=by,
                action=action,
                target_type="tenant",
                target_id=customer.id,
                target_label=customer.slug,
                changes=changes,
            )

    async def delete_customer(
        self, ctx: TenantContext, ref: str, confirm_slug: str, actor: Actor
    ) -> dict[str, int]:
        """Remove every row the customer owns, in every table; cannot be undone.

        The MSP keeps one event recording who deleted what and how many rows went.
        """
        customer = await self.customer(ctx, ref)
        if confirm_slug.strip().lower() != customer.slug:
            raise ValidationFailed(
                "confirm_slug", f"type the customer's slug '{customer.slug}' to confirm"
            )
        await extend_scope(self.session, customer.id)
        counts = await self.purge_tenant(customer)
        await audit.record(
            self.session,
            tenant_id=ctx.tenant.id,
            actor=actor,
            action=AuditAction.CUSTOMER_DELETED,
            target_type="tenant",
            target_id=customer.id,
            target_label=customer.slug,
            changes={
                "slug": [customer.slug, None],
                "display_name": [customer.display_name, None],
                "rows_deleted": counts,
            },
        )
        return counts

    async def purge_tenant(self, tenant: Tenant) -> dict[str, int]:
        """Delete the tenant and everything it owns. The session's scope must cover it."""
        counts: dict[str, int] = {}
        # Lets the append-only trigger accept deleting this tenant's events, in this
        # transaction only.
        await allow_audit_deletion(self.session)
        for model in tenant_owned_models():
            result = await self.session.execute(delete(model).where(model.tenant_id == tenant.id))
            counts[model.__tablename__] = int(getattr(result, "rowcount", 0) or 0)
        user_ids = select(User.id).where(User.home_tenant_id == tenant.id).scalar_subquery()
        platform: Sequence[tuple[str, object]] = (
            ("recovery_codes", delete(RecoveryCode).where(RecoveryCode.user_id.in_(user_ids))),
            ("auth_sessions", delete(AuthSession).where(AuthSession.user_id.in_(user_ids))),
            ("api_tokens", delete(ApiToken).where(ApiToken.user_id.in_(user_ids))),
            (
                "grants",
                delete(Grant).where(
                    or_(
                        Grant.user_id.in_(user_ids),
                        Grant.tenant_id == tenant.id,
                        Grant.customer_tenant_id == tenant.id,
                    )
                ),
            ),
            (
                "invitations",
                delete(Invitation).where(
                    or_(
                        Invitation.tenant_id == tenant.id,
                        Invitation.invited_by_user_id.in_(user_ids),
                    )
                ),
            ),
            ("users", delete(User).where(User.home_tenant_id == tenant.id)),
            (
                "tenant_links",
                delete(TenantLink).where(
                    or_(
                        TenantLink.customer_tenant_id == tenant.id,
                        TenantLink.msp_tenant_id == tenant.id,
                    )
                ),
            ),
            ("tenants", delete(Tenant).where(Tenant.id == tenant.id)),
        )
        for name, statement in platform:
            result = await self.session.execute(statement)  # type: ignore[call-overload]
            counts[name] = int(getattr(result, "rowcount", 0) or 0)
        self.session.expunge(tenant)
        return counts

    async def mark_suspended_by_operator(
        self, tenant: Tenant, suspended: bool, actor: Actor
    ) -> None:
        await extend_scope(self.session, tenant.id)
        before = tenant.status
        tenant.status = TenantStatus.SUSPENDED if suspended else TenantStatus.ACTIVE
        tenant.suspended_at = utcnow() if suspended else None
        await audit.record(
            self.session,
            tenant_id=tenant.id,
            actor=actor,
            action=AuditAction.TENANT_SUSPENDED if suspended else AuditAction.TENANT_RESUMED,
            target_type="tenant",
            target_id=tenant.id,
            target_label=tenant.slug,
            changes={"status": [before.value, tenant.status.value]},
        )


# --- used by access ---
# The switcher's and the MSP-wide scopes' reads of linked customers (hot paths at
# 10,000 clients: one statement each, as access builds its narrowing).
linked_customer_conditions = repository.linked_customer_conditions
linked_customers_in_order = repository.linked_customers_in_order


async def linked_customers_with_ceiling_text(
    session: AsyncSession, conditions: Sequence[ColumnElement[bool]]
) -> Sequence[Row[uuid.UUID, str, str, str]]:
    return await repository.linked_customers_with_ceiling_text(session, conditions)


async def linked_customers_by_name(
    session: AsyncSession,
    conditions: Sequence[ColumnElement[bool]],
    *,
    after: tuple[str, uuid.UUID] | None,
    limit: int,
) -> list[Any]:
    return await repository.linked_customers_by_name(session, conditions, after=after, limit=limit)


async def customer_of(
    session: AsyncSession, msp_id: uuid.UUID, ref: str
) -> tuple[Tenant, TenantLink] | None:
    """One of the MSP's customers (slug or id) under an active link, with the link."""
    return await repository.customer_of(session, msp_id, ref)

# --- used by audit and cli ---


async def tenant_by_id(session: AsyncSession, tenant_id: uuid.UUID) -> Tenant:
    """One tenant by id (NotFound when it is gone)."""
    tenant = await repository.by_id(session, tenant_id)
    if tenant is None:
        raise NotFound("No such tenant.")
    return tenant


async def tenant_by_slug(session: AsyncSession, slug: str) -> Tenant | None:
    return await repository.by_slug(session, slug)


async def all_tenants(
    session: AsyncSession, *, query: str | None = None, limit: int = 1000
) -> Sequence[Tenant]:
    """The instance's tenants by slug (the operator's list), optionally searched."""
    return await repository.all_tenants(session, query=query, limit=limit)


async def set_audit_retention(
    session: AsyncSession, tenant_id: uuid.UUID, days: int | None
) -> tuple[Tenant, int | None]:
    """Set how many days the tenant's audit events are kept; returns the tenant and the
    previous value. The audit domain validates the value and records the change."""
    tenant = await tenant_by_id(session, tenant_id)
    before = tenant.audit_retention_days
    tenant.audit_retention_days = days
    return tenant, before


async def links_with_parties(
    session: AsyncSession, tenant_id: uuid.UUID | None = None
) -> Sequence[tuple[TenantLink, Tenant, Tenant]]:
    """Every link with its MSP and customer (the operator's list), or those with
    ``tenant_id`` at either end."""
    return await repository.all_links_with_parties(session, tenant_id)
