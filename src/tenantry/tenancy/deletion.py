"""Deleting a customer: every row it owns, in every table, then its platform rows (each
through the owner of its table: identity for users and their credentials, access for
grants, tenancy for links and the tenant). Cannot be undone."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.access import service as access
from tenantry.access.context import TenantContext
from tenantry.access.widening import Why, widen
from tenantry.audit import service as audit
from tenantry.audit.changes import removed, set_to
from tenantry.audit.schemas import Actor, AuditAction
from tenantry.dashboard import keeping
from tenantry.db.rls import allow_audit_deletion
from tenantry.errors import ValidationFailed
from tenantry.identity import service as identity
from tenantry.psa.service_plans.service import ServicePlanService
from tenantry.tenancy import repository
from tenantry.tenancy.models import Tenant
from tenantry.tenancy.service import TenancyService, tenant_owned_models


class CustomerDeletion:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def delete_customer(
        self, ctx: TenantContext, ref: str, confirm_slug: str, *, actor: Actor
    ) -> dict[str, int]:
        """Remove every row the customer owns, in every table; cannot be undone.

        The MSP keeps one event recording who deleted what and how many rows went.
        """
        customer = await TenancyService(self.session).customer(ctx, ref)
        if confirm_slug.strip().lower() != customer.slug:
            raise ValidationFailed(
                "confirm_slug", f"type the customer's slug '{customer.slug}' to confirm"
            )
        await widen(self.session, customer.id, why=Why.CUSTOMER_OF_MSP)
        # The MSP's own rows about the customer (its service plan) live in the MSP's
        # tenant, so purging the customer's tenant does not reach them.
        plans = await ServicePlanService(self.session).forget_client(ctx.tenant.id, customer.id)
        counts = await self.purge_tenant(customer)
        counts["service_plan_assignments"] = counts.get("service_plan_assignments", 0) + plans
        await audit.record(
            self.session,
            tenant_id=ctx.tenant.id,
            actor=actor,
            action=AuditAction.CUSTOMER_DELETED,
            target_type="tenant",
            target_id=customer.id,
            target_label=customer.slug,
            changes=removed(slug=customer.slug, display_name=customer.display_name)
            | set_to(rows_deleted=counts),
        )
        return counts

    async def purge_tenant(self, tenant: Tenant) -> dict[str, int]:
        """Delete the tenant and everything it owns. The session's scope must cover it."""
        counts: dict[str, int] = {}
        # Lets the append-only trigger accept deleting this tenant's events, in this
        # transaction only.
        await allow_audit_deletion(self.session)
        # Its row on its MSP's dashboard lives in the MSP's tenant: not among its rows.
        counts["msp_dashboard_row"] = await keeping.forget_client(self.session, tenant.id)
        for model in tenant_owned_models():
            counts[model.__tablename__] = await repository.delete_owned_rows(
                self.session, model, tenant.id
            )
        user_ids = await identity.user_ids_of_home(self.session, tenant.id)
        counts |= await identity.delete_credentials_of(self.session, user_ids)
        counts["grants"] = await access.delete_grants_touching(self.session, tenant.id, user_ids)
        counts |= await access.delete_access_of(self.session, tenant.id)
        counts |= await identity.delete_people_of_home(self.session, tenant.id, user_ids)
        counts["tenant_links"] = await repository.delete_links_of(self.session, tenant.id)
        counts["tenants"] = await repository.delete_tenant(self.session, tenant.id)
        self.session.expunge(tenant)
        return counts
