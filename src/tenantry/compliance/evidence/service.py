"""Evidence rules: files (type by their bytes, size limit, sanitised names) and links
(http/https only) attached to an assessment of the tenant; removal keeps the row as
history and deletes a file's bytes. Every change records one audit event (a file's
type, size and hash, never its bytes). Services never commit."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.access.context import TenantContext
from tenantry.audit.changes import set_to
from tenantry.audit.schemas import Actor, AuditAction
from tenantry.audit.service import record
from tenantry.billing import limits
from tenantry.compliance.evidence import repository, rules
from tenantry.compliance.evidence.models import Evidence, EvidenceBlob
from tenantry.db.base import new_id, utcnow
from tenantry.errors import Conflict, NotFound, ValidationFailed
from tenantry.kit.pagination import Keyset, check_limit

TARGET = "compliance_evidence"
CURSOR = Keyset(uuid.UUID)


def _parse(value: str | uuid.UUID, what: str) -> uuid.UUID:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError as exc:
        raise NotFound(f"No such {what}.") from exc


def _facts(evidence: Evidence) -> dict[str, object]:
    """What an event says about a piece of evidence (never a file's bytes)."""
    facts: dict[str, object] = {
        "assessment_id": str(evidence.assessment_id),
        "kind": evidence.kind,
        "name": evidence.name,
    }
    if evidence.kind == "link":
        facts["url"] = evidence.url
    else:
        facts |= {"content_type": evidence.content_type, "size": evidence.size}
        facts["sha256"] = evidence.sha256
    return facts


async def stored_bytes_of(session: AsyncSession, tenant_ids: Iterable[uuid.UUID]) -> int:
    """Evidence bytes kept now by these tenants (the unit of work must cover them): what a
    new subscription starts its storage count from."""
    return await repository.stored_bytes_in(session, tenant_ids)


class EvidenceService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _assessment(self, ctx: TenantContext, assessment_id: str | uuid.UUID) -> uuid.UUID:
        """The id of an assessment of this tenant, or 404 (another tenant's included)."""
        parsed = _parse(assessment_id, "assessment")
        if not await repository.assessment_exists(self.session, ctx.tenant.id, parsed):
            raise NotFound("No such assessment.")
        return parsed

    async def get(self, ctx: TenantContext, evidence_id: str | uuid.UUID) -> Evidence:
        found = await repository.by_id(self.session, ctx.tenant.id, _parse(evidence_id, "evidence"))
        if found is None:
            raise NotFound("No such evidence.")
        return found

    async def file(
        self, ctx: TenantContext, evidence_id: str | uuid.UUID
    ) -> tuple[Evidence, bytes]:
        """A file's row and bytes, for download; 404 for a link or a removed file."""
        evidence = await self.get(ctx, evidence_id)
        data = None
        if evidence.kind == "file" and evidence.removed_at is None:
            data = await repository.blob_data(self.session, ctx.tenant.id, evidence.id)
        if data is None:
            raise NotFound("This evidence has no file to download.")
        return evidence, data

    async def for_assessment(
        self, ctx: TenantContext, assessment_id: str | uuid.UUID, *, include_removed: bool = True
    ) -> list[Evidence]:
        """All evidence of one assessment in the order added (the assessment page)."""
        parsed = await self._assessment(ctx, assessment_id)
        rows = await repository.of_assessment(
            self.session, ctx.tenant.id, parsed, include_removed=include_removed
        )
        return list(rows)

    async def page(
        self,
        ctx: TenantContext,
        assessment_id: str | uuid.UUID,
        *,
        cursor: str | None,
        limit: int,
    ) -> tuple[list[Evidence], str | None]:
        parsed = await self._assessment(ctx, assessment_id)
        position = CURSOR.decode(cursor)
        rows = await repository.of_assessment(
            self.session,
            ctx.tenant.id,
            parsed,
            after=position[0] if position else None,
            limit=check_limit(limit) + 1,
        )
        page = list(rows[:limit])
        more = len(rows) > limit and page
        return page, CURSOR.encode(str(page[-1].id)) if more else None

    async def count_by_assessment(
        self, ctx: TenantContext, assessment_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, int]:
        """Evidence not removed, per assessment (assessments without any are left out)."""
        return await repository.live_counts(self.session, ctx.tenant.id, assessment_ids)

    async def storage_used(self, ctx: TenantContext) -> int:
        """Bytes of evidence files the tenant stores now (what a plan's cap will count)."""
        return await repository.stored_bytes(self.session, ctx.tenant.id)

    async def drop_for_framework(self, ctx: TenantContext, framework_id: uuid.UUID) -> int:
        """Delete the evidence of a framework being retired (files and links, bytes
        included): the retirement's own audit event says how many files went with it."""
        return await repository.delete_of_framework(self.session, ctx.tenant.id, framework_id)

    async def add_file(
        self,
        ctx: TenantContext,
        assessment_id: str | uuid.UUID,
        filename: str,
        data: bytes | None,
        *,
        max_bytes: int,
        actor: Actor,
    ) -> Evidence:
        """Store a file as evidence. Checked before anything is written: the
        assessment is the tenant's (else 404), the file is at most ``max_bytes`` and of
        an accepted type by its bytes (else a 422 on ``file``)."""
        parsed = await self._assessment(ctx, assessment_id)
        if data is None:
            raise ValidationFailed("file", "is required: choose a file to upload")
        content_type = rules.sniff(data, filename, max_bytes=max_bytes)
        # The bytes count against the plan of the MSP (this tenant's own, or its manager's).
        await limits.ensure_room(
            self.session, None, "storage", adding=len(data), tenant_id=ctx.tenant.id
        )
        evidence = Evidence(
            tenant_id=ctx.tenant.id,
            id=new_id(),
            assessment_id=parsed,
            kind="file",
            name=rules.clean_name(filename, content_type),
            content_type=content_type,
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            uploaded_by_user_id=actor.user_id,
            uploaded_by_name=actor.name,
        )
        self.session.add(evidence)
        await self.session.flush()
        self.session.add(
            EvidenceBlob(tenant_id=ctx.tenant.id, id=new_id(), evidence_id=evidence.id, data=data)
        )
        await self._record(ctx, evidence, AuditAction.COMPLIANCE_EVIDENCE_ADDED, actor=actor)
        return evidence

    async def add_link(
        self,
        ctx: TenantContext,
        assessment_id: str | uuid.UUID,
        url: str,
        name: str | None = None,
        *,
        actor: Actor,
    ) -> Evidence:
        """A link as evidence: http or https only (else a 422 on ``url``)."""
        parsed = await self._assessment(ctx, assessment_id)
        checked = rules.check_url(url)
        evidence = Evidence(
            tenant_id=ctx.tenant.id,
            id=new_id(),
            assessment_id=parsed,
            kind="link",
            name=rules.link_name(name, checked),
            url=checked,
            uploaded_by_user_id=actor.user_id,
            uploaded_by_name=actor.name,
        )
        self.session.add(evidence)
        await self._record(ctx, evidence, AuditAction.COMPLIANCE_EVIDENCE_ADDED, actor=actor)
        return evidence

    async def remove(
        self, ctx: TenantContext, evidence_id: str | uuid.UUID, *, actor: Actor
    ) -> Evidence:
        """Mark evidence removed (the row stays as history) and delete a file's bytes."""
        evidence = await self.get(ctx, evidence_id)
        if evidence.removed_at is not None:
            raise Conflict(f"This evidence was already removed by {evidence.removed_by_name}.")
        evidence.removed_at = utcnow()
        evidence.removed_by_name = actor.name
        if evidence.kind == "file":
            await repository.delete_blob(self.session, ctx.tenant.id, evidence.id)
            await limits.ensure_room(
                self.session, None, "storage", adding=-(evidence.size or 0), tenant_id=ctx.tenant.id
            )
        await self.session.flush()
        await record(
            self.session,
            tenant_id=ctx.tenant.id,
            actor=actor,
            action=AuditAction.COMPLIANCE_EVIDENCE_REMOVED,
            target_type=TARGET,
            target_id=evidence.id,
            target_label=evidence.name,
            changes=set_to(removed_at=evidence.removed_at, removed_by_name=actor.name),
        )
        return evidence

    async def _record(
        self, ctx: TenantContext, evidence: Evidence, action: AuditAction, *, actor: Actor
    ) -> None:
        await self.session.flush()
        await record(
            self.session,
            tenant_id=ctx.tenant.id,
            actor=actor,
            action=action,
            target_type=TARGET,
            target_id=evidence.id,
            target_label=evidence.name,
            changes=set_to(**_facts(evidence)),
        )
