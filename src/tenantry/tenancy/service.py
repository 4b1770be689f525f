"""Tenancy rules: creating tenants and customers, renaming, suspending; and the reads of
tenants and links that other domains ask for (tenancy is the only owner of both tables).
Deleting a customer is in ``deletion.py``, the link rows in ``tenant_links.py``, the
reads themselves in ``directory.py`` (re-exported here: this is tenancy's face)."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.access.context import TenantContext
from tenantry.access.permissions import CEILING_TEMPLATES, DEFAULT_CEILING_TEMPLATE
from tenantry.access.widening import Why, widen
from tenantry.audit import service as audit
from tenantry.audit.changes import Changes, changed, set_to
from tenantry.audit.schemas import Actor, AuditAction
from tenantry.billing import limits
from tenantry.db.base import utcnow
from tenantry.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from tenantry.kit.pagination import Keyset, check_limit, page_of
from tenantry.tenancy import repository
from tenantry.tenancy.directory import (
    active_link,
    active_links_of_msp,
    all_tenants,
    count_customers,
    count_live_customers,
    customer_of,
    every_tenant_id,
    joined_tenant,
    linked_customer_conditions,
    linked_customers_by_name,
    linked_customers_listed,
    msp_client_totals,
    msp_of,
    msps_of,
    newest_link,
    set_audit_retention,
    set_security_policy,
    set_time_zone,
    tenant,
    tenant_by_id,
    tenant_by_ref,
    tenant_by_slug,
    tenant_matching,
    tenant_owned_models,
    tenants_among,
    tenants_by_ids,
    tenants_oldest_first,
)
from tenantry.tenancy.models import LinkState, Tenant, TenantLink, TenantStatus
from tenantry.tenancy.schemas import check_display_name, check_slug, slugify
from tenantry.tenancy.tenant_links import TenantLinkService

__all__ = [
    "LinkState",
    "TenancyService",
    "TenantLinkService",
    "active_link",
    "active_links_of_msp",
    "all_tenants",
    "count_customers",
    "count_live_customers",
    "customer_of",
    "every_tenant_id",
    "joined_tenant",
    "linked_customer_conditions",
    "linked_customers_by_name",
    "linked_customers_listed",
    "msp_client_totals",
    "msp_of",
    "msps_of",
    "newest_link",
    "set_audit_retention",
    "set_security_policy",
    "set_time_zone",
    "tenant",
    "tenant_by_id",
    "tenant_by_ref",
    "tenant_by_slug",
    "tenant_matching",
    "tenant_owned_models",
    "tenants_among",
    "tenants_by_ids",
    "tenants_oldest_first",
]

# The customers list pages by slug.
BY_SLUG = Keyset(str)


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
        require_mfa_for_clients: bool | None = None,
    ) -> Tenant:
        """A top-level tenant (the instance operator's job). A new MSP requires a second
        factor of its staff in clients unless told otherwise (``require_mfa_for_clients``)."""
        display = check_display_name(
            display_name or name, "display_name" if display_name else "name"
        )
        mfa_for_clients = is_msp if require_mfa_for_clients is None else require_mfa_for_clients
        tenant = Tenant(
            slug=await self._new_slug(name, slug, "name"),
            display_name=display,
            is_msp=is_msp,
            require_mfa_for_clients=mfa_for_clients,
        )
        self.session.add(tenant)
        await self.session.flush()
        await widen(self.session, tenant.id, why=Why.NEW_TENANT)
        await audit.record(
            self.session,
            tenant_id=tenant.id,
            actor=actor,
            action=AuditAction.TENANT_CREATED,
            target_type="tenant",
            target_id=tenant.id,
            target_label=tenant.slug,
            changes=set_to(
                slug=tenant.slug,
                display_name=display,
                is_msp=is_msp,
                require_mfa_for_clients=mfa_for_clients,
            ),
        )
        return tenant

    async def set_msp_license(self, tenant: Tenant, licensed: bool, *, actor: Actor) -> Tenant:
        if tenant.is_msp == licensed:
            return tenant
        await widen(self.session, tenant.id, why=Why.OPERATOR)
        before = tenant.is_msp
        tenant.is_msp = licensed
        changes = changed("is_msp", before, licensed)
        if licensed and not tenant.require_mfa_for_clients:
            # A new MSP has no clients yet: its staff start with the safe default.
            tenant.require_mfa_for_clients = True
            changes |= changed("require_mfa_for_clients", False, True)
        await audit.record(
            self.session,
            tenant_id=tenant.id,
            actor=actor,
            action=AuditAction.TENANT_LICENSE_CHANGED,
            target_type="tenant",
            target_id=tenant.id,
            target_label=tenant.slug,
            changes=changes,
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
        ceiling_template: str = DEFAULT_CEILING_TEMPLATE,
    ) -> Tenant:
        """A new customer of the MSP in ``ctx``, with an active link whose ceiling is a
        template ("full" by default: everything that means something inside a client,
        never the MSP-only permissions such as creating customers)."""
        if not ctx.tenant.is_msp:
            raise PermissionDenied(
                f"{ctx.tenant.display_name} is not licensed as an MSP, so it cannot create "
                "customers. The instance operator grants MSP licensing "
                "(`tenantry tenants license SLUG --msp on`).",
                permission="customers:create",
                reason="not-msp",
            )
        template = CEILING_TEMPLATES.get(ceiling_template.strip())
        if template is None:
            raise ValidationFailed(
                "ceiling_template",
                f"unknown ceiling template '{ceiling_template[:64]}': use one of "
                + ", ".join(CEILING_TEMPLATES),
            )
        display = check_display_name(
            display_name or name, "display_name" if display_name else "name"
        )
        new_slug = await self._new_slug(name, slug, "name")
        # The MSP's plan may limit its client tenants (409 limit-reached, nothing made).
        await limits.ensure_room(
            self.session, ctx.tenant.id, "clients", msp_name=ctx.tenant.display_name
        )
        customer = Tenant(slug=new_slug, display_name=display)
        self.session.add(customer)
        await self.session.flush()
        link = await TenantLinkService(self.session).open(
            msp_id=ctx.tenant.id,
            customer_id=customer.id,
            ceiling=sorted(template.permissions),
            created_by=ctx.principal.user_id,
        )
        await widen(self.session, customer.id, why=Why.NEW_TENANT)
        # In the new customer's trail the MSP acts under the link it has just made.
        in_customer = replace(actor, via_link_id=link.id)
        await audit.record(
            self.session,
            tenant_id=ctx.tenant.id,
            actor=actor,
            action=AuditAction.CUSTOMER_CREATED,
            changes=set_to(slug=customer.slug, display_name=display),
            target_type="tenant",
            target_id=customer.id,
            target_label=customer.slug,
        )
        await audit.record(
            self.session,
            tenant_id=customer.id,
            actor=in_customer,
            action=AuditAction.TENANT_CREATED,
            changes=set_to(slug=customer.slug, display_name=display, msp=ctx.tenant.slug),
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
            changes=set_to(
                state=link.state.value, ceiling=sorted(template.permissions), template=template.key
            ),
        )
        return customer

    async def list_customers(
        self, ctx: TenantContext, *, query: str | None, cursor: str | None, limit: int
    ) -> tuple[list[Tenant], str | None]:
        check_limit(limit)
        if query is not None and len(query) > 100:
            raise ValidationFailed("q", "must be at most 100 characters long")
        after = BY_SLUG.decode(cursor)
        rows = await repository.customers_of(
            self.session,
            ctx.tenant.id,
            query=query,
            after_slug=after[0] if after else None,
            limit=limit + 1,
        )
        return page_of([t for t, _link in rows], limit, lambda t: [t.slug])

    async def customer(self, ctx: TenantContext, ref: str) -> Tenant:
        return (await self._customer_and_link(ctx, ref))[0]

    async def _customer_and_link(self, ctx: TenantContext, ref: str) -> tuple[Tenant, TenantLink]:
        found = await repository.customer_of(self.session, ctx.tenant.id, ref)
        if found is None:
            raise NotFound("No such customer.")
        return found

    async def rename(
        self, ctx: TenantContext, ref: str, display_name: str, *, actor: Actor
    ) -> Tenant:
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
            changed("display_name", before, display),
        )
        return customer

    async def set_suspended(
        self, ctx: TenantContext, ref: str, suspended: bool, *, actor: Actor
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
            ctx, customer, link, actor, action, changed("status", before.value, target.value)
        )
        return customer

    async def _record_on_both(
        self,
        ctx: TenantContext,
        customer: Tenant,
        link: TenantLink,
        actor: Actor,
        action: AuditAction,
        changes: Changes,
    ) -> None:
        """Changes to a customer show in the MSP's trail and in the customer's own."""
        await widen(self.session, customer.id, why=Why.CUSTOMER_OF_MSP)
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

    async def mark_suspended_by_operator(
        self, tenant: Tenant, suspended: bool, *, actor: Actor
    ) -> None:
        await widen(self.session, tenant.id, why=Why.OPERATOR)
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
            changes=changed("status", before.value, tenant.status.value),
        )
