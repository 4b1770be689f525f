"""Billing rules: the operator's plans, each MSP's subscription, the usage its plan
counts, the limits where they bite, and the MSP's requests for more. Services never
commit; every change writes its audit event and a row of the MSP's subscription history
in the same unit of work.

An MSP with no subscription is unlimited (today's behaviour, kept for existing
deployments): ``usage`` answers None limits and ``ensure_room`` lets everything pass.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.access.widening import Why, widen
from tenantry.audit.changes import diff, set_to
from tenantry.audit.schemas import Actor, AuditAction
from tenantry.billing import history, limits, repository
from tenantry.billing.models import (
    READ_ONLY_STATUSES,
    Plan,
    PlanRequest,
    RequestStatus,
    Subscription,
    SubscriptionChange,
    SubscriptionStatus,
)
from tenantry.billing.plans import PlanService
from tenantry.billing.schemas import (
    LimitReached,
    LimitUsage,
    PlanUsage,
    SubscriptionLapsed,
    check_limit_value,
    check_status,
)
from tenantry.compliance.evidence.service import stored_bytes_of
from tenantry.db.base import utcnow
from tenantry.errors import Conflict, NotFound, ValidationFailed
from tenantry.identity import service as identity
from tenantry.notifications.service import notify_admins
from tenantry.tenancy import service as tenancy
from tenantry.tenancy.models import Tenant

BILLING_URL = "/msp/billing"
# Told once per crossing of each of these (percent of a limit).
THRESHOLDS = (80, 100)


def _sub_facts(sub: Subscription | None, plan: Plan | None) -> dict[str, Any]:
    if sub is None:
        return {"plan": None, "seats": None, "status": None, "ends_at": None}
    return {
        "plan": plan.name if plan else None,
        "seats": sub.seats,
        "status": sub.status,
        "ends_at": sub.ends_at.isoformat() if sub.ends_at else None,
    }


class SubscriptionService:
    """An MSP's subscription: what it is on, what it uses, and what it may still add."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # ------------------------------------------------------------------ reads

    async def subscription(self, msp_id: uuid.UUID) -> tuple[Subscription, Plan] | None:
        sub = await repository.subscription_of(self.session, msp_id)
        if sub is None:
            return None
        plan = await repository.plan_by_id(self.session, sub.plan_id)
        assert plan is not None  # a foreign key
        return sub, plan

    async def usage(self, msp_tenant_id: uuid.UUID) -> PlanUsage:
        """The MSP's plan and its usage against each limit (None limits: unlimited; an
        MSP without a subscription has no plan and no limits)."""
        found = await self.subscription(msp_tenant_id)
        clients = await tenancy.count_live_customers(self.session, msp_tenant_id)
        seats = await identity.seats_used(self.session, msp_tenant_id)
        if found is None:
            return PlanUsage(
                plan=None,
                status=None,
                clients=LimitUsage(clients, None),
                seats=LimitUsage(seats, None),
                storage=LimitUsage(0, None),
            )
        sub, plan = found
        return PlanUsage(
            plan=plan.name,
            status=sub.status,
            clients=LimitUsage(clients, plan.max_clients),
            seats=LimitUsage(seats, sub.seats if sub.seats is not None else plan.max_seats),
            storage=LimitUsage(max(sub.storage_bytes, 0), plan.max_storage_bytes),
            features=tuple(plan.features),
        )

    async def tenant(self, tenant_id: uuid.UUID) -> Tenant:
        found = await tenancy.tenant_by_id(self.session, tenant_id)
        if found is None:
            raise NotFound("no such tenant")
        return found

    async def subscribers(self, plan_id: uuid.UUID) -> Sequence[Subscription]:
        return await repository.subscribers_of(self.session, plan_id)

    async def plans(self) -> Sequence[Plan]:
        return await repository.plans(self.session)

    async def history(self, msp_id: uuid.UUID) -> Sequence[SubscriptionChange]:
        return await repository.history(self.session, msp_id)

    async def requests_of(self, msp_id: uuid.UUID) -> Sequence[PlanRequest]:
        return await repository.requests(self.session, msp_id=msp_id)

    async def plan_names(self, ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
        return {k: p.name for k, p in (await repository.plans_by_ids(self.session, ids)).items()}

    # ------------------------------------------------------------------ the operator

    async def subscribe(
        self,
        tenant: Tenant,
        plan_name: str,
        *,
        actor: Actor,
        seats: int | None = None,
        status: str | None = None,
        ends_at: datetime | None = None,
        keep_seats: bool = False,
    ) -> Subscription:
        """Put the MSP on ``plan_name`` (creating its subscription, or changing it).
        ``seats`` overrides the plan's seat limit; ``keep_seats`` keeps the override."""
        plan = await PlanService(self.session).get(plan_name)
        chosen = check_status(status) if status is not None else None
        check_limit_value(seats, "seats")
        await widen(self.session, tenant.id, why=Why.OPERATOR)
        sub = await repository.subscription_locked(self.session, tenant.id)
        old_plan = (
            await repository.plan_by_id(self.session, sub.plan_id) if sub is not None else None
        )
        before = _sub_facts(sub, old_plan)
        if sub is None:
            # The count starts from what the MSP and its clients keep now; uploads and
            # removals move it from here on.
            clients = await tenancy.active_links_of_msp(self.session, tenant.id, None)
            await widen(self.session, *clients, why=Why.OPERATOR)
            sub = Subscription(
                msp_tenant_id=tenant.id,
                plan_id=plan.id,
                seats=seats,
                status=(chosen or SubscriptionStatus.ACTIVE).value,
                started_at=utcnow(),
                ends_at=ends_at,
                storage_bytes=await stored_bytes_of(self.session, [tenant.id, *clients]),
                alerted={},
            )
            self.session.add(sub)
        else:
            sub.plan_id = plan.id
            if not keep_seats:
                sub.seats = seats
            if chosen is not None:
                sub.status = chosen.value
            if ends_at is not None or chosen == SubscriptionStatus.ACTIVE:
                sub.ends_at = ends_at
        await self.session.flush()
        changes = diff(before, _sub_facts(sub, plan))
        if changes:
            await history.write(
                self.session,
                tenant.id,
                AuditAction.SUBSCRIPTION_CHANGED,
                changes,
                actor=actor,
                target=(sub.id, plan.name),
            )
        return sub

    async def start_trial(self, tenant: Tenant, plan_name: str, *, actor: Actor) -> Subscription:
        """Self sign-up: the new MSP on ``plan_name`` as a trial of the plan's length."""
        plan = await PlanService(self.session).get(plan_name)
        ends = utcnow() + timedelta(days=plan.trial_days) if plan.trial_days else None
        return await self.subscribe(
            tenant, plan.name, actor=actor, status=SubscriptionStatus.TRIAL.value, ends_at=ends
        )

    async def set_status(self, tenant: Tenant, status: str, *, actor: Actor) -> Subscription:
        found = await self.subscription(tenant.id)
        if found is None:
            raise NotFound(f"{tenant.slug} has no subscription (`tenantry tenants license`)")
        return await self.subscribe(
            tenant, found[1].name, actor=actor, status=status, keep_seats=True
        )

    # ------------------------------------------------------------------ limits

    async def ensure_room(
        self, msp_id: uuid.UUID, limit: str, *, adding: int = 1, msp_name: str = ""
    ) -> None:
        """Refuse (409 ``limit-reached``) when adding ``adding`` units of ``limit``
        (clients, seats or storage) would go over the MSP's plan; else tell its admins
        once when the change crosses 80% or 100%. The subscription row is locked so two
        concurrent additions cannot both take the last unit."""
        sub = await repository.subscription_locked(self.session, msp_id)
        if sub is None:
            return
        usage = await self.usage(msp_id)
        current = usage.of(limit)
        if current.limit is None:
            return
        after = current.used + adding
        if after > current.limit:
            raise LimitReached(
                limit_name=limit,
                limit=current.limit,
                usage=current.used,
                plan=usage.plan or "",
                adding=adding,
            )
        await self._alert(sub, limit, after, current.limit, usage.plan or "", msp_name)

    async def _alert(
        self, sub: Subscription, limit: str, used: int, allowed: int, plan: str, msp: str
    ) -> None:
        percent = 100 if allowed == 0 else used * 100 // allowed
        crossed = max((t for t in THRESHOLDS if percent >= t), default=0)
        told = int(sub.alerted.get(limit, 0))
        if crossed == told:
            return
        sub.alerted = {**sub.alerted, limit: crossed}
        if crossed <= told:
            return  # usage went down: a later crossing is told again
        words = {"clients": "client tenants", "seats": "technician seats", "storage": "storage"}
        await notify_admins(
            self.session,
            sub.msp_tenant_id,
            kind="billing.limit",
            title=f"{msp or 'Your MSP'} uses {crossed}% of its {words[limit]}",
            body=(
                f"The plan '{plan}' allows {allowed} {words[limit]}; {used} are in use. "
                "Ask for more on the Billing and subscription page."
            ),
            url=BILLING_URL,
            dedupe_key=f"limit:{sub.id}:{limit}:{crossed}:{sub.updated_at.isoformat()}",
        )

    async def ensure_writable(self, home_tenant_id: uuid.UUID, home_name: str) -> None:
        """403 ``subscription-lapsed`` when the caller's home MSP's subscription is lapsed
        or suspended, or a trial past its end (one indexed read, mutating requests only)."""
        status = await self.read_only_status(home_tenant_id)
        if status is not None:
            raise SubscriptionLapsed(home_name, status)

    async def read_only_status(self, msp_id: uuid.UUID) -> str | None:
        """Why the MSP's staff may only read (the status, or "trial ended"); None: they
        may write (also: no subscription)."""
        found = await repository.status_of(self.session, msp_id)
        if found is None:
            return None
        status, ends_at = found
        if status in READ_ONLY_STATUSES:
            return status
        if status == SubscriptionStatus.TRIAL and ends_at is not None and ends_at <= utcnow():
            return "trial ended"
        return None

    async def writable(self, home_tenant_id: uuid.UUID) -> bool:
        return await self.read_only_status(home_tenant_id) is None

    # ------------------------------------------------------------------ requests

    async def request_more(
        self,
        msp: Tenant,
        *,
        plan_name: str | None,
        seats: int | None,
        note: str,
        actor: Actor,
    ) -> PlanRequest:
        """The MSP asks the operator for another plan and/or more seats."""
        plan: Plan | None = None
        if plan_name and plan_name.strip():
            found = await repository.plan_by_name(self.session, plan_name.strip())
            if found is None:
                raise ValidationFailed("plan", f"no plan named '{plan_name.strip()[:100]}'")
            plan = found
        if seats is not None and seats < 1:
            raise ValidationFailed("seats", "must be 1 or more")
        if plan is None and seats is None:
            raise ValidationFailed("plan", "name a plan or a number of seats to ask for")
        note = note.strip()
        if len(note) > 1000:
            raise ValidationFailed("note", "must be at most 1000 characters long")
        request = PlanRequest(
            msp_tenant_id=msp.id,
            plan_id=plan.id if plan else None,
            seats=seats,
            note=note,
            status=RequestStatus.PENDING.value,
            requested_by_user_id=actor.user_id,
            requested_by_name=actor.name,
        )
        self.session.add(request)
        await self.session.flush()
        await history.write(
            self.session,
            msp.id,
            AuditAction.SUBSCRIPTION_REQUESTED,
            set_to(plan=plan.name if plan else None, seats=seats, note=note),
            actor=actor,
            target=(request.id, "request"),
        )
        return request

    async def pending_requests(self) -> Sequence[PlanRequest]:
        return await repository.requests(self.session, status=RequestStatus.PENDING.value)

    async def all_requests(self) -> Sequence[PlanRequest]:
        return await repository.requests(self.session)

    async def decide(
        self, request_id: str, *, approve: bool, note: str = "", actor: Actor
    ) -> PlanRequest:
        """The operator approves (applies it) or declines a request; the MSP's admins
        are told the outcome."""
        try:
            parsed = uuid.UUID(request_id.strip())
        except ValueError:
            raise ValidationFailed("id", "is not a request id") from None
        request = await repository.request_by_id(self.session, parsed)
        if request is None:
            raise NotFound(f"no request {parsed} (see `tenantry plans requests`)")
        if request.status != RequestStatus.PENDING.value:
            raise Conflict(f"request {parsed} was already {request.status}")
        msp = await tenancy.tenant_by_id(self.session, request.msp_tenant_id)
        if msp is None:
            raise NotFound("the requesting MSP no longer exists")
        await widen(self.session, msp.id, why=Why.OPERATOR)
        if approve:
            current = await self.subscription(msp.id)
            plan_name = (
                (await repository.plan_by_id(self.session, request.plan_id)).name  # type: ignore[union-attr]
                if request.plan_id
                else current[1].name
                if current
                else None
            )
            if plan_name is None:
                raise Conflict(
                    f"{msp.slug} has no subscription and the request names no plan: "
                    "put it on a plan with `tenantry tenants license`"
                )
            keep = request.seats is None
            await self.subscribe(msp, plan_name, actor=actor, seats=request.seats, keep_seats=keep)
        request.status = (RequestStatus.APPROVED if approve else RequestStatus.DECLINED).value
        request.decided_at = utcnow()
        request.decision_note = note.strip()[:1000]
        await self.session.flush()
        await history.write(
            self.session,
            msp.id,
            AuditAction.SUBSCRIPTION_REQUEST_DECIDED,
            set_to(status=request.status, note=request.decision_note),
            actor=actor,
            target=(request.id, "request"),
        )
        outcome = "approved" if approve else "declined"
        await notify_admins(
            self.session,
            msp.id,
            kind="billing.request",
            title=f"Your request for more was {outcome}",
            body=(
                f"The instance operator {outcome} the request of {request.requested_by_name}."
                + (f" Note: {request.decision_note}" if request.decision_note else "")
            ),
            url=BILLING_URL,
        )
        return request


async def guard(
    session: AsyncSession,
    msp_id: uuid.UUID | None,
    limit: limits.LimitName,
    *,
    adding: int,
    msp_name: str,
    tenant_id: uuid.UUID | None = None,
) -> None:
    """The guard behind ``limits.ensure_room``. Storage is also counted here: the bytes
    of evidence added (checked first) or removed in the MSP or in a client it manages."""
    if msp_id is None and tenant_id is not None:
        tenant = await tenancy.tenant_by_id(session, tenant_id)
        if tenant is not None and tenant.is_msp:
            msp_id, msp_name = tenant.id, tenant.display_name
        else:
            found = await tenancy.msp_of(session, tenant_id)
            if found is not None:
                msp_id, msp_name = found[0].id, found[0].display_name
    if msp_id is None:
        return
    if adding > 0:
        await SubscriptionService(session).ensure_room(
            msp_id, limit, adding=adding, msp_name=msp_name
        )
    if limit == "storage":
        await repository.add_storage(session, msp_id, adding)


limits.install(guard)
