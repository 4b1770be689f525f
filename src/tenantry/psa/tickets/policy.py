"""A tenant's SLA policy: per-priority targets, business hours, holidays (and the
tenant's time zone, which tenancy keeps on the tenant row). Read with the zone the
request carries (``ctx.tenant.time_zone``); changed only by ``set_policy``, whose checks
name the field of every refusal before anything is written."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Mapping, Sequence
from datetime import date, time
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.access.context import TenantContext, TenantRef
from tenantry.audit.changes import Changes
from tenantry.audit.schemas import Actor, AuditAction
from tenantry.audit.service import record
from tenantry.db.base import new_id
from tenantry.errors import ValidationFailed
from tenantry.psa.tickets import repository, sla
from tenantry.psa.tickets.clock import BusinessHours, Policy
from tenantry.psa.tickets.models import Priority, SlaPolicy
from tenantry.psa.tickets.schemas import PolicyChange
from tenantry.tenancy import service as tenancy_service
from tenantry.tenancy.schemas import check_time_zone

MAX_TARGET_MINUTES = 365 * 24 * 60
TARGET_KINDS = ("first_response", "resolution")


def check_targets(targets: Mapping[str, Mapping[str, object]]) -> dict[str, dict[str, int]]:
    """Minutes per priority and kind: every priority, whole minutes, 1 … a year."""
    cleaned: dict[str, dict[str, int]] = {}
    for priority in Priority:
        given = targets.get(priority.value)
        if not isinstance(given, Mapping):
            raise ValidationFailed(f"targets.{priority.value}", "is required")
        cleaned[priority.value] = {}
        for kind in TARGET_KINDS:
            value = given.get(kind)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValidationFailed(
                    f"targets.{priority.value}.{kind}", "must be a whole number of minutes"
                )
            if not 1 <= value <= MAX_TARGET_MINUTES:
                raise ValidationFailed(
                    f"targets.{priority.value}.{kind}",
                    f"must be between 1 and {MAX_TARGET_MINUTES} minutes",
                )
            cleaned[priority.value][kind] = value
    unknown = set(targets) - {p.value for p in Priority}
    if unknown:
        raise ValidationFailed("targets", f"unknown priority {sorted(unknown)[0]!r}")
    return cleaned


def check_business_hours(
    business_hours: Mapping[str, Sequence[Sequence[str]]],
) -> BusinessHours:
    """Weekday ("0" = Monday … "6") → sorted, non-overlapping HH:MM windows."""
    hours: BusinessHours = {}
    for key, windows in business_hours.items():
        if key not in {str(d) for d in range(7)}:
            raise ValidationFailed("business_hours", f"weekday '{key}' is not 0 … 6")
        field = f"business_hours.{key}"
        parsed: list[tuple[time, time | None, str, str]] = []
        for start, end in windows:
            try:
                a, b = sla.parse_hhmm(start), sla.parse_hhmm(end)
            except ValueError as exc:
                raise ValidationFailed(field, "times are HH:MM, e.g. 08:00") from exc
            midnight_end = b == a.replace(hour=0, minute=0)
            if not midnight_end and b <= a:
                raise ValidationFailed(field, f"{start}-{end} ends before it starts")
            parsed.append((a, b if not midnight_end else None, start, end))
        parsed.sort(key=lambda w: w[0])
        for earlier, later in itertools.pairwise(parsed):
            if earlier[1] is None or later[0] < earlier[1]:
                raise ValidationFailed(
                    field, f"{earlier[2]}-{earlier[3]} and {later[2]}-{later[3]} overlap"
                )
        hours[key] = [[start, end] for _, _, start, end in parsed]
    return hours


def check_holidays(holidays: Sequence[str]) -> list[str]:
    for day in holidays:
        try:
            date.fromisoformat(day)
        except (TypeError, ValueError) as exc:
            message = f"'{str(day)[:20]}' is not a date (YYYY-MM-DD)"
            raise ValidationFailed("holidays", message) from exc
        if len(day) != 10:
            raise ValidationFailed("holidays", f"'{day[:20]}' is not a date (YYYY-MM-DD)")
    return sorted(set(holidays))


class SlaPolicyService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._policies: dict[tuple[uuid.UUID, str], Policy] = {}

    async def policy(self, tenant: TenantRef) -> Policy:
        """The tenant's policy in its time zone (the defaults when it has none)."""
        return await self._policy(tenant.id, tenant.time_zone)

    async def _policy(self, tenant_id: uuid.UUID, zone: str) -> Policy:
        if (tenant_id, zone) in self._policies:
            return self._policies[(tenant_id, zone)]
        row = await repository.sla_policy(self.session, tenant_id)
        targets = row.targets if row is not None and row.targets else sla.DEFAULT_TARGETS
        hours = row.business_hours if row is not None else sla.DEFAULT_HOURS
        holidays = row.holidays if row is not None else []
        try:
            calendar: sla.BusinessCalendar | None = sla.calendar_from(zone, hours, holidays)
        except ValueError:
            calendar = None  # a tenant zone this machine lacks: no due times, not an error
        if calendar is not None and not calendar.has_hours:
            calendar = None
        policy = Policy(calendar, dict(targets), dict(hours), list(holidays), zone)
        self._policies[(tenant_id, zone)] = policy
        return policy

    async def set_policy(self, ctx: TenantContext, change: PolicyChange, *, actor: Actor) -> Policy:
        """Replace the tenant's SLA policy (and, if given, its time zone: the calendar's
        zone). Applies to due times computed from now on. Every value is checked before
        anything is written; an error names the field (``targets.P1.resolution``,
        ``business_hours.0``, ``holidays``, ``time_zone``)."""
        targets = check_targets(change.targets)
        hours = check_business_hours(change.business_hours)
        days = check_holidays(change.holidays)
        zone = check_time_zone(change.time_zone) if change.time_zone is not None else None
        row = await repository.sla_policy(self.session, ctx.tenant.id)
        before: dict[str, Any] = (
            {"targets": row.targets, "business_hours": row.business_hours, "holidays": row.holidays}
            if row is not None
            else {}
        )
        after: dict[str, Any] = {"targets": targets, "business_hours": hours, "holidays": days}
        now_zone = ctx.tenant.time_zone
        if zone is not None:
            old_zone = await tenancy_service.set_time_zone(self.session, ctx.tenant.id, zone)
            now_zone = zone
            if old_zone != zone:
                before["time_zone"] = old_zone
                after["time_zone"] = zone
        if row is None:
            row = SlaPolicy(tenant_id=ctx.tenant.id, id=new_id())
            self.session.add(row)
        row.targets = targets
        row.business_hours = hours
        row.holidays = days
        await self.session.flush()
        self._policies = {k: v for k, v in self._policies.items() if k[0] != ctx.tenant.id}
        await record(
            self.session,
            tenant_id=ctx.tenant.id,
            actor=actor,
            action=AuditAction.SLA_POLICY_UPDATED,
            target_type="sla_policy",
            target_id=row.id,
            target_label="SLA policy",
            changes=Changes({k: (before.get(k), v) for k, v in after.items()}),
        )
        return await self._policy(ctx.tenant.id, now_zone)

    async def add_holiday(self, ctx: TenantContext, day: str, *, actor: Actor) -> Policy:
        """One more whole-day holiday in the tenant's calendar (adding one twice is a
        no-op for the calendar, still one recorded save)."""
        current = await self.policy(ctx.tenant)
        change = PolicyChange(current.targets, current.business_hours, [*current.holidays, day])
        return await self.set_policy(ctx, change, actor=actor)

    async def remove_holiday(self, ctx: TenantContext, day: str, *, actor: Actor) -> Policy:
        current = await self.policy(ctx.tenant)
        if day not in current.holidays:
            raise ValidationFailed("holiday", f"'{day[:20]}' is not one of the holidays")
        holidays = [h for h in current.holidays if h != day]
        change = PolicyChange(current.targets, current.business_hours, holidays)
        return await self.set_policy(ctx, change, actor=actor)
