"""Programme rows for the overview tests, written directly with the programme's models
(the programme's service keeps them in production)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from tenantry.access.service import operator_scope
from tenantry.compliance.programme.models import (
    AdoptedFramework,
    Assessment,
    FrameworkScore,
    Requirement,
)
from tenantry.db.base import utcnow
from tenantry.db.engine import Database
from tenantry.tenancy.models import Tenant

TITLES = {"msp-baseline": "MSP security baseline", "nist-csf": "NIST CSF 2.0"}


async def adopt(
    db: Database,
    tenant: Tenant,
    key: str,
    score_bp: int | None,
    *,
    recent: list[int] | None = None,
    due: list[tuple[int, str]] = (),  # type: ignore[assignment]
    changed_at: datetime | None = None,
) -> uuid.UUID:
    """``tenant`` adopted framework ``key`` with this kept score; ``due`` makes one
    assessment per (days from today, status) with that due date."""
    async with db.unit_of_work(operator_scope([tenant.id])) as session:
        framework = AdoptedFramework(
            tenant_id=tenant.id,
            key=key,
            version="1",
            title=TITLES[key],
            origin="library",
        )
        session.add(framework)
        await session.flush()
        for n, (days, status) in enumerate(due):
            requirement = Requirement(
                tenant_id=tenant.id,
                framework_id=framework.id,
                ref=f"R-{n}",
                title=f"Requirement {n}",
                position=n,
            )
            session.add(requirement)
            await session.flush()
            session.add(
                Assessment(
                    tenant_id=tenant.id,
                    framework_id=framework.id,
                    requirement_id=requirement.id,
                    status=status,
                    due_on=utcnow().date() + timedelta(days=days),
                )
            )
        session.add(
            FrameworkScore(
                tenant_id=tenant.id,
                framework_id=framework.id,
                framework_key=key,
                framework_title=TITLES[key],
                score_bp=score_bp,
                implemented=(score_bp or 0) // 250,
                partial=1,
                applicable=40,
                total=42,
                not_assessed=3,
                recent=recent if recent is not None else [score_bp] if score_bp is not None else [],
                changed_at=changed_at or utcnow(),
            )
        )
        return framework.id
