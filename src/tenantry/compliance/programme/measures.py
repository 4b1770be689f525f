"""Applied measures: implemented once by the client or its MSP, mapped to requirements of
any of the tenant's adopted frameworks. An implemented (partial) measure makes each
mapped requirement at least implemented (partial): scoring.py has the rule. Changing a
measure's status, mapping or unmapping it, or deleting it keeps the scores of exactly
the frameworks its requirements belong to, in the same transaction."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.access.context import TenantContext
from tenantry.audit.changes import of_pairs, removed, set_to
from tenantry.audit.schemas import Actor, AuditAction
from tenantry.audit.service import record
from tenantry.compliance.programme import repository, scoring
from tenantry.compliance.programme.models import Measure, MeasureRequirement
from tenantry.compliance.programme.schemas import MeasureValues, clean_measure
from tenantry.compliance.programme.service import parse_id
from tenantry.db.base import new_id
from tenantry.errors import Conflict, NotFound, ValidationFailed
from tenantry.kit.pagination import Keyset, check_limit, page_of

BY_TITLE = Keyset(str, uuid.UUID)


class MeasureService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, ctx: TenantContext, measure_id: str | uuid.UUID) -> Measure:
        found = await repository.measure(
            self.session, ctx.tenant.id, parse_id(measure_id, "measure")
        )
        if found is None:
            raise NotFound("No such measure.")
        return found

    async def page(
        self, ctx: TenantContext, *, cursor: str | None = None, limit: int = 50
    ) -> tuple[list[Measure], str | None]:
        check_limit(limit)
        after = BY_TITLE.decode(cursor)
        rows = await repository.measures_page(
            self.session, ctx.tenant.id, after=(after[0], after[1]) if after else None, limit=limit
        )
        return page_of(rows, limit, lambda m: (m.title, str(m.id)))

    async def requirement_ids(
        self, ctx: TenantContext, measure_ids: list[uuid.UUID]
    ) -> dict[uuid.UUID, list[uuid.UUID]]:
        return await repository.mapped_requirements(self.session, ctx.tenant.id, measure_ids)

    async def _check_title_free(
        self, ctx: TenantContext, title: str, but: uuid.UUID | None = None
    ) -> None:
        other = await repository.measure_by_title(self.session, ctx.tenant.id, title)
        if other is not None and other.id != but:
            raise Conflict(
                f"{ctx.tenant.display_name} already has a measure titled {title}.",
                errors=[{"field": "title", "message": "is already used by another measure"}],
            )

    async def create(self, ctx: TenantContext, values: MeasureValues, *, actor: Actor) -> Measure:
        given = values.given()
        if "title" not in given:
            raise ValidationFailed("title", "must not be empty")
        cleaned = clean_measure({"status": "planned", "implemented_by": "client", **given})
        await self._check_title_free(ctx, cleaned["title"])
        measure = Measure(tenant_id=ctx.tenant.id, id=new_id(), **cleaned)
        self.session.add(measure)
        await self.session.flush()
        await record(
            self.session,
            tenant_id=ctx.tenant.id,
            actor=actor,
            action=AuditAction.COMPLIANCE_MEASURE_CREATED,
            target_type="compliance_measure",
            target_id=measure.id,
            target_label=measure.title,
            changes=set_to(**cleaned),
        )
        return measure

    async def update(
        self,
        ctx: TenantContext,
        measure_id: str | uuid.UUID,
        values: MeasureValues,
        *,
        actor: Actor,
    ) -> Measure:
        measure = await self.get(ctx, measure_id)
        cleaned = clean_measure(values.given())
        if "title" in cleaned:
            await self._check_title_free(ctx, cleaned["title"], but=measure.id)
        diff = [(k, getattr(measure, k), v) for k, v in cleaned.items() if getattr(measure, k) != v]
        if not diff:
            return measure
        for key, _, value in diff:
            setattr(measure, key, value)
        await self.session.flush()
        if any(k == "status" for k, _, _ in diff):
            await scoring.keep(
                self.session,
                ctx.tenant.id,
                await repository.frameworks_of_measure(self.session, ctx.tenant.id, measure.id),
            )
        await record(
            self.session,
            tenant_id=ctx.tenant.id,
            actor=actor,
            action=AuditAction.COMPLIANCE_MEASURE_UPDATED,
            target_type="compliance_measure",
            target_id=measure.id,
            target_label=measure.title,
            changes=of_pairs(diff),
        )
        return measure

    async def delete(
        self, ctx: TenantContext, measure_id: str | uuid.UUID, *, actor: Actor
    ) -> None:
        measure = await self.get(ctx, measure_id)
        frameworks = await repository.frameworks_of_measure(self.session, ctx.tenant.id, measure.id)
        await repository.delete_mappings(self.session, ctx.tenant.id, measure.id)
        await self.session.delete(measure)
        await self.session.flush()
        await scoring.keep(self.session, ctx.tenant.id, frameworks)
        await record(
            self.session,
            tenant_id=ctx.tenant.id,
            actor=actor,
            action=AuditAction.COMPLIANCE_MEASURE_DELETED,
            target_type="compliance_measure",
            target_id=measure.id,
            target_label=measure.title,
            changes=removed(title=measure.title, status=measure.status),
        )

    async def map(
        self,
        ctx: TenantContext,
        measure_id: str | uuid.UUID,
        requirement_id: uuid.UUID,
        *,
        actor: Actor,
    ) -> Measure:
        """The measure counts for this requirement (of any adopted framework) from now."""
        measure = await self.get(ctx, measure_id)
        requirement = await repository.requirement(self.session, ctx.tenant.id, requirement_id)
        if requirement is None or not requirement.assessable:
            raise ValidationFailed(
                "requirement_id", "is not an assessable requirement of an adopted framework here"
            )
        if await repository.mapping(self.session, ctx.tenant.id, measure.id, requirement.id):
            return measure
        self.session.add(
            MeasureRequirement(
                tenant_id=ctx.tenant.id,
                id=new_id(),
                measure_id=measure.id,
                requirement_id=requirement.id,
            )
        )
        await self.session.flush()
        await scoring.keep(self.session, ctx.tenant.id, [requirement.framework_id])
        await record(
            self.session,
            tenant_id=ctx.tenant.id,
            actor=actor,
            action=AuditAction.COMPLIANCE_MEASURE_MAPPED,
            target_type="compliance_measure",
            target_id=measure.id,
            target_label=measure.title,
            changes=set_to(requirement=requirement.ref, requirement_id=str(requirement.id)),
        )
        return measure

    async def unmap(
        self,
        ctx: TenantContext,
        measure_id: str | uuid.UUID,
        requirement_id: str | uuid.UUID,
        *,
        actor: Actor,
    ) -> Measure:
        measure = await self.get(ctx, measure_id)
        requirement = await repository.requirement(
            self.session, ctx.tenant.id, parse_id(requirement_id, "mapping")
        )
        found = (
            await repository.mapping(self.session, ctx.tenant.id, measure.id, requirement.id)
            if requirement is not None
            else None
        )
        if found is None or requirement is None:
            raise NotFound("That measure is not mapped to that requirement.")
        await self.session.delete(found)
        await self.session.flush()
        await scoring.keep(self.session, ctx.tenant.id, [requirement.framework_id])
        await record(
            self.session,
            tenant_id=ctx.tenant.id,
            actor=actor,
            action=AuditAction.COMPLIANCE_MEASURE_UNMAPPED,
            target_type="compliance_measure",
            target_id=measure.id,
            target_label=measure.title,
            changes=removed(requirement=requirement.ref, requirement_id=str(requirement.id)),
        )
        return measure
