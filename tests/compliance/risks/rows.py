"""Programme rows a risk can be linked to, made directly as the table owner (the
programme's own service is written beside this one; the risk register only reads
requirements and measures)."""

from __future__ import annotations

import uuid

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantry.compliance.programme.models import AdoptedFramework, Measure, Requirement
from tenantry.db.base import new_id, utcnow
from tenantry.db.engine import Database
from tenantry.db.scope import TenantScope


async def requirement_in(
    owner_engine: AsyncEngine, tenant_id: uuid.UUID, ref: str = "MSP-01", title: str = "MFA"
) -> uuid.UUID:
    """An adopted baseline (made on first use) with requirement ``ref``; its id."""
    framework_id = new_id()
    requirement_id = new_id()
    now = utcnow()
    async with owner_engine.begin() as conn:
        await conn.execute(
            insert(AdoptedFramework.__table__).values(
                tenant_id=tenant_id,
                id=framework_id,
                key=f"msp-baseline-{framework_id.hex[:8]}",
                version="1",
                title="MSP security baseline",
                description="",
                origin="library",
                adopted_by_name="tests",
                created_at=now,
            )
        )
        await conn.execute(
            insert(Requirement.__table__).values(
                tenant_id=tenant_id,
                id=requirement_id,
                framework_id=framework_id,
                ref=ref,
                parent_ref=None,
                title=title,
                description="",
                position=1,
                assessable=True,
                created_at=now,
            )
        )
    return requirement_id


async def measure_in(
    owner_engine: AsyncEngine, tenant_id: uuid.UUID, title: str = "MFA enforced"
) -> uuid.UUID:
    measure_id = new_id()
    async with owner_engine.begin() as conn:
        await conn.execute(
            insert(Measure.__table__).values(
                tenant_id=tenant_id,
                id=measure_id,
                title=title,
                description="",
                status="implemented",
                implemented_by="msp",
                owner_name="",
                updated_at=utcnow(),
                created_at=utcnow(),
            )
        )
    return measure_id


async def requirement_through(database: Database, tenant_id: uuid.UUID) -> uuid.UUID:
    """The same through the app's own connection, in a unit of work scoped to the tenant
    (where only the app role is at hand, e.g. the route walk's seeding)."""
    framework = AdoptedFramework(
        tenant_id=tenant_id,
        id=new_id(),
        # Not the library's key: the route walk also adopts the real baseline there.
        key="risk-walk",
        version="1",
        title="Risk walk framework",
        origin="own",
    )
    requirement = Requirement(
        tenant_id=tenant_id,
        id=new_id(),
        framework_id=framework.id,
        ref="MSP-01",
        title="MFA",
        position=1,
    )
    async with database.unit_of_work(TenantScope.of([tenant_id])) as session:
        session.add(framework)
        await session.flush()
        session.add(requirement)
    return requirement.id
