"""Frameworks a tenant writes or imports: create, change, delete; add, change, move and
remove requirements; share with all clients (an MSP only). Every change records an audit
event; services never commit."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.access.context import TenantContext
from tenantry.audit.changes import Changes, diff, of_pairs, removed, set_to
from tenantry.audit.schemas import Actor, AuditAction
from tenantry.audit.service import record
from tenantry.compliance.library import importing, repository
from tenantry.compliance.library.models import AuthoredFramework, AuthoredRequirement
from tenantry.compliance.library.schemas import (
    MAX_REQUIREMENT_TITLE,
    MAX_REQUIREMENTS,
    FrameworkChanges,
    ParsedFramework,
    RequirementChanges,
    RequirementIn,
    clean_description,
    clean_key,
    clean_ref,
    clean_title,
    clean_version,
)
from tenantry.compliance.library.service import LibraryService
from tenantry.db.base import new_id, utcnow
from tenantry.errors import NotFound, ValidationFailed

TARGET = "compliance_framework"


class AuthoringService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.library = LibraryService(session)

    async def _record(
        self,
        ctx: TenantContext,
        fw: AuthoredFramework,
        action: AuditAction,
        changes: Changes,
        actor: Actor,
    ) -> None:
        await record(
            self.session,
            tenant_id=ctx.tenant.id,
            actor=actor,
            action=action,
            target_type=TARGET,
            target_id=fw.id,
            target_label=f"{fw.title} ({fw.key}@{fw.version})",
            changes=changes,
        )

    async def _key_free(
        self, ctx: TenantContext, key: str, version: str, but: uuid.UUID | None = None
    ) -> None:
        taken = await repository.authored_key_taken(self.session, ctx.tenant.id, key, version)
        if taken is not None and taken != but:
            raise ValidationFailed("key", f"{key} version {version} already exists here")

    async def create(
        self,
        ctx: TenantContext,
        *,
        key: str,
        version: str,
        title: str,
        description: str = "",
        actor: Actor,
    ) -> AuthoredFramework:
        values = {
            "key": clean_key(key),
            "version": clean_version(version),
            "title": clean_title(title),
            "description": clean_description(description),
        }
        await self._key_free(ctx, values["key"], values["version"])
        fw = AuthoredFramework(tenant_id=ctx.tenant.id, id=new_id(), source="written", **values)
        self.session.add(fw)
        await self.session.flush()
        await self._record(ctx, fw, AuditAction.AUTHORED_FRAMEWORK_CREATED, set_to(**values), actor)
        return fw

    async def update(
        self,
        ctx: TenantContext,
        framework_id: str | uuid.UUID,
        changes: FrameworkChanges,
        *,
        actor: Actor,
    ) -> AuthoredFramework:
        fw, _ = await self.library.authored(ctx, framework_id)
        after: dict[str, str] = {}
        if changes.version is not None:
            after["version"] = clean_version(changes.version)
            await self._key_free(ctx, fw.key, after["version"], but=fw.id)
        if changes.title is not None:
            after["title"] = clean_title(changes.title)
        if changes.description is not None:
            after["description"] = clean_description(changes.description)
        before = {k: getattr(fw, k) for k in after}
        found = diff(before, after)
        if found:
            for name, value in after.items():
                setattr(fw, name, value)
            fw.updated_at = utcnow()
            await self._record(ctx, fw, AuditAction.AUTHORED_FRAMEWORK_UPDATED, found, actor)
        return fw

    async def delete(
        self, ctx: TenantContext, framework_id: str | uuid.UUID, *, actor: Actor
    ) -> None:
        """Tenants that adopted it keep their copy (adoption copies the content)."""
        fw, rows = await self.library.authored(ctx, framework_id)
        await repository.delete_authored(self.session, ctx.tenant.id, fw.id)
        gone = removed(key=fw.key, version=fw.version, title=fw.title, requirements=len(rows))
        await self._record(ctx, fw, AuditAction.AUTHORED_FRAMEWORK_DELETED, gone, actor)

    async def share(
        self, ctx: TenantContext, framework_id: str | uuid.UUID, shared: bool, *, actor: Actor
    ) -> AuthoredFramework:
        fw, _ = await self.library.authored(ctx, framework_id)
        if shared and not ctx.tenant.is_msp:
            raise ValidationFailed("shared", "only an MSP can share a framework with its clients")
        if fw.shared != shared:
            before = fw.shared
            fw.shared = shared
            fw.updated_at = utcnow()
            action = (
                AuditAction.AUTHORED_FRAMEWORK_SHARED
                if shared
                else AuditAction.AUTHORED_FRAMEWORK_UNSHARED
            )
            await self._record(ctx, fw, action, diff({"shared": before}, {"shared": shared}), actor)
        return fw

    # ---- requirements

    @staticmethod
    def _find(rows: list[AuthoredRequirement], ref_or_id: str) -> AuthoredRequirement:
        for r in rows:
            if r.ref == ref_or_id or str(r.id) == ref_or_id:
                return r
        raise NotFound("No such requirement in this framework.")

    @staticmethod
    def _group(rows: list[AuthoredRequirement], group: str | None, me: str | None) -> str | None:
        if group is None or not group.strip():
            return None
        ref = group.strip()
        if ref == me or not any(r.ref == ref and not r.assessable for r in rows):
            raise ValidationFailed("group", f"{ref} is not a group heading of this framework")
        return ref

    async def _place(self, rows: list[AuthoredRequirement]) -> None:
        for position, r in enumerate(rows):
            if r.position != position:
                r.position = position

    async def add_requirement(
        self,
        ctx: TenantContext,
        framework_id: str | uuid.UUID,
        body: RequirementIn,
        *,
        actor: Actor,
    ) -> AuthoredRequirement:
        fw, rows = await self.library.authored(ctx, framework_id)
        if len(rows) >= MAX_REQUIREMENTS:
            raise ValidationFailed("ref", f"a framework holds at most {MAX_REQUIREMENTS} items")
        ref = clean_ref(body.ref)
        if any(r.ref == ref for r in rows):
            raise ValidationFailed("ref", f"{ref} is already used in this framework")
        item = AuthoredRequirement(
            tenant_id=ctx.tenant.id,
            id=new_id(),
            framework_id=fw.id,
            ref=ref,
            title=clean_title(body.title, "title", MAX_REQUIREMENT_TITLE),
            description=clean_description(body.description),
            parent_ref=self._group(rows, body.group, None),
            assessable=not body.heading,
            position=len(rows),
        )
        self.session.add(item)
        rows.insert(min(body.position, len(rows)) if body.position is not None else len(rows), item)
        await self._place(rows)
        fw.updated_at = utcnow()
        await self.session.flush()
        values = set_to(ref=ref, title=item.title, group=item.parent_ref, heading=body.heading)
        await self._record(ctx, fw, AuditAction.AUTHORED_REQUIREMENT_ADDED, values, actor)
        return item

    async def update_requirement(
        self,
        ctx: TenantContext,
        framework_id: str | uuid.UUID,
        ref_or_id: str,
        changes: RequirementChanges,
        *,
        actor: Actor,
    ) -> AuthoredRequirement:
        fw, rows = await self.library.authored(ctx, framework_id)
        item = self._find(rows, ref_or_id)
        before = {
            "title": item.title,
            "description": item.description,
            "group": item.parent_ref,
            "position": item.position,
        }
        after: dict[str, object] = {}
        if changes.title is not None:
            after["title"] = clean_title(changes.title, "title", MAX_REQUIREMENT_TITLE)
        if changes.description is not None:
            after["description"] = clean_description(changes.description)
        if changes.group is not None:
            after["group"] = self._group(rows, changes.group, item.ref)
        if changes.position is not None:
            rows.remove(item)
            rows.insert(min(changes.position, len(rows)), item)
            await self._place(rows)
            after["position"] = item.position
        found = diff(before, after)
        item.title = str(after.get("title", item.title))
        item.description = str(after.get("description", item.description))
        if "group" in after:
            item.parent_ref = after["group"]  # type: ignore[assignment]
        if found:
            fw.updated_at = utcnow()
            changed = of_pairs(
                (f"{item.ref}.{k}", old, new) for k, (old, new) in found.fields.items()
            )
            await self._record(ctx, fw, AuditAction.AUTHORED_REQUIREMENT_UPDATED, changed, actor)
        return item

    async def remove_requirement(
        self,
        ctx: TenantContext,
        framework_id: str | uuid.UUID,
        ref_or_id: str,
        *,
        actor: Actor,
    ) -> None:
        fw, rows = await self.library.authored(ctx, framework_id)
        item = self._find(rows, ref_or_id)
        if any(r.parent_ref == item.ref for r in rows):
            raise ValidationFailed(
                "ref", f"{item.ref} is the group of other requirements; move or remove them first"
            )
        await repository.delete_requirements(self.session, ctx.tenant.id, [item.id])
        rows.remove(item)
        await self._place(rows)
        fw.updated_at = utcnow()
        gone = removed(ref=item.ref, title=item.title)
        await self._record(ctx, fw, AuditAction.AUTHORED_REQUIREMENT_REMOVED, gone, actor)

    # ---- imports (all or nothing: the file is read whole before anything is written)

    async def import_oscal(
        self,
        ctx: TenantContext,
        data: bytes,
        *,
        key: str = "",
        title: str = "",
        version: str = "",
        max_bytes: int = importing.MAX_IMPORT_BYTES,
        actor: Actor,
    ) -> AuthoredFramework:
        parsed = importing.parse_oscal(
            data, key=key, title=title, version=version, max_bytes=max_bytes
        )
        return await self._write(ctx, parsed, actor=actor)

    async def import_csv(
        self,
        ctx: TenantContext,
        data: bytes,
        *,
        key: str,
        title: str,
        version: str = "1",
        max_bytes: int = importing.MAX_IMPORT_BYTES,
        actor: Actor,
    ) -> AuthoredFramework:
        parsed = importing.parse_csv(
            data, key=key, title=title, version=version, max_bytes=max_bytes
        )
        return await self._write(ctx, parsed, actor=actor)

    async def _write(
        self, ctx: TenantContext, parsed: ParsedFramework, *, actor: Actor
    ) -> AuthoredFramework:
        await self._key_free(ctx, parsed.key, parsed.version)
        fw = AuthoredFramework(
            tenant_id=ctx.tenant.id,
            id=new_id(),
            key=parsed.key,
            version=parsed.version,
            title=parsed.title,
            description=parsed.description,
            source=parsed.source,
        )
        self.session.add(fw)
        await self.session.flush()
        self.session.add_all(
            AuthoredRequirement(
                tenant_id=ctx.tenant.id,
                id=new_id(),
                framework_id=fw.id,
                ref=r.ref,
                title=r.title,
                description=r.description,
                parent_ref=r.parent_ref,
                assessable=r.assessable,
                position=position,
            )
            for position, r in enumerate(parsed.requirements)
        )
        await self.session.flush()
        values = set_to(
            key=fw.key,
            version=fw.version,
            title=fw.title,
            source=fw.source,
            requirements=sum(1 for r in parsed.requirements if r.assessable),
        )
        await self._record(ctx, fw, AuditAction.AUTHORED_FRAMEWORK_IMPORTED, values, actor)
        return fw
