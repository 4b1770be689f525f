"""Demo compliance programmes (``tenantry serve --demo``): every client has adopted the MSP
security baseline and stands somewhere else on it, with a trend behind its score; the
first client also runs NIST CSF 2.0, an applied measure, a published policy and a risk;
the MSP keeps a policy template."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.access.context import Principal, TenantContext
from tenantry.access.service import AccessService
from tenantry.audit.schemas import OPERATOR, Actor
from tenantry.compliance.library.service import LibraryService
from tenantry.compliance.policies.service import PolicyService
from tenantry.compliance.policies.template_service import PolicyTemplateService
from tenantry.compliance.programme.measures import MeasureService
from tenantry.compliance.programme.schemas import AssessmentChanges, MeasureValues
from tenantry.compliance.programme.service import ProgrammeService
from tenantry.compliance.risks.schemas import RiskLinkIn, RiskPatch
from tenantry.compliance.risks.service import RiskService
from tenantry.db.base import utcnow
from tenantry.tenancy.models import Tenant

BASELINE = "msp-baseline@1"
CSF = "nist-csf@2.0"
# Per client, in order: how far along the baseline it is (implemented, partial, not
# implemented, of the baseline's requirements in reading order); the rest stay unassessed.
PROGRESS = ((24, 8, 4), (12, 9, 8), (5, 4, 12))
POLICY = """# Acceptable use

Company devices and accounts are for company work.

* Sign in with **multi-factor authentication**; never share a code.
* Lock your screen when you leave the desk.
* Report a lost device or a suspicious email to the service desk at once.
"""
TEMPLATE = """# Password and sign-in policy

* Every account uses multi-factor authentication.
* Passwords are at least 14 characters, never reused, kept in the company password manager.
* Administrator accounts are separate from everyday accounts.
"""


async def _assess(
    session: AsyncSession,
    ctx: TenantContext,
    framework_ref: str,
    plan: tuple[int, int, int],
    actor: Actor,
) -> None:
    programme = ProgrammeService(session)
    content = await LibraryService(session).content(ctx, framework_ref)
    framework = await programme.adopt(ctx, content, actor=actor)
    rows, _ = await programme.requirements(ctx, framework.id, limit=200)
    assessable = [r for r in rows if r.assessment is not None]
    done, partial, missing = plan
    statuses = ["implemented"] * done + ["partial"] * partial + ["not_implemented"] * missing
    overdue = (utcnow() - timedelta(days=10)).date()
    for row, status in zip(assessable, statuses, strict=False):
        assert row.assessment is not None
        changes = AssessmentChanges(
            status=status,
            due_on=overdue if status == "not_implemented" else None,
            notes="Checked in the quarterly review." if status == "implemented" else "",
        )
        await programme.assess(ctx, row.assessment.id, changes, actor=actor)


async def seed_compliance(
    session: AsyncSession,
    msp: Tenant,
    customers: Sequence[Tenant],
    principal: Principal,
    *,
    actor: Actor = OPERATOR,
) -> None:
    access = AccessService(session)
    msp_ctx = await access.context_for(principal, str(msp.id))
    await PolicyTemplateService(session).create(
        msp_ctx,
        title="Password and sign-in policy",
        category="Identity",
        summary="How people sign in, for every client.",
        body_markdown=TEMPLATE,
        actor=actor,
    )
    for index, customer in enumerate(customers):
        ctx = await access.context_for(principal, str(customer.id))
        await _assess(session, ctx, BASELINE, PROGRESS[index % len(PROGRESS)], actor)
        if index:
            continue
        await _assess(session, ctx, CSF, (14, 10, 6), actor)
        measure = await MeasureService(session).create(
            ctx,
            MeasureValues(
                title="MFA enforced for all users",
                status="implemented",
                implemented_by="msp",
                owner_name="Northwind IT",
                description="Conditional access requires a second factor for every sign-in.",
            ),
            actor=actor,
        )
        policies = PolicyService(session)
        policy = await policies.create(
            ctx,
            title="Acceptable use",
            summary="What company devices and accounts are for.",
            body_markdown=POLICY,
            actor=actor,
        )
        version = (await policies.versions(ctx, policy))[0]
        await policies.approve(ctx, policy.id, version.id, actor=actor)
        await policies.publish(ctx, policy.id, version.id, actor=actor)
        risks = RiskService(session)
        risk = await risks.create(
            ctx,
            RiskPatch(
                title="Phishing leads to an account takeover",
                category="People",
                likelihood=4,
                impact=4,
                treatment="mitigate",
                treatment_plan="MFA everywhere, awareness training twice a year.",
                residual_likelihood=2,
                residual_impact=3,
                next_review_on=(utcnow() + timedelta(days=80)).date(),
            ),
            actor=actor,
        )
        await risks.link(ctx, risk.id, RiskLinkIn(measure_id=measure.id), actor=actor)
