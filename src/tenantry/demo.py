"""Demo data for ``tenantry serve --demo``: an MSP with three clients, the MSP's admin and
two technicians, and one client's own admin (so a newcomer sees both sides); tickets,
time and an invoice, and a compliance programme in every client."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.access.grants import create_grant
from tenantry.access.models import GrantScope
from tenantry.access.service import AccessService, operator_scope
from tenantry.audit.schemas import OPERATOR
from tenantry.billing.demo import seed_billing
from tenantry.compliance.demo import seed_compliance
from tenantry.config import Settings
from tenantry.db.engine import Database
from tenantry.identity.models import User
from tenantry.identity.service import IdentityService, principal_of
from tenantry.psa.invoices.demo import seed_time_and_invoice
from tenantry.psa.service_plans.demo import seed_service_plans
from tenantry.psa.tickets.demo import seed_tickets
from tenantry.tenancy import service as tenancy
from tenantry.tenancy.models import Tenant
from tenantry.tenancy.service import TenancyService

MSP_NAME = "Northwind IT"
CUSTOMERS = ("Contoso Ltd", "Fabrikam Inc", "Tailspin Toys")


@dataclass(frozen=True)
class DemoUser:
    email: str
    name: str
    role: str
    note: str
    home: str = "northwind-it"  # the slug of the user's home tenant


USERS = (
    DemoUser("alex.admin@northwind.example", "Alex Admin", "admin", "MSP admin: owns every client"),
    DemoUser(
        "tina.tech@northwind.example",
        "Tina Technician",
        "technician",
        "technician, delegated to Contoso Ltd as Technician",
    ),
    DemoUser(
        "sam.support@northwind.example",
        "Sam Support",
        "technician",
        "technician, delegated to Fabrikam Inc as 1st Level Support",
    ),
    DemoUser(
        "carol.owner@contoso.example",
        "Carol Owner",
        "owner",
        "Contoso Ltd's own admin: the client's side",
        home="contoso-ltd",
    ),
)
# Which customer each non-admin technician is delegated to, and with which role.
DELEGATIONS = {
    "tina.tech@northwind.example": ("contoso-ltd", "technician"),
    "sam.support@northwind.example": ("fabrikam-inc", "first_level_support"),
}


def credentials_file(settings: Settings) -> Path:
    """Kept beside a SQLite database (or in the working directory for PostgreSQL)."""
    url = settings.database_url
    if url.startswith("sqlite") and "///" in url:
        db_path = Path(url.split("///", 1)[1])
        return db_path.with_name(db_path.name + ".demo-credentials.json")
    return Path("tenantry-demo-credentials.json")


async def _person(
    session: AsyncSession, settings: Settings, home: Tenant, who: DemoUser, password: str
) -> User:
    user = await IdentityService(session, settings).create_user(
        home=home, email=who.email, display_name=who.name, password=password, actor=OPERATOR
    )
    await create_grant(
        session,
        issuer_tenant_id=home.id,
        user_id=user.id,
        role=who.role,
        scope=GrantScope.HOME,
        actor=OPERATOR,
    )
    return user


async def ensure_demo(db: Database, settings: Settings) -> dict[str, str]:
    """Create the demo once; later starts keep it (and its passwords) as they are."""
    path = credentials_file(settings)
    async with db.platform_reader() as session:
        existing = await tenancy.tenant_by_slug(session, "northwind-it")
    if existing is not None:
        if path.exists():
            stored: dict[str, str] = json.loads(path.read_text())
            return stored
        return {}
    passwords = {u.email: f"demo-{secrets.token_urlsafe(9)}" for u in USERS}
    async with db.unit_of_work(operator_scope([])) as session:
        service = TenancyService(session)
        msp = await service.create_tenant(
            name=MSP_NAME,
            display_name=MSP_NAME,
            is_msp=True,
            actor=OPERATOR,
            # Off in the demo: its people sign in with the printed passwords only, so that
            # a newcomer can click through the clients at once. Alex turns it on under
            # Security policy to see what a technician without a second factor is told.
            require_mfa_for_clients=False,
        )
        staff = {
            u.email: await _person(session, settings, msp, u, passwords[u.email])
            for u in USERS
            if u.home == msp.slug
        }
        await session.flush()
        admin = staff[USERS[0].email]
        principal = principal_of(admin, msp, auth_method="cli")
        ctx = await AccessService(session).context_in(principal, msp)
        customers: dict[str, Tenant] = {}
        for name in CUSTOMERS:
            customer = await service.create_customer(
                ctx, name=name, display_name=name, actor=OPERATOR
            )
            customers[customer.slug] = customer
        for email, (slug, role) in DELEGATIONS.items():
            await create_grant(
                session,
                issuer_tenant_id=msp.id,
                user_id=staff[email].id,
                role=role,
                scope=GrantScope.CUSTOMER,
                customer_tenant_id=customers[slug].id,
                actor=OPERATOR,
            )
        for client_user in USERS:
            if client_user.home in customers:
                home = customers[client_user.home]
                await _person(session, settings, home, client_user, passwords[client_user.email])
        for customer in customers.values():
            await seed_tickets(session, customer, principal)
        await seed_service_plans(session, ctx, customers.values())
        await seed_time_and_invoice(session, msp, customers.values(), staff.values())
        await seed_compliance(session, msp, list(customers.values()), principal)
        await seed_billing(session, msp)
    path.write_text(json.dumps(passwords, indent=2))
    path.chmod(0o600)
    return passwords


async def demo_summary(db: Database) -> list[str]:
    async with db.platform_reader() as session:
        rows = await tenancy.tenants_oldest_first(session)
    return [f"{t.display_name} ({t.slug}){' — MSP' if t.is_msp else ''}" for t in rows]
