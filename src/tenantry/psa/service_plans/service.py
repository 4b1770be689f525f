"""The rules of service plans.

* Plans and assignments are the MSP's records (access rule 10, like its rates): kept in
  the MSP's tenant, changed with ``rates:manage`` at home (``/msp/service-plans``) or by
  the MSP's people acting in the client; a client's own users read their plan only.
* A client's **counted users** are its contacts (its end users). The count sits on the
  assignment row and moves in the unit of work of the change that moves it (contacts
  created or imported; ``users_moved``), widened to the MSP with ``Why.SERVICE_PLAN``;
  assigning a plan counts once. Nothing counts per request.
* The plan's price gives one recurring line on each invoice the MSP generates for the
  client (``invoice_line``): counted users x price per user, in the plan's currency.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import replace

from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.access.context import TenantContext
from tenantry.access.widening import Why, widen
from tenantry.audit import service as audit
from tenantry.audit.changes import Changes, changed, removed, set_to
from tenantry.audit.schemas import Actor, AuditAction
from tenantry.db.base import new_id, utcnow
from tenantry.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from tenantry.kit import money
from tenantry.psa.service_plans import repository
from tenantry.psa.service_plans.models import (
    MONTHLY,
    ServicePlan,
    ServicePlanAssignment,
)
from tenantry.psa.service_plans.schemas import PlanIn, PlanLine, PlanPatch, PlanUsage
from tenantry.tenancy import service as tenancy

MANAGE = "rates:manage"
MAX_USERS = 1_000_000
PERIODS = (MONTHLY,)

# How a client's users are counted: contacts tells (psa/contacts/service.py registers its
# count at import), so plans need not import contacts, which calls ``users_moved``.
UserCounter = Callable[[AsyncSession, uuid.UUID], Awaitable[int]]
_counters: list[UserCounter] = []


def count_users_with(counter: UserCounter) -> None:
    _counters[:] = [counter]


def _usage(row: repository.UsageRow) -> PlanUsage:
    return PlanUsage(row[1], row[2], row[3], row[4], row[5], row[6])


def _check_name(name: str) -> str:
    name = " ".join(name.split())
    if not name:
        raise ValidationFailed("name", "is required")
    if len(name) > 200:
        raise ValidationFailed("name", "must be at most 200 characters")
    return name


def _check_users(value: int) -> int:
    if not 1 <= value <= MAX_USERS:
        raise ValidationFailed("included_users", f"must be between 1 and {MAX_USERS}")
    return value


def _check_price(value: int) -> int:
    if not 0 <= value <= money.MAX_AMOUNT:
        raise ValidationFailed("price_minor", "must be zero or more (minor units, e.g. 4500)")
    return value


class ServicePlanService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # ---- whose plans

    @staticmethod
    def msp_at_home(ctx: TenantContext) -> uuid.UUID:
        """The MSP whose plans these are: the caller's own MSP, at home."""
        if ctx.relation != "home" or not ctx.tenant.is_msp:
            raise NotFound(f"{ctx.tenant.display_name} is not an MSP: it has no service plans.")
        return ctx.tenant.id

    @staticmethod
    def msp_in_client(ctx: TenantContext) -> uuid.UUID:
        """Changing a client's plan from inside it: only its MSP's people (the client's
        own users are refused by the marker: rates:manage is MSP-owned there)."""
        if ctx.relation != "customer":
            raise PermissionDenied(
                f"Service plans of {ctx.tenant.display_name} are set by the MSP that manages it.",
                permission=MANAGE,
                reason="not-managing-msp",
            )
        return ctx.principal.home_tenant_id

    # ---- plans

    async def plans(self, ctx: TenantContext) -> list[tuple[ServicePlan, int]]:
        """Every plan with the number of clients on it: offered first, by name."""
        msp_id = self.msp_at_home(ctx)
        counts = await repository.clients_per_plan(self.session, msp_id)
        return [(p, counts.get(p.id, 0)) for p in await repository.plans(self.session, msp_id)]

    async def plan(self, ctx: TenantContext, plan_id: uuid.UUID) -> ServicePlan:
        found = await repository.plan(self.session, self.msp_at_home(ctx), plan_id)
        if found is None:
            raise NotFound("No such service plan here.")
        return found

    async def _name_free(self, msp_id: uuid.UUID, name: str, but: uuid.UUID | None) -> None:
        other = await repository.plan_named(self.session, msp_id, name)
        if other is not None and other.id != but:
            raise Conflict(
                f"A service plan named '{other.name}' exists already.",
                errors=[{"field": "name", "message": "is already the name of another plan"}],
            )

    async def create(self, ctx: TenantContext, plan: PlanIn, *, actor: Actor) -> ServicePlan:
        msp_id = self.msp_at_home(ctx)
        name = _check_name(plan.name)
        included = _check_users(plan.included_users)
        price = _check_price(plan.price_minor)
        currency = plan.currency.strip().upper()
        if not money.is_known_currency(currency):
            raise ValidationFailed("currency", "must be an ISO 4217 currency code such as EUR")
        if plan.period not in PERIODS:
            raise ValidationFailed("period", "must be monthly")
        await self._name_free(msp_id, name, None)
        row = ServicePlan(
            tenant_id=msp_id,
            id=new_id(),
            name=name,
            included_users=included,
            price_minor=price,
            currency=currency,
            period=plan.period,
        )
        self.session.add(row)
        await self.session.flush()
        await self._record(
            msp_id,
            actor,
            AuditAction.SERVICE_PLAN_CREATED,
            row,
            set_to(
                name=name,
                included_users=included,
                price_minor=price,
                currency=currency,
                period=plan.period,
            ),
        )
        return row

    async def update(
        self, ctx: TenantContext, plan_id: uuid.UUID, patch: PlanPatch, *, actor: Actor
    ) -> ServicePlan:
        """Rename, resize, re-price (drafts made from now on), retire or offer again.
        Every field is checked before anything changes."""
        msp_id = self.msp_at_home(ctx)
        row = await repository.plan(self.session, msp_id, plan_id, for_update=True)
        if row is None:
            raise NotFound("No such service plan here.")
        name = _check_name(patch.name) if patch.name is not None else row.name
        included = (
            _check_users(patch.included_users)
            if patch.included_users is not None
            else row.included_users
        )
        price = (
            _check_price(patch.price_minor) if patch.price_minor is not None else row.price_minor
        )
        if name != row.name:
            await self._name_free(msp_id, name, row.id)
        changes = Changes()
        for key, old, new in (
            ("name", row.name, name),
            ("included_users", row.included_users, included),
            ("price_minor", row.price_minor, price),
        ):
            if old != new:
                changes |= changed(key, old, new)
                setattr(row, key, new)
        if patch.retired is not None and patch.retired != (row.retired_at is not None):
            changes |= changed("retired", not patch.retired, patch.retired)
            row.retired_at = utcnow() if patch.retired else None
        if changes:
            row.updated_at = utcnow()
            await self.session.flush()
            await self._record(msp_id, actor, AuditAction.SERVICE_PLAN_UPDATED, row, changes)
        return row

    # ---- which client is on which

    async def assignments(self, msp_id: uuid.UUID) -> dict[uuid.UUID, PlanUsage]:
        """Every client's plan and counted users, for the MSP dashboard: one statement in
        the MSP's tenant (the caller's scope must cover ``msp_id``)."""
        return {row[0]: _usage(row) for row in await repository.usage(self.session, msp_id)}

    async def usage_of(
        self, msp_id: uuid.UUID, client_ids: list[uuid.UUID]
    ) -> dict[uuid.UUID, PlanUsage]:
        """The plans of these clients only (a page of them)."""
        rows = await repository.usage(self.session, msp_id, client_ids=client_ids)
        return {row[0]: _usage(row) for row in rows}

    async def usage_page(
        self, ctx: TenantContext, *, after: uuid.UUID | None, limit: int
    ) -> list[tuple[uuid.UUID, PlanUsage]]:
        rows = await repository.usage(self.session, self.msp_at_home(ctx), after=after, limit=limit)
        return [(row[0], _usage(row)) for row in rows]

    async def assign(
        self, ctx: TenantContext, client_ref: str, plan_id: uuid.UUID, *, actor: Actor
    ) -> tuple[uuid.UUID, PlanUsage]:
        """Put one client on a plan (or move it to another), from the MSP's home."""
        msp_id = self.msp_at_home(ctx)
        found = await tenancy.customer_of(self.session, msp_id, client_ref)
        if found is None:
            raise NotFound("No such client.")
        client = found[0]
        await widen(self.session, client.id, why=Why.CUSTOMER_OF_MSP)
        return await self._assign(msp_id, client.id, client.slug, plan_id, actor, (msp_id,))

    async def assign_here(
        self, ctx: TenantContext, plan_id: uuid.UUID, *, actor: Actor
    ) -> tuple[uuid.UUID, PlanUsage]:
        """The same from inside the client, by its MSP's people."""
        msp_id = self.msp_in_client(ctx)
        await widen(self.session, msp_id, why=Why.SERVICE_PLAN)
        # Done inside the client: its trail has the event too (with the link's explanation).
        trails = (msp_id, ctx.tenant.id)
        return await self._assign(msp_id, ctx.tenant.id, ctx.tenant.slug, plan_id, actor, trails)

    async def _assign(
        self,
        msp_id: uuid.UUID,
        client_id: uuid.UUID,
        client_slug: str,
        plan_id: uuid.UUID,
        actor: Actor,
        trails: tuple[uuid.UUID, ...],
    ) -> tuple[uuid.UUID, PlanUsage]:
        plan = await repository.plan(self.session, msp_id, plan_id)
        if plan is None:
            raise ValidationFailed("plan_id", "is not one of this MSP's service plans")
        current = await repository.assignment(self.session, msp_id, client_id)
        if current is not None and current.plan_id == plan.id:
            return client_id, self._usage_of(plan, current.counted_users)
        if plan.retired_at is not None:
            raise ValidationFailed("plan_id", f"'{plan.name}' is retired: it takes no new clients")
        if not _counters:  # pragma: no cover - contacts registers at import
            raise RuntimeError("no user counter: import tenantry.psa.contacts.service")
        counted = await _counters[0](self.session, client_id)
        old_id: uuid.UUID | None = None
        if current is None:
            old_name = None
            current = ServicePlanAssignment(
                tenant_id=msp_id, id=new_id(), client_id=client_id, plan_id=plan.id
            )
            self.session.add(current)
        else:
            old = await repository.plan(self.session, msp_id, current.plan_id)
            old_name = old.name if old is not None else None
            old_id = current.plan_id
            current.plan_id = plan.id
        current.counted_users = counted
        current.updated_at = utcnow()
        await self.session.flush()
        changes = (
            changed("plan", old_name, plan.name) | changed("plan_id", str(old_id), str(plan.id))
            if old_id is not None
            else set_to(plan=plan.name, plan_id=str(plan.id))
        ) | set_to(counted_users=counted)
        for trail in trails:
            await self._record_client(
                trail, actor, AuditAction.SERVICE_PLAN_ASSIGNED, client_id, client_slug, changes
            )
        return client_id, self._usage_of(plan, counted)

    async def _record_client(
        self,
        trail: uuid.UUID,
        actor: Actor,
        action: AuditAction,
        client_id: uuid.UUID,
        client_slug: str,
        changes: Changes,
    ) -> None:
        # The MSP's own trail: no link (it acted on its own record); the client's names it.
        home = trail == actor.home_tenant_id
        await audit.record(
            self.session,
            tenant_id=trail,
            actor=replace(actor, via_link_id=None) if home else actor,
            action=action,
            target_type="tenant",
            target_id=client_id,
            target_label=client_slug,
            changes=changes,
        )

    @staticmethod
    def _usage_of(plan: ServicePlan, counted: int) -> PlanUsage:
        return PlanUsage(
            plan.id, plan.name, plan.included_users, counted, plan.price_minor, plan.currency
        )

    async def unassign(self, ctx: TenantContext, client_ref: str, *, actor: Actor) -> None:
        """Take a client off its plan: its invoices get no plan line from then on."""
        msp_id = self.msp_at_home(ctx)
        found = await tenancy.customer_of(self.session, msp_id, client_ref)
        if found is None:
            raise NotFound("No such client.")
        await self._unassign(msp_id, found[0].id, found[0].slug, actor, (msp_id,))

    async def unassign_here(self, ctx: TenantContext, *, actor: Actor) -> None:
        msp_id = self.msp_in_client(ctx)
        await widen(self.session, msp_id, why=Why.SERVICE_PLAN)
        await self._unassign(msp_id, ctx.tenant.id, ctx.tenant.slug, actor, (msp_id, ctx.tenant.id))

    async def _unassign(
        self,
        msp_id: uuid.UUID,
        client_id: uuid.UUID,
        client_slug: str,
        actor: Actor,
        trails: tuple[uuid.UUID, ...],
    ) -> None:
        current = await repository.assignment(self.session, msp_id, client_id)
        if current is None:
            raise NotFound(f"{client_slug} is on no service plan.")
        plan = await repository.plan(self.session, msp_id, current.plan_id)
        await repository.delete_assignments_of(self.session, msp_id, client_id)
        changes = removed(plan=plan.name if plan else "", plan_id=str(current.plan_id))
        for trail in trails:
            await self._record_client(
                trail, actor, AuditAction.SERVICE_PLAN_UNASSIGNED, client_id, client_slug, changes
            )

    # ---- what the client's side asks

    async def _managing_msp(self, ctx: TenantContext) -> uuid.UUID | None:
        if ctx.relation == "customer":
            return ctx.principal.home_tenant_id
        if ctx.tenant.is_msp:
            return None
        found = await tenancy.msp_of(self.session, ctx.tenant.id)
        return found[0].id if found is not None else None

    async def of_client(self, ctx: TenantContext) -> tuple[PlanUsage, str] | None:
        """The client's own plan (read-only for its people), from its managing MSP's
        rows; None when no MSP manages it or its MSP put it on none."""
        msp_id = await self._managing_msp(ctx)
        if msp_id is None:
            return None
        await widen(self.session, msp_id, why=Why.SERVICE_PLAN)
        rows = await repository.usage(self.session, msp_id, client_ids=[ctx.tenant.id])
        return (_usage(rows[0]), rows[0][7]) if rows else None

    async def users_moved(self, ctx: TenantContext, delta: int) -> None:
        """The client's counted users moved by ``delta`` (contacts created, imported);
        called in the same unit of work as that change."""
        if delta == 0:
            return
        msp_id = await self._managing_msp(ctx)
        if msp_id is None:
            return
        await widen(self.session, msp_id, why=Why.SERVICE_PLAN)
        await repository.move_count(self.session, msp_id, ctx.tenant.id, delta)

    async def invoice_line(
        self, client_id: uuid.UUID, msp_id: uuid.UUID, currency: str
    ) -> PlanLine | None:
        """The period's line of the client's plan for an invoice in ``currency`` (the
        invoice service decided the caller writes for ``msp_id``): counted users now x
        the plan's price now. None without a plan, or in another currency."""
        await widen(self.session, msp_id, why=Why.SERVICE_PLAN)
        rows = await repository.usage(self.session, msp_id, client_ids=[client_id])
        if not rows or rows[0][6] != currency:
            return None
        usage = _usage(rows[0])
        price = money.format_money(usage.price_minor, usage.currency)
        return PlanLine(
            description=(
                f"{usage.plan_name}: {usage.counted_users} users x {price} per user "
                f"({rows[0][7]}, up to {usage.included_users} users)"
            ),
            quantity=usage.counted_users,
            unit_minor=usage.price_minor,
        )

    async def forget_client(self, msp_id: uuid.UUID, client_id: uuid.UUID) -> int:
        """Deleting the client: its assignment goes too (the caller's scope covers the
        MSP, and the deletion's own event records it)."""
        return await repository.delete_assignments_of(self.session, msp_id, client_id)

    async def _record(
        self,
        msp_id: uuid.UUID,
        actor: Actor,
        action: AuditAction,
        plan: ServicePlan,
        changes: Changes,
    ) -> None:
        await audit.record(
            self.session,
            tenant_id=msp_id,
            actor=actor,
            action=action,
            target_type="service_plan",
            target_id=plan.id,
            target_label=plan.name,
            changes=changes,
        )
