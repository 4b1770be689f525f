"""Demo data for time and invoices: each demo client gets work types, a recurring
agreement fee, time logged by the technician who works there (approved by the admin),
and an issued invoice (``NW-<year>-0001`` …, one sequence for the MSP)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.access.context import TenantContext
from tenantry.access.service import AccessService, extend_scope
from tenantry.db.base import new_id
from tenantry.errors import NotFound
from tenantry.identity.models import User
from tenantry.identity.service import actor_of, principal_of
from tenantry.psa.invoices import repository
from tenantry.psa.invoices.models import InvoiceCounter
from tenantry.psa.invoices.service import InvoiceService
from tenantry.psa.time.service import TimeService, tenant_today
from tenantry.tenancy.models import Tenant

DEMO_PREFIX = "NW"
WORK = (  # (work type index, minutes, days ago, notes)
    (0, 45, 6, "Reset MFA for the front desk and checked sign-in logs"),
    (0, 90, 4, "Mail flow issue: fixed the connector and tested with the client"),
    (1, 120, 3, "On site: replaced the meeting-room switch"),
    (0, 25, 1, "Printer driver update pushed to all laptops"),
)


async def seed_time_and_invoice(
    session: AsyncSession, msp: Tenant, customers: Iterable[Tenant], users: Iterable[User]
) -> None:
    """For each customer: the technician delegated there (else the first admin) logs the
    time; another user holding ``time:approve`` approves it; the admin issues the
    invoice. Runs inside the demo's unit of work (operator scope, widened as it goes)."""
    people = list(users)
    await extend_scope(session, msp.id)
    today_msp = await tenant_today(session, msp.id)
    if await repository.counter(session, msp.id, today_msp.year) is None:
        session.add(
            InvoiceCounter(tenant_id=msp.id, id=new_id(), year=today_msp.year, prefix=DEMO_PREFIX)
        )
        await session.flush()
    access = AccessService(session)
    for customer in customers:
        await extend_scope(session, customer.id)
        contexts: list[TenantContext] = []
        for user in people:
            try:
                principal = principal_of(user, msp, auth_method="cli")
                contexts.append(await access.context_in(principal, customer))
            except NotFound:  # not delegated to this client
                continue
        admin = next(c for c in contexts if c.can("invoices:write"))
        author = next(
            (c for c in contexts if c.can("time:write") and not c.can("invoices:write")), admin
        )
        approver = next(
            (
                c
                for c in contexts
                if c.can("time:approve") and c.principal.user_id != author.principal.user_id
            ),
            None,
        )
        time = TimeService(session)
        admin_actor = actor_of(admin.principal)
        types = [
            await time.create_work_type(
                admin, admin_actor, name="Remote support", rate_minor=9500, currency="EUR"
            ),
            await time.create_work_type(
                admin, admin_actor, name="On-site work", rate_minor=12500, currency="EUR"
            ),
        ]
        invoices = InvoiceService(session)
        await invoices.create_recurring(
            admin,
            admin_actor,
            description="Managed services agreement (monthly)",
            amount_minor=45000,
            currency="EUR",
        )
        today = await tenant_today(session, customer.id)
        author_actor = actor_of(author.principal)
        for index, minutes, days_ago, notes in WORK:
            entry = await time.create_entry(
                author,
                author_actor,
                work_type_id=types[index].id,
                minutes=minutes,
                work_date=today - timedelta(days=days_ago),
                notes=notes,
            )
            await time.submit(author, author_actor, entry.id)
            if approver is not None:
                await time.approve(approver, actor_of(approver.principal), entry.id)
        invoice = await invoices.generate(
            admin,
            admin_actor,
            period_start=today - timedelta(days=30),
            period_end=today,
            currency="EUR",
            tax_rate_bp=1900,
        )
        await invoices.issue(admin, admin_actor, invoice.id)
