"""The demo gives every client time and an issued invoice, numbered NW-<year>-0001…"""

from __future__ import annotations

from tenantry.app import create_app
from tenantry.config import Settings
from tenantry.db.engine import Database
from tenantry.demo import CUSTOMERS, USERS, ensure_demo
from tenantry.tenancy.schemas import slugify
from tests.factories import signed_in_client


async def test_each_demo_client_has_time_and_an_invoice(
    settings: Settings, database: Database
) -> None:
    passwords = await ensure_demo(database, settings)
    app = create_app(settings, database)
    admin = USERS[0].email
    numbers = []
    async with await signed_in_client(app, admin, passwords[admin]) as alex:
        for name in CUSTOMERS:
            slug = slugify(name)
            r = await alex.get(f"/api/v1/tenants/{slug}/invoices")
            assert r.status_code == 200, r.text
            (invoice,) = r.json()["items"]
            assert invoice["status"] == "issued" and invoice["total_minor"] > 0
            numbers.append(invoice["number"])
            r = await alex.get(f"/api/v1/tenants/{slug}/time-entries")
            assert len(r.json()["items"]) == 4
            r = await alex.get(f"/t/{slug}/invoices/{invoice['id']}")
            assert r.status_code == 200 and "Northwind IT" in r.text
    assert sorted(n.split("-", 1)[0] + "-" + n[-4:] for n in numbers) == [
        "NW-0001",
        "NW-0002",
        "NW-0003",
    ]


async def test_the_demo_lets_a_newcomer_see_the_clients_side(
    settings: Settings, database: Database
) -> None:
    """Carol, Contoso's own admin, signs in at home in Contoso: she sees its tickets and
    its invoice from Northwind IT, and nothing of the MSP or of the other clients."""
    passwords = await ensure_demo(database, settings)
    (carol,) = [u for u in USERS if u.home == "contoso-ltd"]
    app = create_app(settings, database)
    async with await signed_in_client(app, carol.email, passwords[carol.email]) as c:
        me = (await c.get("/api/v1/me/tenants")).json()["items"]
        assert [t["slug"] for t in me] == ["contoso-ltd"]
        assert (await c.get("/api/v1/tenants/contoso-ltd/tickets")).json()["items"]
        (invoice,) = (await c.get("/api/v1/tenants/contoso-ltd/invoices")).json()["items"]
        assert invoice["status"] == "issued"
        for elsewhere in ("northwind-it", "fabrikam-inc"):
            r = await c.get(f"/api/v1/tenants/{elsewhere}/tickets")
            assert r.status_code == 404, elsewhere
