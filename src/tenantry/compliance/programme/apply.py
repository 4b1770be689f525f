"""Applying a framework to many clients in one action (the MSP, at home).

Who may: the caller's ``compliance:write`` in each client, decided by the access layer
exactly as every MSP-wide read decides it (``access.scopes.customers_with``: the kept
reach, so the same answer as opening that client). A client outside it is reported
"not_permitted" (when named by a client group) and never touched. The unit of work is
widened once to every permitted target (``Why.CUSTOMER_OF_MSP``), then each client
adopts through ``ProgrammeService.adopt_in``: its own copy, score and audit event in its
own trail, naming the link the MSP acted under. The MSP's trail gets one event for the
whole action with its counts.
"""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.access.admin import CLIENT_GROUPS, AccessAdmin
from tenantry.access.context import TenantContext
from tenantry.access.schemas import TenantBrief
from tenantry.access.scopes import CustomerInScope, customers_with
from tenantry.access.service import AccessService
from tenantry.access.widening import Why, widen
from tenantry.audit.changes import set_to
from tenantry.audit.schemas import Actor, AuditAction
from tenantry.audit.service import record
from tenantry.compliance.content import FrameworkContent
from tenantry.compliance.library.service import LibraryService
from tenantry.compliance.programme import repository
from tenantry.compliance.programme.schemas import ApplyReport, ApplyResult, ApplyTarget
from tenantry.compliance.programme.service import ProgrammeService
from tenantry.errors import NotFound, TenantryError, ValidationFailed
from tenantry.tenancy import service as tenancy
from tenantry.tenancy.models import Tenant

PERMISSION = "compliance:write"


class ApplyService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def client_groups(self, ctx: TenantContext) -> list[tuple[str, str]]:
        """(id, name) of the MSP's client groups, for the apply form (the first 200)."""
        if ctx.relation != "home" or not ctx.tenant.is_msp:
            return []
        groups, _ = await AccessAdmin.acting(ctx, self.session).groups(CLIENT_GROUPS, limit=200)
        return [(str(g.id), g.name) for g in groups]

    async def _content(self, ctx: TenantContext, ref: str) -> FrameworkContent:
        try:
            return await LibraryService(self.session).content(ctx, ref.strip())
        except NotFound as exc:
            raise ValidationFailed(
                "framework", f"no framework '{ref.strip()}' that you may apply"
            ) from exc

    async def _targets(
        self, ctx: TenantContext, target: ApplyTarget
    ) -> tuple[list[CustomerInScope], list[CustomerInScope]]:
        """(permitted, not permitted) clients of the target."""
        given = [t for t in (target.client, target.client_group, target.everyone) if t]
        if len(given) != 1:
            raise ValidationFailed(
                "client_id", "name exactly one of client_id, client_group_id or all"
            )
        writable = await customers_with(
            self.session, ctx.principal, PERMISSION, home_version=ctx.home_version
        )
        if target.everyone:
            return list(writable.customers.values()), []
        if target.client is not None:
            found = writable.by_ref(target.client)
            if found is not None:
                return [found], []
            readable = await customers_with(
                self.session, ctx.principal, "compliance:read", home_version=ctx.home_version
            )
            seen = readable.by_ref(target.client)
            if seen is None:
                raise ValidationFailed("client_id", "is not a client whose compliance you can see")
            return [], [seen]
        try:
            group = await AccessAdmin.acting(ctx, self.session).group(
                CLIENT_GROUPS, target.client_group or ""
            )
        except NotFound as exc:
            raise ValidationFailed("client_group_id", "is not one of your client groups") from exc
        members = [
            CustomerInScope(m.id, m.slug, m.display_name)
            for m in group.members
            if isinstance(m, TenantBrief)
        ]
        return (
            [m for m in members if m.id in writable.customers],
            [m for m in members if m.id not in writable.customers],
        )

    async def _decided(self, ctx: TenantContext, tenant: Tenant | None) -> TenantContext | str:
        """The caller's decision in one client, as opening it would make it (its audit
        event names the grant and link that allowed the write), or why it failed."""
        if tenant is None:
            return "the client no longer exists"
        try:
            return await AccessService(self.session).context_in(ctx.principal, tenant)
        except TenantryError as exc:
            return exc.detail

    async def apply(
        self, ctx: TenantContext, ref: str, target: ApplyTarget, *, actor: Actor
    ) -> ApplyReport:
        """Adopt ``ref`` in every client of ``target``, with a result per client."""
        if ctx.relation != "home" or not ctx.tenant.is_msp:
            raise NotFound(f"{ctx.tenant.display_name} is not an MSP: it has no clients.")
        content = await self._content(ctx, ref)
        permitted, refused = await self._targets(ctx, target)
        results = [
            ApplyResult(
                client_id=c.id,
                client_slug=c.slug,
                client_name=c.display_name,
                result="not_permitted",
                reason=f"you do not hold {PERMISSION} in {c.display_name}",
            )
            for c in refused
        ]
        ids = [c.id for c in permitted]
        if ids:
            await widen(self.session, *ids, why=Why.CUSTOMER_OF_MSP)
        tenants = await tenancy.tenants_by_ids(self.session, ids)
        adopted = await repository.adopted_keys(self.session, ids, content.key)
        programme = ProgrammeService(self.session)
        for client in permitted:
            result = ApplyResult(
                client_id=client.id,
                client_slug=client.slug,
                client_name=client.display_name,
                result="adopted",
            )
            tenant = tenants.get(client.id)
            if client.id in adopted:
                result.result = "already_adopted"
                result.framework_id = adopted[client.id]
                results.append(result)
                continue
            there = await self._decided(ctx, tenant)
            if isinstance(there, str):
                result.result, result.reason = "failed", there
            elif not there.can(PERMISSION):
                result.result = "not_permitted"
                result.reason = f"you do not hold {PERMISSION} in {client.display_name}"
            else:
                framework = await programme.adopt_in(
                    client.id, content, actor=acting_in(there, actor)
                )
                result.framework_id = framework.id
            results.append(result)
        results.sort(key=lambda r: (r.client_name.lower(), str(r.client_id)))
        counts = {
            kind: sum(1 for r in results if r.result == kind)
            for kind in ("adopted", "already_adopted", "not_permitted", "failed")
        }
        await record(
            self.session,
            tenant_id=ctx.tenant.id,
            actor=actor,
            action=AuditAction.COMPLIANCE_FRAMEWORK_APPLIED,
            # One action across clients: its target is the MSP's own programme rollout.
            target_type="compliance_apply",
            target_id=ctx.tenant.id,
            target_label=f"{content.key}@{content.version}",
            changes=set_to(
                framework=f"{content.key}@{content.version}",
                target=_describe(target),
                **counts,
                adopted_in=[str(r.client_id) for r in results if r.result == "adopted"][:1000],
            ),
        )
        return ApplyReport(
            framework=f"{content.key}@{content.version}",
            framework_title=content.title,
            results=results,
            **counts,
        )


def acting_in(there: TenantContext, actor: Actor) -> Actor:
    """The actor as an event in the client names them: the grant, link and explanation of
    the decision there (as a request in that client would record)."""
    sources = there.sources.get(PERMISSION, ())
    return replace(
        actor,
        via_grant_id=sources[0].grant_id if sources else None,
        via_link_id=there.link_id,
        explanation=f"{PERMISSION}: {there.explain(PERMISSION)}",
    )


def _describe(target: ApplyTarget) -> str:
    if target.everyone:
        return "all clients"
    if target.client is not None:
        return f"client {target.client}"
    return f"client group {target.client_group}"
