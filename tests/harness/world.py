"""The one seeded world of the tests, with named people (docs/ARCHITECTURE.md, "Tests").

* Northwind IT (``northwind``), an MSP: Alex Admin (MSP admin: every client), Tina Tech
  (technician, 1st Level Support in Contoso until tonight);
* its clients Contoso Ltd, Fabrikam Inc and Tailspin Toys (created by the MSP: active
  links, full ceilings), Carol Contoso being Contoso's own admin;
* Globex MSP (``globex``), another MSP: Gary Globex (its admin) and its client Initech.

``seed_world(db)`` makes it in any database (API tests through the ``world`` fixture of
tests/web/conftest.py, browser tests through ``harness.browser.serve``); a suite that
needs more adds it on top, with ``add_customer`` and ``delegate``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from tenantry.access.models import GrantScope
from tenantry.access.service import AccessService, create_grant, operator_scope
from tenantry.audit.schemas import OPERATOR
from tenantry.db.base import utcnow
from tenantry.db.engine import Database
from tenantry.identity.models import User
from tenantry.identity.service import principal_of
from tenantry.tenancy.models import Tenant
from tenantry.tenancy.service import TenancyService
from tests.factories import make_tenant, make_user

ALEX = "alex@northwind.example"  # MSP admin of Northwind IT
TINA = "tina@northwind.example"  # technician, 1st Level Support in Contoso until tonight
CAROL = "carol@contoso.example"  # Contoso's own admin
GARY = "gary@globex.example"  # admin of another MSP


async def add_customer(db: Database, msp: Tenant, admin: User, name: str) -> Tenant:
    """A customer created by the MSP's admin, as the customers page does it."""
    async with db.unit_of_work(operator_scope([msp.id])) as session:
        principal = principal_of(admin, msp, auth_method="cli")
        ctx = await AccessService(session).context_in(principal, msp)
        return await TenancyService(session).create_customer(
            ctx, name=name, display_name=name, actor=OPERATOR
        )


async def delegate(
    db: Database,
    msp: Tenant,
    user: User,
    customer: Tenant,
    role: str,
    expires_at: datetime | None = None,
) -> None:
    """A delegation of ``role`` in ``customer`` to the MSP's ``user``."""
    async with db.unit_of_work(operator_scope([msp.id, customer.id])) as session:
        await create_grant(
            session,
            issuer_tenant_id=msp.id,
            user_id=user.id,
            role=role,
            scope=GrantScope.CUSTOMER,
            customer_tenant_id=customer.id,
            expires_at=expires_at,
            actor=OPERATOR,
        )


@dataclass
class People:
    msp: Tenant
    customers: dict[str, Tenant]
    other_msp: Tenant
    other_customer: Tenant
    users: dict[str, User]
    tina_until: datetime

    def tenant_ids(self) -> dict[str, uuid.UUID]:
        every = [self.msp, self.other_msp, self.other_customer, *self.customers.values()]
        return {t.slug: t.id for t in every}


async def seed_world(db: Database) -> People:
    msp = await make_tenant(db, "northwind", is_msp=True, display_name="Northwind IT")
    alex = await make_user(db, msp, ALEX, role="admin", display_name="Alex Admin")
    tina = await make_user(db, msp, TINA, role="technician", display_name="Tina Tech")
    customers = {}
    # Created out of alphabetical order: the switcher must sort by display name.
    for name in ("Tailspin Toys", "Contoso Ltd", "Fabrikam Inc"):
        customer = await add_customer(db, msp, alex, name)
        customers[customer.slug] = customer
    until = (utcnow() + timedelta(hours=8)).replace(microsecond=0)
    await delegate(db, msp, tina, customers["contoso-ltd"], "first_level_support", until)
    carol = await make_user(
        db, customers["contoso-ltd"], CAROL, role="admin", display_name="Carol Contoso"
    )
    other_msp = await make_tenant(db, "globex", is_msp=True, display_name="Globex MSP")
    gary = await make_user(db, other_msp, GARY, role="admin", display_name="Gary Globex")
    other_customer = await add_customer(db, other_msp, gary, "Initech")
    return People(
        msp=msp,
        customers=customers,
        other_msp=other_msp,
        other_customer=other_customer,
        users={"alex": alex, "tina": tina, "carol": carol, "gary": gary},
        tina_until=until,
    )
