"""Demo data for time and invoices: each demo client gets work types, a recurring
agreement fee, time logged by the technician who works there (approved by the admin),
and an issued invoice (``NW-<year>-0001`` …, one sequence for the MSP)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import timedelta
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.access.context import TenantContext
from tenantry.access.service import AccessService
from tenantry.access.widening import Why, widen
from tenantry.errors import NotFound
from tenantry.identity.service import actor_of, principal_for
from tenantry.psa.invoices.service import InvoiceService
from tenantry.psa.time.service import TimeService, tenant_today

DEMO_PREFIX = "NW"
WORK = (  # (work type index, minutes, days ago, notes)
    (0, 45, 6, "Reset MFA for the front desk and checked sign-in logs"),
    (0, 90, 4, "Mail flow issue: fixed the connector and tested with the client"),
    (1, 120, 3, "On site: replaced the meeting-room switch"),
    (0, 25, 1, "Printer driver update pushed to all laptops"),
)


class DemoTenant(Protocol):
    """What seeding needs of a tenant the demo made (its row, as tenancy returned it)."""

    @property
    def id(self) -> uuid.UUID: ...

    @property
    def time_zone(self) -> str: ...


class DemoUser(Protocol):
    @property
    def id(self) -> uuid.UUID: ...


async def seed_time_and_invoice(
    session: AsyncSession,
    msp: DemoTenant,
    customers: Iterable[DemoTenant],
    users: Iterable[DemoUser],
) -> None:
    """For each customer: the technician delegated there (else the first admin) logs the
    time; another user holding ``time:approve`` approves it; the admin issues the
    invoice. Runs inside the demo's unit of work (operator scope, widened as it goes)."""
    principals = [p for u in users if (p := await principal_for(session, u.id)) is not None]
    await widen(session, msp.id, why=Why.OPERATOR)
    today_msp = tenant_today(msp.time_zone)
    await InvoiceService(session).ensure_counter(msp.id, today_msp.year, DEMO_PREFIX)
    access = AccessService(session)
    for customer in customers:
        await widen(session, customer.id, why=Why.OPERATOR)
        contexts: list[TenantContext] = []
        for principal in principals:
            try:
                contexts.append(await access.context_for(principal, str(customer.id)))
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
                admin, name="Remote support", rate_minor=9500, currency="EUR", actor=admin_actor
            ),
            await time.create_work_type(
                admin, name="On-site work", rate_minor=12500, currency="EUR", actor=admin_actor
            ),
        ]
        invoices = InvoiceService(session)
        await invoices.create_recurring(
            admin,
            description="Managed services agreement (monthly)",
            amount_minor=45000,
            currency="EUR",
            actor=admin_actor,
        )
        today = tenant_today(customer.time_zone)
        author_actor = actor_of(author.principal)
        for index, minutes, days_ago, notes in WORK:
            entry = await time.create_entry(
                author,
                work_type_id=types[index].id,
                minutes=minutes,
                work_date=today - timedelta(days=days_ago),
                notes=notes,
                actor=author_actor,
            )
            await time.submit(author, entry.id, actor=author_actor)
            if approver is not None:
                await time.approve(approver, entry.id, actor=actor_of(approver.principal))
        invoice = await invoices.generate(
            admin,
            period_start=today - timedelta(days=30),
            period_end=today,
            currency="EUR",
            tax_rate_bp=1900,
            actor=admin_actor,
        )
        await invoices.issue(admin, invoice.id, actor=admin_actor)
