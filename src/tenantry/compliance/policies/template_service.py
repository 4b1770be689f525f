"""The MSP's policy templates: kept in the MSP's own tenant, copied into a client as a
new draft policy in one action.

Copying writes in the client, so it is decided there as if the caller opened the client
(``AccessService.context_for``: their grants, the link's ceiling, the client's blocks):
no access answers 404 as the client itself would, access without ``compliance:write``
answers 403 naming it. Only then is the unit of work widened to the client
(``Why.CUSTOMER_OF_MSP``). The client's trail gets ``compliance.policy.created`` under
the link and the decision made there; the MSP's trail gets
``compliance.policy_template.copied``, naming the client.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.access.context import TenantContext
from tenantry.access.service import AccessService
from tenantry.access.widening import Why, widen
from tenantry.audit.changes import Changes, of_pairs, removed, set_to
from tenantry.audit.schemas import Actor, AuditAction
from tenantry.audit.service import record
from tenantry.compliance.policies import repository
from tenantry.compliance.policies.models import Policy, PolicyTemplate
from tenantry.compliance.policies.schemas import (
    TemplateChanges,
    clean_body,
    clean_category,
    clean_summary,
    clean_title,
)
from tenantry.compliance.policies.service import BY_TITLE, PolicyService, parse_id
from tenantry.db.base import new_id
from tenantry.errors import NotFound, PermissionDenied, ValidationFailed
from tenantry.kit.pagination import check_limit, page_of

COPY_PERMISSION = "compliance:write"
_CLEANERS = {
    "title": clean_title,
    "summary": clean_summary,
    "category": clean_category,
    "body_markdown": clean_body,
}


def _msp_only(ctx: TenantContext) -> None:
    """Templates are the MSP's own: kept in its tenant, by its people."""
    if not ctx.tenant.is_msp or ctx.relation != "home":
        raise PermissionDenied(
            "Policy templates are kept by an MSP in its own tenant.", reason="msp-only"
        )


def actor_there(actor: Actor, there: TenantContext, permission: str) -> Actor:
    """The same person, on the authority the decision in the client gave (the link, the
    grant, the explanation), for the client's trail."""
    sources = there.sources.get(permission, ())
    return Actor(
        user_id=actor.user_id,
        name=actor.name,
        home_tenant_id=actor.home_tenant_id,
        home_tenant_name=actor.home_tenant_name,
        via_grant_id=sources[0].grant_id if sources else None,
        via_link_id=there.link_id,
        explanation=f"{permission}: {there.explain(permission)}",
        request_id=actor.request_id,
        source_address=actor.source_address,
        user_agent=actor.user_agent,
    )


class PolicyTemplateService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, ctx: TenantContext, template_id: str | uuid.UUID) -> PolicyTemplate:
        _msp_only(ctx)
        found = await repository.template(
            self.session, ctx.tenant.id, parse_id(template_id, "template")
        )
        if found is None:
            raise NotFound("No such policy template.")
        return found

    async def page(
        self, ctx: TenantContext, *, cursor: str | None, limit: int
    ) -> tuple[list[PolicyTemplate], str | None]:
        _msp_only(ctx)
        check_limit(limit)
        after = BY_TITLE.decode(cursor)
        rows = await repository.templates(
            self.session,
            ctx.tenant.id,
            after=(after[0], after[1]) if after is not None else None,
            limit=limit,
        )
        return page_of(rows, limit, lambda t: (t.title, str(t.id)))

    async def _check_title_free(
        self, ctx: TenantContext, title: str, but: uuid.UUID | None = None
    ) -> None:
        other = await repository.template_by_title(self.session, ctx.tenant.id, title)
        if other is not None and other.id != but:
            raise ValidationFailed("title", "is already used by another template")

    async def create(
        self,
        ctx: TenantContext,
        *,
        title: str,
        summary: str = "",
        category: str = "",
        body_markdown: str = "",
        actor: Actor,
    ) -> PolicyTemplate:
        _msp_only(ctx)
        values = {
            "title": clean_title(title),
            "summary": clean_summary(summary),
            "category": clean_category(category),
            "body_markdown": clean_body(body_markdown),
        }
        await self._check_title_free(ctx, values["title"])
        row = PolicyTemplate(tenant_id=ctx.tenant.id, id=new_id(), **values)
        self.session.add(row)
        await self.session.flush()
        shown = {**values, "body_markdown": f"{len(values['body_markdown'])} characters"}
        await self._record(ctx, actor, AuditAction.POLICY_TEMPLATE_CREATED, row, set_to(**shown))
        return row

    async def update(
        self,
        ctx: TenantContext,
        template_id: str | uuid.UUID,
        changes: TemplateChanges,
        *,
        actor: Actor,
    ) -> PolicyTemplate:
        row = await self.get(ctx, template_id)
        cleaned = {k: _CLEANERS[k](v) for k, v in changes.given().items()}
        if "title" in cleaned:
            await self._check_title_free(ctx, cleaned["title"], but=row.id)
        diff = [(k, getattr(row, k), v) for k, v in cleaned.items() if getattr(row, k) != v]
        if not diff:
            return row
        for key, _, new in diff:
            setattr(row, key, new)
        await self.session.flush()
        shown = [
            (k, f"{len(old)} characters", f"{len(new)} characters")
            if k == "body_markdown"
            else (k, old, new)
            for k, old, new in diff
        ]
        await self._record(ctx, actor, AuditAction.POLICY_TEMPLATE_UPDATED, row, of_pairs(shown))
        return row

    async def delete(
        self, ctx: TenantContext, template_id: str | uuid.UUID, *, actor: Actor
    ) -> None:
        """Deleting a template leaves the policies copied from it as they are."""
        row = await self.get(ctx, template_id)
        await self._record(
            ctx,
            actor,
            AuditAction.POLICY_TEMPLATE_DELETED,
            row,
            removed(title=row.title, category=row.category),
        )
        await repository.delete_template(self.session, row)

    async def copy_to_client(
        self,
        ctx: TenantContext,
        template_id: str | uuid.UUID,
        client: str,
        *,
        actor: Actor,
    ) -> tuple[TenantContext, Policy]:
        """A draft policy in ``client`` (slug or id) with the template's text; the
        client's context (where the policy now is) and the policy."""
        row = await self.get(ctx, template_id)
        ref = client.strip()
        if not ref:
            raise ValidationFailed("client", "must name a client (its slug or id)")
        there = await AccessService(self.session).context_for(ctx.principal, ref)
        if there.relation != "customer":
            # The MSP's own tenant (or a tenant it does not manage, which the decision
            # already answered with 404): templates go to clients.
            raise ValidationFailed("client", "is not one of your clients")
        there.require(COPY_PERMISSION)
        await widen(self.session, there.tenant.id, why=Why.CUSTOMER_OF_MSP)
        policy = await PolicyService(self.session).create(
            there,
            title=row.title,
            summary=row.summary,
            body_markdown=row.body_markdown,
            change_note=f"Copied from {ctx.tenant.display_name}'s template",
            actor=actor_there(actor, there, COPY_PERMISSION),
            template=row.title,
        )
        await self._record(
            ctx,
            actor,
            AuditAction.POLICY_TEMPLATE_COPIED,
            row,
            set_to(client=there.tenant.slug, policy_id=str(policy.id)),
        )
        return there, policy

    async def _record(
        self,
        ctx: TenantContext,
        actor: Actor,
        action: AuditAction,
        row: PolicyTemplate,
        changes: Changes,
    ) -> None:
        await record(
            self.session,
            tenant_id=ctx.tenant.id,
            actor=actor,
            action=action,
            target_type="policy_template",
            target_id=row.id,
            target_label=row.title,
            changes=changes,
        )
