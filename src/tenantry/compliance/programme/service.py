"""A tenant's programme: adopting and retiring frameworks, reading requirements with
their effective status, assessing them (with history), and the kept scores.

Effective status and the score rule are in ``scoring.py`` (its docstring is the rule);
every change that can move a score calls ``scoring.keep`` for the frameworks it touched,
in the same transaction, before recording its audit event (the lock order).
Services never commit; the request's unit of work does.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.access.context import TenantContext
from tenantry.audit.changes import of_pairs, removed, set_to
from tenantry.audit.schemas import Actor, AuditAction
from tenantry.audit.service import record
from tenantry.compliance.content import FrameworkContent
from tenantry.compliance.evidence.service import EvidenceService
from tenantry.compliance.programme import repository, scoring
from tenantry.compliance.programme.models import (
    AdoptedFramework,
    Assessment,
    AssessmentChange,
    FrameworkScore,
    Requirement,
    ScoreChange,
)
from tenantry.compliance.programme.schemas import (
    MAX_NAME,
    MAX_NOTES,
    AssessmentChanges,
    AssessmentOut,
    RequirementOut,
    check_assessment_status,
    clean_date,
    clean_text,
)
from tenantry.db.base import new_id
from tenantry.errors import Conflict, NotFound, ValidationFailed
from tenantry.identity import service as identity
from tenantry.kit.pagination import Keyset, check_limit, page_of
from tenantry.tenancy import service as tenancy

BY_POSITION = Keyset(int)
NEWEST_FIRST = Keyset(datetime, uuid.UUID)


def parse_id(value: str | uuid.UUID, what: str) -> uuid.UUID:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError as exc:
        raise NotFound(f"No such {what}.") from exc


def _plain(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


class ProgrammeService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # ------------------------------------------------------------ frameworks

    async def frameworks(
        self, ctx: TenantContext
    ) -> list[tuple[AdoptedFramework, FrameworkScore | None]]:
        return list(await repository.frameworks(self.session, ctx.tenant.id))

    async def framework(
        self, ctx: TenantContext, framework_id: str | uuid.UUID
    ) -> AdoptedFramework:
        found = await repository.framework(
            self.session, ctx.tenant.id, parse_id(framework_id, "adopted framework")
        )
        if found is None:
            raise NotFound("No such adopted framework.")
        return found

    async def adopt(
        self, ctx: TenantContext, content: FrameworkContent, *, actor: Actor
    ) -> AdoptedFramework:
        """Copy the framework and its requirements into the tenant, one not_assessed
        assessment per assessable requirement, the score and its first history point."""
        existing = await repository.framework_by_key(self.session, ctx.tenant.id, content.key)
        if existing is not None:
            raise Conflict(
                f"{ctx.tenant.display_name} has already adopted {existing.title} "
                f"(version {existing.version}); retire it first to adopt another version.",
                errors=[{"field": "framework", "message": "is already adopted here"}],
            )
        return await self.adopt_in(ctx.tenant.id, content, actor=actor)

    async def adopt_in(
        self, tenant_id: uuid.UUID, content: FrameworkContent, *, actor: Actor
    ) -> AdoptedFramework:
        """Adopt in ``tenant_id``, which the caller checked has no framework of this key
        and which the unit of work's scope covers (apply.py widens to it first)."""
        framework = AdoptedFramework(
            tenant_id=tenant_id,
            id=new_id(),
            key=content.key,
            version=content.version,
            title=content.title,
            description=content.description,
            origin=content.origin,
            source_id=content.source_id,
            adopted_by_name=actor.name,
        )
        self.session.add(framework)
        await self.session.flush()
        requirements = []
        for position, item in enumerate(content.requirements):
            requirement = Requirement(
                tenant_id=tenant_id,
                id=new_id(),
                framework_id=framework.id,
                ref=item.ref,
                parent_ref=item.parent_ref,
                title=item.title,
                description=item.description,
                position=position,
                assessable=item.assessable,
            )
            requirements.append(requirement)
        self.session.add_all(requirements)
        await self.session.flush()
        self.session.add_all(
            Assessment(
                tenant_id=tenant_id,
                id=new_id(),
                framework_id=framework.id,
                requirement_id=r.id,
                updated_by_name=actor.name,
            )
            for r in requirements
            if r.assessable
        )
        self.session.add(
            FrameworkScore(
                tenant_id=tenant_id,
                id=new_id(),
                framework_id=framework.id,
                framework_key=framework.key,
                framework_title=framework.title,
                recent=[],
            )
        )
        await scoring.keep(self.session, tenant_id, [framework.id], first=True)
        await record(
            self.session,
            tenant_id=tenant_id,
            actor=actor,
            action=AuditAction.COMPLIANCE_FRAMEWORK_ADOPTED,
            target_type="compliance_framework",
            target_id=framework.id,
            target_label=f"{framework.key}@{framework.version}",
            changes=set_to(
                key=framework.key,
                version=framework.version,
                title=framework.title,
                origin=framework.origin,
                requirements=len(requirements),
            ),
        )
        return framework

    async def retire(
        self, ctx: TenantContext, framework_id: str | uuid.UUID, *, actor: Actor
    ) -> None:
        """Remove an adopted framework with its requirements, assessments (their history
        and evidence), mappings of measures and risks to it, and its score. Measures and
        risks stay (a risk's links to its requirements go by the database's cascade)."""
        framework = await self.framework(ctx, framework_id)
        label = f"{framework.key}@{framework.version}"
        files = await EvidenceService(self.session).drop_for_framework(ctx, framework.id)
        await repository.delete_framework(self.session, ctx.tenant.id, framework.id)
        self.session.expunge(framework)
        await scoring.roll_up(self.session, ctx.tenant.id)
        await record(
            self.session,
            tenant_id=ctx.tenant.id,
            actor=actor,
            action=AuditAction.COMPLIANCE_FRAMEWORK_RETIRED,
            target_type="compliance_framework",
            target_id=framework.id,
            target_label=label,
            changes=removed(
                key=framework.key,
                version=framework.version,
                title=framework.title,
                evidence_files=files,
            ),
        )

    # ------------------------------------------------------------ requirements

    async def requirements(
        self,
        ctx: TenantContext,
        framework_id: str | uuid.UUID,
        *,
        status: str | None = None,
        cursor: str | None = None,
        limit: int = 200,
    ) -> tuple[list[RequirementOut], str | None]:
        """Requirements in reading order with assessment and effective status. ``status``
        filters on the effective status (a page may then hold fewer than ``limit``)."""
        check_limit(limit)
        if status is not None:
            status = check_assessment_status(status)
        framework = await self.framework(ctx, framework_id)
        after = BY_POSITION.decode(cursor)
        rows = await repository.requirements_page(
            self.session,
            ctx.tenant.id,
            framework.id,
            after=int(after[0]) if after else None,
            limit=limit,
        )
        page, next_cursor = page_of(rows, limit, lambda r: (r[0].position,))
        measures = await repository.best_measures(
            self.session, ctx.tenant.id, (r.id for r, _ in page)
        )
        items = []
        for requirement, assessment in page:
            rank, measure_ids = measures.get(requirement.id, (0, []))
            eff = scoring.effective(assessment.status, rank) if assessment else None
            if status is not None and eff != status:
                continue
            items.append(
                RequirementOut(
                    id=requirement.id,
                    ref=requirement.ref,
                    parent_ref=requirement.parent_ref,
                    title=requirement.title,
                    description=requirement.description,
                    assessable=requirement.assessable,
                    assessment=AssessmentOut.model_validate(assessment) if assessment else None,
                    effective_status=eff,
                    measure_ids=measure_ids,
                )
            )
        return items, next_cursor

    # ------------------------------------------------------------ assessments

    async def assessment(
        self, ctx: TenantContext, assessment_id: str | uuid.UUID
    ) -> tuple[Assessment, Requirement]:
        found = await repository.assessment(
            self.session, ctx.tenant.id, parse_id(assessment_id, "assessment")
        )
        if found is None:
            raise NotFound("No such assessment.")
        return found

    async def effective_status(self, ctx: TenantContext, assessment: Assessment) -> str:
        best = await repository.best_measures(
            self.session, ctx.tenant.id, [assessment.requirement_id]
        )
        return scoring.effective(assessment.status, best.get(assessment.requirement_id, (0, []))[0])

    async def _owner(self, ctx: TenantContext, value: str) -> tuple[uuid.UUID | None, str]:
        """A user id of someone who may act in the tenant (its own people or its MSP's
        technicians), or a free name."""
        value = clean_text("owner", value, MAX_NAME)
        try:
            user_id = uuid.UUID(value)
        except ValueError:
            return None, value
        user = await identity.user_by_ref(self.session, str(user_id))
        allowed = {ctx.tenant.id}
        managing = await tenancy.msp_of(self.session, ctx.tenant.id)
        if managing is not None:
            allowed.add(managing[0].id)
        if user is None or user.home_tenant_id not in allowed:
            raise ValidationFailed(
                "owner", f"no user with that id works in {ctx.tenant.display_name}"
            )
        return user.id, user.display_name

    async def assess(
        self,
        ctx: TenantContext,
        assessment_id: str | uuid.UUID,
        changes: AssessmentChanges,
        *,
        actor: Actor,
    ) -> Assessment:
        """Change status, na_reason, owner, due date or notes. not_applicable needs a
        reason (the error names na_reason); leaving it clears the reason. Every change
        writes a history row and an audit event; the framework's score is kept."""
        assessment, requirement = await self.assessment(ctx, assessment_id)
        given = changes.given()
        new: dict[str, Any] = {}
        if "status" in given:
            new["status"] = check_assessment_status(given["status"])
        if "na_reason" in given:
            new["na_reason"] = clean_text("na_reason", given["na_reason"], MAX_NOTES)
        if "notes" in given:
            new["notes"] = clean_text("notes", given["notes"], MAX_NOTES)
        if "due_on" in given:
            new["due_on"] = clean_date("due_on", given["due_on"])
        if "owner" in given:
            new["owner_user_id"], new["owner_name"] = await self._owner(ctx, given["owner"])
        status = new.get("status", assessment.status)
        if status == "not_applicable":
            if not new.get("na_reason", assessment.na_reason):
                raise ValidationFailed("na_reason", "is required when the status is not_applicable")
        elif assessment.na_reason or new.get("na_reason"):
            new["na_reason"] = ""
        diff = [
            (k, getattr(assessment, k), v) for k, v in new.items() if getattr(assessment, k) != v
        ]
        if not diff:
            return assessment
        for key, _, value in diff:
            setattr(assessment, key, value)
        assessment.updated_by_name = actor.name
        self.session.add(
            AssessmentChange(
                tenant_id=ctx.tenant.id,
                id=new_id(),
                assessment_id=assessment.id,
                changes={k: [_plain(old), _plain(value)] for k, old, value in diff},
                actor_user_id=actor.user_id,
                actor_name=actor.name,
            )
        )
        await self.session.flush()
        if any(k == "status" for k, _, _ in diff):
            await scoring.keep(self.session, ctx.tenant.id, [assessment.framework_id])
        await record(
            self.session,
            tenant_id=ctx.tenant.id,
            actor=actor,
            action=AuditAction.COMPLIANCE_ASSESSMENT_UPDATED,
            target_type="compliance_assessment",
            target_id=assessment.id,
            target_label=requirement.ref,
            changes=of_pairs((k, _plain(old), _plain(value)) for k, old, value in diff),
        )
        return assessment

    async def history(
        self,
        ctx: TenantContext,
        assessment_id: str | uuid.UUID,
        *,
        cursor: str | None = None,
        limit: int = 50,
    ) -> tuple[list[AssessmentChange], str | None]:
        check_limit(limit)
        assessment, _ = await self.assessment(ctx, assessment_id)
        after = NEWEST_FIRST.decode(cursor)
        rows = await repository.history(
            self.session,
            ctx.tenant.id,
            assessment.id,
            after=(after[0], after[1]) if after else None,
            limit=limit,
        )
        return page_of(rows, limit, lambda c: (c.created_at.isoformat(), str(c.id)))

    # ------------------------------------------------------------ scores and report

    async def scores(
        self, ctx: TenantContext, *, points: int = 50
    ) -> list[tuple[FrameworkScore, list[ScoreChange]]]:
        kept = await repository.scores(self.session, ctx.tenant.id)
        history = await repository.score_history(
            self.session, ctx.tenant.id, [s.framework_id for s in kept], points
        )
        return [(s, history[s.framework_id]) for s in kept]

    async def report_rows(
        self, ctx: TenantContext
    ) -> list[tuple[AdoptedFramework, Requirement, Assessment]]:
        return list(await repository.report_rows(self.session, ctx.tenant.id))
