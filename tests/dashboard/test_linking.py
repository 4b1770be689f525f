"""A tenant that had tickets before an MSP managed it: when it approves the MSP's link, its
row on the MSP's dashboard starts from what it holds (tests/links' world: Northwind asks
for Initech, Ian approves). Both databases."""

from __future__ import annotations

from tests.links.conftest import World, app, approved, world

__all__ = ["app", "world"]


async def test_an_approved_link_starts_the_row_from_the_clients_tickets(world: World) -> None:
    for title in ("Printer", "VPN"):
        made = await world.post(
            "ian", "/api/v1/tenants/initech/tickets", {"title": title, "priority": "P3"}
        )
        assert made.status_code == 201, made.text
    before = await world.get("alex", "/api/v1/msp/dashboard")
    assert "initech" not in {r["tenant_slug"] for r in before.json()["items"]}
    await approved(world)
    after = await world.get("alex", "/api/v1/msp/dashboard", params={"q": "initech"})
    assert after.status_code == 200, after.text
    rows = after.json()["items"]
    assert [(r["tenant_slug"], r["open_tickets"]) for r in rows] == [("initech", 2)]
    assert after.json()["totals"]["managed"]["pending_link"] == 0
