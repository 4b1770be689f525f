"""The audit pages: a customer's trail with the MSP's technicians by name, and the MSP's
technician activity across customers, with filters, paging and empty states."""

from __future__ import annotations

import pytest

from tenantry.config import Settings
from tenantry.db.engine import Database
from tenantry.tenancy.models import Tenant
from tests.factories import signed_in_client
from tests.tenancy.test_customers_api import World, _user
from tests.tenancy.test_customers_api import world as world


@pytest.fixture
async def acted(world: World, database: Database, settings: Settings) -> World:
    """Alex renames Contoso and suspends Fabrikam; Contoso has its own owner, Cara."""
    async with database.platform_reader() as session:
        contoso = await session.get(Tenant, world.tenants["contoso-ltd"])
    assert contoso is not None
    await _user(database, settings, contoso, "cara@contoso.example", "owner")
    for url, body in (
        ("/api/v1/tenants/northwind-it/customers/contoso-ltd", {"display_name": "Contoso Group"}),
    ):
        r = await world.client.patch(url, json=body, headers=world.as_("alex"))
        assert r.status_code == 200, r.text
    r = await world.client.post(
        "/api/v1/tenants/northwind-it/customers/fabrikam-inc/suspend", headers=world.as_("alex")
    )
    assert r.status_code == 200, r.text
    return world


async def test_a_customer_admin_reads_their_trail(acted: World) -> None:
    async with await signed_in_client(acted.app, "cara@contoso.example") as cara:  # type: ignore[arg-type]
        page = await cara.get("/t/contoso-ltd/audit")
        assert page.status_code == 200
        html = page.text
        assert "<code>tenant.<wbr>renamed</code>" in html and "Northwind IT (MSP)" in html
        assert "display_name: Contoso Ltd → Contoso Group" in html
        assert "/api/v1/tenants/contoso-ltd/audit-events/export?format=csv" in html
        assert 'href="/t/contoso-ltd/audit"' in html  # in the sidebar
        outside = await cara.get("/t/contoso-ltd/audit", params={"who": "outside"})
        assert "<code>tenant.<wbr>renamed</code>" in outside.text
        assert "<code>auth.<wbr>sign_in</code>" not in outside.text  # Cara's own sign-in
        own = await cara.get("/t/contoso-ltd/audit", params={"who": "own"})
        assert "<code>tenant.<wbr>renamed</code>" not in own.text
        none = await cara.get("/t/contoso-ltd/audit", params={"action": "nothing.like.this"})
        assert "No event matches these filters" in none.text
        bad = await cara.get("/t/contoso-ltd/audit", params={"since": "soon"})
        assert bad.status_code == 422 and "From is not a date" in bad.text
        # Not an MSP: no technician activity page, and no way into the MSP's trail.
        assert (await cara.get("/msp/activity")).status_code == 404
        assert (await cara.get("/t/northwind-it/audit")).status_code == 404


async def test_the_msp_admin_sees_technician_activity(acted: World) -> None:
    async with await signed_in_client(acted.app, "alex@northwind.example") as alex:  # type: ignore[arg-type]
        page = await alex.get("/msp/activity")
        assert page.status_code == 200
        html = page.text
        assert "<code>tenant.<wbr>renamed</code>" in html
        assert "<code>tenant.<wbr>suspended</code>" in html
        assert 'href="/t/contoso-ltd/audit"' in html and 'href="/msp/activity"' in html
        only = await alex.get("/msp/activity", params={"customer": "fabrikam-inc"})
        assert "<code>tenant.<wbr>suspended</code>" in only.text
        assert "<code>tenant.<wbr>renamed</code>" not in only.text
        bad = await alex.get("/msp/activity", params={"customer": "initech"})
        assert bad.status_code == 422 and "Customer is not a customer" in bad.text
        bad = await alex.get("/msp/activity", params={"technician": "alex"})
        assert bad.status_code == 422 and "Technician is not one of the choices" in bad.text


async def test_a_technician_without_delegations_is_told_what_to_do(acted: World) -> None:
    async with await signed_in_client(acted.app, "tina@northwind.example") as tina:  # type: ignore[arg-type]
        page = await tina.get("/msp/activity")
        assert page.status_code == 200
        assert "No customer whose trail you may read" in page.text
