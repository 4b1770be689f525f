"""What a tenant may adopt: the shipped library (every version; the latest marked), the
frameworks it wrote itself, and those its managing MSP wrote and shared with its clients.
``content`` hands one of them to the programme as plain values (``FrameworkContent``)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.access.context import TenantContext
from tenantry.access.widening import Why, widen
from tenantry.compliance.content import FrameworkContent, Origin, RequirementContent
from tenantry.compliance.library import repository
from tenantry.compliance.library.models import AuthoredFramework, AuthoredRequirement
from tenantry.compliance.library.schemas import Available
from tenantry.errors import NotFound
from tenantry.tenancy import service as tenancy

_NUMBER = re.compile(r"(\d+)")


def version_order(version: str) -> tuple[tuple[int, int | str], ...]:
    """``2.0`` < ``2.1`` < ``10``: numbers compare as numbers."""
    return tuple(
        (0, int(part)) if part.isdigit() else (1, part) for part in _NUMBER.split(version) if part
    )


def parse_framework_id(value: str | uuid.UUID) -> uuid.UUID:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError as exc:
        raise NotFound("No such framework.") from exc


def _requirements(rows: Sequence[AuthoredRequirement]) -> tuple[RequirementContent, ...]:
    return tuple(
        RequirementContent(
            ref=r.ref,
            title=r.title,
            description=r.description,
            parent_ref=r.parent_ref,
            assessable=r.assessable,
        )
        for r in rows
    )


class LibraryService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _managing_msp(self, ctx: TenantContext) -> uuid.UUID | None:
        """The MSP managing this tenant through an active link, with the unit of work
        widened to read what it shared (its shared frameworks only are asked for)."""
        if ctx.tenant.is_msp:
            return None
        found = await tenancy.msp_of(self.session, ctx.tenant.id)
        if found is None:
            return None
        msp_id = found[0].id
        await widen(self.session, msp_id, why=Why.SHARED_BY_MSP)
        return msp_id

    async def available(self, ctx: TenantContext) -> list[Available]:
        """Shipped (latest version of each key first, older versions after it), then the
        tenant's own frameworks, then those its MSP shared."""
        shipped = await repository.shipped_frameworks(self.session)
        latest: dict[str, str] = {}
        for fw in shipped:
            if fw.key not in latest or version_order(fw.version) > version_order(latest[fw.key]):
                latest[fw.key] = fw.version
        # By key, the newest version first (two stable sorts).
        newest_first = sorted(shipped, key=lambda f: version_order(f.version), reverse=True)
        ordered = sorted(newest_first, key=lambda f: f.key)
        found = [
            Available(
                ref=f"{fw.key}@{fw.version}",
                key=fw.key,
                version=fw.version,
                title=fw.title,
                description=fw.description,
                origin="library",
                requirement_count=fw.requirement_count,
                latest=latest[fw.key] == fw.version,
            )
            for fw in ordered
        ]
        found += [
            self._authored(fw, count, "own")
            for fw, count in await repository.authored_of(self.session, ctx.tenant.id)
        ]
        msp_id = await self._managing_msp(ctx)
        if msp_id is not None:
            shared = await repository.authored_of(self.session, msp_id, shared_only=True)
            found += [self._authored(fw, count, "msp") for fw, count in shared]
        return found

    @staticmethod
    def _authored(fw: AuthoredFramework, count: int, origin: Origin) -> Available:
        return Available(
            ref=str(fw.id),
            key=fw.key,
            version=fw.version,
            title=fw.title,
            description=fw.description,
            origin=origin,
            requirement_count=count,
            latest=True,
            shared=fw.shared,
            source_id=fw.id,
        )

    async def content(self, ctx: TenantContext, ref: str) -> FrameworkContent:
        """``KEY@VERSION`` of the shipped library, or the id of a framework this tenant
        wrote or its MSP shared; NotFound for anything else (another tenant's, an
        unshared one of the MSP, an MSP that no longer manages the tenant)."""
        key, at, version = ref.partition("@")
        if at:
            shipped = await repository.shipped_framework(self.session, key, version)
            if shipped is None:
                raise NotFound("No such framework in the library.")
            rows = await repository.shipped_requirements(self.session, shipped.id)
            return FrameworkContent(
                key=shipped.key,
                version=shipped.version,
                title=shipped.title,
                description=shipped.description,
                origin="library",
                source_id=None,
                requirements=tuple(
                    RequirementContent(
                        ref=r.ref,
                        title=r.title,
                        description=r.description,
                        parent_ref=r.parent_ref,
                        assessable=r.assessable,
                    )
                    for r in rows
                ),
            )
        framework_id = parse_framework_id(ref)
        own = await repository.authored(self.session, ctx.tenant.id, framework_id)
        if own is not None:
            return await self._content_of(own, "own")
        msp_id = await self._managing_msp(ctx)
        if msp_id is not None:
            shared = await repository.authored(self.session, msp_id, framework_id)
            if shared is not None and shared.shared:
                return await self._content_of(shared, "msp")
        raise NotFound("No such framework.")

    async def _content_of(self, fw: AuthoredFramework, origin: Origin) -> FrameworkContent:
        rows = await repository.requirements_of(self.session, fw.tenant_id, fw.id)
        return FrameworkContent(
            key=fw.key,
            version=fw.version,
            title=fw.title,
            description=fw.description,
            origin=origin,
            source_id=fw.id,
            requirements=_requirements(rows),
        )

    # ---- a tenant's own frameworks (the authoring pages and API read these)

    async def authored_list(self, ctx: TenantContext) -> list[tuple[AuthoredFramework, int]]:
        return list(await repository.authored_of(self.session, ctx.tenant.id))

    async def authored(
        self, ctx: TenantContext, framework_id: str | uuid.UUID
    ) -> tuple[AuthoredFramework, list[AuthoredRequirement]]:
        fw = await repository.authored(
            self.session, ctx.tenant.id, parse_framework_id(framework_id)
        )
        if fw is None:
            raise NotFound("No such framework.")
        return fw, await repository.requirements_of(self.session, ctx.tenant.id, fw.id)
