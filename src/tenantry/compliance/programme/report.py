"""The compliance report a client gets in a quarterly review: every framework with its
score and trend, and every assessment (printable page and CSV, the same rows)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.access.context import TenantContext
from tenantry.compliance.evidence.service import EvidenceService
from tenantry.compliance.programme import repository, scoring
from tenantry.compliance.programme.models import AdoptedFramework, FrameworkScore, ScoreChange
from tenantry.kit.csv import to_csv

CSV_COLUMNS = (
    "framework",
    "version",
    "ref",
    "requirement",
    "status",
    "effective_status",
    "na_reason",
    "owner",
    "due_on",
    "notes",
    "updated_at",
    "updated_by",
    "evidence",
)


@dataclass(frozen=True, slots=True)
class ReportRow:
    framework_id: uuid.UUID
    framework: str
    version: str
    ref: str
    requirement: str
    status: str
    effective_status: str
    na_reason: str
    owner: str
    due_on: date | None
    notes: str
    updated_at: datetime
    updated_by: str
    # Evidence kept on the assessment now (files and links).
    evidence: int

    def cells(self) -> tuple[object, ...]:
        return (
            self.framework,
            self.version,
            self.ref,
            self.requirement,
            self.status,
            self.effective_status,
            self.na_reason,
            self.owner,
            self.due_on.isoformat() if self.due_on else "",
            self.notes,
            self.updated_at.isoformat(),
            self.updated_by,
            self.evidence,
        )


@dataclass(frozen=True, slots=True)
class Report:
    frameworks: list[tuple[AdoptedFramework, FrameworkScore | None, list[ScoreChange]]]
    rows: list[ReportRow]


async def build(session: AsyncSession, ctx: TenantContext, *, points: int = 50) -> Report:
    tenant_id = ctx.tenant.id
    adopted = list(await repository.frameworks(session, tenant_id))
    history = await repository.score_history(session, tenant_id, [f.id for f, _ in adopted], points)
    found = await repository.report_rows(session, tenant_id)
    best = await repository.best_measures(session, tenant_id, (r.id for _, r, _ in found))
    evidence = await EvidenceService(session).count_by_assessment(ctx, [a.id for _, _, a in found])
    rows = [
        ReportRow(
            framework_id=f.id,
            framework=f.title,
            version=f.version,
            ref=r.ref,
            requirement=r.title,
            status=a.status,
            effective_status=scoring.effective(a.status, best.get(r.id, (0, []))[0]),
            na_reason=a.na_reason,
            owner=a.owner_name,
            due_on=a.due_on,
            notes=a.notes,
            updated_at=a.updated_at,
            updated_by=a.updated_by_name,
            evidence=evidence.get(a.id, 0),
        )
        for f, r, a in found
    ]
    return Report(frameworks=[(f, s, history[f.id]) for f, s in adopted], rows=rows)


def as_csv(report: Report) -> str:
    return to_csv(CSV_COLUMNS, (row.cells() for row in report.rows))
